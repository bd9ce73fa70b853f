// The Lua scripts of the Redis store. Each runs atomically inside Redis, so a push — its idempotency
// check, its re-check of what validation relied on, its increments and its index updates — is one
// indivisible step however many gateway replicas push at once. Every key starts with the prefix P, which
// carries a hash tag (`{pushgateway}:` by default), so all keys of one gateway share one Redis Cluster slot
// and a script may touch any of them; KEYS[1] (P..'groups') only routes the call to that slot's node.
// Layout (gk = group key, fam = family name, text = a series' sorted label text):
//
//   P..'groups'            ZSET  gk -> Unix ms of the group's last push (attempt); TTL sweeps by score
//   P..'g:'..gk            HASH  labels (JSON), push (ms), fail (ms), mode (how the last push wrote it: core/model
//                                 GroupWriteMode), retries (its pushes answered as replays)
//   P..'f:'..gk            HASH  fam -> type, or type..'|'..help
//   P..'v:'..gk..'|'..fam  HASH  text -> value (scalar "v"; histogram "bounds|sum|count|c1,c2,…", then
//                                 "|{native JSON}" for a native one, merged by the process, never here;
//                                 summary "sum|count|q:v,…"); numbers as Go/Lua %.17g text
//   P..'fi'                HASH  fam -> type         (validation: families across groups)
//   P..'fc'                HASH  fam -> holder count
//   P..'o'                 HASH  fam..'{'..text..'}' -> gk   (validation: series owners; HLEN = series)
//   P..'dedup'             STRING pushes answered as replays
//   P..'k:'..gk..'\2'..key STRING an Idempotency-Key applied in the last 10 minutes (PX)
//   P..'op:'..id           STRING the result of one store call, so a transport-level retry of the same
//                                 EVAL (the client library retries network errors) is not applied twice
//
// Values are added with Lua doubles and written with %.17g, which round-trips every double, so Redis and
// the memory store compute bit-identical totals.

const helpers = /* lua */ `
local P = ARGV[1]

local function fmt(x)
  if x ~= x then return 'NaN' end
  if x == math.huge then return '+Inf' end
  if x == -math.huge then return '-Inf' end
  return string.format('%.17g', x)
end

local function num(text)
  local lower = string.lower(text)
  if lower == 'nan' or lower == '-nan' then return 0/0 end
  if lower == '+inf' or lower == 'inf' then return math.huge end
  if lower == '-inf' then return -math.huge end
  return tonumber(text)
end

local function value_key(gk, fam) return P .. 'v:' .. gk .. '|' .. fam end

-- What validation knows of a family name: {type or '', '1' when a group other than gk holds it else '0',
-- gk's own type or ''}.
local function family_fact(gk, fam)
  local own = redis.call('HGET', P .. 'f:' .. gk, fam)
  own = own and string.match(own, '^[^|]+') or ''
  local holders = tonumber(redis.call('HGET', P .. 'fc', fam) or '0')
  local others = holders - (own ~= '' and 1 or 0) > 0 and '1' or '0'
  return {redis.call('HGET', P .. 'fi', fam) or '', others, own}
end

local function unindex_family(gk, fam)
  local vkey = value_key(gk, fam)
  local texts = redis.call('HKEYS', vkey)
  for i = 1, #texts do redis.call('HDEL', P .. 'o', fam .. '{' .. texts[i] .. '}') end
  redis.call('DEL', vkey)
  redis.call('HDEL', P .. 'f:' .. gk, fam)
  if redis.call('HINCRBY', P .. 'fc', fam, -1) <= 0 then
    redis.call('HDEL', P .. 'fc', fam)
    redis.call('HDEL', P .. 'fi', fam)
  end
end

-- A replay of a push to gk: counted on the group, if it still exists (a replay never creates one).
local function count_retry(gk)
  redis.call('INCR', P .. 'dedup')
  if redis.call('EXISTS', P .. 'g:' .. gk) == 1 then redis.call('HINCRBY', P .. 'g:' .. gk, 'retries', 1) end
end

local function delete_group(gk)
  local fams = redis.call('HKEYS', P .. 'f:' .. gk)
  for i = 1, #fams do unindex_family(gk, fams[i]) end
  redis.call('DEL', P .. 'f:' .. gk, P .. 'g:' .. gk)
  return redis.call('ZREM', P .. 'groups', gk)
end

-- Groups whose last push is older than the TTL, oldest first, by score: never a scan of all groups.
local function sweep(now, ttl)
  if ttl <= 0 then return end
  local expired = redis.call('ZRANGEBYSCORE', P .. 'groups', '-inf', fmt(now - ttl), 'LIMIT', 0, 500)
  for i = 1, #expired do delete_group(expired[i]) end
end
`;

/**
 * ARGV: prefix, now, ttlMs, mode, gk, labelsJson, scopedIdempotencyKey|'', opId, maxSeries,
 * expectations {f:[[name,type|'',othersHold '1'|'0',ownType|'']], s:[[seriesKey,owner|'']]}, payload [[fam,type,[help]?,[[text,value]]]],
 * writeMode (recorded on the group when applied).
 * Returns {'applied'} | {'replayed'} | {'conflict'} | {'invalid', message} | {'too-many-series', count}.
 */
