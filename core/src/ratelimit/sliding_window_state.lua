-- The sliding window's state on Redis's clock, shared by sliding_window.lua and
-- sliding_window_adjust.lua (each is this file followed by its own part).
-- KEYS[1]: a hash {w = window index (now // window_ms), c = its count, p = the previous
-- window's count, b = the end in ms of a block (absent, 0 or past: not blocked)}, expiring
-- when nothing in it counts any more and the block has ended.
-- ARGV: limit, window_ms, then the script's own number (cost or delta).
local limit, w, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window = math.floor(now / w)
local stored = redis.call('HMGET', KEYS[1], 'w', 'c', 'p', 'b')
local sw, current, previous = tonumber(stored[1] or nil), tonumber(stored[2] or nil) or 0, tonumber(stored[3] or nil) or 0
local blocked = tonumber(stored[4] or nil) or 0
if sw ~= window then
  if sw ~= nil and sw + 1 == window then
    current, previous = 0, current
  else
    current, previous = 0, 0
  end
end
