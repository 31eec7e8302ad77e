-- bulwark sliding window penalty/reward: the mirror of ratelimit.rs `adjust` on the state
-- sliding_window.lua keeps, on Redis's clock. ARGV: limit, window_ms, delta. Returns now_ms.
local w, delta = tonumber(ARGV[2]), tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window = math.floor(now / w)
local stored = redis.call('HMGET', KEYS[1], 'w', 'c', 'p')
local sw, current, previous = tonumber(stored[1] or nil), tonumber(stored[2] or nil) or 0, tonumber(stored[3] or nil) or 0
if sw ~= window then
  if sw ~= nil and sw + 1 == window then
    current, previous = 0, current
  else
    current, previous = 0, 0
  end
end
current = math.max(current + delta, 0)
if current > 0 or previous > 0 then
  redis.call('HSET', KEYS[1], 'w', window, 'c', current, 'p', previous)
  redis.call('PEXPIREAT', KEYS[1], (window + 2) * w)
else
  redis.call('DEL', KEYS[1])
end
return now
