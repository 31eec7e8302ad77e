-- bulwark sliding window penalty/reward: the mirror of ratelimit.rs `adjust` (after
-- sliding_window_state.lua). ARGV[3]: delta. Returns now_ms.
local delta = n
current = math.max(current + delta, 0)
if current > 0 or previous > 0 then
  redis.call('HSET', KEYS[1], 'w', window, 'c', current, 'p', previous)
  redis.call('PEXPIREAT', KEYS[1], (window + 2) * w)
else
  redis.call('DEL', KEYS[1])
end
return now