export const pushScript = /* lua */ `${helpers}
local now, ttl, mode, gk, labels = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
local idem, op, max_series = ARGV[7], ARGV[8], tonumber(ARGV[9])

local op_key = P .. 'op:' .. op
local done = redis.call('GET', op_key)
if done then return cjson.decode(done) end
local function finish(result)
  redis.call('SET', op_key, cjson.encode(result), 'PX', 120000)
  return result
end

sweep(now, ttl)
if idem ~= '' and redis.call('EXISTS', P .. 'k:' .. idem) == 1 then
  count_retry(gk)
  return finish({'replayed'})
end

-- The process validated the push against these facts; if any changed since, it validates again. Only
-- what validation reads is compared: the family's type, this group's type for it, and whether another
-- group holds it — not how many do, so pushes of the same family into different groups never conflict.
local expected = cjson.decode(ARGV[10])
for _, f in ipairs(expected.f) do
  local fact = family_fact(gk, f[1])
  if fact[1] ~= f[2] or fact[2] ~= f[3] or fact[3] ~= f[4] then return {'conflict'} end
end
for _, s in ipairs(expected.s) do
  if (redis.call('HGET', P .. 'o', s[1]) or '') ~= s[2] then return {'conflict'} end
end

local function touch_group(field)
  local gkey = P .. 'g:' .. gk
  redis.call('HSETNX', gkey, 'push', '0')
  redis.call('HSETNX', gkey, 'fail', '0')
  if field == 'push' then
    redis.call('HSET', gkey, 'labels', labels, field, ARGV[2], 'mode', ARGV[12])
  else
    redis.call('HSET', gkey, 'labels', labels, field, ARGV[2])
  end
  redis.call('ZADD', P .. 'groups', now, gk)
end

local payload = cjson.decode(ARGV[11])

if mode == 'aggregate' then
  for _, fam in ipairs(payload) do
    if fam[2] == 'histogram' then
      local vkey = value_key(gk, fam[1])
      for _, s in ipairs(fam[4]) do
        local current = redis.call('HGET', vkey, s[1])
        if s[3] ~= nil then
          -- Merged in the process from the value it read (s[3], '' for none): stored only if that is still the value.
          if (current or '') ~= s[3] then return {'conflict'} end
        elseif current then
          -- A fifth '|' part holds native buckets, which are never added here (redis.ts merges native deltas itself).
          if select(2, string.gsub(current, '|', '')) > 3 then
            touch_group('fail')
            return finish({'invalid', 'histogram ' .. fam[1] .. '{' .. s[1] .. '} is pushed as a classic histogram but is stored as a native one'})
          end
          local stored_bounds = string.match(current, '^([^|]*)|')
          local pushed_bounds = string.match(s[2], '^([^|]*)|')
          if stored_bounds ~= pushed_bounds then
            touch_group('fail')
            return finish({'invalid', 'histogram ' .. fam[1] .. '{' .. s[1] .. '}: bucket bounds [' .. pushed_bounds ..
              '] differ from the stored [' .. stored_bounds .. ']'})
          end
        end
      end
    end
  end
end

if max_series > 0 then
  local removed, added = 0, 0
  if mode == 'replace' then
    local fams = redis.call('HKEYS', P .. 'f:' .. gk)
    for i = 1, #fams do removed = removed + redis.call('HLEN', value_key(gk, fams[i])) end
  end
  for _, fam in ipairs(payload) do
    local vkey = value_key(gk, fam[1])
    if mode == 'aggregate' then
      for _, s in ipairs(fam[4]) do added = added + (1 - redis.call('HEXISTS', vkey, s[1])) end
    else
      if mode == 'merge-families' then removed = removed + redis.call('HLEN', vkey) end
      added = added + #fam[4]
    end
  end
  local after = redis.call('HLEN', P .. 'o') - removed + added
  if after > max_series then return finish({'too-many-series', tostring(after)}) end
end

if mode == 'replace' then
  local fams = redis.call('HKEYS', P .. 'f:' .. gk)
  for i = 1, #fams do unindex_family(gk, fams[i]) end
elseif mode == 'merge-families' then
  for _, fam in ipairs(payload) do
    if redis.call('HEXISTS', P .. 'f:' .. gk, fam[1]) == 1 then unindex_family(gk, fam[1]) end
  end
end

local function add_histograms(current, delta)
  local bounds, sum1, count1, counts1 = string.match(current, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
  local _, sum2, count2, counts2 = string.match(delta, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
  local deltas = {}
  for v in string.gmatch(counts2, '[^,]+') do deltas[#deltas + 1] = num(v) end
  local sums = {}
  for v in string.gmatch(counts1, '[^,]+') do sums[#sums + 1] = fmt(num(v) + deltas[#sums + 1]) end
  return bounds .. '|' .. fmt(num(sum1) + num(sum2)) .. '|' .. fmt(num(count1) + num(count2)) .. '|' .. table.concat(sums, ',')
end

for _, fam in ipairs(payload) do
  local name, ftype, help = fam[1], fam[2], fam[3][1]
  local vkey = value_key(gk, name)
  local meta = redis.call('HGET', P .. 'f:' .. gk, name)
  if not meta then
    redis.call('HINCRBY', P .. 'fc', name, 1)
    redis.call('HSET', P .. 'fi', name, ftype)
  end
  if help == nil and meta and mode == 'aggregate' then
    help = string.match(meta, '^[^|]+|(.*)$')
  end
  redis.call('HSET', P .. 'f:' .. gk, name, help and (ftype .. '|' .. help) or ftype)
  local adds = mode == 'aggregate' and (ftype == 'counter' or ftype == 'histogram')
  for _, s in ipairs(fam[4]) do
    local text, value = s[1], s[2]
    if adds and s[3] == nil then
      local current = redis.call('HGET', vkey, text)
      if current then
        if ftype == 'counter' then value = fmt(num(current) + num(value)) else value = add_histograms(current, value) end
      end
    end
    if redis.call('HSET', vkey, text, value) == 1 then redis.call('HSET', P .. 'o', name .. '{' .. text .. '}', gk) end
  end
end

touch_group('push')
if idem ~= '' then redis.call('SET', P .. 'k:' .. idem, '1', 'PX', 600000) end
return finish({'applied'})
`;

