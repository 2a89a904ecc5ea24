"""GET /core/audit: every module's trail merged by time, newest first unless order=asc."""

from __future__ import annotations


def add_holdings(client, clock, n):
    ids = []
    for i in range(n):
        r = client.post("/core/holdings", json={"name": f"h{i}", "asset_type": "property", "jurisdiction": "ON", "value_estimate": 1})
        assert r.status_code == 201
        ids.append(r.json()["id"])
        clock.advance(minutes=1)
    return ids


def test_the_trail_is_newest_first_by_default_so_a_page_shows_the_latest_changes(client, clock):
    ids = add_holdings(client, clock, 5)
    client.post("/core/deals", json={"address": "1 A St", "city": "X", "province": "ON"})
    r = client.get("/core/audit", params={"limit": 3})
    assert r.status_code == 200 and r.headers["x-total-count"] == "6"
    assert [(e["module"], e["entity_id"]) for e in r.json()][1:] == [("holdings", ids[4]), ("holdings", ids[3])]
    assert r.json()[0]["module"] == "deals"
    assert [e["entity_id"] for e in client.get("/core/audit", params={"module": "holdings", "order": "desc"}).json()] == ids[::-1]


def test_order_asc_gives_the_oldest_first(client, clock):
    ids = add_holdings(client, clock, 3)
    r = client.get("/core/audit", params={"order": "asc", "limit": 2})
    assert [e["entity_id"] for e in r.json()] == ids[:2] and r.headers["x-total-count"] == "3"


def test_an_unknown_order_is_422_naming_the_parameter(client):
    r = client.get("/core/audit", params={"order": "newest"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "order"]
