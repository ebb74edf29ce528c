-- leave / reap: session ARGV[1] stops reading post ARGV[2].
--
-- 'leave' is the server's own goodbye: the session key goes too.
-- 'reap' is gc's and the sweep's: it acts only when the session key is already gone
-- (it expired), so a session that came back to life in the meantime is left alone.
--
-- KEYS[1] viewers           hash: session id -> post id
-- KEYS[2] viewers:<post>    set of the post the caller believes the session reads
-- KEYS[3] session:<id>      liveness key
-- KEYS[4] presence:top      site-wide index: post id -> readers
-- ARGV[1] session id
-- ARGV[2] post id the caller believes the session reads
-- ARGV[3] changes channel
-- ARGV[4] 'leave' or 'reap'
-- ARGV[5] 'PUBLISH', or 'SPUBLISH' for the sharded channel of the cluster layout
--
-- Returns {'ok', readers left, 1 if anything was removed else 0, ''}
--      or {'alive', 0, 0, ''} for a reap of a live session (nothing changed)
--      or {'retry', 0, removed, <post>} when the hash names another post: the stray
--         membership in KEYS[2] is removed, and the caller repeats with <post>.
local session, post = ARGV[1], ARGV[2]
if ARGV[4] == 'reap' and redis.call('EXISTS', KEYS[3]) == 1 then
  return {'alive', 0, 0, ''}
end

local removed = redis.call('SREM', KEYS[2], session)
if removed == 1 then
  reindex(KEYS[4], KEYS[2], post)
  redis.call(ARGV[5], ARGV[3], post)
end

local current = redis.call('HGET', KEYS[1], session) or ''
if current ~= '' and current ~= post then
  return {'retry', 0, removed, current}
end

if redis.call('HDEL', KEYS[1], session) == 1 then
  removed = 1
end
if ARGV[4] == 'leave' then
  redis.call('DEL', KEYS[3])
end
return {'ok', redis.call('SCARD', KEYS[2]), removed, ''}
