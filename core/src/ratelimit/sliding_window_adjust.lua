-- bulwark sliding window penalty/reward/block: the mirror of ratelimit.rs `adjust` and
-- `block` (after sliding_window_state.lua). ARGV[3]: delta; ARGV[4], optional: block_ms,
-- which replaces the counts and ignores delta. Returns now_ms.
local w, delta = tonumber(ARGV[2]), tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window, _, current, previous, blocked = state(KEYS[1], w, now)
if ARGV[4] then
  current, previous, blocked = 0, 0, now + math.max(tonumber(ARGV[4]), 1)
else
  current = math.max(current + delta, 0)
end
if current > 0 or previous > 0 or blocked > now then
  redis.call('HSET', KEYS[1], 'w', window, 'c', current, 'p', previous, 'b', blocked)
  redis.call('PEXPIREAT', KEYS[1], math.max((window + 2) * w, blocked))
else
  redis.call('DEL', KEYS[1])
end
return now
