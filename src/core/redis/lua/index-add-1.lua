--[[
  Adds a session id to a user's index, in one atomic step on one key (Cluster-safe).
  Runs at login and rotate, never on a guarded request.

  KEYS[1]  the user's index: ZSET, member = public session id, score = absolute expiry (ms)
  ARGV[1]  now (epoch ms): members whose absolute expiry has passed are pruned
  ARGV[2]  the session id to add
  ARGV[3]  its absolute expiry (epoch ms)
  ARGV[4]  a session id to remove in the same step ('' for none; rotate passes the old id)
  ARGV[5]  max sessions per user (0 = unlimited)

  Reply: when ARGV[5] > 0 and the index holds more ids than that, every member with
  its score, oldest first ({id1, score1, id2, score2, ...}); otherwise an empty array.
  The caller checks which of them are still alive before it evicts any.
]]
local index = KEYS[1]
redis.call('ZREMRANGEBYSCORE', index, '-inf', ARGV[1])
if ARGV[4] ~= '' then
  redis.call('ZREM', index, ARGV[4])
end
redis.call('ZADD', index, ARGV[3], ARGV[2])
-- The index lives exactly as long as its longest-lived member, so it always has a TTL.
local last = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', index, last[2])
local max = tonumber(ARGV[5])
if max > 0 and redis.call('ZCARD', index) > max then
  return redis.call('ZRANGE', index, 0, -1, 'WITHSCORES')
end
return {}
