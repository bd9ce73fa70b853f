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
//   P..'bytes'             STRING bytes held (GATEWAY_MAX_STORED_BYTES): per series #fam + #text + #value, per
//                                 group #gk; kept by every script that adds or removes a series or a group
//   P..'w'                 HASH  OTLP stream digest -> its last applied delta window, "startNs endNs"
//   P..'wt'                ZSET  stream digest -> Unix ms of its last apply (expiry with the group TTL; the
//                                 lowest scores are evicted first when there are more than the bound)
//   P..'wev'               STRING streams evicted before their TTL
//   P..'kt'                ZSET  scoped Idempotency-Key digest -> Unix ms it was applied; live for the window,
//                                 the lowest scores are evicted first when there are more than the bound
//   P..'kev'               STRING Idempotency-Keys evicted before their window ended
//   P..'k:'..digest        STRING an Idempotency-Key as an earlier layout remembered it (PX 10 minutes): still a replay
//   P..'ot'                ZSET  operation id -> Unix ms of the call that wrote with it (+0.5 for the one bit of its
//                                 answer a script needs: a replay, a delete that removed nothing), so a
//                                 transport-level retry of the same EVAL (the client library retries network
//                                 errors) returns the first answer instead of writing twice. Every script that
//                                 writes more than an idempotent function of its arguments carries one (push,
//                                 record failure, group retry, delete); live for OPERATION_WINDOW_MS, the lowest
//                                 scores are evicted first when there are more than the bound
//   P..'oev'               STRING operation ids evicted before their window ended
//
// Values are added with Lua doubles and written with %.17g, which round-trips every double, so Redis and
// the memory store compute bit-identical totals.
import { IDEMPOTENCY_WINDOW_MS } from '../core/idempotency.js';

/**
 * How long a push call's operation id is remembered: far longer than a transport retries one call (the TCP
 * command timeout is 10 s, the REST client's backoff well under a second).
 */
export const OPERATION_WINDOW_MS = 2 * 60 * 1000;

