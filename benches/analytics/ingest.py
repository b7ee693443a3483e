"""Posts synthetic channel orders to POST /api/channel-orders in batches from several client threads and
prints the rate. Bodies are built before the clock starts, so the figure is the server's."""
import argparse, http.client, json, random, threading, time
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

ap = argparse.ArgumentParser()
ap.add_argument("--url", required=True)
ap.add_argument("--token", required=True)
ap.add_argument("--orders", type=int, default=100_000)
ap.add_argument("--batch", type=int, default=1_000)
ap.add_argument("--clients", type=int, default=2)
args = ap.parse_args()

rng = random.Random(5)
start = datetime(2025, 1, 1, tzinfo=timezone.utc)
iso = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")

def order(i):
    created = start + timedelta(seconds=rng.randrange(365 * 86400))
    at, history = created, [{"status": 10, "timestamp": iso(created)}]
    for code in rng.choice([[20, 50, 60, 90], [20, 50, 70, 80, 90], [20, 110]]):
        at += timedelta(seconds=20 + rng.randrange(900))
        history.append({"status": code, "timestamp": iso(at)})
    return {
        "_id": f"http-{i}", "created": iso(created), "account": "bench", "brandId": f"http-brand-{i % 20}",
        "channelOrderId": f"CH{i}", "customer": {"name": "Guest", "phoneNumber": f"+35840{rng.randrange(300000):07d}"},
        "deliveryAddress": {"city": "Helsinki", "street": "Huuvatie 1", "postalCode": "00100"},
        "items": [{"name": "Hawaii Burger", "plu": "CAT1-0001", "quantity": 1}],
        "status": history[-1]["status"], "statusHistory": history,
    }

bodies = [json.dumps([order(i) for i in range(b, min(b + args.batch, args.orders))]).encode()
          for b in range(0, args.orders, args.batch)]
url = urlparse(args.url)
latencies, failures = [], []

def client(part):
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    for body in part:
        t = time.perf_counter()
        conn.request("POST", "/api/channel-orders", body,
                     {"content-type": "application/json", "authorization": f"Bearer {args.token}"})
        response = conn.getresponse()
        answer = response.read()
        latencies.append(time.perf_counter() - t)
        if response.status not in (200, 201):
            failures.append(response.status)
            print(f"batch refused: {response.status} {answer[:400].decode(errors='replace')}")

threads = [threading.Thread(target=client, args=(bodies[k::args.clients],)) for k in range(args.clients)]
t0 = time.perf_counter()
for t in threads: t.start()
for t in threads: t.join()
elapsed = time.perf_counter() - t0
latencies.sort()
pct = lambda q: latencies[max(0, int(q * len(latencies) + 0.999999) - 1)] * 1000
print(f"ingest over HTTP: {args.orders} orders in {len(bodies)} batches of {args.batch}, {args.clients} clients: "
      f"{elapsed:.1f} s = {args.orders / elapsed:,.0f} orders/s; batch p50 {pct(0.5):.0f} ms, p99 {pct(0.99):.0f} ms; "
      f"failures {len(failures)}")
