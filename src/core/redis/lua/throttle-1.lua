--[[
  Counts a login attempt in a fixed window, atomically, on one key (Cluster-safe).
  Attempts are counted before the password is checked, so concurrent guesses cannot
  slip past the limit; a successful login refunds its attempt (ARGV[1] = -1).

  KEYS[1]  the counter (STRING), e.g. <prefix>throttle:user:<hash> or <prefix>throttle:ip:<ip>
  ARGV[1]  delta: 1 counts an attempt, -1 refunds one (never below 0, never creates the key)
  ARGV[2]  window in ms: the counter's TTL, set when it is created

  Reply: {count, pttl}; {0, -2} when a refund finds no counter or empties it (then deleted).
]]
local key = KEYS[1]
local delta = tonumber(ARGV[1])
if delta < 0 then
  local current = tonumber(redis.call('GET', key) or '0')
  if current <= 0 then
    return {0, -2}
  end
  -- DECRBY keeps the key's TTL; a counter back at 0 is deleted, so successful logins
  -- leave no keys behind.
  local count = redis.call('DECRBY', key, -delta)
  if count <= 0 then
    redis.call('DEL', key)
    return {0, -2}
  end
  return {count, redis.call('PTTL', key)}
end
local count = redis.call('INCRBY', key, delta)
local ttl = redis.call('PTTL', key)
if ttl < 0 then
  -- A new counter (or one that somehow lost its TTL): every key the module writes expires.
  redis.call('PEXPIRE', key, ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {count, ttl}
