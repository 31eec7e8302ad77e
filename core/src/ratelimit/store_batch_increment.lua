-- bulwark store: rate-limit-redis 6's increment (store_scripts.rs INCREMENT) for each of
-- KEYS in order, with one window (ARGV[1]). Returns one {totalHits, timeToExpire} per key,
-- or the error message of a key holding a foreign value (the other keys still count).
local windowMs = tonumber(ARGV[1])
local results = {}
for i = 1, #KEYS do
  local key = KEYS[i]
  local timeToExpire = redis.call("PTTL", key)
  if timeToExpire <= 0 then
    redis.call("SET", key, 1, "PX", windowMs)
    results[i] = { 1, windowMs }
  else
    local totalHits = redis.pcall("INCR", key)
    if type(totalHits) == "table" then
      results[i] = totalHits.err
    else
      results[i] = { totalHits, timeToExpire }
    end
  end
end
return results
