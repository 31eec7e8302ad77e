-- bulwark sliding window: the mirror of ratelimit.rs `sliding_window` (after
-- sliding_window_state.lua). decide(key, limit, window_ms, cost, cost_arg, now_ms) returns
-- allowed 0|1, remaining, reset_ms and retry_after_ms (values, not a table); cost_arg is the
-- cost as redis.call is to send it (see fixed_window.lua). decide.lua or batch.lua follows
-- with the calls.
-- Whether `cost` fits at `at` ms into the current window (not a closure per decision).
-- Products stay below 2^53 (the policy bounds limit × window), so they are exact.
local function fits(prev, cur, at, w, cost, limit)
  return cur + floor(prev * (w - at) / w) + cost <= limit
end
local function decide(key, limit, w, cost, cost_arg, now)
  local window, sw, current, previous, blocked = state(key, w, now)
  if blocked > now then
    -- Blocked: nothing fits, not even a peek, until the block ends (then the counts start
    -- afresh: the block replaced them). A cost above the limit never fits: a full window.
    local left = blocked - now
    local retry = left
    if cost > limit then retry = w end
    return 0, 0, left, retry
  end
  local elapsed = now - window * w
  local allowed = fits(previous, current, elapsed, w, cost, limit)
  if allowed then current = current + cost end
  local used = current + floor(previous * (w - elapsed) / w)
  local reset = 0
  if current > 0 then reset = 2 * w - elapsed elseif previous > 0 then reset = w - elapsed end
  local retry = 0
  if not allowed then
    if cost > limit then
      retry = w
    else
      -- Smallest time at which the request fits: within this window while the previous
      -- window's weight decays, else into the next one where this window's hits decay.
      local prev, cur, lo, base = previous, current, elapsed, 0
      if current + cost > limit or previous == 0 then
        prev, cur, lo, base = current, 0, 0, w - elapsed
      end
      local hi = w
      while hi - lo > 1 do
        local mid = lo + floor((hi - lo) / 2)
        if fits(prev, cur, mid, w, cost, limit) then hi = mid else lo = mid end
      end
      if base == 0 then retry = hi - elapsed else retry = base + hi end
    end
  end
  if allowed and cost > 0 then
    if sw == window then
      -- Same window: only its count changes; the expiry is already set.
      call('HINCRBY', key, 'c', cost_arg)
    else
      -- A block end left in `b` is past (else this request was denied): it changes nothing,
      -- and the expiry of the counts is later.
      call('HSET', key, 'w', window, 'c', current, 'p', previous)
      call('PEXPIREAT', key, (window + 2) * w)
    end
  end
  local remaining = limit - used
  if remaining < 0 then remaining = 0 end
  return allowed and 1 or 0, remaining, reset, retry
end
