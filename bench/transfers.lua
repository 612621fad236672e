-- wrk script: POSTs batches of BATCH transfers to /api/v1/transfer-events,
-- each moving a random member to a random cell under a fresh externalId.
-- MEMBERS, TOKEN and BATCH come from the environment (bench/run sets them).
local members = tonumber(os.getenv("MEMBERS"))
local batch = tonumber(os.getenv("BATCH"))
local districts, communes, cells = 10, 17, 16

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")

dofile("bench/threads.lua")

local counter = 0
request = function()
  local events = {}
  for i = 1, batch do
    counter = counter + 1
    events[i] = string.format(
      '{"externalId":"wrk-%s-%d-%d","memberNationalId":"%012d","toOrganizationCode":"VP.D%d.C%d.K%d","reason":"RELOCATION"}',
      id, os.time(), counter, math.random(1, members),
      math.random(1, districts), math.random(1, communes), math.random(1, cells))
  end
  return wrk.format(nil, "/api/v1/transfer-events", nil, '{"events":[' .. table.concat(events, ",") .. ']}')
end

count_failures("HTTP", function(status, body)
  return status ~= 200
end)
