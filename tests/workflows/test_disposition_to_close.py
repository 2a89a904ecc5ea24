"""Workflow 4, disposition to close: buyers matched to an under-contract deal -> the deal assigned to
the best one -> purchase and assignment contracts signed -> the title document routed and
acknowledged -> the closing checklist clears -> finalize closes the deal and its assignment."""

from __future__ import annotations

from . import deal, go_live, ok, refused

PRAIRIE = {"name": "Prairie Flip Co.", "email": "buy@prairieflip.example", "phone": "403-555-0177", "buy_box": {
    "provinces": ["AB", "MB"], "markets": ["Calgary", "Edmonton", "Winnipeg"], "property_types": ["sfr"], "min_price": 120000,
    "max_price": 600000, "max_repairs": 80000, "min_equity_pct": 15, "close_speed_days": 21}}
COASTAL = {"name": "Coastal Holdings Inc.", "buy_box": {"provinces": ["BC"], "markets": ["Vancouver"], "min_price": 400000, "close_speed_days": 30}}


def checklist(client, deal_id: str) -> tuple[bool, dict[str, bool]]:
    f = ok(client.get(f"/core/deals/{deal_id}/finalization"))
    return f["can_close"], {i["key"]: i["ok"] for i in f["items"]}


def test_an_under_contract_deal_is_assigned_papered_and_closed(client):
    go_live(client)
    d = deal(client, seller_name="Robert Kowalski", seller_phone="403-555-0101", address="1527 17 Ave SE", city="Calgary", province="AB",
             arv_estimate=540000, repairs_estimate=40000, asking_price=380000, offer_amount=325000, assignment_fee_target=12000)
    for stage in ("contacted", "offer_made", "under_contract"):
        assert ok(client.post(f"/core/deals/{d['id']}/stage", json={"stage": stage, "reason": f"setup: {stage}"}))["stage"] == stage
    prairie = ok(client.post("/core/dispo/buyers", json=PRAIRIE), 201)
    coastal = ok(client.post("/core/dispo/buyers", json=COASTAL), 201)

    # 1. who buys it? price 325,000 + 12,000 fee; equity (540,000 - 337,000 - 40,000) / 540,000 = 30.19%
    m = ok(client.get(f"/core/dispo/deals/{d['id']}/matches"))
    assert (m["buyer_price"], m["equity_pct"]) == (337000.0, 30.19)
    assert [(x["buyer_id"], x["score"]) for x in m["matches"]] == [(prairie["id"], 82.9)]
    assert m["matches"][0]["reasons"] == [
        "province AB in buy box", "market Calgary in buy box", "property type sfr in buy box", "price 337,000 within 120,000-600,000",
        "repairs 40,000 <= max 80,000", "equity 30.19% >= min 15%", "closes in 21 days",
    ]
    assert m["matches"][0]["liquidity"]["events"] == 0
    assert [(x["buyer_id"], x["reasons"][0]) for x in m["excluded"]] == [(coastal["id"], "province AB not in buy box (BC)")]

    # 2. assign it: offered, then assigned (the deal moves with it)
    a = ok(client.post("/core/dispo/assignments", json={"deal_id": d["id"], "buyer_id": prairie["id"], "notes": "Yes after the walkthrough"}), 201)
    assert (a["status"], a["price"], a["fee"], a["currency"]) == ("offered", 337000.0, 12000.0, "CAD")
    assert ok(client.get(f"/core/deals/{d['id']}"))["stage"] == "under_contract"
    a = ok(client.patch(f"/core/dispo/assignments/{a['id']}", json={"status": "assigned"}))
    assert a["status"] == "assigned" and ok(client.get(f"/core/deals/{d['id']}"))["stage"] == "assigned"
    assert checklist(client, d["id"]) == (False, {"purchase_contract_signed": False, "assignment_contract_signed": False, "title_acknowledged": False, "assignment_fee_recorded": True})
    early = refused(client.post(f"/core/deals/{d['id']}/finalize"), 409, "finalization_blocked")
    assert [b["key"] for b in early["blockers"]] == ["purchase_contract_signed", "assignment_contract_signed", "title_acknowledged"]

    # 3. the contracts: purchase (seller -> us) and assignment (us -> the buyer), both signed
    purchase = ok(client.post("/core/contracts", json={
        "kind": "purchase", "title": "APS 1527 17 Ave SE", "deal_id": d["id"], "amount": 325000,
        "parties": [{"name": "Robert Kowalski", "role": "seller"}, {"name": "Valhalla Homes Inc.", "role": "buyer"}]}), 201)
    assert (purchase["status"], purchase["signed_at"]) == ("draft", None)
    purchase = ok(client.patch(f"/core/contracts/{purchase['id']}", json={"status": "signed"}))
    assert (purchase["status"], purchase["signed_at"]) == ("signed", "2026-01-05T15:00:00Z")
    assert checklist(client, d["id"])[1]["purchase_contract_signed"] is True
    assignment = ok(client.post("/core/contracts", json={
        "kind": "assignment", "title": "Assignment of APS 1527 17 Ave SE", "deal_id": d["id"], "amount": 12000,
        "parties": [{"name": "Valhalla Homes Inc.", "role": "assignor"}, {"name": "Prairie Flip Co.", "role": "assignee"}]}), 201)
    assert ok(client.patch(f"/core/contracts/{assignment['id']}", json={"status": "sent"}))["status"] == "sent"
    assert checklist(client, d["id"])[1]["assignment_contract_signed"] is False
    assert ok(client.patch(f"/core/contracts/{assignment['id']}", json={"status": "signed"}))["status"] == "signed"
    assert checklist(client, d["id"]) == (False, {"purchase_contract_signed": True, "assignment_contract_signed": True, "title_acknowledged": False, "assignment_fee_recorded": True})

    # 4. the title search: routed to the title company, acknowledged
    doc = ok(client.post("/core/docs", json={"title": "Title search 1527 17 Ave SE", "doc_type": "title", "file_path": "vault/deals/1527-17-ave-se/title.pdf",
                                              "entity_ids": [d["id"]], "tags": ["closing"]}), 201)
    assert doc["routing_status"] is None
    doc = ok(client.post(f"/core/docs/{doc['id']}/route", json={"to": "closing@mapletitle.example", "channel": "email", "status": "sent"}))
    assert doc["routing_status"] == "sent" and checklist(client, d["id"])[1]["title_acknowledged"] is False
    doc = ok(client.post(f"/core/docs/{doc['id']}/route", json={"to": "closing@mapletitle.example", "channel": "email", "status": "acknowledged", "note": "title clear"}))
    assert doc["routing_status"] == "acknowledged" and [r["status"] for r in doc["routing"]] == ["sent", "acknowledged"]

    # 5. the checklist clears; finalize closes the deal and the assignment together
    assert checklist(client, d["id"]) == (True, {"purchase_contract_signed": True, "assignment_contract_signed": True, "title_acknowledged": True, "assignment_fee_recorded": True})
    closed = ok(client.post(f"/core/deals/{d['id']}/finalize"))
    assert (closed["stage"], closed["closed_at"], closed["expected_spread"]) == ("closed", "2026-01-05T15:00:00Z", 10500.0)
    assert ok(client.get(f"/core/dispo/assignments/{a['id']}"))["status"] == "closed"
    refused(client.post(f"/core/deals/{d['id']}/finalize"), 409, "invalid_transition")
    last = ok(client.get(f"/core/deals/{d['id']}/activities"))[-1]
    assert (last["from_stage"], last["to_stage"], last["summary"]) == ("assigned", "closed", f"assigned -> closed: finalized with assignment {a['id']}")
    summary = ok(client.get("/core/deals/summary"))
    assert summary["by_stage"]["closed"]["count"] == 1 and summary["open_expected_spread"] == {}