const helpers = /* lua */ `
local P = ARGV[1]
local IDEMPOTENCY_WINDOW_MS = ${IDEMPOTENCY_WINDOW_MS}
local OPERATION_WINDOW_MS = ${OPERATION_WINDOW_MS}
-- Eviction and expiry remove at most this many keys per call, so no script pays for a backlog at once.
local KEY_BATCH = 100

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

local function owner_key(fam, text) return fam .. '{' .. text .. '}' end

-- Variadic commands take lists of any length in chunks: unpack is bounded by Lua's C stack (LUAI_MAXCSTACK, 8000).
-- Even, so field/value pairs never straddle two calls.
local CHUNK = 1000

-- HMGET of a list of fields: one reply per field (false where absent), in as few calls as the chunks need.
local function hmget(key, fields)
  local out = {}
  for i = 1, #fields, CHUNK do
    local part = redis.call('HMGET', key, unpack(fields, i, math.min(i + CHUNK - 1, #fields)))
    for j = 1, #part do out[i + j - 1] = part[j] end
  end
  return out
end

-- cmd key item… over a list of items (HDEL fields; HSET field, value, …).
local function call_chunked(cmd, key, items)
  for i = 1, #items, CHUNK do redis.call(cmd, key, unpack(items, i, math.min(i + CHUNK - 1, #items))) end
end

local function add_bytes(n) if n ~= 0 then redis.call('INCRBY', P .. 'bytes', n) end end

-- Bytes a stored family holds (see P..'bytes').
local function family_bytes(gk, fam)
  local entries = redis.call('HGETALL', value_key(gk, fam))
  local bytes = 0
  for i = 1, #entries, 2 do bytes = bytes + #fam + #entries[i] + #entries[i + 1] end
  return bytes
end

-- What validation knows of family names, three lists aligned with names: each one's type ('' = none), '1' when a
-- group other than gk holds it else '0', and gk's own type ('' = none).
local function family_facts(gk, names)
  local types, others, own = {}, {}, {}
  if #names == 0 then return types, others, own end
  local metas, holders, known = hmget(P .. 'f:' .. gk, names), hmget(P .. 'fc', names), hmget(P .. 'fi', names)
  for i = 1, #names do
    own[i] = metas[i] and string.match(metas[i], '^[^|]+') or ''
    others[i] = tonumber(holders[i] or '0') - (own[i] ~= '' and 1 or 0) > 0 and '1' or '0'
    types[i] = known[i] or ''
  end
  return types, others, own
end

local function unindex_family(gk, fam)
  local vkey = value_key(gk, fam)
  local entries = redis.call('HGETALL', vkey)
  local owners, bytes = {}, 0
  for i = 1, #entries, 2 do
    owners[#owners + 1] = owner_key(fam, entries[i])
    bytes = bytes + #fam + #entries[i] + #entries[i + 1]
  end
  call_chunked('HDEL', P .. 'o', owners)
  add_bytes(-bytes)
  redis.call('DEL', vkey)
  redis.call('HDEL', P .. 'f:' .. gk, fam)
  if redis.call('HINCRBY', P .. 'fc', fam, -1) <= 0 then
    redis.call('HDEL', P .. 'fc', fam)
    redis.call('HDEL', P .. 'fi', fam)
  end
end

-- A retry of a push to gk not applied again: counted on the group, if it still exists (a replay never creates one).
local function count_group_retry(gk)
  if redis.call('EXISTS', P .. 'g:' .. gk) == 1 then redis.call('HINCRBY', P .. 'g:' .. gk, 'retries', 1) end
end

-- An Idempotency-Key replay: gateway_pushes_deduplicated_total and the group's retries.
local function count_replay(gk)
  redis.call('INCR', P .. 'dedup')
  count_group_retry(gk)
end

local function delete_group(gk)
  local fams = redis.call('HKEYS', P .. 'f:' .. gk)
  for i = 1, #fams do unindex_family(gk, fams[i]) end
  redis.call('DEL', P .. 'f:' .. gk, P .. 'g:' .. gk)
  local removed = redis.call('ZREM', P .. 'groups', gk)
  add_bytes(-removed * #gk)
  return removed
end

-- A store written before the byte count existed gets it counted once, over every group, before any script
-- changes it (O(store), once).
local function ensure_bytes()
  if redis.call('EXISTS', P .. 'bytes') == 1 then return end
  local total = 0
  local gks = redis.call('ZRANGE', P .. 'groups', 0, -1)
  for i = 1, #gks do
    total = total + #gks[i]
    local fams = redis.call('HKEYS', P .. 'f:' .. gks[i])
    for j = 1, #fams do total = total + family_bytes(gks[i], fams[j]) end
  end
  redis.call('SET', P .. 'bytes', total)
end

-- Whether an Idempotency-Key (its scoped digest) was applied within the window.
local function key_seen(idem, now)
  local applied = redis.call('ZSCORE', P .. 'kt', idem)
  if applied and tonumber(applied) > now - IDEMPOTENCY_WINDOW_MS then return true end
  return redis.call('EXISTS', P .. 'k:' .. idem) == 1
end

-- Adds member to a time-ordered set bounded to max members: past it the oldest are forgotten, and those still
-- inside the window are counted in the evicted counter. Members added in the same millisecond leave in member
-- order: any real bound holds far more than a millisecond of pushes.
local function add_bounded(set, member, score, now, window, max, evicted)
  redis.call('ZADD', P .. set, score, member)
  local over = redis.call('ZCARD', P .. set) - max
  if over <= 0 then return end
  local oldest = redis.call('ZPOPMIN', P .. set, math.min(over, KEY_BATCH))
  local early = 0
  for i = 2, #oldest, 2 do
    if tonumber(oldest[i]) > now - window then early = early + 1 end
  end
  if early > 0 then redis.call('INCRBY', P .. evicted, early) end
end

local function remember_key(idem, now, max_keys)
  add_bounded('kt', idem, now, now, IDEMPOTENCY_WINDOW_MS, max_keys, 'kev')
end

-- Members past their window, oldest first: ZCOUNT and a rank range, never a scan.
local function forget_expired(set, now, window)
  local expired = math.min(redis.call('ZCOUNT', P .. set, '-inf', fmt(now - window)), KEY_BATCH)
  if expired > 0 then redis.call('ZREMRANGEBYRANK', P .. set, 0, expired - 1) end
end

-- Whether an earlier run of this call (its operation id) wrote anything: nil when this is the first run, else the
-- bit of its answer it was remembered with. Only runs that changed the store are remembered: a refused call that
-- runs again decides afresh, which is right, since its first answer never reached the process.
local function earlier_run(op)
  local score = redis.call('ZSCORE', P .. 'ot', op)
  if not score then return nil end
  return tonumber(score) % 1 ~= 0
end

-- The bit rides in the score's fraction, so every remembered call costs the same bytes.
local function remember_run(op, now, bit, max_ops)
  add_bounded('ot', op, math.floor(now) + (bit and 0.5 or 0), now, OPERATION_WINDOW_MS, max_ops, 'oev')
end

-- Groups whose last push is older than the TTL, oldest first, by score: never a scan of all groups.
local function sweep(now, ttl)
  ensure_bytes()
  forget_expired('kt', now, IDEMPOTENCY_WINDOW_MS)
  forget_expired('ot', now, OPERATION_WINDOW_MS)
  if ttl <= 0 then return end
  local expired = redis.call('ZRANGEBYSCORE', P .. 'groups', '-inf', fmt(now - ttl), 'LIMIT', 0, 500)
  for i = 1, #expired do delete_group(expired[i]) end
  local streams = redis.call('ZRANGEBYSCORE', P .. 'wt', '-inf', fmt(now - ttl), 'LIMIT', 0, 500)
  for i = 1, #streams do
    redis.call('HDEL', P .. 'w', streams[i])
    redis.call('ZREM', P .. 'wt', streams[i])
  end
end

-- An OTLP stream's last applied window, '' when none or forgotten with the TTL (core/delta-windows).
local function live_window(stream, now, ttl)
  if ttl > 0 then
    local applied = redis.call('ZSCORE', P .. 'wt', stream)
    if not applied or tonumber(applied) <= now - ttl then return '' end
  end
  return redis.call('HGET', P .. 'w', stream) or ''
end
`;

