"""Partners and links through HTTP: contact normalisation, the 100 % split cap on create and on
PATCH, unknown ids as 422 naming the field, the partner dashboard's shares and totals."""

from __future__ import annotations

import orjson


def deal(client, **fields):
    body = {"address": "12 Elm Street", "city": "Hamilton", "province": "ON", "property_type": "sfr",
            "assignment_fee_target": 10000, "costs_estimate": 1500, **fields}
    r = client.post("/core/deals", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def partner(client, **fields):
    r = client.post("/core/jv/partners", json={"name": "Maple Capital", "partner_type": "jv", **fields})
    assert r.status_code == 201, r.text
    return r.json()


def link(client, partner_id, deal_id, split_pct, expected=201, **fields):
    r = client.post("/core/jv/links", json={"partner_id": partner_id, "deal_id": deal_id, "role": "capital", "split_pct": split_pct, **fields})
    assert r.status_code == expected, r.text
    return r.json()


def test_partner_create_normalises_contacts_and_tags_and_is_stored(client, data_dir):
    p = partner(client, email=" Deals@MapleCap.Example ", phone="(604) 555-0142", tags=["Capital", "capital", " BC "])
    assert (p["email"], p["phone"], p["tags"], p["status"]) == ("deals@maplecap.example", "+16045550142", ["capital", "bc"], "active")
    assert p["id"].startswith("jvp_") and p["version"] == 1
    r = client.get(f"/core/jv/partners/{p['id']}")
    assert r.status_code == 200 and r.json() == p and r.headers["etag"] == '"1"'
    assert orjson.loads((data_dir / "jv" / "partners.json").read_bytes()) == [p]


def test_partner_bad_input_is_422_naming_the_field(client, data_dir):
    for body, field in [
        ({"name": "x", "partner_type": "banker"}, "partner_type"),
        ({"name": "x", "partner_type": "jv", "status": "gone"}, "status"),
        ({"name": "x", "partner_type": "jv", "email": "not-an-email"}, "email"),
        ({"name": "x", "partner_type": "jv", "phone": "555"}, "phone"),
        ({"name": " ", "partner_type": "jv"}, "name"),
        ({"name": "x", "partner_type": "jv", "role": "buyer"}, "role"),
    ]:
        r = client.post("/core/jv/partners", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field, (body, r.text)
    assert not (data_dir / "jv" / "partners.json").exists()


def test_partner_patch_status_is_an_audited_transition_and_filters_work(client):
    a = partner(client, name="A", partner_type="lender", tags=["Fast"])
    partner(client, name="B", partner_type="agent")
    r = client.patch(f"/core/jv/partners/{a['id']}", json={"status": "paused"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["status"] == "paused" and r.json()["version"] == 2
    assert client.patch(f"/core/jv/partners/{a['id']}", json={"notes": "x"}, headers={"If-Match": '"1"'}).status_code == 412
    events = client.get("/core/audit", params={"order": "asc", "entity_id": a["id"]}).json()
    assert [e["action"] for e in events] == ["create", "transition"]
    assert events[1]["changes"] == {"status": ["active", "paused"]}
    r = client.get("/core/jv/partners", params={"status": "paused"})
    assert r.headers["x-total-count"] == "1" and [p["name"] for p in r.json()] == ["A"]
    assert [p["name"] for p in client.get("/core/jv/partners", params={"tag": "FAST"}).json()] == ["A"]
    assert [p["name"] for p in client.get("/core/jv/partners", params={"partner_type": "agent"}).json()] == ["B"]
    assert client.get("/core/jv/partners/jvp_nope").status_code == 404


def test_active_splits_of_a_deal_stop_at_100_percent_on_create(client, data_dir):
    d = deal(client)
    a, b, c = (partner(client, name=n)["id"] for n in "ABC")
    link(client, a, d["id"], 60)
    link(client, b, d["id"], 40)
    r = client.post("/core/jv/links", json={"partner_id": c, "deal_id": d["id"], "role": "agent", "split_pct": 1})
    assert r.status_code == 409
    detail = r.json()["detail"]
    assert (detail["code"], detail["current_total"], detail["requested"], detail["deal_id"]) == ("split_exceeds_100", 100, 1, d["id"])
    assert len(orjson.loads((data_dir / "jv" / "links.json").read_bytes())) == 2
    # Inactive links do not count; another deal has its own 100 %.
    link(client, c, d["id"], 50, status="canceled")
    other = deal(client, address="9 Oak Ave")
    link(client, c, other["id"], 100)


def test_patch_checks_the_cap_when_the_split_changes_or_a_link_is_reactivated(client):
    d = deal(client)
    a, b, c = (partner(client, name=n)["id"] for n in "ABC")
    la = link(client, a, d["id"], 60)
    lb = link(client, b, d["id"], 40)
    r = client.patch(f"/core/jv/links/{la['id']}", json={"split_pct": 61})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "split_exceeds_100" and r.json()["detail"]["current_total"] == 40
    r = client.patch(f"/core/jv/links/{la['id']}", json={"split_pct": 55})
    assert r.status_code == 200 and r.json()["split_pct"] == 55
    r = client.patch(f"/core/jv/links/{lb['id']}", json={"status": "canceled"})
    assert r.status_code == 200 and r.json()["status"] == "canceled"
    link(client, c, d["id"], 45)  # 55 + 45 = 100 while b is canceled
    r = client.patch(f"/core/jv/links/{lb['id']}", json={"status": "active"})
    assert r.status_code == 409 and r.json()["detail"]["current_total"] == 100
    assert client.get(f"/core/jv/links", params={"deal_id": d["id"], "status": "canceled"}).json()[0]["id"] == lb["id"]
    # A closed link leaves the cap; its split can change without a check.
    r = client.patch(f"/core/jv/links/{la['id']}", json={"status": "closed", "split_pct": 70})
    assert r.status_code == 200 and (r.json()["status"], r.json()["split_pct"]) == ("closed", 70)
    r = client.patch(f"/core/jv/links/{lb['id']}", json={"status": "active", "split_pct": 55})
    assert r.status_code == 200 and r.json()["status"] == "active"


def test_link_unknown_ids_are_422_naming_the_field(client, data_dir):
    d = deal(client)
    p = partner(client)["id"]
    r = client.post("/core/jv/links", json={"partner_id": "jvp_nope", "deal_id": d["id"], "role": "capital", "split_pct": 10})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "partner_id"]
    r = client.post("/core/jv/links", json={"partner_id": p, "deal_id": "dl_nope", "role": "capital", "split_pct": 10})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "deal_id"]
    for body, field in [({"split_pct": 101}, "split_pct"), ({"split_pct": -1}, "split_pct"), ({"status": "done"}, "status"), ({"role": ""}, "role")]:
        r = client.post("/core/jv/links", json={"partner_id": p, "deal_id": d["id"], "role": "capital", "split_pct": 10, **body})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field], (body, r.text)
    l1 = link(client, p, d["id"], 10)
    r = client.patch(f"/core/jv/links/{l1['id']}", json={"deal_id": "dl_other"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "deal_id"
    assert client.patch("/core/jv/links/jvl_nope", json={"notes": "x"}).status_code == 404
    assert len(orjson.loads((data_dir / "jv" / "links.json").read_bytes())) == 1


def test_archived_partner_cannot_be_linked(client):
    d = deal(client)
    p = partner(client, status="archived")["id"]
    r = client.post("/core/jv/links", json={"partner_id": p, "deal_id": d["id"], "role": "capital", "split_pct": 10})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "partner_archived"


def test_dashboard_groups_links_and_computes_the_partners_share(client):
    d1 = deal(client, assignment_fee_target=10000, costs_estimate=1500)  # spread 8500
    d2 = deal(client, address="9 Oak Ave", assignment_fee_target=20000, costs_estimate=0)  # spread 20000
    d3 = deal(client, address="1 Bay St", assignment_fee_target=None)  # no spread yet
    us = deal(client, address="5 Palm Rd", city="Tampa", province="FL", currency="USD", assignment_fee_target=8000, costs_estimate=0)
    p = partner(client)["id"]
    link(client, p, d1["id"], 40)
    link(client, p, d2["id"], 25, status="closed")
    link(client, p, d3["id"], 50)
    link(client, p, us["id"], 50)
    client.post(f"/core/deals/{d1['id']}/stage", json={"stage": "contacted", "reason": "called"})
    dash = client.get(f"/core/jv/partners/{p}/dashboard")
    assert dash.status_code == 200
    body = dash.json()
    assert body["partner"]["id"] == p
    active = {x["deal_id"]: x for x in body["links_by_status"]["active"]}
    assert (active[d1["id"]]["deal_stage"], active[d1["id"]]["expected_spread"], active[d1["id"]]["partner_share"]) == ("contacted", 8500, 3400)
    assert (active[d3["id"]]["expected_spread"], active[d3["id"]]["partner_share"]) == (None, None)
    assert (active[us["id"]]["currency"], active[us["id"]]["partner_share"]) == ("USD", 4000)
    closed = body["links_by_status"]["closed"]
    assert [(x["deal_id"], x["deal_stage"], x["partner_share"]) for x in closed] == [(d2["id"], "lead", 5000)]
    assert body["links_by_status"]["canceled"] == []
    assert body["totals"] == {
        "active": {"count": 3, "expected_spread": {"CAD": 8500, "USD": 8000}, "partner_share": {"CAD": 3400, "USD": 4000}},
        "closed": {"count": 1, "expected_spread": {"CAD": 20000}, "partner_share": {"CAD": 5000}},
        "canceled": {"count": 0, "expected_spread": {}, "partner_share": {}},
    }
    assert client.get("/core/jv/partners/jvp_nope/dashboard").status_code == 404


def test_links_list_filters_pages_and_counts(client):
    d1, d2 = deal(client), deal(client, address="9 Oak Ave")
    a, b = partner(client, name="A")["id"], partner(client, name="B")["id"]
    link(client, a, d1["id"], 10)
    link(client, a, d2["id"], 10, status="closed")
    link(client, b, d1["id"], 10)
    r = client.get("/core/jv/links", params={"partner_id": a})
    assert r.headers["x-total-count"] == "2" and {x["deal_id"] for x in r.json()} == {d1["id"], d2["id"]}
    r = client.get("/core/jv/links", params={"deal_id": d1["id"], "limit": 1, "offset": 1})
    assert r.headers["x-total-count"] == "2" and [x["partner_id"] for x in r.json()] == [b]
    assert [x["deal_id"] for x in client.get("/core/jv/links", params={"status": "closed"}).json()] == [d2["id"]]
