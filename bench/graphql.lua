-- wrk script: POSTs a GraphQL query whose variable is chosen per request.
-- QUERY picks the read: member (by national ID), cell (first 50 members),
-- committee (cells with member counts); member-rest asks the member lookup
-- of REST (`GET /api/v1/members/{nationalId}/membership`, the same SQL
-- without GraphQL) and service asks `{ version }`, which reads no database:
-- together they show where a lookup's time goes. MEMBERS and TOKEN come from
-- the environment (bench/run sets them).
local kind = os.getenv("QUERY")
local members = tonumber(os.getenv("MEMBERS"))
local districts, communes, cells = 10, 17, 16

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")

local queries = {
  member = '{"query":"query($v:String){member(nationalId:$v){id fullName membership{organization{code name parent{code name}}}}}","variables":{"v":"%s"}}',
  cell = '{"query":"query($v:String){organization(code:$v){members(first:50){edges{node{member{fullName}}}}}}","variables":{"v":"%s"}}',
  committee = '{"query":"query($v:String){organization(code:$v){children(first:50){edges{node{code memberCount}}}}}","variables":{"v":"%s"}}',
  service = '{"query":"{version}"}',
}

dofile("bench/threads.lua")

request = function()
  local d, c, k = math.random(1, districts), math.random(1, communes), math.random(1, cells)
  local value
  if kind == "member-rest" then
    return wrk.format("GET", string.format("/api/v1/members/%012d/membership", math.random(1, members)))
  elseif kind == "service" then
    return wrk.format(nil, "/graphql", nil, queries.service)
  elseif kind == "member" then
    value = string.format("%012d", math.random(1, members))
  elseif kind == "cell" then
    value = string.format("VP.D%d.C%d.K%d", d, c, k)
  else
    value = string.format("VP.D%d.C%d", d, c)
  end
  return wrk.format(nil, "/graphql", nil, string.format(queries[kind], value))
end

-- Answers with GraphQL errors count as failures, not as throughput.
count_failures("GraphQL", function(status, body)
  return status ~= 200 or string.find(body, '"errors"', 1, true) ~= nil
end)
