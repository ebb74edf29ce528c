-- record_history: one sample of site-wide readers per step, however many servers
-- offer one; samples older than the kept window are dropped, so the key stays
-- small. Redis's own clock sets the step, so servers with skewed clocks agree.
--
-- KEYS[1] presence:history   zset: score = step start (unix s), member = '<start>:<readers>'
-- ARGV[1] step in seconds
-- ARGV[2] window kept, in seconds
-- ARGV[3] site-wide readers now (read by the caller: in cluster mode they are
--         spread over every shard, which one script cannot reach)
--
-- Returns the step's start.
local step, keep = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = tonumber(redis.call('TIME')[1])
local start = now - now % step
if redis.call('ZCOUNT', KEYS[1], start, start) == 0 then
  redis.call('ZADD', KEYS[1], start, start .. ':' .. ARGV[3])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (start - keep))
redis.call('EXPIRE', KEYS[1], keep + step)
return start