/**
 * ARGV: prefix, now, ttlMs, mode, gk, labelsJson, scopedIdempotencyKey|'', opId, maxSeries,
 * expectations {f:[[name,type|'',othersHold '1'|'0',ownType|'']], s:[owner|''|1 (gk itself), one per payload series in order]},
 * payload [[fam,type,[help]?,[[text,value]],combine?]] (combine 'add'|'replace' overrides the mode's rule: OTLP),
 * maxStoredBytes, OTLP windows ('' or {e:[[stream,lastWindow|'']], r:[[stream,startNs,endNs]], max:streams}),
 * writeMode (core/model GroupWriteMode, recorded on the group when applied), maxIdempotencyKeys (the bound on P..'kt'),
 * maxOperationIds (the bound on P..'ot').
 * Returns {'applied'} | {'replayed'} | {'conflict'} | {'stale-windows'} | {'invalid', message} |
 * {'too-many-series', count} | {'store-full', bytes}.
 */
export const pushScript = /* lua */ `${helpers}
local now, ttl, mode, gk, labels = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
local idem, op, max_series = ARGV[7], ARGV[8], tonumber(ARGV[9])

local earlier = earlier_run(op)
if earlier ~= nil then return earlier and {'replayed'} or {'applied'} end
local function finish(answer)
  remember_run(op, now, answer[1] == 'replayed', tonumber(ARGV[16]))
  return answer
end

sweep(now, ttl)
if idem ~= '' and key_seen(idem, now) then
  count_replay(gk)
  return finish({'replayed'})
end

-- The process validated the push against these facts; if any changed since, it validates again. Only
-- what validation reads is compared: the family's type, this group's type for it, and whether another
-- group holds it — not how many do, so pushes of the same family into different groups never conflict.
local expected = cjson.decode(ARGV[10])
if #expected.f > 0 then
  local names = {}
  for i, f in ipairs(expected.f) do names[i] = f[1] end
  local types, others, own = family_facts(gk, names)
  for i, f in ipairs(expected.f) do
    if types[i] ~= f[2] or others[i] ~= f[3] or own[i] ~= f[4] then return {'conflict'} end
  end
end
local payload = cjson.decode(ARGV[11])
-- OTLP: the process judged the delta windows on these last windows; another replica applied one since.
local windows = ARGV[13] ~= '' and cjson.decode(ARGV[13]) or nil
if windows then
  for _, w in ipairs(windows.e) do
    if live_window(w[1], now, ttl) ~= w[2] then return {'stale-windows'} end
  end
end

local function touch_group(field)
  local gkey = P .. 'g:' .. gk
  redis.call('HSETNX', gkey, 'push', '0')
  redis.call('HSETNX', gkey, 'fail', '0')
  if field == 'push' then
    redis.call('HSET', gkey, 'labels', labels, field, ARGV[2], 'mode', ARGV[14])
  else
    redis.call('HSET', gkey, 'labels', labels, field, ARGV[2])
  end
  add_bytes(redis.call('ZADD', P .. 'groups', now, gk) * #gk)
end

local max_bytes = tonumber(ARGV[12])

local function family_adds(fam)
  if fam[5] ~= nil then return fam[5] == 'add' end
  return mode == 'aggregate' and (fam[2] == 'counter' or fam[2] == 'histogram')
end

-- What each pushed family held before, read once per family: the value of each pushed series (previous[f][i],
-- false for a new one). A PUT or POST rewrites a pushed family whole, so it also needs how many series the family
-- held (held[f]) and those it no longer carries (gone[f], {text, value}); the stored family is read whole only when
-- there are such series. So a series pushed again keeps its owner entry and only the difference is written.
local previous, held, gone = {}, {}, {}
for f, fam in ipairs(payload) do
  local vkey = value_key(gk, fam[1])
  local texts = {}
  for i, s in ipairs(fam[4]) do texts[i] = s[1] end
  previous[f] = hmget(vkey, texts)
  if mode ~= 'aggregate' then
    local present = 0
    for i = 1, #texts do
      if previous[f][i] then present = present + 1 end
    end
    held[f], gone[f] = redis.call('HLEN', vkey), {}
    if held[f] > present then
      local pushed = {}
      for i = 1, #texts do pushed[texts[i]] = true end
      local entries = redis.call('HGETALL', vkey)
      for i = 1, #entries, 2 do
        if not pushed[entries[i]] then gone[f][#gone[f] + 1] = {entries[i], entries[i + 1]} end
      end
    end
  end
end

-- The owner of each pushed series, as expected (in payload order). A series this group stores is its own (the
-- value hash and the index change together), so only the others are looked up in the index: none in a steady push.
do
  local i, lookups, wanted = 0, {}, {}
  for f, fam in ipairs(payload) do
    for j, s in ipairs(fam[4]) do
      i = i + 1
      local owner = expected.s[i]
      local own = previous[f][j] ~= false
      if owner == 1 then
        if not own then return {'conflict'} end
      elseif own then
        return {'conflict'}
      else
        lookups[#lookups + 1] = owner_key(fam[1], s[1])
        wanted[#wanted + 1] = owner
      end
    end
  end
  local owners = hmget(P .. 'o', lookups)
  for k = 1, #lookups do
    if (owners[k] or '') ~= wanted[k] then return {'conflict'} end
  end
end

if mode == 'aggregate' then
  for f, fam in ipairs(payload) do
    if fam[2] == 'histogram' and family_adds(fam) then
      for i, s in ipairs(fam[4]) do
        local current = previous[f][i]
        if s[3] ~= nil then
          -- Merged in the process from the value it read (s[3], '' for none): stored only if that is still the value.
          if (current or '') ~= s[3] then return {'conflict'} end
        elseif current then
          -- A fifth '|' part holds native buckets, which are never added here (redis.ts merges native deltas itself).
          -- A refusal here is not remembered (its message is not kept): run again, it writes this call's failure
          -- time again, the same value.
          if select(2, string.gsub(current, '|', '')) > 3 then
            touch_group('fail')
            return {'invalid', 'histogram ' .. fam[1] .. '{' .. s[1] .. '} is pushed as a classic histogram but is stored as a native one'}
          end
          local stored_bounds = string.match(current, '^([^|]*)|')
          local pushed_bounds = string.match(s[2], '^([^|]*)|')
          if stored_bounds ~= pushed_bounds then
            touch_group('fail')
            return {'invalid', 'histogram ' .. fam[1] .. '{' .. s[1] .. '}: bucket bounds [' .. pushed_bounds ..
              '] differ from the stored [' .. stored_bounds .. ']'}
          end
        end
      end
    end
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

-- The value each pushed series will hold ([family][series]), so the limits judge what is written.
local values = {}
for f, fam in ipairs(payload) do
  local adds = family_adds(fam)
  local vs = {}
  for i, s in ipairs(fam[4]) do
    local value = s[2]
    local current = mode == 'aggregate' and previous[f][i]
    if current and adds and s[3] == nil then
      if fam[2] == 'histogram' then value = add_histograms(current, value) else value = fmt(num(current) + num(value)) end
    end
    vs[i] = value
  end
  values[f] = vs
end

-- Families a PUT drops without pushing them again: their bytes are read only when the push would not fit without them.
local dropped = {}
if mode == 'replace' then
  local pushed = {}
  for _, fam in ipairs(payload) do pushed[fam[1]] = true end
  local fams = redis.call('HKEYS', P .. 'f:' .. gk)
  for i = 1, #fams do
    if not pushed[fams[i]] then dropped[#dropped + 1] = fams[i] end
  end
end

if max_series > 0 or max_bytes > 0 then
  local removed, added, removed_bytes, added_bytes = 0, 0, 0, 0
  if redis.call('ZSCORE', P .. 'groups', gk) == false then added_bytes = #gk end
  for _, name in ipairs(dropped) do removed = removed + redis.call('HLEN', value_key(gk, name)) end
  for f, fam in ipairs(payload) do
    if mode == 'aggregate' then
      for i, s in ipairs(fam[4]) do
        local old = previous[f][i]
        if old then removed_bytes = removed_bytes + #old else added, added_bytes = added + 1, added_bytes + #fam[1] + #s[1] end
        added_bytes = added_bytes + #values[f][i]
      end
    else
      removed, added = removed + held[f], added + #fam[4]
      for _, entry in ipairs(gone[f]) do removed_bytes = removed_bytes + #fam[1] + #entry[1] + #entry[2] end
      for i, s in ipairs(fam[4]) do
        local old = previous[f][i]
        if old then removed_bytes = removed_bytes + #fam[1] + #s[1] + #old end
        added_bytes = added_bytes + #fam[1] + #s[1] + #values[f][i]
      end
    end
  end
  local after = redis.call('HLEN', P .. 'o') - removed + added
  if max_series > 0 and after > max_series then return {'too-many-series', tostring(after)} end
  if max_bytes > 0 then
    local before = tonumber(redis.call('GET', P .. 'bytes') or '0')
    local bytes = before - removed_bytes + added_bytes
    if bytes > max_bytes then
      for _, name in ipairs(dropped) do bytes = bytes - family_bytes(gk, name) end
      -- A push that shrinks the store is always taken, even over the bound (it may have been lowered).
      if bytes > max_bytes and bytes > before then return {'store-full', tostring(bytes)} end
    end
  end
end

for _, name in ipairs(dropped) do unindex_family(gk, name) end

-- Each family is written with one variadic HSET of its values, one of the owners of its new series and, when the
-- push rewrites it whole, one HDEL each for the series it no longer carries; the byte count moves once.
local bytes_delta = 0
for f, fam in ipairs(payload) do
  local name, ftype, help = fam[1], fam[2], fam[3][1]
  local vkey = value_key(gk, name)
  local meta = redis.call('HGET', P .. 'f:' .. gk, name)
  local writes, owners = {}, {}
  for i, s in ipairs(fam[4]) do
    local text, value, old = s[1], values[f][i], previous[f][i]
    writes[#writes + 1] = text
    writes[#writes + 1] = value
    if old then
      bytes_delta = bytes_delta + #value - #old
    else
      owners[#owners + 1] = owner_key(name, text)
      owners[#owners + 1] = gk
      bytes_delta = bytes_delta + #name + #text + #value
    end
  end
  if gone[f] and #gone[f] > 0 then
    local texts, gone_owners = {}, {}
    for k, entry in ipairs(gone[f]) do
      texts[k] = entry[1]
      gone_owners[k] = owner_key(name, entry[1])
      bytes_delta = bytes_delta - (#name + #entry[1] + #entry[2])
    end
    call_chunked('HDEL', vkey, texts)
    call_chunked('HDEL', P .. 'o', gone_owners)
  end
  call_chunked('HSET', vkey, writes)
  call_chunked('HSET', P .. 'o', owners)
  if not meta then redis.call('HINCRBY', P .. 'fc', name, 1) end
  if not meta or string.match(meta, '^[^|]+') ~= ftype then redis.call('HSET', P .. 'fi', name, ftype) end
  -- An aggregation push without HELP keeps the stored one; a PUT or POST writes the family as pushed.
  if help == nil and meta and mode == 'aggregate' then help = string.match(meta, '^[^|]+|(.*)$') end
  local new_meta = help and (ftype .. '|' .. help) or ftype
  if new_meta ~= meta then redis.call('HSET', P .. 'f:' .. gk, name, new_meta) end
end
add_bytes(bytes_delta)

if windows then
  for _, w in ipairs(windows.r) do
    redis.call('HSET', P .. 'w', w[1], w[2] .. ' ' .. w[3])
    redis.call('ZADD', P .. 'wt', now, w[1])
  end
  local over = redis.call('ZCARD', P .. 'wt') - windows.max
  if over > 0 then
    local oldest = redis.call('ZPOPMIN', P .. 'wt', over)
    for i = 1, #oldest, 2 do redis.call('HDEL', P .. 'w', oldest[i]) end
    redis.call('INCRBY', P .. 'wev', over)
  end
end

touch_group('push')
if idem ~= '' then remember_key(idem, now, tonumber(ARGV[15])) end
return finish({'applied'})
`;

