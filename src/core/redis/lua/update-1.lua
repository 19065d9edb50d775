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
           as JSON, '' to remove the key, or an op on the value the key holds (SessionOps in
           core/session-patch.ts; JSON never starts with an upper-case letter):
             A<max>:<json>  append <json> to the array (a missing or null key: [<json>]); with
                            <max> > 0, keep the last <max> elements
             R<json>        drop every element of the array whose JSON text is <json>
                            (a missing or null key stays as it is)
             I<number>      add <number> to the number (a missing or null key counts from 0)

  Values are spliced as the JSON text the app encoded: nothing is decoded and encoded again
  here (Lua's cjson would turn [] into {} and round numbers to 14 digits). A sum is written as
  the shortest text that reads back as the same double, as JavaScript writes numbers.

  Reply: {value, pttl} after the change; nil when the key is gone; nothing written and
  {'', bytes} when the data would grow past ARGV[3], {'', -1} for a value this script cannot
  read (more than 10 fields, another format version: maybe a later version's session, whose
  key lives, so the caller never takes it for one that is gone), {'', -2, key, op letter} for
  an op on a value of another kind (or a sum past the largest double), {'', -3, newId} when
  the key holds a rotation's marker (core/rotation-marker.ts: the session is moving to
  <newId>; the caller applies the patch there).
]]
local key = KEYS[1]
local value = redis.call('GET', key)
if not value then
  return nil
end
local moving = string.match(value, '^%["moving","([%w_%-]+)"')
if moving then
  return {'', -3, moving}
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

-- The raw JSON of each element of an array (JSON.stringify writes no whitespace); nil if unreadable.
local function elements(s)
  local list, i = {}, 2
  while string.sub(s, i, i) ~= ']' do
    local e = value_end(s, i)
    if not e then return nil end
    list[#list + 1] = string.sub(s, i, e)
    i = e + 1
    if string.sub(s, i, i) == ',' then i = i + 1 end
  end
  return list
end

-- A finite double as JSON: the shortest text that reads back as the same number.
local function number_json(x)
  if x ~= x or x == math.huge or x == -math.huge then return nil end
  if x == math.floor(x) and math.abs(x) < 2^53 then return string.format('%.0f', x) end
  for digits = 15, 16 do
    local s = string.format('%.' .. digits .. 'g', x)
    if tonumber(s) == x then return s end
  end
  return string.format('%.17g', x)
end

-- An op (ARGV text) on the raw JSON a data key holds ('' when missing): the new raw JSON ('' to
-- leave the key out), or nil when the value is of another kind.
local function apply(op, current)
  local kind = string.sub(op, 1, 1)
  local missing = current == '' or current == 'null'
  if kind == 'I' then
    if missing then current = '0' end
    if not string.find(current, '^-?%d') then return nil end
    return number_json(tonumber(current) + tonumber(string.sub(op, 2)))
  end
  if not missing and string.sub(current, 1, 1) ~= '[' then return nil end
  if kind == 'A' then
    local colon = string.find(op, ':', 2, true)
    local max, item = tonumber(string.sub(op, 2, colon - 1)), string.sub(op, colon + 1)
    if missing or current == '[]' then return '[' .. item .. ']' end
    if max == 0 then return string.sub(current, 1, -2) .. ',' .. item .. ']' end
    local list = elements(current)
    if not list then return nil end
    list[#list + 1] = item
    return '[' .. table.concat(list, ',', math.max(1, #list - max + 1)) .. ']'
  end
  if missing then return current end
  local list, kept, item = elements(current), {}, string.sub(op, 2)
  if not list then return nil end
  for n = 1, #list do
    if list[n] ~= item then kept[#kept + 1] = list[n] end
  end
  return '[' .. table.concat(kept, ',') .. ']'
end

local fields = elements(value)
if not fields or fields[1] ~= '1' or #fields < 8 or #fields > 10 then
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
    if string.find(v, '^[AIR]') then
      local applied = apply(v, n and values[n] or '')
      if not applied then return {'', -2, k, string.sub(v, 1, 1)} end
      v = applied
    end
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
