-- reindex: the sweep's repair of the site-wide index. Each post's score is set to
-- the size of its reader set, and a post nobody reads is removed, in one atomic
-- step per batch. Normally a no-op: the scripts that change sets keep the index.
--
-- KEYS[1]     presence:top
-- KEYS[i+1]   viewers:<post i>   (i = 1..n)
-- ARGV[i]     post i
--
-- Returns how many posts had a wrong (or missing) score.
local fixed = 0
for i, post in ipairs(ARGV) do
  local before = tonumber(redis.call('ZSCORE', KEYS[1], post) or '0')
  if reindex(KEYS[1], KEYS[i + 1], post) ~= before then
    fixed = fixed + 1
  end
end
return fixed
