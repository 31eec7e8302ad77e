-- bulwark token bucket (GCRA) penalty/reward/block: the mirror of ratelimit.rs `adjust`
-- and `block` on the TAT token_bucket.lua keeps, on Redis's clock.
-- ARGV: limit, window_ms, delta[, block_ms]. Returns now_ms.
local limit, w, delta = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local tat
if ARGV[4] then
  -- A request of one token fits again exactly when the block ends.
  tat = now + math.max(tonumber(ARGV[4]), 1) + w - math.ceil(w / limit)
else
  tat = math.max(tonumber(redis.call('GET', KEYS[1]) or nil) or now, now)
  -- |delta| ≤ limit (checked by the caller), so |delta| × window < 2^53: exact.
  local ms = math.ceil(math.abs(delta) * w / limit)
  if delta >= 0 then tat = tat + ms else tat = math.max(tat - ms, now) end
end
if tat > now then
  redis.call('SET', KEYS[1], tat, 'PXAT', tat)
else
  redis.call('DEL', KEYS[1])
end
return now
