-- bulwark fixed window penalty/reward/block: the mirror of ratelimit.rs `adjust` and
-- `block` on the state fixed_window.lua keeps, on Redis's clock.
-- ARGV: limit, window_ms, delta[, block_ms]. Returns now_ms.
local limit, window, delta = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local count, expires
if ARGV[4] then
  count, expires = limit, now + math.max(tonumber(ARGV[4]), 1)
else
  local stored = redis.call('HMGET', KEYS[1], 'c', 'e')
  count, expires = tonumber(stored[1] or nil) or 0, tonumber(stored[2] or nil) or 0
  if expires <= now then
    count, expires = 0, now + window
  end
  count = math.max(count + delta, 0)
end
if count > 0 then
  redis.call('HSET', KEYS[1], 'c', count, 'e', expires)
  redis.call('PEXPIREAT', KEYS[1], expires)
else
  redis.call('DEL', KEYS[1])
end
return now
