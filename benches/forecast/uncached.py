"""Uncached demand predictions with trained models: one request per distinct (restaurant, granularity,
horizon), so each misses the cache and is answered by its restaurant's latest version. Prints the client
latency percentiles and checks every answer came from a trained model, uncached.
Usage: python3 uncached.py BASE_URL TOKEN RESTAURANT_ID..."""
import json
import sys
import time
import urllib.request

base, token, restaurants = sys.argv[1], sys.argv[2], sys.argv[3:]
latencies = {"daily": [], "hourly": []}
server = {"daily": [], "hourly": []}
for restaurant in restaurants:
    for granularity, horizons in (("daily", range(1, 29)), ("hourly", range(1, 169, 6))):
        for horizon in horizons:
            body = json.dumps({"restaurant_id": restaurant, "granularity": granularity, "horizon": horizon}).encode()
            request = urllib.request.Request(
                f"{base}/api/predictions/demand", data=body, method="POST",
                headers={"content-type": "application/json", "authorization": f"Bearer {token}"})
            started = time.perf_counter()
            with urllib.request.urlopen(request) as response:
                answer = json.load(response)["data"]
            latencies[granularity].append((time.perf_counter() - started) * 1000)
            if answer["cached"] or answer["fallback_level"] != "latest":
                sys.exit(f"not an uncached answer of a trained model: {answer['cached']}, {answer['fallback_level']}")
            server[granularity].append(answer["prediction_time_ms"])
pick = lambda xs, q: xs[min(len(xs) - 1, int(q * len(xs)))]
for granularity in ("daily", "hourly"):
    client, own = sorted(latencies[granularity]), sorted(server[granularity])
    print(f"{granularity}: {len(client)} uncached predictions, each from its restaurant's latest version; "
          f"client p50 {pick(client, 0.5):.1f} ms, p99 {pick(client, 0.99):.1f} ms, max {client[-1]:.1f} ms; "
          f"server prediction_time_ms p50 {pick(own, 0.5):.1f}, p99 {pick(own, 0.99):.1f}")