/**
 * ARGV: prefix, gk, labelsJson, now, scopedIdempotencyKey|'', maxStoredBytes, opId, maxOperationIds. A push the
 * process refused: if its key was already applied, it is a replay ({'replayed'}, as the memory store answers — the
 * key is checked before validation); otherwise the refusal is recorded on its group, creating it as the official
 * gateway does — unless the store is full (refused pushes to ever new groupings would grow it without bound).
 * Under the operation id: run again, a replay would be counted twice and a failure time moved back or a deleted
 * group brought back.
 */
export const recordFailureScript = /* lua */ `${helpers}
local gk, now, op = ARGV[2], tonumber(ARGV[4]), ARGV[7]
local earlier = earlier_run(op)
if earlier ~= nil then return earlier and 'replayed' or 'invalid' end
ensure_bytes()
if ARGV[5] ~= '' and key_seen(ARGV[5], now) then
  count_replay(gk)
  remember_run(op, now, true, tonumber(ARGV[8]))
  return 'replayed'
end
local max_bytes = tonumber(ARGV[6])
local new_group = redis.call('ZSCORE', P .. 'groups', gk) == false
if new_group and max_bytes > 0 and tonumber(redis.call('GET', P .. 'bytes') or '0') + #gk > max_bytes then return 'invalid' end
local gkey = P .. 'g:' .. gk
redis.call('HSETNX', gkey, 'push', '0')
redis.call('HSET', gkey, 'labels', ARGV[3], 'fail', ARGV[4])
add_bytes(redis.call('ZADD', P .. 'groups', now, gk) * #gk)
remember_run(op, now, false, tonumber(ARGV[8]))
return 'invalid'
`;

