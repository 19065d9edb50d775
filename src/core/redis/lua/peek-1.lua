--[[
  A session's value and remaining TTL in one command, without sliding it: what `@NoSlide()`
  routes and `SessionService.get` send (GET and PTTL apart would be two).

  With ARGV[1], the first step of a rotation (core/store-rotate.ts), atomic on the one key
  (Cluster-safe): the session is replaced, in the same step, by the rotation's marker (core/
  rotation-marker.ts), so that from here on the key holds no session and no request, update
  or logout can find the session under it without learning where it went.

  KEYS[1]  the session key
  ARGV[1]  optional: the marker's text up to its last element, '["moving","<newId>",<atMs>';
           the session's userId (its raw JSON, the 2nd element of core/codec.ts's array) and
           ']' are appended
  ARGV[2]  with ARGV[1]: the marker's TTL (ms)

  Reply: {value, pttl} of the session (as it was before a marker replaced it); nil when the
  key holds no session: gone, or a marker (a value whose first element is not the format
  version 1). A marker is never replaced, so two rotations of one session never both start.
]]
local key = KEYS[1]
local value = redis.call('GET', key)
if not value or string.sub(value, 1, 3) ~= '[1,' then
  return nil
end
local pttl = redis.call('PTTL', key)
if ARGV[1] then
  -- The userId: a JSON string (with escapes) or a number, right after '[1,'.
  local stop
  if string.sub(value, 4, 4) == '"' then
    local j = 5
    while true do
      local q = string.find(value, '["\\]', j)
      if not q then
        return nil
      end
      if string.sub(value, q, q) == '\\' then
        j = q + 2
      else
        stop = q
        break
      end
    end
  else
    local comma = string.find(value, ',', 4, true)
    if not comma then
      return nil
    end
    stop = comma - 1
  end
  redis.call('SET', key, ARGV[1] .. ',' .. string.sub(value, 4, stop) .. ']', 'PX', ARGV[2])
end
return {value, pttl}
