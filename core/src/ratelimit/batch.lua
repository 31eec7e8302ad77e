-- Each of KEYS decided in order at one server time, with ARGV limit, window_ms and then one
-- cost per key, or one cost for all (ARGV[3] alone): the coalesced decisions of one
-- event-loop turn in one script run. Returns one flat array, four values per key: allowed,
-- remaining, reset_ms, retry_after_ms; or, for a key holding a foreign value, its error
-- message and three zeros (the other keys are still decided). Flat: no table per key here,
-- nor an array per key in the reply.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local shared = #ARGV == 3
local cost = tonumber(ARGV[3])
-- A shared cost as redis.call would format the number, once for the run.
local cost_arg = cost and string.format('%.17g', cost)
local results = {}
local n = 0
for i = 1, #KEYS do
  if not shared then
    cost = tonumber(ARGV[i + 2])
    cost_arg = cost
  end
  local ok, allowed, remaining, reset, retry = pcall(decide, KEYS[i], limit, window, cost, cost_arg, now)
  if not ok then
    if type(allowed) == "table" then allowed = allowed.err else allowed = tostring(allowed) end
    remaining, reset, retry = 0, 0, 0
  end
  results[n + 1], results[n + 2], results[n + 3], results[n + 4] = allowed, remaining, reset, retry
  n = n + 4
end
return results
