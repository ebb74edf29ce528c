-- leave_many: a server shutting down removes all its sessions at once, and
-- announces each affected post ONCE, so readers on other servers see one update
-- instead of a countdown.
--
-- KEYS[1]        viewers hash
-- KEYS[2]        presence:top, the site-wide index
-- KEYS[2i+1]     viewers:<post of session i>   (i = 1..n)
-- KEYS[2i+2]     session:<session i>
-- ARGV[1]        changes channel
-- ARGV[2]        'PUBLISH', or 'SPUBLISH' for the sharded channel of the cluster layout
-- ARGV[2i+1]     session id i
-- ARGV[2i+2]     post id i (what the server believes session i reads)
--
-- In cluster mode every key is of one shard: the caller makes one call per shard.
--
-- A session the hash places elsewhere is left alone (its key expires; gc reaps).
-- Returns the number of sessions removed.
local removed, changed = 0, {}
local n = (#KEYS - 2) / 2
for i = 1, n do
  local set_key, session_key = KEYS[2 * i + 1], KEYS[2 * i + 2]
  local session, post = ARGV[2 * i + 1], ARGV[2 * i + 2]
  local current = redis.call('HGET', KEYS[1], session)
  if current == false or current == post then
    if redis.call('SREM', set_key, session) == 1 then
      changed[post] = set_key
    end
    removed = removed + redis.call('HDEL', KEYS[1], session)
    redis.call('DEL', session_key)
  end
end
for post, set_key in pairs(changed) do
  reindex(KEYS[2], set_key, post)
  redis.call(ARGV[2], ARGV[1], post)
end
return removed
