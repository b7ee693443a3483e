#!/usr/bin/env python3
"""Ids of real demo records, as one role sees them, for the schemathesis run (.ci/schemathesis).

Generated UUIDs almost never name a stored record, so without real ones most operations on a record would
only ever answer 404. The hooks (schemathesis_hooks.py) put these ids into a share of the generated
requests, so the checks reach what each operation does with a real venue, menu, order or contact.

Usage: schemathesis_ids.py BASE_URL TOKEN  (prints JSON)
"""
import json
import sys
import urllib.error
import urllib.request

base, token = sys.argv[1], sys.argv[2]


def get(path):
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response).get("data")
    except urllib.error.HTTPError:
        return None  # this role may not list these


def ids(data, key="id"):
    if isinstance(data, dict):
        data = data.get("items", data.get("data", []))
    return [row[key] for row in data or [] if isinstance(row, dict) and key in row]


me = get("/api/auth/me") or {}
me = me.get("user", me)
home = get("/api/venues/qr/EMBER-T1") or {}
home = (home.get("venue") or home).get("id")
venues = ids(get("/api/venues?per_page=100"))
menu = get(f"/api/venues/{home}/menu") or {}
categories = [c["id"] for c in menu.get("categories", [])]
items = [i["id"] for c in menu.get("categories", []) for i in c.get("items", [])]
found = {
    "me": me.get("id"),
    "venue": [home] if home else [],
    "restaurant": venues or ([home] if home else []),
    "category": categories,
    "item": items,
    "qr_code": ids(get(f"/api/venues/{home}/qr-codes")),
    "time_slot": ids(get(f"/api/venues/{home}/time-slots/weekly")),
    "contact": ids(get(f"/api/crm/restaurants/{home}/contacts")),
    "order": ids(get("/api/orders?per_page=100")),
    "reservation": ids(get("/api/reservations?per_page=100")),
    "notification": ids(get("/api/notifications?per_page=100")),
    "stocked": ids(get("/api/stocked-venues?per_page=100")),
    "user": [u for u in ids(get("/api/users?per_page=100")) if u != me.get("id")],
    "kam": ids(get("/api/users?role=kam&per_page=100")),
    "member": ids(get(f"/api/restaurants/{home}/members"), "user_id"),
    "report": ids(get("/api/monitoring/reports?per_page=100")),
    "model": ids(get("/api/models?per_page=100")),
}
json.dump(found, sys.stdout)
