-- wrk script: GET an analytics read (ENDPOINT, e.g. "/api/analytics/throughput?tz=utc&interval=hour")
-- over a 30-day window that moves by a minute every request, so no two requests ask the same question
-- and none is answered from the cache: what a read costs the first time. Needs TOKEN.
local token = os.getenv("TOKEN")
local endpoint = os.getenv("ENDPOINT")
local counter = 0
local threads = 0

function setup(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end

request = function()
  counter = counter + 1
  -- 2026-02-14T00:00Z, then a minute later for each request of this thread (threads a week apart).
  local to = 1771027200 + thread_id * 7 * 86400 + counter * 60
  local from = to - 30 * 86400
  local path = string.format("%s&from=%s&to=%s", endpoint,
    os.date("!%Y-%m-%dT%H:%M:%SZ", from), os.date("!%Y-%m-%dT%H:%M:%SZ", to))
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end

done = function(summary, latency, requests)
  io.write(string.format("non-2xx or socket errors: %d\n",
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
