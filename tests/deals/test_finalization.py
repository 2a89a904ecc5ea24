"""Finalization (SPEC 5.9): the checklist from contracts, docs and dispo; finalize is an execution
action that closes the deal and its assignment in one transaction, or lists every blocker."""

from __future__ import annotations

import orjson

from app.core_gov.dispo import service as dispo_service
from app.core_gov.errors import Conflict
from app.core_gov.golive import store as golive_store

KEYS = ["purchase_contract_signed", "assignment_contract_signed", "title_acknowledged", "assignment_fee_recorded"]


def set_golive(db, **state):
    with db.transaction("golive") as tx:
        tx.write(golive_store.state, state, audit="transition")


def assigned_deal(client, fee=10000):
    d = client.post("/core/deals", json={"address": "12 Elm St", "city": "Hamilton", "province": "ON", "offer_amount": 180000, "assignment_fee_target": 10000}).json()
    for s in ("contacted", "offer_made", "under_contract"):
        assert client.post(f"/core/deals/{d['id']}/stage", json={"stage": s, "reason": "test"}).status_code == 200
    b = client.post("/core/dispo/buyers", json={"name": "Northside"}).json()
    a = client.post("/core/dispo/assignments", json={"deal_id": d["id"], "buyer_id": b["id"], "fee": fee})
    assert a.status_code == 201, a.text
    r = client.patch(f"/core/dispo/assignments/{a.json()['id']}", json={"status": "assigned"})
    assert r.status_code == 200, r.text
    return d["id"], a.json()["id"]


def contract(client, deal_id, kind, *statuses):
    c = client.post("/core/contracts", json={"kind": kind, "deal_id": deal_id, "parties": ["Seller", "Valhalla"]})
    assert c.status_code == 201, c.text
    for status in statuses:
        assert client.patch(f"/core/contracts/{c.json()['id']}", json={"status": status}).status_code == 200
    return c.json()["id"]


def title(client, deal_id, *statuses):
    doc = client.post("/core/docs", json={"title": "Title search", "doc_type": "title", "file_path": "vault/title.pdf", "entity_ids": [deal_id]})
    assert doc.status_code == 201, doc.text
    for status in statuses:
        r = client.post(f"/core/docs/{doc.json()['id']}/route", json={"to": "closing@titleco.example", "channel": "email", "status": status})
        assert r.status_code == 200, r.text
    return doc.json()["id"]


def complete(client, deal_id):
    contract(client, deal_id, "purchase", "sent", "signed")
    contract(client, deal_id, "assignment", "sent", "signed")
    title(client, deal_id, "sent", "delivered", "acknowledged")


def checklist(client, deal_id):
    r = client.get(f"/core/deals/{deal_id}/finalization")
    assert r.status_code == 200, r.text
    return r.json()


def test_the_checklist_names_each_item_and_why_it_is_not_ok(client):
    deal_id, a_id = assigned_deal(client)
    c = checklist(client, deal_id)
    assert (c["can_close"], c["stage"]) == (False, "assigned")
    assert [(i["key"], i["ok"]) for i in c["items"]] == [(k, k == "assignment_fee_recorded") for k in KEYS]
    assert c["items"][0]["detail"] == "no signed purchase contract for this deal (none on file)"
    assert c["items"][2]["detail"] == "no title document linked to this deal"
    assert c["items"][3]["detail"] == f"assignment {a_id} fee 10,000.00"
    draft = contract(client, deal_id, "purchase")
    doc = title(client, deal_id, "sent")
    c = checklist(client, deal_id)
    assert c["items"][0]["detail"] == f"no signed purchase contract for this deal ({draft} draft)"
    assert c["items"][2]["detail"] == f"title document(s) not acknowledged yet: {doc} sent"
    complete(client, deal_id)
    c = checklist(client, deal_id)
    assert c["can_close"] is True and all(i["ok"] for i in c["items"])


def test_a_zero_fee_or_no_assignment_fails_the_fee_item(client):
    deal_id, _ = assigned_deal(client, fee=0)
    item = checklist(client, deal_id)["items"][3]
    assert (item["ok"], item["detail"].endswith("must be more than 0")) == (False, True)
    lead = client.post("/core/deals", json={"address": "2 B St", "city": "X", "province": "ON"}).json()
    c = checklist(client, lead["id"])
    assert c["items"][3] == {"key": "assignment_fee_recorded", "ok": False, "detail": "no active assignment for this deal"}
    assert c["can_close"] is False


def test_finalize_is_an_execution_action(client, db):
    deal_id, _ = assigned_deal(client)
    complete(client, deal_id)
    r = client.post(f"/core/deals/{deal_id}/finalize")
    assert r.status_code == 423 and r.json()["detail"]["code"] == "go_live_disabled"
    set_golive(db, enabled=True, kill_switch=True, reason="audit")
    r = client.post(f"/core/deals/{deal_id}/finalize")
    assert r.status_code == 423 and r.json()["detail"]["code"] == "kill_switch_engaged"
    assert client.get(f"/core/deals/{deal_id}").json()["stage"] == "assigned"


