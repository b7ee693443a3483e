-- wrk script: GET an analytics read (ENDPOINT, e.g. "/api/analytics/throughput?tz=utc&interval=hour")
-- over a 30-day window that moves by a minute every request, so no two requests ask the same question
-- and none is answered from the cache: what a read costs the first time. Needs TOKEN.
dofile("benches/channel/common.lua")
local endpoint = os.getenv("ENDPOINT")
request = function()
  counter = counter + 1
  -- 2026-02-14T00:00Z, then a minute later for each request of this thread (threads a week apart).
  local to = 1771027200 + thread_id * 7 * 86400 + counter * 60
  local from = to - 30 * 86400
  local path = string.format("%s&from=%s&to=%s", endpoint,
    os.date("!%Y-%m-%dT%H:%M:%SZ", from), os.date("!%Y-%m-%dT%H:%M:%SZ", to))
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end
