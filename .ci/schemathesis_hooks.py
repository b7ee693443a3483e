"""Rules between fields that JSON Schema cannot state, for the schemathesis run (.ci/schemathesis).

Each rule is written in the operation's description in the API document too. schemathesis generates
valid requests from the schemas alone, so a request it calls valid may still break one of these rules;
such generated requests are not sent as valid ones (they still may be sent as invalid ones, and must be
refused). Every other check stays as strict as schemathesis makes it.
"""
import json
import os
import random
import struct
import zlib
from datetime import datetime, timedelta

import schemathesis


def _positive(case):
    try:
        return case.meta.generation.mode.is_positive
    except AttributeError:
        return True


def _instant(text):
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def _channel_order_keeps_its_rules(order):
    """`status` is the code of the latest `statusHistory` entry; entries are not before `created`, and
    no two fall at one instant; an item has a `name` or a `plu`."""
    if not isinstance(order, dict):
        return True
    for item in order.get("items") or []:
        if isinstance(item, dict) and not isinstance(item.get("name"), str) and not isinstance(item.get("plu"), str):
            return False
    history = [e for e in (order.get("statusHistory") or []) if isinstance(e, dict)]
    created = _instant(order.get("created"))
    stamps = []
    for entry in history:
        at = _instant(entry.get("timestamp"))
        if at is None or created is None:
            return True
        if at < created:
            return False
        stamps.append((at, entry.get("status")))
    if len({at for at, _ in stamps}) != len({(at, code) for at, code in stamps}):
        return False
    if stamps:
        latest = max(stamps, key=lambda s: (s[0], s[1] if isinstance(s[1], int) else 0))
        if order.get("status") != latest[1]:
            return False
    return True


def _keeps_rules(case):
    method, path, body = case.method.upper(), case.operation.path, case.body
    if method == "POST" and path == "/api/channel-orders":
        orders = body if isinstance(body, list) else [body]
        return all(_channel_order_keeps_its_rules(o) for o in orders)
    if method == "PUT" and path == "/api/channel-orders/status-codes" and isinstance(body, dict):
        codes = [c.get("code") for c in body.get("codes") or [] if isinstance(c, dict)]
        return len(codes) == len(set(codes))  # each code once
    if method == "PUT" and path.endswith("/recipe") and isinstance(body, dict):
        # each ingredient at most once in a recipe
        ids = [l.get("ingredient_id") for l in body.get("lines") or [] if isinstance(l, dict)]
        return len(ids) == len(set(ids))
    if method == "POST" and path.endswith("/stocktakes") and isinstance(body, dict):
        # each ingredient counted once
        ids = [l.get("ingredient_id") for l in body.get("lines") or [] if isinstance(l, dict)]
        return len(ids) == len(set(ids))
    if method in ("POST", "PUT") and "/purchase-orders" in path and isinstance(body, dict):
        # an ingredient once per order; a line once per receipt
        for key in ("ingredient_id", "line_id"):
            ids = [l.get(key) for l in body.get("lines") or [] if isinstance(l, dict) and key in l]
            if len(ids) != len(set(ids)):
                return False
        return True
    if method == "POST" and path == "/api/auth/guest" and isinstance(body, dict):
        # a guest gives a phone number or an e-mail
        return bool((body.get("phone") or "").strip()) or isinstance(body.get("email"), str)
    if method == "POST" and path == "/api/orders" and isinstance(body, dict):
        takeout = body.get("order_type") == "TAKEOUT"
        if takeout and (body.get("table") or "").strip() or takeout and body.get("reservation_id"):
            return False  # a table and a reservation are for dine-in orders
        if not takeout and body.get("pickup_time") is not None:
            return False  # a pickup time is for takeout orders
        return True
    if method == "POST" and path.endswith("/interactions") and isinstance(body, dict):
        follow_up = body.get("follow_up_on")
        if follow_up is not None:
            occurred = _instant(body.get("occurred_at")) or datetime.now().astimezone()
            try:
                day = datetime.fromisoformat(str(follow_up)).date()
            except ValueError:
                return True
            # Not before the interaction's day in the author's zone (a day either side of UTC).
            return day >= occurred.date() + timedelta(days=1)
    if method == "POST" and path.startswith("/api/predictions/demand") and isinstance(body, dict):
        # A daily forecast reaches 28 days (an hourly one 168 hours); `as_of` is not in the future
        # and not before 1970.
        horizon = body.get("horizon")
        if body.get("granularity") == "daily" and isinstance(horizon, (int, float)) and not isinstance(horizon, bool) and horizon > 28:
            return False
        if "as_of" in body and body["as_of"] is not None:
            at = _instant(body["as_of"])
            if at is None:
                return True
            try:
                if at > datetime.now().astimezone() or at.year < 1970:
                    return False
            except TypeError:
                return True
        return True
    if method == "GET" and path.endswith("/incidents") and isinstance(case.query, dict):
        # A period spans at most 93 days; `to` defaults to the latest poll (at most now).
        start = _instant(case.query.get("from")) if "from" in case.query else None
        end = _instant(case.query.get("to")) if "to" in case.query else datetime.now().astimezone()
        if start is not None and end is not None:
            try:
                return end - start <= timedelta(days=93)
            except TypeError:
                return True
    return True


