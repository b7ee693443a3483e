-- wrk script: POST /api/orders as one customer, each request a new order (a fresh Idempotency-Key).
-- Needs TOKEN, VENUE and ITEM in the environment (see benches/http/run.sh).
local token = os.getenv("TOKEN")
local body = string.format(
  '{"venue_id":"%s","order_type":"TAKEOUT","items":[{"menu_item_id":"%s","quantity":2}]}',
  os.getenv("VENUE"), os.getenv("ITEM"))
local counter = 0
-- Threads are numbered in setup(), which runs in the main Lua state; each thread reads its number as the
-- global `thread_id` (a local here would stay 0 in every thread and make their keys collide).
local threads = 0

function setup(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end

request = function()
  counter = counter + 1
  return wrk.format("POST", "/api/orders", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = string.format("bench-%d-%d-%d", thread_id, counter, os.time()),
  }, body)
end

done = function(summary, latency, requests)
  io.write(string.format("non-2xx or socket errors: %d\n",
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
