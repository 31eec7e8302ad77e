-- Each of KEYS decided in order at one server time, with ARGV limit, window_ms and then one
-- cost per key: the coalesced decisions of one event-loop turn in one script run. Returns
-- one {allowed, remaining, reset_ms, retry_after_ms, now_ms} per key, or the error message
-- of a key holding a foreign value (the other keys are still decided).
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local results = {}
for i = 1, #KEYS do
  local ok, result = pcall(decide, KEYS[i], limit, window, tonumber(ARGV[i + 2]), now)
  if ok then
    results[i] = result
  elseif type(result) == "table" then
    results[i] = result.err
  else
    results[i] = tostring(result)
  end
end
return results
