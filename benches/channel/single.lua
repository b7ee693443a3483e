-- wrk script: POST /api/channel-orders, one new order per request (a fresh `_id` per thread and request).
-- Needs TOKEN in the environment (see benches/channel/run.sh).
dofile("benches/channel/common.lua")
request = function()
  counter = counter + 1
  local id = string.format("wrk-%d-%d-%d", os.time(), thread_id, counter)
  local created = 1769904000 + (counter % 86400)  -- 2026-02-01 plus up to a day
  local body = string.format(
    '{"_id":"%s","created":"%s","account":"bench","brandId":"bench-brand-%d","channelOrderId":"%s",' ..
    '"customer":{"name":"Guest","phoneNumber":"+35841%07d"},' ..
    '"items":[{"name":"Hawaii Burger","plu":"CAT1-0001","quantity":1}],"status":20,' ..
    '"statusHistory":[{"status":10,"timestamp":"%s"},{"status":20,"timestamp":"%s"}]}',
    id, os.date("!%Y-%m-%dT%H:%M:%SZ", created), counter % 20, id, counter % 1000000,
    os.date("!%Y-%m-%dT%H:%M:%SZ", created), os.date("!%Y-%m-%dT%H:%M:%SZ", created + 60))
  return wrk.format("POST", "/api/channel-orders", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end
