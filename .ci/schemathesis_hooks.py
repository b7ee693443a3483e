"""Rules between fields that JSON Schema cannot state, for the schemathesis run (.ci/schemathesis).

Each rule is written in the operation's description in the API document too. schemathesis generates
valid requests from the schemas alone, so a request it calls valid may still break one of these rules;
such generated requests are not sent as valid ones (they still may be sent as invalid ones, and must be
refused). Every other check stays as strict as schemathesis makes it.
"""
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
    return True


@schemathesis.hook
def filter_case(context, case):
    return not _positive(case) or _keeps_rules(case)


CSV_HEADERS = {
    "/api/crm/import/leads": "name,timezone,region,address,phone,email,status,kam_email",
    "/api/crm/import/contacts": "restaurant,name,phone,email,role,is_lead",
}


@schemathesis.hook
def map_case(context, case):
    """A CSV import reads a file whose first line names its columns: valid generated files get the
    documented header line, and their generated lines are then read (and accepted or refused) one by
    one."""
    header = CSV_HEADERS.get(case.operation.path)
    if header and _positive(case) and isinstance(case.body, str):
        case.body = header + "\n" + case.body
    return case
