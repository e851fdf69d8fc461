"""Lua scripts of the Redis dedupe index, kept beside the Python they mirror.

Embedded as strings (not package data files) so an installed wheel always carries them.
"""

MATCH_OR_ADD = """
-- secmon dedupe: match a candidate against the primaries in its window, or add it as one.
-- Runs atomically inside Redis, so bridge replicas sharing Redis agree on one primary.
-- KEYS: 1 fingerprint key, 2 asset bucket ("" if none), 3 event-type bucket ("" if none)
-- ARGV: 1 namespace, 2 alert id, 3 fingerprint, 4 asset, 5 event type, 6 severity, 7 source,
--       8 title tokens (space-separated), 9 seen ms, 10 window ms, 11 max candidates,
--       12 threshold, 13-17 weights (asset, event type, severity, source, title)
-- Returns {kind, primary id, asset, event type, severity, source, tokens} with kind one of
-- self | exact | similar | new; for "new" the fields are those of the best (losing) match.
local ns, id, fp = ARGV[1], ARGV[2], ARGV[3]
local asset, event, sev, source, tokens = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local seen, window = tonumber(ARGV[9]), tonumber(ARGV[10])
local max_c, threshold = tonumber(ARGV[11]), tonumber(ARGV[12])
local w_asset, w_event, w_sev = tonumber(ARGV[13]), tonumber(ARGV[14]), tonumber(ARGV[15])
local w_source, w_title = tonumber(ARGV[16]), tonumber(ARGV[17])
local lo, hi = seen - window, seen + window
local FIELDS = {'first', 'last', 'asset', 'event', 'sev', 'source', 'tokens'}

local function pkey(pid) return ns .. ':p:' .. pid end
local function bkeys(a, e)
  local keys = {}
  if a ~= '' then keys[#keys + 1] = ns .. ':b:a:' .. a end
  if e ~= '' then keys[#keys + 1] = ns .. ':b:r:' .. e end
  return keys
end
local function set_of(text)
  local s, n = {}, 0
  for t in string.gmatch(text, '%S+') do s[t] = true; n = n + 1 end
  return s, n
end
local mine, mine_n = set_of(tokens)

-- Same terms, same order as bridge/dedupe/similarity.py: the scores are bit-identical.
local function score(p)
  local total = 0.0
  if asset ~= '' and asset == p[3] then total = total + w_asset end
  if event ~= '' and event == p[4] then total = total + w_event end
  if sev ~= '' and sev == p[5] then total = total + w_sev end
  if source ~= '' and source == p[6] then total = total + w_source end
  local theirs, theirs_n = set_of(p[7])
  local inter = 0
  for t in pairs(mine) do if theirs[t] then inter = inter + 1 end end
  local union = mine_n + theirs_n - inter
  local j = 0.0
  if union > 0 then j = inter / union end
  return total + w_title * j
end

local function touch(pid, p)
  local last = math.max(tonumber(p[2]), seen)
  redis.call('HSET', pkey(pid), 'last', last)
  redis.call('PEXPIRE', pkey(pid), window)
  for _, b in ipairs(bkeys(p[3], p[4])) do
    redis.call('ZADD', b, 'GT', last, pid)
    redis.call('PEXPIRE', b, window)
  end
  redis.call('SET', KEYS[1], pid, 'PX', window)
end

local function reply(kind, pid, p)
  return {kind, pid, p[3], p[4], p[5], p[6], p[7]}
end

if redis.call('EXISTS', pkey(id)) == 1 then
  return {'self', id, '', '', '', '', ''}
end

local hit = redis.call('GET', KEYS[1])
if hit then
  local p = redis.call('HMGET', pkey(hit), unpack(FIELDS))
  if p[1] and tonumber(p[2]) >= lo and tonumber(p[1]) <= hi then
    touch(hit, p)
    return reply('exact', hit, p)
  end
end

local best, best_p, best_score = nil, nil, -1.0
local compared = {}
for i = 2, 3 do
  local b = KEYS[i]
  if b ~= '' then
    redis.call('ZREMRANGEBYSCORE', b, '-inf', '(' .. lo)
    for _, pid in ipairs(redis.call('ZREVRANGE', b, 0, max_c - 1)) do
      if not compared[pid] then
        compared[pid] = true
        local p = redis.call('HMGET', pkey(pid), unpack(FIELDS))
        if not p[1] then
          redis.call('ZREM', b, pid)
        elseif tonumber(p[2]) >= lo and tonumber(p[1]) <= hi then
          local s = score(p)
          -- Ties go to the oldest primary (lowest id), as in the in-process index.
          if s > best_score or (s == best_score and tonumber(pid) < tonumber(best)) then
            best, best_p, best_score = pid, p, s
          end
        end
      end
    end
  end
end

if best and best_score > threshold then
  touch(best, best_p)
  return reply('similar', best, best_p)
end

redis.call('HSET', pkey(id), 'first', seen, 'last', seen, 'fp', fp, 'asset', asset,
  'event', event, 'sev', sev, 'source', source, 'tokens', tokens)
redis.call('PEXPIRE', pkey(id), window)
for _, b in ipairs(bkeys(asset, event)) do
  redis.call('ZADD', b, seen, id)
  -- Keep only the newest max_c primaries: older ones would never be compared anyway.
  redis.call('ZREMRANGEBYRANK', b, 0, -(max_c + 1))
  redis.call('PEXPIRE', b, window)
end
redis.call('SET', KEYS[1], id, 'PX', window)
if best then return reply('new', best, best_p) end
return {'new', '', '', '', '', '', ''}
"""

