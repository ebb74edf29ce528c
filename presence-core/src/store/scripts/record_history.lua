-- record_history: one sample of site-wide readers per step, however many servers
-- offer one; samples older than the kept window are dropped, so the key stays
-- small. Redis's own clock sets the step, so servers with skewed clocks agree.
--
-- KEYS[1] presence:history   zset: score = step start (unix s), member = '<start>:<readers>'
-- KEYS[2] viewers            hash: one field per live session
-- ARGV[1] step in seconds
-- ARGV[2] window kept, in seconds
--
-- Returns the step's start.
local step, keep = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = tonumber(redis.call('TIME')[1])
local start = now - now % step
if redis.call('ZCOUNT', KEYS[1], start, start) == 0 then
  redis.call('ZADD', KEYS[1], start, start .. ':' .. redis.call('HLEN', KEYS[2]))
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (start - keep))
redis.call('EXPIRE', KEYS[1], keep + step)
return start
