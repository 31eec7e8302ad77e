-- bulwark fixed window: the mirror of ratelimit.rs `fixed_window`, on Redis's clock.
-- The key: a hash {c = hits, e = the window's end in ms}, expiring at e (PXAT). The end is
-- stored rather than read back from the TTL because a script's TIME and the server's
-- expiry clock can differ by a millisecond.
-- decide(key, limit, window_ms, cost, now_ms) returns allowed 0|1, remaining, reset_ms and
-- retry_after_ms (values, not a table: a batch of decisions builds no table per key);
-- decide.lua or batch.lua follows with the calls.
local function decide(key, limit, window, cost, now)
  local stored = redis.call('HMGET', key, 'c', 'e')
  local count, expires = tonumber(stored[1] or nil) or 0, tonumber(stored[2] or nil) or 0
  if expires <= now then
    count, expires = 0, now + window
  end
  local allowed = count + cost <= limit
  if allowed and cost > 0 then
    if count == 0 then
      redis.call('HSET', key, 'c', cost, 'e', expires)
      redis.call('PEXPIREAT', key, expires)
    else
      -- Same window: its end and the key's expiry are already stored.
      redis.call('HINCRBY', key, 'c', cost)
    end
    count = count + cost
  end
  local reset = 0
  if count > 0 then reset = expires - now end
  local retry = 0
  if not allowed then
    if cost > limit then retry = window else retry = reset end
  end
  return allowed and 1 or 0, math.max(limit - count, 0), reset, retry
end