FORGET = """
-- KEYS: none; ARGV: 1 namespace, 2 alert id. Removes a primary and its index entries.
local ns, id = ARGV[1], ARGV[2]
local k = ns .. ":p:" .. id
local p = redis.call("HMGET", k, "fp", "asset", "event")
if not p[1] then return 0 end
if p[2] ~= "" then redis.call("ZREM", ns .. ":b:a:" .. p[2], id) end
if p[3] ~= "" then redis.call("ZREM", ns .. ":b:r:" .. p[3], id) end
local fpk = ns .. ":fp:" .. p[1]
if redis.call("GET", fpk) == id then redis.call("DEL", fpk) end
redis.call("DEL", k)
return 1
"""

# MATCH_OR_ADD for a whole delivery in one call: the same decisions, in candidate order, as
# calling MATCH_OR_ADD once per candidate, but one round trip, and each primary compared is
# read (HMGET) and tokenised once per call instead of once per candidate that sees it.
MATCH_MANY = """
-- KEYS: none (keys are built from the namespace; single Redis, not Cluster)
-- ARGV: 1 namespace, 2 window ms, 3 max candidates, 4 threshold, 5-9 weights (asset,
--       event type, severity, source, title), then 8 fields per candidate: alert id,
--       fingerprint, asset, event type, severity, source, title tokens, seen ms.
-- Returns one {kind, primary id, asset, event type, severity, source, tokens} per candidate.
local ns, window, max_c = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local threshold = tonumber(ARGV[4])
local w_asset, w_event, w_sev = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local w_source, w_title = tonumber(ARGV[8]), tonumber(ARGV[9])
local FIELDS = {'first', 'last', 'asset', 'event', 'sev', 'source', 'tokens'}
local cache = {}  -- pid -> {fields, token set, token count} or false (gone)

local function pkey(pid) return ns .. ':p:' .. pid end
local function bkeys(a, e)
  local keys = {}
  if a ~= '' then keys[#keys + 1] = ns .. ':b:a:' .. a end
  if e ~= '' then keys[#keys + 1] = ns .. ':b:r:' .. e end
  return keys
end
local function set_of(text)
  local s, n = {}, 0
  for t in string.gmatch(text, '%S+') do s[t] = true; n = n + 1 end
  return s, n
end
local function primary(pid)
  local c = cache[pid]
  if c == nil then
    local p = redis.call('HMGET', pkey(pid), unpack(FIELDS))
    if p[1] then
      local s, n = set_of(p[7])
      c = {p, s, n}
    else
      c = false
    end
    cache[pid] = c
  end
  return c
end

local function match(id, fp, asset, event, sev, source, tokens, seen)
  local lo, hi = seen - window, seen + window
  local mine, mine_n = set_of(tokens)
  local function score(c)
    local p, theirs, theirs_n = c[1], c[2], c[3]
    local total = 0.0
    if asset ~= '' and asset == p[3] then total = total + w_asset end
    if event ~= '' and event == p[4] then total = total + w_event end
    if sev ~= '' and sev == p[5] then total = total + w_sev end
    if source ~= '' and source == p[6] then total = total + w_source end
    local inter = 0
    for t in pairs(mine) do if theirs[t] then inter = inter + 1 end end
    local union = mine_n + theirs_n - inter
    local j = 0.0
    if union > 0 then j = inter / union end
    return total + w_title * j
  end
  local function touch(pid, p)
    local last = math.max(tonumber(p[2]), seen)
    p[2] = tostring(last)
    redis.call('HSET', pkey(pid), 'last', last)
    redis.call('PEXPIRE', pkey(pid), window)
    for _, b in ipairs(bkeys(p[3], p[4])) do
      redis.call('ZADD', b, 'GT', last, pid)
      redis.call('PEXPIRE', b, window)
    end
    redis.call('SET', ns .. ':fp:' .. fp, pid, 'PX', window)
  end
  local function reply(kind, pid, p)
    return {kind, pid, p[3], p[4], p[5], p[6], p[7]}
  end

  if primary(id) then
    return {'self', id, '', '', '', '', ''}
  end
  local hit = redis.call('GET', ns .. ':fp:' .. fp)
  if hit then
    local c = primary(hit)
    if c and tonumber(c[1][2]) >= lo and tonumber(c[1][1]) <= hi then
      touch(hit, c[1])
      return reply('exact', hit, c[1])
    end
  end
  local best, best_p, best_score = nil, nil, -1.0
  local compared = {}
  for _, b in ipairs(bkeys(asset, event)) do
    redis.call('ZREMRANGEBYSCORE', b, '-inf', '(' .. lo)
    for _, pid in ipairs(redis.call('ZREVRANGE', b, 0, max_c - 1)) do
      if not compared[pid] then
        compared[pid] = true
        local c = primary(pid)
        if not c then
          redis.call('ZREM', b, pid)
        elseif tonumber(c[1][2]) >= lo and tonumber(c[1][1]) <= hi then
          local s = score(c)
          if s > best_score or (s == best_score and tonumber(pid) < tonumber(best)) then
            best, best_p, best_score = pid, c[1], s
          end
        end
      end
    end
  end
  if best and best_score > threshold then
    touch(best, best_p)
    return reply('similar', best, best_p)
  end
  redis.call('HSET', pkey(id), 'first', seen, 'last', seen, 'fp', fp, 'asset', asset,
    'event', event, 'sev', sev, 'source', source, 'tokens', tokens)
  redis.call('PEXPIRE', pkey(id), window)
  for _, b in ipairs(bkeys(asset, event)) do
    redis.call('ZADD', b, seen, id)
    redis.call('ZREMRANGEBYRANK', b, 0, -(max_c + 1))
    redis.call('PEXPIRE', b, window)
  end
  redis.call('SET', ns .. ':fp:' .. fp, id, 'PX', window)
  local p = {tostring(seen), tostring(seen), asset, event, sev, source, tokens}
  cache[id] = {p, mine, mine_n}
  if best then return reply('new', best, best_p) end
  return {'new', '', '', '', '', '', ''}
end

local out = {}
for i = 10, #ARGV, 8 do
  out[#out + 1] = match(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4],
                        ARGV[i + 5], ARGV[i + 6], tonumber(ARGV[i + 7]))
end
return out
"""