/**
 * ARGV: prefix, gk, now, opId, maxOperationIds. An OTLP export to the group whose delta windows were applied before
 * (a retry): counted once per call, under the operation id.
 */
export const groupRetryScript = /* lua */ `${helpers}
local now, op = tonumber(ARGV[3]), ARGV[4]
if earlier_run(op) ~= nil then return 1 end
count_group_retry(ARGV[2])
remember_run(op, now, false, tonumber(ARGV[5]))
return 1
`;

/** ARGV: prefix, now, ttlMs, streamsJson. The last applied window of each OTLP stream ('' when none). Reads only. */
export const readWindowsScript = /* lua */ `${helpers}
local now, ttl = tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for i, stream in ipairs(cjson.decode(ARGV[4])) do out[i] = live_window(stream, now, ttl) end
return out
`;

/**
 * ARGV: prefix, gk, familyNamesJson, seriesKeysJson. The facts validation needs, in one round trip:
 * {types, othersHold, ownTypes, owners}, each aligned with its input list ('' / '0' when absent). Reads only.
 */
export const factsScript = /* lua */ `${helpers}
local gk = ARGV[2]
local names, series = cjson.decode(ARGV[3]), cjson.decode(ARGV[4])
local types, others, own = family_facts(gk, names)
local owners = hmget(P .. 'o', series)
for i = 1, #series do owners[i] = owners[i] or '' end
return {types, others, own, owners}
`;

