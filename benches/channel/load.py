"""The issue-22 data set, loaded over the API: 20 restaurants in four zones (UTC, Helsinki, New York,
Kolkata), 100,000 channel orders over 60 days from 2026-01-01 (about 3.6 status events each, 360,000 in
all), posted to POST /api/channel-orders in batches of 1,000 from two clients. One order in ten is still
open (only RECEIVED): the status-update run adds events to those. Writes their ids and creation instants
to --open-file for that run (wrk reads it)."""
import argparse, http.client, json, random, threading, time
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

ap = argparse.ArgumentParser()
ap.add_argument("--url", required=True)
ap.add_argument("--token", required=True)
ap.add_argument("--orders", type=int, default=100_000)
ap.add_argument("--open-file", required=True)
args = ap.parse_args()
url = urlparse(args.url)
headers = {"content-type": "application/json", "authorization": f"Bearer {args.token}"}
ZONES = ["UTC", "Europe/Helsinki", "America/New_York", "Asia/Kolkata"]


def call(conn, method, path, body):
    conn.request(method, path, json.dumps(body).encode(), headers)
    response = conn.getresponse()
    answer = response.read()
    if response.status >= 300:
        raise SystemExit(f"{method} {path}: {response.status} {answer[:300].decode(errors='replace')}")
    return json.loads(answer)


conn = http.client.HTTPConnection(url.hostname, url.port, timeout=300)
for r in range(20):
    call(conn, "POST", "/api/restaurants",
         {"name": f"Bench Kitchen {r}", "external_id": f"bench-brand-{r}", "timezone": ZONES[r % 4]})

rng = random.Random(22)
start = datetime(2026, 1, 1, tzinfo=timezone.utc)
iso = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")
open_orders = []


def order(i):
    created = start + timedelta(seconds=rng.randrange(60 * 86400))
    at, history = created, [{"status": 10, "timestamp": iso(created)}]
    if i % 10 == 9:
        open_orders.append((f"bench-{i}", int(created.timestamp())))
    else:
        # 2.6 more events on average: accepted, then done, delivered or cancelled.
        for code in rng.choice([[20, 50, 90], [20, 50, 60, 90], [20, 110], [20, 50, 70, 90]]):
            at += timedelta(seconds=20 + rng.randrange(900))
            history.append({"status": code, "timestamp": iso(at)})
    return {
        "_id": f"bench-{i}", "created": iso(created), "account": "bench", "brandId": f"bench-brand-{i % 20}",
        "channelOrderId": f"CH{i}",
        "customer": {"name": "Guest", "phoneNumber": f"+35840{rng.randrange(30000):07d}"},
        "deliveryAddress": {"city": "Helsinki", "street": "Huuvatie 1", "postalCode": "00100"},
        "items": [{"name": "Hawaii Burger", "plu": "CAT1-0001", "quantity": 1 + rng.randrange(3)}],
        "status": history[-1]["status"], "statusHistory": history,
    }


bodies = [json.dumps([order(i) for i in range(b, min(b + 1000, args.orders))]).encode()
          for b in range(0, args.orders, 1000)]
events = sum(body.count(b'"timestamp"') for body in bodies)
with open(args.open_file, "w") as f:
    for ext, created in open_orders:
        f.write(f"{ext} {created}\n")


def client(part):
    c = http.client.HTTPConnection(url.hostname, url.port, timeout=300)
    for body in part:
        c.request("POST", "/api/channel-orders", body, headers)
        response = c.getresponse()
        answer = response.read()
        if response.status not in (200, 201):
            raise SystemExit(f"batch refused: {response.status} {answer[:300].decode(errors='replace')}")


t0 = time.perf_counter()
threads = [threading.Thread(target=client, args=(bodies[k::2],)) for k in range(2)]
for t in threads: t.start()
for t in threads: t.join()
print(f"loaded {args.orders:,} orders ({events:,} status events, {len(open_orders):,} still open) "
      f"in {time.perf_counter() - t0:.1f} s")
