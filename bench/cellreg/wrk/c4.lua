-- Q4 through cellreg: the change feed, a page of 500 events after a random sequence.
dofile("wrk/lib.lua")
local prefix = gql_prefix([[query($s: Int) { transferEvents(afterSequence: $s, first: 500) {
  edges { node { sequence externalId member { id } from { id } to { id } reason effectiveAt recordedAt } } } }]])
function init(_) seed_random() end
function request() return post(prefix .. string.format('{"s":%d}}', math.random(0, 5499000))) end
