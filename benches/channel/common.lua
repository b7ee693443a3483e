-- What the wrk scripts of benches/channel share, loaded with dofile() from the repository root (where
-- run.sh runs wrk): the bench's token (TOKEN), a per-thread request counter, the thread numbering, and
-- the error count printed at the end.
token = os.getenv("TOKEN")
counter = 0
local threads = 0

-- setup() runs in the main Lua state; each thread reads its number as the global `thread_id`.
function setup(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end

function done(summary, latency, requests)
  io.write(string.format("non-2xx or socket errors: %d\n",
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
