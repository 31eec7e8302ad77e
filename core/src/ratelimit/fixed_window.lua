-- bulwark fixed window: the mirror of ratelimit.rs `fixed_window`, on Redis's clock.
-- The key: a hash {c = hits, e = the window's end in ms}, expiring at e (PXAT). The end is
-- stored rather than read back from the TTL because a script's TIME and the server's
-- expiry clock can differ by a millisecond.
-- decide(key, limit, window_ms, cost, cost_arg, now_ms) returns allowed 0|1, remaining,
-- reset_ms and retry_after_ms (values, not a table: a batch of decisions builds no table per
-- key); cost_arg is the cost as redis.call is to send it (batch.lua formats a shared cost
-- once per run rather than Redis once per call). decide.lua or batch.lua follows with the
-- calls. Per decision, what is not a redis.call costs Redis about as much as one: globals
-- are read once into locals, and there is no math.max.
local call, tonumber = redis.call, tonumber
local function decide(key, limit, window, cost, cost_arg, now)
  local stored = call('HMGET', key, 'c', 'e')
  local count, expires = tonumber(stored[1]) or 0, tonumber(stored[2]) or 0
  if expires <= now then
    count, expires = 0, now + window
  end
  local allowed = count + cost <= limit
  if allowed and cost > 0 then
    if count == 0 then
      call('HSET', key, 'c', cost_arg, 'e', expires)
      call('PEXPIREAT', key, expires)
    else
      -- Same window: its end and the key's expiry are already stored.
      call('HINCRBY', key, 'c', cost_arg)
    end
    count = count + cost
  end
  local reset = 0
  if count > 0 then reset = expires - now end
  local retry = 0
  if not allowed then
    if cost > limit then retry = window else retry = reset end
  end
  local remaining = limit - count
  if remaining < 0 then remaining = 0 end
  return allowed and 1 or 0, remaining, reset, retry
end