/**
 * ARGV: prefix, gk, labelsJson, now, scopedIdempotencyKey|''. A push the process refused: if its key was
 * already applied, it is a replay ({'replayed'}, as the memory store answers — the key is checked before
 * validation); otherwise the refusal is recorded on its group, creating it as the official gateway does.
 */
export const recordFailureScript = /* lua */ `${helpers}
local gk = ARGV[2]
if ARGV[5] ~= '' and redis.call('EXISTS', P .. 'k:' .. ARGV[5]) == 1 then
  count_retry(gk)
  return 'replayed'
end
local gkey = P .. 'g:' .. gk
redis.call('HSETNX', gkey, 'push', '0')
redis.call('HSET', gkey, 'labels', ARGV[3], 'fail', ARGV[4])
redis.call('ZADD', P .. 'groups', tonumber(ARGV[4]), gk)
return 'invalid'
`;

/**
 * ARGV: prefix, gk, familyNamesJson, seriesKeysJson. The facts validation needs, in one round trip:
 * {types, othersHold, ownTypes, owners}, each aligned with its input list ('' / '0' when absent).
 */
export const factsScript = /* lua */ `${helpers}
local gk = ARGV[2]
local names, series = cjson.decode(ARGV[3]), cjson.decode(ARGV[4])
local types, others, own, owners = {}, {}, {}, {}
for i, name in ipairs(names) do
  local fact = family_fact(gk, name)
  types[i], others[i], own[i] = fact[1], fact[2], fact[3]
end
for i, key in ipairs(series) do owners[i] = redis.call('HGET', P .. 'o', key) or '' end
return {types, others, own, owners}
`;

/** ARGV: prefix, gk, [[fam, text], …]. Returns the stored value of each series, '' where there is none. */
export const readValuesScript = /* lua */ `${helpers}
local gk = ARGV[2]
local out = {}
for i, pair in ipairs(cjson.decode(ARGV[3])) do out[i] = redis.call('HGET', value_key(gk, pair[1]), pair[2]) or '' end
return out
`;

/**
 * ARGV: prefix, now, ttlMs. Sweeps expired groups, then returns every group:
 * {gk, labels, push, fail, {{fam, meta, {text, value, …}}, …}, mode, retries}.
 */
export const readGroupsScript = /* lua */ `${helpers}
sweep(tonumber(ARGV[2]), tonumber(ARGV[3]))
local out = {}
local gks = redis.call('ZRANGE', P .. 'groups', 0, -1)
for i = 1, #gks do
  local gk = gks[i]
  local g = redis.call('HMGET', P .. 'g:' .. gk, 'labels', 'push', 'fail', 'mode', 'retries')
  local fams = {}
  local f = redis.call('HGETALL', P .. 'f:' .. gk)
  for j = 1, #f, 2 do fams[#fams + 1] = {f[j], f[j + 1], redis.call('HGETALL', value_key(gk, f[j]))} end
  out[#out + 1] = {gk, g[1] or '{}', g[2] or '0', g[3] or '0', fams, g[4] or '', g[5] or '0'}
end
return out
`;

/** ARGV: prefix, now, ttlMs. {groups, series, deduplicated}. */
export const statsScript = /* lua */ `${helpers}
sweep(tonumber(ARGV[2]), tonumber(ARGV[3]))
return {redis.call('ZCARD', P .. 'groups'), redis.call('HLEN', P .. 'o'), redis.call('GET', P .. 'dedup') or '0'}
`;

/** ARGV: prefix, gk ('' = every group). Number of groups removed. */
export const deleteScript = /* lua */ `${helpers}
if ARGV[2] ~= '' then return delete_group(ARGV[2]) end
local gks = redis.call('ZRANGE', P .. 'groups', 0, -1)
for i = 1, #gks do delete_group(gks[i]) end
return #gks
`;
