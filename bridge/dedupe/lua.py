"""Lua scripts of the Redis dedupe index, kept beside the Python they mirror.

Embedded as strings (not package data files) so an installed wheel always carries them.
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

# One call per delivery (or per pipeline pass): the same decisions, in candidate order, as one
# call per candidate, in one round trip.
MATCH_MANY = """
-- secmon dedupe: decide candidates in order, atomically. Each is matched against the primaries
-- in its window (exact fingerprint first, then similarity over the newest primaries of its
-- asset and event-type buckets), or becomes a primary itself. Runs inside Redis, so bridge
-- replicas sharing Redis agree on one primary.
-- KEYS: none (keys are built from the namespace; single Redis, not Cluster)
-- ARGV: 1 namespace, 2 window ms, 3 max candidates, 4 threshold, 5-9 weights (asset,
--       event type, severity, source, title), then 8 fields per candidate: alert id,
--       fingerprint, asset, event type, severity, source, title tokens, seen ms.
-- Returns one {kind, primary id, asset, event type, severity, source, tokens} per candidate,
-- kind one of self | exact | similar | new; for "new" the fields are those of the best
-- (losing) match, if any.
--
-- Cost per call, not per candidate: each primary compared is read and tokenised once; writes
-- to a primary's hash, fingerprint keys, TTL refreshes and bucket trims go out once per key
-- at the end (every read in between goes through this call's cache). A primary is compared
-- by title only if its field score plus the whole title weight could pass the threshold and
-- reach the best so far: one that cannot is neither a match nor a near miss worth naming.
local ns, window, max_c = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local threshold = tonumber(ARGV[4])
local w_asset, w_event, w_sev = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local w_source, w_title = tonumber(ARGV[8]), tonumber(ARGV[9])
-- DedupeConfig.event_type_alone_can_match, same terms in the same order.
local event_alone = w_event + w_sev + w_source + w_title > threshold
local FIELDS = {'first', 'last', 'asset', 'event', 'sev', 'source', 'tokens'}

-- pid -> primary {first, last, asset, event, sev, source, tokens, token set, token count,
-- last candidate compared} or false (gone)
local cache = {}
local added, touched = {}, {}  -- pid -> true: new primaries, primaries whose 'last' moved
local fps = {}  -- fingerprint -> pid, written this call
local buckets = {}  -- bucket key -> true, touched this call
local swept = {}

local function pkey(pid) return ns .. ':p:' .. pid end
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
      c = {tonumber(p[1]), tonumber(p[2]), p[3], p[4], p[5], p[6], p[7], s, n, 0}
    else
      c = false
    end
    cache[pid] = c
  end
  return c
end
local function bkeys(asset, event)
  local keys = {}
  if asset ~= '' then keys[#keys + 1] = ns .. ':b:a:' .. asset end
  if event ~= '' then keys[#keys + 1] = ns .. ':b:r:' .. event end
  return keys
end

-- Entries older than every candidate's window are dropped once per bucket per call; younger
-- stale ones fail the window check, as in the in-process index.
local oldest = math.huge
for i = 17, #ARGV, 8 do oldest = math.min(oldest, tonumber(ARGV[i])) end
local function newest_ids(b)
  if not swept[b] then
    swept[b] = true
    redis.call('ZREMRANGEBYSCORE', b, '-inf', '(' .. (oldest - window))
  end
  return redis.call('ZREVRANGE', b, 0, max_c - 1)
end

local function reply(kind, pid, c)
  return {kind, pid, c[3], c[4], c[5], c[6], c[7]}
end
local function touch(pid, c, fp, seen)
  if seen > c[2] then c[2] = seen end
  touched[pid] = true
  for _, b in ipairs(bkeys(c[3], c[4])) do
    redis.call('ZADD', b, 'GT', c[2], pid)
    buckets[b] = true
  end
  fps[fp] = pid
end

local function match(n, id, fp, asset, event, sev, source, tokens, seen)
  local lo, hi = seen - window, seen + window
  if primary(id) then
    return {'self', id, '', '', '', '', ''}
  end
  local hit = fps[fp]
  if hit == nil then hit = redis.call('GET', ns .. ':fp:' .. fp) end
  if hit then
    local c = primary(hit)
    if c and c[2] >= lo and c[1] <= hi then
      touch(hit, c, fp, seen)
      return reply('exact', hit, c)
    end
  end
  local mine, mine_n = set_of(tokens)
  local best, best_c, best_score = nil, nil, -1.0
  local function scan(b)
    local ids = newest_ids(b)
    for _, pid in ipairs(ids) do
      local c = primary(pid)
      if not c then
        redis.call('ZREM', b, pid)
      elseif c[10] ~= n and c[2] >= lo and c[1] <= hi then
        c[10] = n
        -- Same terms, same order as bridge/dedupe/similarity.py: bit-identical scores.
        local s = 0.0
        if asset ~= '' and asset == c[3] then s = s + w_asset end
        if event ~= '' and event == c[4] then s = s + w_event end
        if sev ~= '' and sev == c[5] then s = s + w_sev end
        if source ~= '' and source == c[6] then s = s + w_source end
        local bound = s + w_title
        -- A title match could not lift it above the threshold or the best so far: it is
        -- neither a match nor a near miss worth naming.
        if bound > threshold and bound >= best_score then
          local theirs, inter = c[8], 0
          for t in pairs(mine) do if theirs[t] then inter = inter + 1 end end
          local union = mine_n + c[9] - inter
          local j = 0.0
          if union > 0 then j = inter / union end
          s = s + w_title * j
          -- Ties go to the oldest primary (lowest id), as in the in-process index.
          if s > best_score or (s == best_score and tonumber(pid) < tonumber(best)) then
            best, best_c, best_score = pid, c, s
          end
        end
      end
    end
    return #ids
  end
  -- The asset's bucket first; the event type's only if a primary sharing just the event type
  -- could pass (DedupeConfig.event_type_alone_can_match), or could be on the same asset and
  -- pushed out of a full asset bucket by newer ones.
  local full = false
  if asset ~= '' then full = scan(ns .. ':b:a:' .. asset) >= max_c end
  if event ~= '' and (asset == '' or full or event_alone) then scan(ns .. ':b:r:' .. event) end
  if best and best_score > threshold then
    touch(best, best_c, fp, seen)
    return reply('similar', best, best_c)
  end
  cache[id] = {seen, seen, asset, event, sev, source, tokens, mine, mine_n, n, fp}
  added[id] = true
  for _, b in ipairs(bkeys(asset, event)) do
    redis.call('ZADD', b, seen, id)
    buckets[b] = true
  end
  fps[fp] = id
  if best then return reply('new', best, best_c) end
  return {'new', '', '', '', '', '', ''}
end

local out, n = {}, 0
for i = 10, #ARGV, 8 do
  n = n + 1
  out[n] = match(n, ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4],
                 ARGV[i + 5], ARGV[i + 6], tonumber(ARGV[i + 7]))
end

for pid in pairs(added) do
  local c = cache[pid]
  redis.call('HSET', pkey(pid), 'first', c[1], 'last', c[2], 'fp', c[11], 'asset', c[3],
    'event', c[4], 'sev', c[5], 'source', c[6], 'tokens', c[7])
  redis.call('PEXPIRE', pkey(pid), window)
end
for pid in pairs(touched) do
  if not added[pid] then
    redis.call('HSET', pkey(pid), 'last', cache[pid][2])
    redis.call('PEXPIRE', pkey(pid), window)
  end
end
for fp, pid in pairs(fps) do
  redis.call('SET', ns .. ':fp:' .. fp, pid, 'PX', window)
end
for b in pairs(buckets) do
  -- Keep only the newest max_c primaries: older ones would never be compared anyway.
  redis.call('ZREMRANGEBYRANK', b, 0, -(max_c + 1))
  redis.call('PEXPIRE', b, window)
end
return out
"""
