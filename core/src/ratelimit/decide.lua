-- One decision: KEYS[1] the key, ARGV limit, window_ms, cost; at the server's time.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local cost = tonumber(ARGV[3])
local allowed, remaining, reset, retry = decide(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), cost, cost, now)
return {allowed, remaining, reset, retry, now}
