-- wrk script: POST /api/channel-orders/{id}/status, each request a new event on one of the data set's
-- open orders (OPEN_FILE: "id created-epoch" lines), at an instant no other request uses.
dofile("benches/channel/common.lua")
local orders = {}
for line in io.lines(os.getenv("OPEN_FILE")) do
  local id, created = line:match("(%S+) (%d+)")
  orders[#orders + 1] = {id, tonumber(created)}
end
request = function()
  counter = counter + 1
  local o = orders[math.random(#orders)]
  -- Thread k's instants are k million seconds apart from thread k+1's: no two requests collide.
  local at = o[2] + 60 + thread_id * 1000000 + counter
  local body = string.format('{"status":%d,"timestamp":"%s"}',
    (counter % 2 == 0) and 20 or 50, os.date("!%Y-%m-%dT%H:%M:%SZ", at))
  return wrk.format("POST", "/api/channel-orders/" .. o[1] .. "/status", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end