@schemathesis.hook
def filter_case(context, case):
    return not _positive(case) or _keeps_rules(case)


CSV_HEADERS = {
    "/api/crm/import/leads": "name,timezone,region,address,phone,email,status,kam_email",
    "/api/crm/import/contacts": "restaurant,name,phone,email,role,is_lead",
    "/api/venues/{venue_id}/ingredients/import": "name,unit,category,unit_cost,par_level,shelf_life_days,supplier,purchase_unit,purchase_factor",
    "/api/venues/{venue_id}/recipes/import": "recipe,ingredient,quantity,yield",
    "/api/venues/{venue_id}/counts/import": "ingredient,counted",
}


# Real ids of demo records as this run's role sees them (.ci/schemathesis_ids.py), by kind.
try:
    with open(os.environ["BRIGADE_ST_IDS"]) as f:
        IDS = json.load(f)
except (KeyError, OSError):
    IDS = {}

# Which kind of record each path parameter names, by the operation's path (first match wins).
PATH_KINDS = [
    ("/api/venues/qr/{code}", {"code": "qr_text"}),
    ("/api/venues/{venue_id}/menu/categories/{id}", {"venue_id": "venue", "id": "category"}),
    ("/api/venues/{venue_id}/menu/items/{id}", {"venue_id": "venue", "id": "item"}),
    ("/api/venues/{venue_id}/qr-codes/{id}", {"venue_id": "venue", "id": "qr_code"}),
    ("/api/venues/{venue_id}/time-slots/{id}", {"venue_id": "venue", "id": "time_slot"}),
    ("/api/venues/{venue_id}", {"venue_id": "venue"}),
    ("/api/venues/{id}", {"id": "venue"}),
    ("/api/restaurants/{id}/members/{user_id}", {"id": "venue", "user_id": "member"}),
    ("/api/restaurants/{id}/closures", {"id": "restaurant"}),
    ("/api/models/{id}", {"id": "model"}),
    ("/api/restaurants/{id}", {"id": "restaurant"}),
    ("/api/crm/restaurants/{id}", {"id": "restaurant"}),
    ("/api/crm/contacts/{id}", {"id": "contact"}),
    ("/api/crm/kams/{id}", {"id": "kam"}),
    ("/api/monitoring/stores/{restaurant_id}", {"restaurant_id": "restaurant"}),
    ("/api/monitoring/reports/{id}", {"id": "report"}),
    ("/api/notifications/{id}", {"id": "notification"}),
    ("/api/orders/{id}", {"id": "order"}),
    ("/api/reservations/{id}", {"id": "reservation"}),
    ("/api/stocked-venues/{id}", {"id": "venue"}),
    ("/api/users/{id}", {"id": "user"}),
]
QR_TEXTS = ["EMBER-T1", "EMBER", "NOODLE-T2", "SAKURA-T3"]


def _real(kind, chance):
    """A real id of this kind for about `chance` of the cases (deterministic per case), else None."""
    pool = QR_TEXTS if kind == "qr_text" else IDS.get(kind) or []
    if not pool or _rng.random() >= chance:
        return None
    return _rng.choice(pool)


_rng = random.Random(0)


def _with_real_ids(case):
    """Positive cases name real records about two times in three; the rest keep their generated ids,
    so unknown records (404) stay covered."""
    path = case.operation.path
    for prefix, kinds in PATH_KINDS:
        if path.startswith(prefix) and isinstance(case.path_parameters, dict):
            for name, kind in kinds.items():
                value = _real(kind, 0.67) if name in case.path_parameters else None
                if value is not None:
                    case.path_parameters[name] = value
            break
    body = case.body
    if case.method.upper() == "POST" and path == "/api/orders" and isinstance(body, dict):
        venue = _real("venue", 0.67)
        if venue:
            body["venue_id"] = venue
            for line in body.get("items") or []:
                item = _real("item", 0.9)
                if isinstance(line, dict) and item:
                    line["menu_item_id"] = item
    if case.method.upper() == "POST" and path == "/api/crm/reassignments" and isinstance(body, dict):
        kam = _real("kam", 0.67)
        if kam:
            body["to_kam_id"] = kam
            body["restaurant_ids"] = [r for r in (_real("restaurant", 1.0) for _ in body.get("restaurant_ids") or []) if r]


def _png():
    """A 1x1 PNG image, written here rather than stored."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x80\x00")) + chunk(b"IEND", b""))


PNG = _png()
UPLOADS = ("/api/venues/{id}/logo", "/api/venues/{venue_id}/menu/items/{id}/image")


@schemathesis.hook
def map_case(context, case):
    """A CSV import reads a file whose first line names its columns: valid generated files get the
    documented header line, and their generated lines are then read (and accepted or refused) one by
    one. Positive cases also get real record ids (above)."""
    if not _positive(case):
        return case
    header = CSV_HEADERS.get(case.operation.path)
    if header and isinstance(case.body, str):
        case.body = header + "\n" + case.body
    if case.operation.path in UPLOADS and isinstance(case.body, dict):
        # The schema says "binary"; the server also wants the bytes to be an image (PNG, JPEG, WebP, GIF).
        case.body["file"] = PNG
    _with_real_ids(case)
    return case
