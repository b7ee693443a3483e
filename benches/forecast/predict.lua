-- POST /api/predictions/demand with the same body every time (a cached answer after the first).
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.body = '{"restaurant_id":"' .. os.getenv("RESTAURANT") .. '","granularity":"daily","horizon":7}'
wrk.path = "/api/predictions/demand"
