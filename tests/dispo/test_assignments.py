"""Assignments through HTTP: one non-fallout assignment per deal, every status transition and
its effect on the deal's stage (one transaction), unknown ids as 422 naming the field, invalid
transitions as 409; an assignment closes only with its deal's finalization."""

from __future__ import annotations

import orjson
import pytest

from app.core_gov.golive import store as golive_store

DEAL = {"address": "12 Elm Street", "city": "Hamilton", "province": "ON", "property_type": "sfr",
        "arv_estimate": 300000, "repairs_estimate": 30000, "offer_amount": 180000, "assignment_fee_target": 10000}
STAGES = ["lead", "contacted", "offer_made", "under_contract"]


def deal(client, stage="under_contract", **fields):
    r = client.post("/core/deals", json={**DEAL, **fields})
    assert r.status_code == 201, r.text
    d = r.json()
    for nxt in STAGES[1 : STAGES.index(stage) + 1]:
        r = client.post(f"/core/deals/{d['id']}/stage", json={"stage": nxt, "reason": "test"})
        assert r.status_code == 200, r.text
    return r.json()


def stage_of(client, deal_id):
    return client.get(f"/core/deals/{deal_id}").json()["stage"]


def buyer(client, name="Northside", **fields):
    r = client.post("/core/dispo/buyers", json={"name": name, **fields})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def offer(client, deal_id, buyer_id, **fields):
    r = client.post("/core/dispo/assignments", json={"deal_id": deal_id, "buyer_id": buyer_id, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def patch(client, assignment_id, **body):
    return client.patch(f"/core/dispo/assignments/{assignment_id}", json=body)


@pytest.fixture
def go_live(db):
    with db.transaction("golive") as tx:
        tx.write(golive_store.state, {"enabled": True}, audit="transition")


def test_create_defaults_price_and_fee_from_the_deal_and_stores_it(client, data_dir):
    d = deal(client)
    a = offer(client, d["id"], buyer(client))
    assert (a["status"], a["price"], a["fee"], a["currency"]) == ("offered", 190000, 10000, "CAD")
    assert a["id"].startswith("asg_")
    assert orjson.loads((data_dir / "dispo" / "assignments.json").read_bytes()) == [a]
    b = offer(client, deal(client, address="9 Oak Ave")["id"], buyer(client, "Other"), price=200000, fee=12500)
    assert (b["price"], b["fee"]) == (200000, 12500)
    r = client.get(f"/core/dispo/assignments/{a['id']}")
    assert r.status_code == 200 and r.json() == a and r.headers["etag"] == '"1"'
    assert [x["id"] for x in client.get("/core/dispo/assignments", params={"deal_id": d["id"]}).json()] == [a["id"]]


def test_unknown_ids_in_the_body_are_422_naming_the_field(client, data_dir):
    d = deal(client)
    b = buyer(client)
    r = client.post("/core/dispo/assignments", json={"deal_id": "dl_nope", "buyer_id": b})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "deal_id"]
    r = client.post("/core/dispo/assignments", json={"deal_id": d["id"], "buyer_id": "dbuy_nope"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "buyer_id"]
    r = client.post("/core/dispo/assignments", json={"deal_id": d["id"], "buyer_id": b, "fee": -1})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "fee"]
    r = client.post("/core/dispo/assignments", json={"deal_id": d["id"], "buyer_id": b, "status": "assigned"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "invalid_transition"  # it starts offered
    assert not (data_dir / "dispo" / "assignments.json").exists()
    assert client.patch("/core/dispo/assignments/asg_nope", json={"notes": "x"}).status_code == 404


def test_one_non_fallout_assignment_per_deal(client):
    d = deal(client)
    first = offer(client, d["id"], buyer(client, "A"))
    r = client.post("/core/dispo/assignments", json={"deal_id": d["id"], "buyer_id": buyer(client, "B")})
    assert r.status_code == 409
    assert (r.json()["detail"]["code"], r.json()["detail"]["assignment_id"]) == ("assignment_exists", first["id"])
    assert patch(client, first["id"], status="fallout").status_code == 200
    second = offer(client, d["id"], buyer(client, "C"))
    assert second["status"] == "offered"
    assert client.get("/core/dispo/assignments", params={"deal_id": d["id"]}).headers["x-total-count"] == "2"


def test_inactive_buyer_and_dead_deal_are_refused(client):
    d = deal(client)
    r = client.post("/core/dispo/assignments", json={"deal_id": d["id"], "buyer_id": buyer(client, "Off", active=False)})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "buyer_inactive"
    dead = deal(client, stage="lead", address="9 Oak Ave")
    assert client.post(f"/core/deals/{dead['id']}/stage", json={"stage": "dead", "reason": "seller sold"}).status_code == 200
    r = client.post("/core/dispo/assignments", json={"deal_id": dead["id"], "buyer_id": buyer(client)})
    assert r.status_code == 409 and (r.json()["detail"]["code"], r.json()["detail"]["stage"]) == ("deal_not_open", "dead")


def test_assigned_moves_the_deal_to_assigned_in_one_transaction(client, data_dir):
    d = deal(client)
    a = offer(client, d["id"], buyer(client))
    r = patch(client, a["id"], status="assigned")
    assert r.status_code == 200 and r.json()["status"] == "assigned" and r.json()["version"] == 2
    assert stage_of(client, d["id"]) == "assigned"
    audit = client.get("/core/audit", params={"order": "asc", "entity_id": a["id"]}).json()
    assert [e["action"] for e in audit] == ["create", "transition"] and audit[1]["changes"] == {"status": ["offered", "assigned"]}
    assert any(e["action"] == "transition" for e in client.get("/core/audit", params={"order": "asc", "entity_id": d["id"]}).json())


def test_assigned_needs_the_deal_under_contract_and_changes_nothing_otherwise(client, data_dir):
    d = deal(client, stage="offer_made")
    a = offer(client, d["id"], buyer(client))
    before = (data_dir / "dispo" / "assignments.json").read_bytes()
    r = patch(client, a["id"], status="assigned", notes="walkthrough done")
    assert r.status_code == 409
    assert (r.json()["detail"]["code"], r.json()["detail"]["stage"]) == ("deal_not_under_contract", "offer_made")
    assert (data_dir / "dispo" / "assignments.json").read_bytes() == before
    assert stage_of(client, d["id"]) == "offer_made"


def test_fallout_from_assigned_returns_the_deal_to_under_contract(client):
    d = deal(client)
    a = offer(client, d["id"], buyer(client))
    patch(client, a["id"], status="assigned")
    r = patch(client, a["id"], status="fallout")
    assert r.status_code == 200 and r.json()["status"] == "fallout"
    assert stage_of(client, d["id"]) == "under_contract"


def test_fallout_from_offered_leaves_the_deal_where_it_is(client):
    d = deal(client)
    a = offer(client, d["id"], buyer(client))
    r = patch(client, a["id"], status="fallout")
    assert r.status_code == 200 and r.json()["status"] == "fallout"
    assert stage_of(client, d["id"]) == "under_contract"


def test_invalid_transitions_are_409_naming_the_rule(client, go_live):
    d = deal(client)
    a = offer(client, d["id"], buyer(client))
    r = patch(client, a["id"], status="closed")
    detail = r.json()["detail"]
    assert r.status_code == 409 and (detail["code"], detail["current"], detail["requested"]) == ("invalid_transition", "offered", "closed")
    assert "offered -> assigned | fallout" in detail["message"]
    patch(client, a["id"], status="assigned")
    r = patch(client, a["id"], status="offered")
    assert r.status_code == 409 and r.json()["detail"]["code"] == "invalid_transition"
    patch(client, a["id"], status="fallout")
    for wanted in ["offered", "assigned", "closed"]:
        r = patch(client, a["id"], status=wanted)
        assert r.status_code == 409 and (r.json()["detail"]["code"], r.json()["detail"]["current"]) == ("invalid_transition", "fallout")
    assert stage_of(client, d["id"]) == "under_contract"
    for bad in ("nope", None):
        r = patch(client, a["id"], status=bad)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "status"]


def test_final_assignments_keep_price_and_fee_but_notes_change(client):
    d = deal(client)
    a = offer(client, d["id"], buyer(client))
    patch(client, a["id"], status="fallout")
    r = patch(client, a["id"], fee=1)
    assert r.status_code == 409 and r.json()["detail"]["code"] == "assignment_final"
    r = patch(client, a["id"], notes="buyer lost financing")
    assert r.status_code == 200 and r.json()["notes"] == "buyer lost financing"


def test_patch_honours_if_match(client):
    d = deal(client)
    a = offer(client, d["id"], buyer(client))
    assert client.patch(f"/core/dispo/assignments/{a['id']}", json={"fee": 9000}, headers={"If-Match": '"1"'}).status_code == 200
    r = client.patch(f"/core/dispo/assignments/{a['id']}", json={"status": "assigned"}, headers={"If-Match": '"1"'})
    assert r.status_code == 412 and r.json()["detail"]["current_version"] == 2
    assert stage_of(client, d["id"]) == "under_contract"


def complete_checklist(client, deal_id):
    """What the closing checklist asks besides the assignment: both contracts signed, the title acknowledged."""
    for kind in ("purchase", "assignment"):
        c = client.post("/core/contracts", json={"kind": kind, "deal_id": deal_id, "parties": ["Seller", "Valhalla"]})
        assert c.status_code == 201, c.text
        for status in ("sent", "signed"):
            r = client.patch(f"/core/contracts/{c.json()['id']}", json={"status": status})
            assert r.status_code == 200, r.text
    doc = client.post("/core/docs", json={"title": "Title search", "doc_type": "title", "file_path": "vault/title.pdf", "entity_ids": [deal_id]})
    assert doc.status_code == 201, doc.text
    for status in ("sent", "delivered", "acknowledged"):
        r = client.post(f"/core/docs/{doc.json()['id']}/route", json={"to": "closing@titleco.example", "channel": "email", "status": status})
        assert r.status_code == 200, r.text


def test_a_patch_never_closes_an_assignment_it_points_to_the_deals_finalization(client, data_dir, go_live):
    d = deal(client)
    a = offer(client, d["id"], buyer(client))
    patch(client, a["id"], status="assigned")
    complete_checklist(client, d["id"])
    before = (data_dir / "dispo" / "assignments.json").read_bytes()
    r = patch(client, a["id"], status="closed", notes="funds received")
    detail = r.json()["detail"]
    assert r.status_code == 409 and (detail["code"], detail["current"], detail["requested"]) == ("invalid_transition", "assigned", "closed")
    assert detail["finalize"] == f"/core/deals/{d['id']}/finalize" and f"POST /core/deals/{d['id']}/finalize" in detail["message"]
    assert (data_dir / "dispo" / "assignments.json").read_bytes() == before
    assert stage_of(client, d["id"]) == "assigned"


def test_finalizing_the_deal_closes_its_assignment_and_no_new_one_can_open(client, db, go_live):
    from app.core_gov.dispo import service as dispo_service

    d = deal(client)
    assert dispo_service.active_assignment(db, d["id"]) is None
    a = offer(client, d["id"], buyer(client))
    assert dispo_service.active_assignment(db, d["id"]).id == a["id"]
    patch(client, a["id"], status="assigned")
    blocked = client.post(f"/core/deals/{d['id']}/finalize")
    assert blocked.status_code == 409 and blocked.json()["detail"]["code"] == "finalization_blocked"
    assert client.get(f"/core/dispo/assignments/{a['id']}").json()["status"] == "assigned"

    complete_checklist(client, d["id"])
    r = client.post(f"/core/deals/{d['id']}/finalize")
    assert r.status_code == 200 and r.json()["stage"] == "closed"
    closed = client.get(f"/core/dispo/assignments/{a['id']}").json()
    assert (closed["status"], closed["version"]) == ("closed", 3)
    assert dispo_service.active_assignment(db, d["id"]) is None
    r = client.post("/core/dispo/assignments", json={"deal_id": d["id"], "buyer_id": buyer(client, "Late")})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "deal_not_open"
    r = patch(client, a["id"], notes="funds received")
    assert r.status_code == 200 and (r.json()["status"], r.json()["notes"]) == ("closed", "funds received")
    b = offer(client, deal(client, address="9 Oak Ave")["id"], buyer(client, "B"))
    patch(client, b["id"], status="fallout")
    assert dispo_service.active_assignment(db, b["deal_id"]) is None
