--[[
  A session's value and remaining TTL in one command, without sliding it: what `@NoSlide()`
  routes and `SessionService.get` send (GET and PTTL apart would be two).

  KEYS[1]  the session key
  Reply: {value, pttl}, or nil when the key is gone.
]]
local value = redis.call('GET', KEYS[1])
if not value then
  return nil
end
return {value, redis.call('PTTL', KEYS[1])}