def test_finalize_lists_every_blocker(client, db):
    set_golive(db, enabled=True)
    deal_id, _ = assigned_deal(client, fee=0)
    contract(client, deal_id, "purchase", "sent", "signed")
    r = client.post(f"/core/deals/{deal_id}/finalize")
    assert r.status_code == 409 and r.json()["detail"]["code"] == "finalization_blocked"
    assert [b["key"] for b in r.json()["detail"]["blockers"]] == ["assignment_contract_signed", "title_acknowledged", "assignment_fee_recorded"]
    early = client.post("/core/deals", json={"address": "2 B St", "city": "X", "province": "ON"}).json()
    r = client.post(f"/core/deals/{early['id']}/finalize")
    assert r.status_code == 409 and [b["key"] for b in r.json()["detail"]["blockers"]] == ["stage_assigned", *KEYS]
    assert r.json()["detail"]["blockers"][0]["detail"] == "the deal is lead; it closes only from assigned"


def test_finalize_closes_the_deal_and_its_assignment_together(client, db, data_dir):
    set_golive(db, enabled=True)
    deal_id, a_id = assigned_deal(client)
    complete(client, deal_id)
    r = client.post(f"/core/deals/{deal_id}/finalize")
    assert r.status_code == 200, r.text
    assert (r.json()["stage"], r.json()["closed_at"]) == ("closed", "2026-01-05T15:00:00Z")
    deals = orjson.loads((data_dir / "deals" / "deals.json").read_bytes())
    assignments = orjson.loads((data_dir / "dispo" / "assignments.json").read_bytes())
    assert deals[0]["stage"] == "closed" and assignments[0]["status"] == "closed"
    last = client.get(f"/core/deals/{deal_id}/activities").json()[-1]
    assert (last["from_stage"], last["to_stage"], last["summary"]) == ("assigned", "closed", f"assigned -> closed: finalized with assignment {a_id}")
    again = client.post(f"/core/deals/{deal_id}/finalize")
    assert again.status_code == 409 and again.json()["detail"]["code"] == "invalid_transition"
    assert client.post(f"/core/deals/{deal_id}/stage", json={"stage": "dead", "reason": "x"}).json()["detail"]["current"] == "closed"


def test_a_failure_after_closing_the_assignment_rolls_both_back(client, db, monkeypatch):
    set_golive(db, enabled=True)
    deal_id, a_id = assigned_deal(client)
    complete(client, deal_id)
    real = dispo_service.mark_assignment_closed

    def close_then_fail(db_, assignment_id):
        real(db_, assignment_id)
        raise Conflict("disk_gremlin", "simulated failure after the assignment closed")

    monkeypatch.setattr(dispo_service, "mark_assignment_closed", close_then_fail)
    r = client.post(f"/core/deals/{deal_id}/finalize")
    assert r.status_code == 409 and r.json()["detail"]["code"] == "disk_gremlin"
    assert client.get(f"/core/dispo/assignments/{a_id}").json()["status"] == "assigned"
    assert client.get(f"/core/deals/{deal_id}").json()["stage"] == "assigned"


def test_active_and_completed_contracts_count_as_signed(client):
    deal_id, _ = assigned_deal(client)
    contract(client, deal_id, "purchase", "sent", "signed", "active")
    contract(client, deal_id, "assignment", "sent", "signed", "active", "completed")
    items = checklist(client, deal_id)["items"]
    assert (items[0]["ok"], items[1]["ok"]) == (True, True)
    assert items[0]["detail"].endswith("is active") and items[1]["detail"].endswith("is completed")


def test_closing_records_an_implied_transaction_consent_for_the_sellers_phone_and_email(client, db):
    set_golive(db, enabled=True)
    deal_id, a_id = assigned_deal(client)
    client.patch(f"/core/deals/{deal_id}", json={"seller_phone": "(416) 555-0199", "seller_email": "Jane.Roy@Example.com"})
    complete(client, deal_id)
    assert client.get("/core/consents").json() == []
    assert client.post(f"/core/deals/{deal_id}/finalize").status_code == 200
    got = {c["contact"]: c for c in client.get("/core/consents").json()}
    assert sorted(got) == ["+14165550199", "jane.roy@example.com"]
    phone = got["+14165550199"]
    assert (phone["kind"], phone["source"], phone["obtained_at"], phone["state"]) == ("implied_transaction", deal_id, "2026-01-05T15:00:00Z", "valid")
    assert (phone["casl_expires_at"], phone["dncl_exemption_expires_at"]) == ("2028-01-06T05:00:00Z", "2027-07-06T04:00:00Z")
    assert a_id in phone["proof"]


def test_a_failed_close_records_no_consent(client, db, monkeypatch):
    set_golive(db, enabled=True)
    deal_id, _ = assigned_deal(client)
    client.patch(f"/core/deals/{deal_id}", json={"seller_phone": "(416) 555-0199"})
    complete(client, deal_id)
    monkeypatch.setattr(dispo_service, "mark_assignment_closed", lambda db_, a: (_ for _ in ()).throw(Conflict("disk_gremlin", "simulated")))
    assert client.post(f"/core/deals/{deal_id}/finalize").status_code == 409
    assert client.get("/core/consents").json() == []
