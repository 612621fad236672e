-- Q4: the change feed, a page of 500 events after a random event (PostGraphile's
-- cursor for PRIMARY_KEY_ASC is base64 of ["primary_key_asc",[id]]).
dofile("wrk/lib.lua")
local prefix = gql_prefix("graphql/q4.graphql")
local b = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
local function base64(data)
  return ((data:gsub('.', function(x)
    local r, byte = '', x:byte()
    for i = 8, 1, -1 do r = r .. (byte % 2 ^ i - byte % 2 ^ (i - 1) > 0 and '1' or '0') end
    return r
  end) .. '0000'):gsub('%d%d?%d?%d?%d?%d?', function(x)
    if #x < 6 then return '' end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == '1' and 2 ^ (6 - i) or 0) end
    return b:sub(c + 1, c + 1)
  end) .. ({ '', '==', '=' })[#data % 3 + 1])
end
function init(_) seed_random() end
function request()
  local cursor = base64('["primary_key_asc",[' .. math.random(1, 5499000) .. ']]')
  return post(prefix .. '{"after":"' .. cursor .. '"}}')
end
