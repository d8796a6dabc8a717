/**
 * The Lua scripts of the Redis quota store. Each writing call of the store is
 * ONE script, so that it is one round trip and atomic across every process
 * sharing the server. The scripts only add, sum and compare: bucket indices
 * come from the engine, and readings are computed in TypeScript by the same
 * `counter_math.ts` the Deno KV store uses, from the raw hashes returned here.
 *
 * Layout under the prefix P (see `redisKeys`): a counter is a hash
 * `P ctr:<counter>` with one field per bucket index and a field `r` for the
 * held sum; a reservation is a JSON string `P res:<id>`, indexed by its lease
 * end in the sorted set `P leases`; records are a hash `P recs` indexed by
 * time in the sorted set `P recidx`; rollups are one hash per minute
 * `P roll:<minute>`, indexed by `P rollmin`; every write bumps `P seq`.
 *
 * Numbers go to Redis as decimal strings made in TypeScript or by `int()`
 * (never Lua's `tostring`, which turns 1e14 and above into exponent form).
 *
 * @module
 */

/** Helpers shared by the writing scripts. */
const PRELUDE = `
local function int(n) return string.format("%d", n) end

-- Drops buckets that no longer count at (bucket, span); buckets ahead stay.
local function prune(key, bucket, span)
  local floor = bucket - span
  local old = {}
  for _, f in ipairs(redis.call("HKEYS", key)) do
    if f ~= "r" and tonumber(f) <= floor then old[#old + 1] = f end
  end
  for i = 1, #old, 500 do
    redis.call("HDEL", key, unpack(old, i, math.min(i + 499, #old)))
  end
end

-- Removes a reservation's holds, never below zero; an empty counter goes away.
local function free_holds(prefix, res)
  for _, h in ipairs(res.holds) do
    local key = prefix .. "ctr:" .. h.counter
    local left = redis.call("HINCRBY", key, "r", int(-h.amount))
    if left <= 0 then
      if redis.call("HLEN", key) == 1 then
        redis.call("DEL", key)
      elseif left < 0 then
        redis.call("HSET", key, "r", "0")
      end
    end
  end
end

-- ARGV from index a: member, record json, at, minute, 4 x (rollup field, amount),
-- then 4 per counter add to the end: counter, bucket, span, amount.
local function write_usage(prefix, k_recidx, k_recs, k_rollmin, k_roll, a)
  for i = a + 12, #ARGV, 4 do
    if ARGV[i + 3] ~= "0" then
      local key = prefix .. "ctr:" .. ARGV[i]
      prune(key, tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]))
      redis.call("HINCRBY", key, ARGV[i + 1], ARGV[i + 3])
    end
  end
  redis.call("ZADD", k_recidx, ARGV[a + 2], ARGV[a])
  redis.call("HSET", k_recs, ARGV[a], ARGV[a + 1])
  redis.call("ZADD", k_rollmin, ARGV[a + 3], ARGV[a + 3])
  for i = a + 4, a + 11, 2 do
    redis.call("HINCRBY", k_roll, ARGV[i], ARGV[i + 1])
  end
end
`;

/**
 * Admission: checks every hold, then takes all of them and writes the
 * reservation with its lease, or changes nothing.
 *
 * KEYS: reservation, leases, seq, then one counter per hold.
 * ARGV: id, leaseUntil, reservation json, then 4 per hold: bucket, span, limit, amount.
 * Returns {1, hashes...} when held, {2, hashes...} when the id was held
 * already, {0, index, hash} for the first hold that does not fit.
 */
export const RESERVE_LUA = PRELUDE + `
local n = #KEYS - 3
local function hashes(code)
  local out = {code}
  for i = 1, n do out[i + 1] = redis.call("HGETALL", KEYS[3 + i]) end
  return out
end
if redis.call("EXISTS", KEYS[1]) == 1 then return hashes(2) end
for i = 1, n do
  local a = 3 + (i - 1) * 4
  local bucket, span = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local limit, amount = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local h = redis.call("HGETALL", KEYS[3 + i])
  local used, reserved = 0, 0
  for j = 1, #h, 2 do
    local v = tonumber(h[j + 1])
    if h[j] == "r" then
      reserved = v
    else
      local b = tonumber(h[j])
      if v > 0 and b > bucket - span and b <= bucket then used = used + v end
    end
  end
  local taken = used + reserved
  local fits
  if amount == 0 then fits = taken < limit else fits = taken + amount <= limit end
  if not fits then return {0, i, h} end
end
-- No pruning here: a hold only moves "r"; buckets are pruned where usage
-- is written, so admission reads each counter once and writes one field.
for i = 1, n do
  local a = 3 + (i - 1) * 4
  redis.call("HINCRBY", KEYS[3 + i], "r", ARGV[a + 4])
end
redis.call("SET", KEYS[1], ARGV[3])
redis.call("ZADD", KEYS[2], ARGV[2], ARGV[1])
redis.call("INCR", KEYS[3])
return hashes(1)
`;

/**
 * Settlement: frees the reservation's holds, adds real usage, writes the
 * record and its rollup, and marks `reservation:<id>` as recorded.
 *
 * KEYS: reservation, leases, seq, idempotency, recidx, recs, rollmin, roll.
 * ARGV: prefix, id, idempotency ttl ms, then the usage block.
 * Returns 1, or 0 when the reservation is gone.
 */
