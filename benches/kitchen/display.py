#!/usr/bin/env python3
"""How fast a kitchen display with 200 open tickets follows a bump: the time from sending a bump to
having the station's refreshed ticket list (the bump's answer, the `kitchen` event on the venue's
stream, then GET of the tickets), as the display's page does it.

Usage: benches/kitchen/display.py BASE_URL [TICKETS] [BUMPS]
(against `brigade serve --demo`; benches/kitchen/display.sh builds and starts one.)
Standard library only.
"""
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse

base = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
tickets = int(sys.argv[2]) if len(sys.argv) > 2 else 200
bumps = int(sys.argv[3]) if len(sys.argv) > 3 else 50
url = urllib.parse.urlparse(base)


def call(method, path, body=None, token=None, conn=None):
    own = conn is None
    conn = conn or http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    response = conn.getresponse()
    data = response.read()
    if own:
        conn.close()
    if response.status >= 300:
        raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
    return json.loads(data)["data"]


def login(email):
    return call("POST", "/api/auth/login", {"email": email, "password": "brigade-demo"})["tokens"]["access_token"]


admin, manager, customer = (login(e) for e in ("admin@demo.brigade", "manager@demo.brigade", "customer@demo.brigade"))
venue = call("POST", "/api/venues", {"name": f"Busy Kitchen {time.time():.0f}", "timezone": "Europe/London", "currency": "GBP", "status": "active"}, admin)
call("POST", f"/api/restaurants/{venue['id']}/members", {"email": "manager@demo.brigade", "role": "manager"}, admin)
category = call("POST", f"/api/venues/{venue['id']}/menu/categories", {"name": "Mains"}, manager)
item = call("POST", f"/api/venues/{venue['id']}/menu/items", {"category_id": category["id"], "name": "Burger", "price": "10.00"}, manager)
station = call("POST", f"/api/venues/{venue['id']}/stations", {"name": "Grill", "kind": "grill", "is_default": True}, manager)
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
started = time.perf_counter()
for i in range(tickets):
    order = call("POST", "/api/orders", {"venue_id": venue["id"], "order_type": "DINE_IN", "table": f"T{i}", "items": [{"menu_item_id": item["id"], "quantity": 1}]}, customer, conn)
    call("PUT", f"/api/orders/{order['id']}/status", {"status": "CONFIRMED"}, manager, conn)
print(f"{tickets} tickets opened in {time.perf_counter() - started:.1f} s")
list_path = f"/api/venues/{venue['id']}/kitchen/tickets?station_id={station['id']}"
lines = [t["lines"][0]["id"] for t in call("GET", list_path, token=manager, conn=conn)]
assert len(lines) == tickets, len(lines)

# The display's stream: each `kitchen` event wakes the waiting bump.
events = threading.Event()


def listen():
    stream = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    stream.request("GET", f"/api/venues/{venue['id']}/kitchen/stream", headers={"authorization": f"Bearer {manager}", "accept": "text/event-stream"})
    response = stream.getresponse()
    for raw in response:
        if raw.startswith(b"event: kitchen"):
            events.set()


threading.Thread(target=listen, daemon=True).start()
time.sleep(0.5)
latencies, sizes = [], []
for line in lines[:bumps]:
    events.clear()
    t0 = time.perf_counter()
    call("POST", f"/api/kitchen/lines/{line}/bump", {}, manager, conn)
    if not events.wait(5):
        raise RuntimeError("no kitchen event within 5 s of a bump")
    shown = call("GET", list_path, token=manager, conn=conn)
    latencies.append((time.perf_counter() - t0) * 1000)
    sizes.append(len(shown))
latencies.sort()
p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
print(f"{bumps} bumps on a display of {sizes[0]}..{sizes[-1]} open tickets: bump to refreshed list "
      f"p50 {p(0.5):.1f} ms, p95 {p(0.95):.1f} ms, max {latencies[-1]:.1f} ms, mean {statistics.mean(latencies):.1f} ms")
