-- The sliding window's state on Redis's clock, shared by sliding_window.lua and
-- sliding_window_adjust.lua (each is this file followed by its own part).
-- The key: a hash {w = window index (now // window_ms), c = its count, p = the previous
-- window's count, b = the end in ms of a block (absent, 0 or past: not blocked)}, expiring
-- when nothing in it counts any more and the block has ended.
-- state(key, window_ms, now_ms) returns the current window's index, the stored index, the
-- current and previous windows' counts and the block's end.
-- Globals are read once into locals: per decision, their lookups cost Redis more than the
-- arithmetic.
local call, tonumber, floor = redis.call, tonumber, math.floor
local function state(key, w, now)
  local window = floor(now / w)
  local stored = call('HMGET', key, 'w', 'c', 'p', 'b')
  local sw, current, previous = tonumber(stored[1]), tonumber(stored[2]) or 0, tonumber(stored[3]) or 0
  local blocked = tonumber(stored[4]) or 0
  if sw ~= window then
    if sw ~= nil and sw + 1 == window then
      current, previous = 0, current
    else
      current, previous = 0, 0
    end
  end
  return window, sw, current, previous, blocked
end