/** ARGV: prefix, gk, [[fam, text], …]. Returns the stored value of each series, '' where there is none. Reads only. */
export const readValuesScript = /* lua */ `${helpers}
local gk = ARGV[2]
local out = {}
for i, pair in ipairs(cjson.decode(ARGV[3])) do out[i] = redis.call('HGET', value_key(gk, pair[1]), pair[2]) or '' end
return out
`;

/**
 * ARGV: prefix, now, ttlMs. Sweeps expired groups, then returns every group:
 * {gk, labels, push, fail, {{fam, meta, {text, value, …}}, …}, mode, retries}.
 * No operation id: it writes only the sweep, which removes what is past its window at now; run again, it is one
 * more read at that clock, as any replica may make.
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

/**
 * ARGV: prefix, now, ttlMs.
 * {groups, series, deduplicated, storedBytes, otlpStreamsEvicted, idempotencyKeysEvicted, operationIdsEvicted}.
 * No operation id: the sweep and reads of readGroupsScript.
 */
export const statsScript = /* lua */ `${helpers}
sweep(tonumber(ARGV[2]), tonumber(ARGV[3]))
return {redis.call('ZCARD', P .. 'groups'), redis.call('HLEN', P .. 'o'), redis.call('GET', P .. 'dedup') or '0',
  redis.call('GET', P .. 'bytes') or '0', redis.call('GET', P .. 'wev') or '0', redis.call('GET', P .. 'kev') or '0',
  redis.call('GET', P .. 'oev') or '0'}
`;

/**
 * ARGV: prefix, gk ('' = every group), now, opId, maxOperationIds. 1 if it removed a group, else 0. Under the
 * operation id even when it removed nothing: run again, it would delete what pushes stored since.
 */
export const deleteScript = /* lua */ `${helpers}
local now, op = tonumber(ARGV[3]), ARGV[4]
local earlier = earlier_run(op)
if earlier ~= nil then return earlier and 0 or 1 end
ensure_bytes()
local removed = 0
if ARGV[2] ~= '' then
  removed = delete_group(ARGV[2])
else
  local gks = redis.call('ZRANGE', P .. 'groups', 0, -1)
  for i = 1, #gks do delete_group(gks[i]) end
  removed = #gks
end
remember_run(op, now, removed == 0, tonumber(ARGV[5]))
return removed > 0 and 1 or 0
`;
