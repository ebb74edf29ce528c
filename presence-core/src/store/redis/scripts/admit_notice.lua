-- admit_notice: lets a notice through to every server, within the rate limit of
-- its scope (one post, or the site), at most once per submission.
--
-- KEYS[1] notices:rate:post:<id> or notices:rate:site   fixed-window counter
-- KEYS[2] notices:seen:<digest>                         marks this submission
-- ARGV[1] notices allowed per window
-- ARGV[2] window in seconds
-- ARGV[3] the notice, as JSON
-- ARGV[4] delivery channel
--
-- Returns 'sent', 'rate_limited' or 'duplicate' (another server admitted it).
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then
  return 'duplicate'
end
local sent = redis.call('INCR', KEYS[1])
if sent == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
if sent > tonumber(ARGV[1]) then
  return 'rate_limited'
end
redis.call('PUBLISH', ARGV[4], ARGV[3])
return 'sent'
