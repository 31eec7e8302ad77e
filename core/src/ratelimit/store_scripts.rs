//! The scripts of the express-rate-limit store (`lib/ratelimit/store.js`). Increment and
//! get are rate-limit-redis 6's byte for byte (whitespace-normalised as it does, trailing
//! spaces included), so both packages share one SHA1 in Redis's script cache and count on
//! the same keys: `prefix + key`, a string integer with a PX TTL.

/// rate-limit-redis 6's increment. PTTL before INCR: a key that expired (or lost its TTL)
/// starts a new window instead of counting into a dead one. ARGV[1]: window_ms.
/// Returns `{totalHits, timeToExpire}`.
pub const INCREMENT: &str = "local windowMs = tonumber(ARGV[1])\n\
local timeToExpire = redis.call(\"PTTL\", KEYS[1])\n\
if timeToExpire <= 0 then\n\
redis.call(\"SET\", KEYS[1], 1, \"PX\", windowMs)\n\
return { 1, windowMs }\n\
end\n\
local totalHits = redis.call(\"INCR\", KEYS[1])        \n\
return { totalHits, timeToExpire }";

/// rate-limit-redis 6's get: `{value or nil, PTTL}`.
pub const GET: &str = "local totalHits = redis.call(\"GET\", KEYS[1])\n\
local timeToExpire = redis.call(\"PTTL\", KEYS[1])\n\
return { totalHits, timeToExpire }";

/// bulwark's decrement. rate-limit-redis sends a bare DECR, which on a just-expired key
/// creates an immortal -1: only a live counter with a TTL is decremented, never below 0.
pub const DECREMENT: &str = "if redis.call(\"PTTL\", KEYS[1]) > 0 and (tonumber(redis.call(\"GET\", KEYS[1])) or 0) > 0 then\n\
redis.call(\"DECR\", KEYS[1])\n\
end\n\
return 0";

/// [`INCREMENT`] for each of `KEYS` in order, with one window (ARGV[1]): the coalesced
/// decisions of one event-loop turn in one script run, writing exactly what [`INCREMENT`]
/// writes. Returns one flat array of two values per key, `totalHits, timeToExpire`, or that
/// key's error message (a foreign value under the key) and 0, without stopping the others.
pub const BATCH_INCREMENT: &str = include_str!("store_batch_increment.lua");
