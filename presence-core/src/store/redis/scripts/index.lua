-- Prepended to every script that changes a reader set (see store/redis/mod.rs), so the
-- site-wide index is kept by the very step that changes a set and never drifts.
--
-- reindex(top, set, post): scores `post` in the index `top` with the size of its
-- reader set `set`, or removes it when nobody reads it. Returns the size.
local function reindex(top, set, post)
  local readers = redis.call('SCARD', set)
  if readers == 0 then
    redis.call('ZREM', top, post)
  else
    redis.call('ZADD', top, readers, post)
  end
  return readers
end

