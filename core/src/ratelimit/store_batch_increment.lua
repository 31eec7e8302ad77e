-- bulwark store: rate-limit-redis 6's increment (store_scripts.rs INCREMENT) for each of
-- KEYS in order, with one window (ARGV[1]). Returns one flat array, two values per key:
-- totalHits and timeToExpire; or, for a key holding a foreign value, its error message and
-- 0 (the other keys still count).
local windowMs = tonumber(ARGV[1])
local results = {}
local n = 0
for i = 1, #KEYS do
  local key = KEYS[i]
  local timeToExpire = redis.call("PTTL", key)
  if timeToExpire <= 0 then
    redis.call("SET", key, 1, "PX", windowMs)
    results[n + 1], results[n + 2] = 1, windowMs
  else
    local totalHits = redis.pcall("INCR", key)
    if type(totalHits) == "table" then
      results[n + 1], results[n + 2] = totalHits.err, 0
    else
      results[n + 1], results[n + 2] = totalHits, timeToExpire
    end
  end
  n = n + 2
end
return results
