--[[
  Removes every session id from a user's index but one, atomically, and returns them,
  so the caller can delete their session keys (which may live on other Cluster slots).
  A login that adds its id after this step is listed; one that added it before is
  returned here, and its own post-write check (ZSCORE) destroys it if it lost the race.

  KEYS[1]  the user's index (ZSET of public session ids)
  ARGV[1]  a session id to keep ('' for none)

  Reply: the ids removed.
]]
local index = KEYS[1]
local keep = ARGV[1]
local ids = redis.call('ZRANGE', index, 0, -1)
local removed = {}
for _, id in ipairs(ids) do
  if id ~= keep then
    removed[#removed + 1] = id
  end
end
-- unpack() has a stack limit of a few thousand values: remove in chunks.
for i = 1, #removed, 1000 do
  redis.call('ZREM', index, unpack(removed, i, math.min(i + 999, #removed)))
end
return removed
