--[[
  One page of a user's index, newest first, in one atomic step on one key (Cluster-safe).
  Runs for GET /auth/sessions and SessionService.list/listPage, never on a guarded request.
  The work is bounded by the page size, whatever the size of the index: two O(log n + page)
  range reads, plus the members that share the cursor's score (one in practice).

  Order: score (absolute expiry, ms) descending, then member descending (ZRANGE ... REV order),
  so the newest login comes first while absoluteTtl is the same for every session.

  KEYS[1]  the user's index: ZSET, member = public session id, score = absolute expiry (ms)
  ARGV[1]  now (epoch ms): members whose absolute expiry has passed are pruned first
  ARGV[2]  how many members to return at most (the page size + 1, so the caller knows if more remain)
  ARGV[3]  the cursor's score ('' for the first page)
  ARGV[4]  the cursor's member ('' for the first page)

  Reply: {id1, score1, id2, score2, ...}, up to ARGV[2] members strictly after the cursor's
  position (score, member), whether or not that member is still in the index.
]]
local index = KEYS[1]
redis.call('ZREMRANGEBYSCORE', index, '-inf', ARGV[1])
local count = tonumber(ARGV[2])
if ARGV[3] == '' then
  return redis.call('ZRANGE', index, 0, count - 1, 'REV', 'WITHSCORES')
end
local score = ARGV[3]
local member = ARGV[4]

-- Byte order, the order Redis sorts members of equal score by. Lua's `<` on strings uses
-- strcoll, which depends on the server's locale.
local function before(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then
      return x < y
    end
  end
  return #a < #b
end

local reply = {}
-- Members with the cursor's score come member-descending: those below the cursor's member follow it.
local tied = redis.call('ZRANGE', index, score, score, 'BYSCORE', 'REV', 'WITHSCORES')
for i = 1, #tied, 2 do
  if #reply >= 2 * count then
    break
  end
  if before(tied[i], member) then
    reply[#reply + 1] = tied[i]
    reply[#reply + 1] = tied[i + 1]
  end
end
local missing = count - #reply / 2
if missing > 0 then
  local rest = redis.call('ZRANGE', index, '(' .. score, '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, missing, 'WITHSCORES')
  for i = 1, #rest do
    reply[#reply + 1] = rest[i]
  end
end
return reply
