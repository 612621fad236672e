-- wrk script: POSTs batches of BATCH transfers to /api/v1/transfer-events,
-- each moving a random member to a random cell under a fresh externalId.
-- MEMBERS, TOKEN and BATCH come from the environment (bench/run sets them);
-- the cells are those of cellreg/load.sql, 'S000001' to 'S270000'.
local members = tonumber(os.getenv("MEMBERS"))
local batch = tonumber(os.getenv("BATCH"))
local cells = 270000

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")

dofile("bench/ingest/threads.lua")

local counter = 0
request = function()
  local events = {}
  for i = 1, batch do
    counter = counter + 1
    events[i] = string.format(
      '{"externalId":"wrk-%s-%d-%d","memberNationalId":"%012d","toOrganizationCode":"S%06d","reason":"RELOCATION"}',
      id, os.time(), counter, math.random(1, members), math.random(1, cells))
  end
  return wrk.format(nil, "/api/v1/transfer-events", nil, '{"events":[' .. table.concat(events, ",") .. ']}')
end

count_failures("HTTP", function(status, body)
  return status ~= 200
end)