export const SETTLE_LUA = PRELUDE + `
local raw = redis.call("GET", KEYS[1])
if not raw then return 0 end
free_holds(ARGV[1], cjson.decode(raw))
redis.call("DEL", KEYS[1])
redis.call("ZREM", KEYS[2], ARGV[2])
write_usage(ARGV[1], KEYS[5], KEYS[6], KEYS[7], KEYS[8], 4)
redis.call("SET", KEYS[4], "1", "PX", ARGV[3])
redis.call("INCR", KEYS[3])
return 1
`;

/**
 * Usage reported once per idempotency id.
 *
 * KEYS: idempotency, seq, recidx, recs, rollmin, roll.
 * ARGV: prefix, idempotency ttl ms, then the usage block.
 * Returns 1 when recorded, 0 for a duplicate.
 */
export const RECORD_LUA = PRELUDE + `
if redis.call("EXISTS", KEYS[1]) == 1 then return 0 end
redis.call("SET", KEYS[1], "1", "PX", ARGV[2])
write_usage(ARGV[1], KEYS[3], KEYS[4], KEYS[5], KEYS[6], 3)
redis.call("INCR", KEYS[2])
return 1
`;

/**
 * Release: frees a reservation's holds. KEYS: reservation, leases, seq.
 * ARGV: prefix, id. Returns 1, or 0 when it was gone.
 */
export const RELEASE_LUA = PRELUDE + `
local raw = redis.call("GET", KEYS[1])
if not raw then return 0 end
free_holds(ARGV[1], cjson.decode(raw))
redis.call("DEL", KEYS[1])
redis.call("ZREM", KEYS[2], ARGV[2])
redis.call("INCR", KEYS[3])
return 1
`;

/**
 * Sweep: releases reservations whose lease ended before `now`, a batch at a
 * time. KEYS: leases, seq. ARGV: prefix, now, batch. Returns how many.
 */
export const SWEEP_LUA = PRELUDE + `
local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", "(" .. ARGV[2], "LIMIT", 0, tonumber(ARGV[3]))
local released = 0
for _, id in ipairs(ids) do
  local key = ARGV[1] .. "res:" .. id
  local raw = redis.call("GET", key)
  redis.call("ZREM", KEYS[1], id)
  if raw then
    free_holds(ARGV[1], cjson.decode(raw))
    redis.call("DEL", key)
    released = released + 1
  end
end
if released > 0 then redis.call("INCR", KEYS[2]) end
return released
`;

/** Reads counters as one snapshot. KEYS: counters. Returns their hashes. */
export const READ_COUNTERS_LUA = `
local out = {}
for i = 1, #KEYS do out[i] = redis.call("HGETALL", KEYS[i]) end
return out
`;

/**
 * The newest records. KEYS: recidx, recs. ARGV: how many (at least 1).
 * Returns record JSON strings, newest first.
 */
export const LIST_RECENT_LUA = `
local members = redis.call("ZREVRANGE", KEYS[1], 0, tonumber(ARGV[1]) - 1)
local out = {}
for i = 1, #members, 500 do
  local part = redis.call("HMGET", KEYS[2], unpack(members, i, math.min(i + 499, #members)))
  for _, v in ipairs(part) do out[#out + 1] = v end
end
return out
`;

/**
 * Rollups with from <= minute < to. KEYS: rollmin. ARGV: prefix, from, to.
 * Returns {minute, hash} pairs, oldest first.
 */
export const LIST_ROLLUPS_LUA = `
local minutes = redis.call("ZRANGEBYSCORE", KEYS[1], ARGV[2], "(" .. ARGV[3])
local out = {}
for i, m in ipairs(minutes) do
  out[i] = {m, redis.call("HGETALL", ARGV[1] .. "roll:" .. m)}
end
return out
`;

/**
 * Deletes up to a batch of records older than `before`.
 * KEYS: recidx, recs, seq. ARGV: before, batch. Returns how many.
 */
export const PRUNE_RECORDS_LUA = `
local members = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", "(" .. ARGV[1], "LIMIT", 0, tonumber(ARGV[2]))
if #members == 0 then return 0 end
redis.call("ZREM", KEYS[1], unpack(members))
redis.call("HDEL", KEYS[2], unpack(members))
redis.call("INCR", KEYS[3])
return #members
`;

/**
 * Stores a virtual key and its hash index, dropping the old hash on rotation.
 * KEYS: vk, vkh, seq. ARGV: name, hash, json.
 */
export const PUT_KEY_LUA = `
local old = redis.call("HGET", KEYS[1], ARGV[1])
if old then
  local previous = cjson.decode(old).hash
  if previous ~= ARGV[2] then redis.call("HDEL", KEYS[2], previous) end
end
redis.call("HSET", KEYS[1], ARGV[1], ARGV[3])
redis.call("HSET", KEYS[2], ARGV[2], ARGV[1])
redis.call("INCR", KEYS[3])
return 1
`;

/** A key by its secret's hash. KEYS: vkh, vk. ARGV: hash. Returns json or nil. */
export const GET_KEY_BY_HASH_LUA = `
local name = redis.call("HGET", KEYS[1], ARGV[1])
if not name then return false end
return redis.call("HGET", KEYS[2], name)
`;

/** Sets a hash field and bumps seq. KEYS: hash, seq. ARGV: field, value. */
export const HSET_BUMP_LUA = `
redis.call("HSET", KEYS[1], ARGV[1], ARGV[2])
redis.call("INCR", KEYS[2])
return 1
`;

/** Deletes a hash field, bumping seq when it existed. KEYS: hash, seq. ARGV: field. */
export const HDEL_BUMP_LUA = `
local n = redis.call("HDEL", KEYS[1], ARGV[1])
if n == 1 then redis.call("INCR", KEYS[2]) end
return n
`;
