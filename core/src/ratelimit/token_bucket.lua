-- bulwark token bucket (GCRA): the mirror of ratelimit.rs `token_bucket`, on Redis's clock.
-- The key: the theoretical arrival time in ms, expiring at that time (PXAT).
-- decide(key, limit, window_ms, cost, cost_arg, now_ms) returns allowed 0|1, remaining,
-- reset_ms and retry_after_ms (values, not a table; cost_arg is unused: the key holds a
-- time, not a count); decide.lua or batch.lua follows with the calls. Globals are read once
-- into locals: per decision, their lookups cost Redis more than the arithmetic.
local call, tonumber, ceil, floor = redis.call, tonumber, math.ceil, math.floor
local function decide(key, limit, w, cost, cost_arg, now)
  local tat = tonumber(call('GET', key)) or now
  if tat < now then tat = now end
  local allowed, new_tat = false, tat
  if cost <= limit then
    -- cost × window ≤ limit × window < 2^53: exact.
    new_tat = tat + ceil(cost * w / limit)
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
    call('SET', key, tat, 'PXAT', tat)
  end
  local used = tat - now
  -- A penalty can push the TAT beyond a whole window.
  local left = w - used
  if left < 0 then left = 0 end
  return allowed and 1 or 0, floor(left * limit / w), used, retry
end
