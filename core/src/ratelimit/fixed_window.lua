-- bulwark fixed window: the mirror of ratelimit.rs `fixed_window`, on Redis's clock.
-- KEYS[1]: a hash {c = hits, e = the window's end in ms}, expiring at e (PXAT). The end is
-- stored rather than read back from the TTL because a script's TIME and the server's
-- expiry clock can differ by a millisecond. ARGV: limit, window_ms, cost.
-- Returns {allowed 0|1, remaining, reset_ms, retry_after_ms, now_ms}.
local limit, window, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local stored = redis.call('HMGET', KEYS[1], 'c', 'e')
local count, expires = tonumber(stored[1] or nil) or 0, tonumber(stored[2] or nil) or 0
if expires <= now then
  count, expires = 0, now + window
end
local allowed = count + cost <= limit
if allowed and cost > 0 then
  if count == 0 then
    redis.call('HSET', KEYS[1], 'c', cost, 'e', expires)
    redis.call('PEXPIREAT', KEYS[1], expires)
  else
    -- Same window: its end and the key's expiry are already stored.
    redis.call('HINCRBY', KEYS[1], 'c', cost)
  end
  count = count + cost
end
local reset = 0
if count > 0 then reset = expires - now end
local retry = 0
if not allowed then
  if cost > limit then retry = window else retry = reset end
end
return {allowed and 1 or 0, math.max(limit - count, 0), reset, retry, now}
