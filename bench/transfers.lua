-- wrk script: POSTs batches of BATCH transfers to /api/v1/transfer-events,
-- each moving a random member to a random cell under a fresh externalId.
-- MEMBERS, TOKEN and BATCH come from the environment (bench/run sets them).
local members = tonumber(os.getenv("MEMBERS"))
local batch = tonumber(os.getenv("BATCH"))
local districts, communes, cells = 10, 17, 16

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")

local threads = {}
local thread_id = 0
function setup(thread)
  thread_id = thread_id + 1
  thread:set("id", thread_id)
  table.insert(threads, thread)
end

-- Each thread draws its own sequence: unseeded, every thread (and every
-- run) would ask for the same members in the same order.
function init(args)
  math.randomseed(os.time() * 1000 + id)
end

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

failures = 0
response = function(status, headers, body)
  if status ~= 200 then
    failures = failures + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("failures")
  end
  io.write(string.format("HTTP failures: %d\n", total))
end
