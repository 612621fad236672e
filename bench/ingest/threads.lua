-- Shared by the wrk scripts: numbered threads that draw their own random
-- sequences, and failed answers counted apart from throughput.

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

-- Answers for which failed(status, body) holds are counted and reported as
-- "<label> failures: N" at the end.
function count_failures(label, failed)
  failures = 0
  response = function(status, headers, body)
    if failed(status, body) then
      failures = failures + 1
    end
  end
  done = function(summary, latency, requests)
    local total = 0
    for _, thread in ipairs(threads) do
      total = total + thread:get("failures")
    end
    io.write(string.format("%s failures: %d\n", label, total))
  end
end
