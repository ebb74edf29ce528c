-- view: session ARGV[1] now reads post ARGV[2], in one atomic step: off the set of
-- its old post, onto the new one, hash and session key updated, TTL refreshed, the
-- view counted, both changes announced. No reader ever sees a half-moved session.
--
-- KEYS[1] viewers              hash: session id -> post id
-- KEYS[2] viewers:<new post>   set of the new post's readers
-- KEYS[3] session:<id>         liveness key, expires after ARGV[4] seconds
-- KEYS[4] views:<new post>     all-time views of the new post
-- KEYS[5] viewers:<old post>   set of the post the caller believes the session
--                              reads (the same as KEYS[2] when it believes none)
-- KEYS[6] presence:top         site-wide index: post id -> readers
-- ARGV[1] session id
-- ARGV[2] new post id
-- ARGV[3] believed old post id, '' for none
-- ARGV[4] session TTL in seconds
-- ARGV[5] '1' to count a view if this starts a reading of the new post
-- ARGV[6] changes channel
-- ARGV[7] 'PUBLISH', or 'SPUBLISH' for the sharded channel of the cluster layout
--
-- Every key is passed in KEYS, never built here. If the hash names an old post
-- other than the believed one, nothing is changed and the caller is told which it
-- is: {'retry', 0, 0, <post>, 0}. Otherwise:
-- {'ok', readers of new post, views of new post, post moved from or '', readers left there}
local session, post, believed = ARGV[1], ARGV[2], ARGV[3]
local current = redis.call('HGET', KEYS[1], session) or ''
if current ~= '' and current ~= post and current ~= believed then
  return {'retry', 0, 0, current, 0}
end

local moved_from, readers_left = '', 0
if believed ~= '' and believed ~= post then
  if redis.call('SREM', KEYS[5], session) == 1 then
    moved_from = believed
    readers_left = reindex(KEYS[6], KEYS[5], believed)
    redis.call(ARGV[7], ARGV[6], believed)
  end
end

redis.call('HSET', KEYS[1], session, post)
redis.call('SET', KEYS[3], post, 'EX', ARGV[4])
local joined = redis.call('SADD', KEYS[2], session) == 1
local readers
if joined then
  readers = reindex(KEYS[6], KEYS[2], post)
else
  readers = redis.call('SCARD', KEYS[2])
end

local views
if joined and ARGV[5] == '1' then
  views = redis.call('INCR', KEYS[4])
else
  views = tonumber(redis.call('GET', KEYS[4]) or '0') or 0
end
if joined then
  redis.call(ARGV[7], ARGV[6], post)
end
return {'ok', readers, views, moved_from, readers_left}
