-- bulwark token bucket (GCRA): the mirror of ratelimit.rs `token_bucket`, on Redis's clock.
-- The key: the theoretical arrival time in ms, expiring at that time (PXAT).
-- decide(key, limit, window_ms, cost, now_ms) returns allowed 0|1, remaining, reset_ms and
-- retry_after_ms (values, not a table); decide.lua or batch.lua follows with the calls.
local function decide(key, limit, w, cost, now)
  local tat = math.max(tonumber(redis.call('GET', key) or nil) or now, now)
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
    redis.call('SET', key, tat, 'PXAT', tat)
  end
  local used = tat - now
  -- A penalty can push the TAT beyond a whole window.
  return allowed and 1 or 0, math.floor(math.max(w - used, 0) * limit / w), used, retry
end
