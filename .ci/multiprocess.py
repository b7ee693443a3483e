#!/usr/bin/env python3
"""Several Brigade processes on one PostgreSQL and one Redis behave as one system.

Starts two `brigade serve --no-worker` processes (A and B) and one `brigade worker` on a fresh PostgreSQL
database and the local Redis (under a key prefix of its own), then, across them:
  1. an order placed through A is followed live through B's event stream;
  2. a menu change made through A is read through B within a second;
  3. a monitoring report started through A is finished by the worker and fetched through B;
  4. rate-limit counts are shared: sign-in attempts spread over A and B are limited together;
  5. B is killed (-9) while orders pour into both: A keeps serving, and every order either process
     acknowledged is stored.
Usage: .ci/multiprocess.py BINARY   (PostgreSQL at 127.0.0.1:5432, Redis at 127.0.0.1:6379)
Standard library only.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

BIN = os.path.abspath(sys.argv[1])
DB = f"brigade_multiprocess_{os.getpid()}"
PG = "postgres://postgres@127.0.0.1:5432"
WORK = tempfile.mkdtemp(prefix="brigade-multiprocess-")
AUTH_LIMIT = 10
started = time.monotonic()


def log(message):
    print(f"[{time.monotonic() - started:6.1f}s] {message}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(sql):
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)


ENV = dict(
    os.environ,
    DATABASE_URL=f"{PG}/{DB}?sslmode=disable",
    REDIS_URL="redis://127.0.0.1:6379",
    BRIGADE_REDIS_PREFIX=f"multiprocess-{uuid.uuid4().hex}",
    BRIGADE_SECRET_KEY=uuid.uuid4().hex * 2,
    BRIGADE_LOG_LEVEL="warn",
    BRIGADE_RATE_LIMIT__AUTH_PER_IP_PER_MINUTE=str(AUTH_LIMIT),
    BRIGADE_RATE_LIMIT__PER_IP_PER_MINUTE="1000000",
    BRIGADE_RATE_LIMIT__PER_TOKEN_PER_MINUTE="1000000",
)
processes = {}


def start(name, *args):
    out = open(os.path.join(WORK, f"{name}.log"), "w")
    processes[name] = subprocess.Popen(
        [BIN, "--data-dir", os.path.join(WORK, name), *args], env=ENV, stdout=out, stderr=subprocess.STDOUT
    )


def request(port, method, path, body=None, token=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")


def wait_ready(port, within=60):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            status, body = request(port, "GET", "/ready", timeout=2)
            if status == 200 and body.get("status") == "ready":
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"process on port {port} did not become ready")


def sign_in(port, email):
    status, body = request(port, "POST", "/api/auth/login", {"email": email, "password": "brigade-demo"})
    assert status == 200, (status, body)
    return body["data"]["tokens"]["access_token"]


def check(condition, message):
    if not condition:
        raise AssertionError(message)
    log(f"ok: {message}")


def main():
    psql(f"CREATE DATABASE {DB}")
    a, b = free_port(), free_port()
    # A loads the demo data (once); B and the worker start on the same database.
    start("a", "serve", "--no-worker", "--demo", "--bind", f"127.0.0.1:{a}")
    wait_ready(a, within=120)
    start("b", "serve", "--no-worker", "--bind", f"127.0.0.1:{b}")
    start("worker", "worker")
    wait_ready(b)
    log(f"A on {a}, B on {b}, one worker")

    customer = sign_in(a, "customer@demo.brigade")
    admin = sign_in(b, "admin@demo.brigade")
    manager = admin  # the round-the-clock demo venue's changes are made by an administrator
    _, found = request(a, "GET", "/api/venues/qr/CHAI")
    venue = found["data"]["venue"]["id"]
    _, menu = request(a, "GET", f"/api/venues/{venue}/menu")
    item = menu["data"]["categories"][0]["items"][0]["id"]
    category = menu["data"]["categories"][0]["id"]

    # 1. An order placed through A, followed live through B.
    status, placed = request(a, "POST", "/api/orders", {
        "venue_id": venue, "order_type": "TAKEOUT", "items": [{"menu_item_id": item, "quantity": 1}]}, customer)
    check(status == 201, f"order placed through A ({status})")
    order = placed["data"]["id"]
    events = []
    stream_ready = threading.Event()

    def follow():
        conn = http.client.HTTPConnection("127.0.0.1", b, timeout=15)
        conn.request("GET", f"/api/orders/{order}/stream?access_token={customer}")
        response = conn.getresponse()
        kind = None
        while True:
            line = response.fp.readline()
            if not line:
                return
            line = line.decode().rstrip("\n")
            if line.startswith("event:"):
                kind = line[6:].strip()
                if kind == "ready":
                    stream_ready.set()
            elif line.startswith("data:") and kind == "order":
                events.append(json.loads(line[5:]))
                return

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    check(stream_ready.wait(10), "B's event stream is open")
    moved_at = time.monotonic()
    status, _ = request(a, "PUT", f"/api/orders/{order}/status", {"status": "CONFIRMED"}, manager)
    check(status == 200, "the venue confirms the order through A")
    follower.join(5)
    check(events and events[0]["status"] == "CONFIRMED",
          f"B's stream relays the change made through A ({time.monotonic() - moved_at:.3f} s)")

    # 2. A menu change through A is read through B within a second.
    name = f"Multiprocess Special {uuid.uuid4().hex[:6]}"
    request(b, "GET", f"/api/venues/{venue}/menu")  # B has the old menu cached
    status, _ = request(a, "POST", f"/api/venues/{venue}/menu/items",
                        {"category_id": category, "name": name, "price": "9.50"}, manager)
    check(status == 201, "a menu item is added through A")
    changed_at = time.monotonic()
    seen = False
    while time.monotonic() - changed_at < 1.0:
        _, menu = request(b, "GET", f"/api/venues/{venue}/menu")
        if any(i["name"] == name for c in menu["data"]["categories"] for i in c["items"]):
            seen = True
            break
        time.sleep(0.02)
    check(seen, f"B serves the new menu {time.monotonic() - changed_at:.3f} s after the change")

    # 3. A report started through A, computed by the worker, fetched through B.
    status, report = request(a, "POST", "/api/monitoring/reports", {}, admin)
    check(status == 202, "a monitoring report is started through A")
    report_id = report["data"]["report_id"] if "report_id" in report["data"] else report["data"]["id"]
    deadline = time.monotonic() + 60
    state = None
    while time.monotonic() < deadline:
        _, got = request(b, "GET", f"/api/monitoring/reports/{report_id}", token=admin)
        state = str(got["data"]["status"]).lower()
        if state in ("complete", "failed"):
            break
        time.sleep(0.3)
    check(state == "complete", f"the worker finished the report, read through B ({state})")
    conn = http.client.HTTPConnection("127.0.0.1", b, timeout=10)
    conn.request("GET", f"/api/monitoring/reports/{report_id}/csv", headers={"authorization": f"Bearer {admin}"})
    csv = conn.getresponse().read().decode()
    check(csv.startswith("store_id,uptime_last_hour"), "B serves the report's CSV")

    # 4. Rate limits are counted together: sign-in calls spread over A and B share one budget (the
    #    limit is a fixed window per minute; start well inside one).
    while time.time() % 60 > 45:
        time.sleep(0.5)
    answers = []
    for i in range(2 * AUTH_LIMIT + 2):
        port = a if i % 2 == 0 else b
        status, _ = request(port, "POST", "/api/auth/refresh-token", {"refresh_token": f"rt_not_{i}"})
        answers.append(status)
    allowed = [s for s in answers if s != 429]
    first = answers.index(429) if 429 in answers else len(answers)
    check(0 < len(allowed) <= AUTH_LIMIT and all(s == 429 for s in answers[first:]),
          f"at most {AUTH_LIMIT} sign-in calls allowed over both processes together, then 429 on both ({answers})")

    # 5. Kill -9 B under order load: A keeps serving; every acknowledged order is stored.
    acknowledged = []
    lock = threading.Lock()
    stop = threading.Event()

    def pour(port):
        while not stop.is_set():
            try:
                status, body = request(port, "POST", "/api/orders", {
                    "venue_id": venue, "order_type": "TAKEOUT",
                    "items": [{"menu_item_id": item, "quantity": 1}]}, customer, timeout=5)
            except OSError:
                status = None
            if status == 201:
                with lock:
                    acknowledged.append((port, body["data"]["id"]))
            elif port == b and status is None:
                time.sleep(0.01)

    workers = [threading.Thread(target=pour, args=(p,), daemon=True) for p in (a, a, b, b)]
    for w in workers:
        w.start()
    time.sleep(2)
    processes["b"].send_signal(signal.SIGKILL)
    processes["b"].wait()
    killed_at = time.monotonic()
    time.sleep(2)
    stop.set()
    for w in workers:
        w.join(10)
    from_a_after = [1 for p, _ in acknowledged if p == a]
    check(len([1 for p, _ in acknowledged if p == b]) > 0, "B acknowledged orders before it was killed")
    status, _ = request(a, "GET", f"/api/orders/{order}", token=customer)
    check(status == 200 and len(from_a_after) > 0,
          f"A kept serving after B was killed ({time.monotonic() - killed_at:.1f} s later)")
    missing = []
    for _, oid in acknowledged:
        status, _ = request(a, "GET", f"/api/orders/{oid}", token=customer)
        if status != 200:
            missing.append(oid)
    check(not missing, f"all {len(acknowledged)} acknowledged orders are stored ({len(missing)} missing)")


try:
    main()
    log("several processes behave as one system")
except BaseException as e:
    for name in processes:
        path = os.path.join(WORK, f"{name}.log")
        if os.path.exists(path):
            print(f"--- {name}.log (last lines)")
            print("".join(open(path).readlines()[-20:]))
    raise
finally:
    for p in processes.values():
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    try:
        psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
