-- bulwark token bucket (GCRA): the mirror of ratelimit.rs `token_bucket`, on Redis's clock.
-- KEYS[1]: the theoretical arrival time in ms, expiring at that time (PXAT).
-- ARGV: limit, window_ms, cost. Returns {allowed 0|1, remaining, reset_ms, retry_after_ms, now_ms}.
local limit, w, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or nil) or now, now)
local allowed, new_tat = false, tat
if cost <= limit then
  -- cost × window ≤ limit × window < 2^53: exact.
  new_tat = tat + math.ceil(cost * w / limit)
  allowed = new_tat - now <= w
end
local retry = 0
if allowed then
  tat = new_tat
elseif cost > limit then
  retry = w
else
  retry = new_tat - now - w
end
if allowed and cost > 0 then
  redis.call('SET', KEYS[1], tat, 'PXAT', tat)
end
local used = tat - now
-- A penalty can push the TAT beyond a whole window.
return {allowed and 1 or 0, math.floor(math.max(w - used, 0) * limit / w), used, retry, now}
