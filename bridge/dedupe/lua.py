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
