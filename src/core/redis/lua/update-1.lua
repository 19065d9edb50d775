--[[
  Changes a live session in place, in one atomic step on one key (Cluster-safe): its
  username and role, and a top-level merge into its custom data. Never writes a key that is
  gone, so an update racing a logout or a revocation cannot bring the session back; the TTL
  is kept. Two updates of different data keys both survive: each merges into what the
  other wrote.

  KEYS[1]  the session key; its value is the JSON array of core/codec.ts:
           [1, userId, username, role, createdAt, absoluteExpiresAt, ip, userAgent, data?, own?]
           (data is null when a session has `own` settings and no data; `own` is kept as is)
  ARGV[1]  the new username as JSON ('"ann"' or 'null'), or '' to keep it
  ARGV[2]  the new role, the same way
  ARGV[3]  the largest data the session may hold, in bytes of JSON
  ARGV[4], ARGV[5], ...  pairs: a data key as a JSON string ('"theme"'), then its new value
           as JSON, or '' to remove the key

  Values are spliced as the JSON text the app encoded: nothing is decoded and encoded again
  here (Lua's cjson would turn [] into {} and round numbers to 14 digits).

  Reply: {value, pttl} after the change; nil when the key is gone; {'', bytes} when the data
  would grow past ARGV[3] (nothing written); {'', -1} for a value this script cannot read.
]]
local key = KEYS[1]
local value = redis.call('GET', key)
if not value then
  return nil
end

-- The index of the last character of the JSON value that starts at i.
local function value_end(s, i)
  local c = string.sub(s, i, i)
  if c == '"' then
    local j = i + 1
    while true do
      local q = string.find(s, '["\\]', j)
      if not q then return nil end
      if string.sub(s, q, q) == '\\' then j = q + 2 else return q end
    end
  elseif c == '{' or c == '[' then
    local depth, j = 0, i
    while true do
      local q = string.find(s, '[%[%]{}"]', j)
      if not q then return nil end
      local ch = string.sub(s, q, q)
      if ch == '"' then
        q = value_end(s, q)
        if not q then return nil end
      elseif ch == '{' or ch == '[' then
        depth = depth + 1
      else
        depth = depth - 1
        if depth == 0 then return q end
      end
      j = q + 1
    end
  else
    local q = string.find(s, '[,%]}]', i)
    if not q then return nil end
    return q - 1
  end
end

-- The raw JSON of each element of the array value (JSON.stringify writes no whitespace).
local fields = {}
local i = 2
while string.sub(value, i, i) ~= ']' do
  local e = value_end(value, i)
  if not e then return {'', -1} end
  fields[#fields + 1] = string.sub(value, i, e)
  i = e + 1
  if string.sub(value, i, i) == ',' then i = i + 1 end
end
if fields[1] ~= '1' or #fields < 8 or #fields > 10 then
  return {'', -1}
end

if ARGV[1] ~= '' then fields[3] = ARGV[1] end
if ARGV[2] ~= '' then fields[4] = ARGV[2] end

if #ARGV > 3 then
  -- The data object's members in order, as raw key and value JSON.
  local keys, values, at = {}, {}, {}
  local data = fields[9]
  if data and data ~= 'null' then
    local j = 2
    while string.sub(data, j, j) ~= '}' do
      local ke = value_end(data, j)
      if not ke then return {'', -1} end
      local k = string.sub(data, j, ke)
      local ve = value_end(data, ke + 2)
      if not ve then return {'', -1} end
      keys[#keys + 1] = k
      values[#keys] = string.sub(data, ke + 2, ve)
      at[k] = #keys
      j = ve + 1
      if string.sub(data, j, j) == ',' then j = j + 1 end
    end
  end
  for p = 4, #ARGV, 2 do
    local k, v = ARGV[p], ARGV[p + 1]
    local n = at[k]
    if n then
      values[n] = v
    elseif v ~= '' then
      keys[#keys + 1] = k
      values[#keys] = v
      at[k] = #keys
    end
  end
  local members = {}
  for n = 1, #keys do
    if values[n] ~= '' then members[#members + 1] = keys[n] .. ':' .. values[n] end
  end
  if #members == 0 then
    -- null keeps the place of `own` when the session has it
    if #fields == 10 then fields[9] = 'null' else fields[9] = nil end
  else
    fields[9] = '{' .. table.concat(members, ',') .. '}'
    if #fields[9] > tonumber(ARGV[3]) then
      return {'', #fields[9]}
    end
  end
end

local updated = '[' .. table.concat(fields, ',') .. ']'
redis.call('SET', key, updated, 'KEEPTTL')
return {updated, redis.call('PTTL', key)}
