"""The internal auditor (POST /core/audit/scan) over real records made through HTTP: a clean data
set answers no findings; each planted problem is found once, pointing at its record."""

from __future__ import annotations

import pytest

from app.core_gov.golive import service as golive_service
from app.core_gov.golive import store as golive_store

DEAL = {"address": "12 Elm Street", "city": "Hamilton", "province": "ON", "property_type": "sfr",
        "arv_estimate": 300000, "repairs_estimate": 30000, "offer_amount": 180000, "assignment_fee_target": 10000}
IDENTITY = {"sender_name": "Valhalla Homes Inc.", "mailing_address": "100 King St W, Toronto ON M5X 1A9",
            "phone": "416-555-0100", "unsubscribe_text": "Reply STOP to opt out."}


def ok(r, status=200):
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture
def live(db):
    """Go-live on, written through the store core (the runbook's requirements belong to other tests)."""
    with db.transaction("golive") as tx:
        tx.write(golive_store.state, golive_service.state(db).model_copy(update={"enabled": True, "reason": "test"}))


def scan(client):
    return ok(client.post("/core/audit/scan"))


def deal(client, **fields):
    return ok(client.post("/core/deals", json={**DEAL, **fields}), 201)


def closed_deal(client, address="1 Closed Rd"):
    """A deal taken through the real closing: signed contracts, acknowledged title, assignment."""
    d = deal(client, address=address)
    for stage in ("contacted", "offer_made", "under_contract"):
        ok(client.post(f"/core/deals/{d['id']}/stage", json={"stage": stage, "reason": "test"}))
    buyer = ok(client.post("/core/dispo/buyers", json={"name": f"Buyer of {address}"}), 201)
    a = ok(client.post("/core/dispo/assignments", json={"deal_id": d["id"], "buyer_id": buyer["id"], "fee": 10000}), 201)
    ok(client.patch(f"/core/dispo/assignments/{a['id']}", json={"status": "assigned"}))
    contracts = {}
    for kind in ("purchase", "assignment"):
        c = ok(client.post("/core/contracts", json={"kind": kind, "deal_id": d["id"], "parties": ["Seller", "Valhalla"]}), 201)
        contracts[kind] = ok(client.patch(f"/core/contracts/{c['id']}", json={"status": "signed"}))
    doc = ok(client.post("/core/docs", json={"title": "Title", "doc_type": "title", "file_path": "t.pdf", "entity_ids": [d["id"]]}), 201)
    ok(client.post(f"/core/docs/{doc['id']}/route", json={"to": "title co", "channel": "email", "status": "acknowledged"}))
    assert ok(client.post(f"/core/deals/{d['id']}/finalize"))["stage"] == "closed"
    return d, contracts


def send_sms(client, **mark):
    draft = ok(client.post("/core/comms/drafts", json={"channel": "sms", "to": "(416) 555-0199", "body": "Still selling?", "province": "ON"}), 201)
    ok(client.post(f"/core/comms/drafts/{draft['id']}/mark_sent", json=mark))
    return client.get("/core/comms/sendlog").json()[-1]


def pro(client, name="Priya Shah"):
    return ok(client.post("/core/pros", json={"name": name, "kind": "lawyer", "jurisdictions": ["ON"]}), 201)


def clean_world(client):
    """One of everything the auditor reads, all within the rules."""
    ok(client.put("/core/comms/identity", json=IDENTITY))
    ok(client.post("/core/consents", json={"contact": "416-555-0199", "kind": "implied_inquiry", "obtained_at": "2026-01-04T15:00:00Z", "method": "web form"}), 201)
    send_sms(client)  # 10:00 in Toronto: inside the window
    send_sms(client, override_reason="not needed inside the window")  # not recorded: nothing was overridden
    d = deal(client)
    ok(client.post("/core/deals/offers/compute", json={"deal_id": d["id"], "province": "ON", "arv": 300000, "repairs": 30000}), 201)
    ok(client.post("/core/deals/offers/compute", json={"province": "BC", "arv": 400000, "repairs": 10000, "asking_price": 200000}), 201)
    closed, contracts = closed_deal(client)
    p = pro(client)
    r = ok(client.post("/core/pros/retainers", json={"pro_id": p["id"], "monthly_amount": 1500, "hours_included": 10}), 201)
    ok(client.patch(f"/core/pros/retainers/{r['id']}", json={"status": "active"}))
    ok(client.post(f"/core/pros/retainers/{r['id']}/hours", json={"hours": 10}))  # exactly the hours included
    done = ok(client.post("/core/pros/tasks", json={"title": "done late", "pro_id": p["id"], "due_at": "2026-01-01T15:00:00Z"}), 201)
    ok(client.patch(f"/core/pros/tasks/{done['id']}", json={"status": "done"}))
    gone = ok(client.post("/core/pros/tasks", json={"title": "canceled", "pro_id": p["id"], "due_at": "2026-01-01T15:00:00Z"}), 201)
    ok(client.patch(f"/core/pros/tasks/{gone['id']}", json={"status": "canceled"}))
    ok(client.post("/core/pros/tasks", json={"title": "due later", "pro_id": p["id"], "due_at": "2026-02-01T15:00:00Z"}), 201)
    ok(client.post("/core/pros/tasks", json={"title": "no due date", "pro_id": p["id"]}), 201)
    return {"deal": d, "closed": closed, "contracts": contracts, "pro": p, "retainer": r}


def test_an_empty_data_set_has_no_findings_and_writes_nothing(client, data_dir):
    assert scan(client) == {"scanned_at": "2026-01-05T15:00:00Z", "counts": {"high": 0, "medium": 0, "low": 0}, "findings": []}
    assert not data_dir.exists() or [p for p in data_dir.rglob("*") if p.is_file() and p.name != ".lock"] == []


def test_a_clean_data_set_has_no_findings_and_the_scan_writes_nothing(client, data_dir, live):
    clean_world(client)
    before = {p: p.read_bytes() for p in data_dir.rglob("*") if p.is_file() and p.name != ".lock"}
    result = scan(client)
    assert result["findings"] == [] and result["counts"] == {"high": 0, "medium": 0, "low": 0}
    assert {p: p.read_bytes() for p in data_dir.rglob("*") if p.is_file() and p.name != ".lock"} == before


def test_every_planted_problem_is_found_once_and_nothing_else(client, clock, live):
    world = clean_world(client)
    # comms: an SMS at 21:00 in Toronto, sent with an override
    clock.set("2026-01-06T02:00:00Z")
    entry = send_sms(client, override_reason="seller asked for a text tonight")
    # offers: BC tightens its cap to 50% of ARV after an offer of 267,500 was computed on ARV 400,000
    ev = ok(client.post("/core/deals/offers/compute", json={"province": "BC", "arv": 400000, "repairs": 0}), 201)
    ok(client.post("/core/deals/offers/policies/upsert", json={"province": "BC", "max_offer_pct_of_arv": 0.5}))
    # deals: an offer typed in above the ON cap (0.75 x 300,000 = 225,000)
    high = deal(client, address="7 High St")
    ok(client.patch(f"/core/deals/{high['id']}", json={"offer_amount": 240000}))
    # deals: a closed deal whose assignment contract was terminated afterwards
    ok(client.patch(f"/core/contracts/{world['contracts']['assignment']['id']}", json={"status": "terminated"}))
    # pros: hours beyond the retainer, and a task past due
    ok(client.post(f"/core/pros/retainers/{world['retainer']['id']}/hours", json={"hours": 2.5}))
    late = ok(client.post("/core/pros/tasks", json={"title": "Review title", "pro_id": world["pro"]["id"], "due_at": "2026-01-06T01:00:00Z"}), 201)
    blocked = ok(client.post("/core/pros/tasks", json={"title": "Blocked", "pro_id": world["pro"]["id"], "due_at": "2026-01-06T00:00:00Z"}), 201)
    ok(client.patch(f"/core/pros/tasks/{blocked['id']}", json={"status": "blocked"}))

    result = scan(client)
    found = [(f["severity"], f["code"], f["module"], f["record_id"]) for f in result["findings"]]
    assert sorted(found) == sorted([
        ("medium", "sent_outside_window", "comms", entry["id"]),
        ("high", "offer_above_policy", "offers", ev["evidence_id"]),
        ("high", "deal_offer_above_policy", "deals", high["id"]),
        ("high", "deal_closed_without_contract", "deals", world["closed"]["id"]),
        ("medium", "retainer_over_hours", "pros", world["retainer"]["id"]),
        ("low", "task_overdue", "pros", late["id"]),
        ("low", "task_overdue", "pros", blocked["id"]),
    ])
    assert [f["severity"] for f in result["findings"]] == ["high"] * 3 + ["medium"] * 2 + ["low"] * 2
    assert result["counts"] == {"high": 3, "medium": 2, "low": 2} and result["scanned_at"] == "2026-01-06T02:00:00Z"
    messages = {f["code"]: f["message"] for f in result["findings"]}
    assert "seller asked for a text tonight" in messages["sent_outside_window"]
    assert messages["offer_above_policy"] == "recommended offer 267,500.00 is above the cap 200,000.00 (0.5 x ARV 400000)"
    assert messages["deal_offer_above_policy"] == "offer 240,000.00 is above the ON policy cap 225,000.00 (0.75 x ARV 300000)"
    assert messages["deal_closed_without_contract"] == "deal at 1 Closed Rd is closed without a signed assignment contract"
    assert messages["retainer_over_hours"] == "12.5 h used of 10 h included: 2.5 h over"


def test_a_task_is_overdue_only_once_its_due_time_has_passed(client, clock):
    p = pro(client)
    t = ok(client.post("/core/pros/tasks", json={"title": "File the APS", "pro_id": p["id"], "due_at": "2026-01-05T15:00:00Z"}), 201)
    assert scan(client)["findings"] == []  # due exactly now: not yet overdue
    clock.advance(minutes=1)
    assert scan(client)["findings"] == [{
        "severity": "low", "code": "task_overdue", "module": "pros", "record_id": t["id"],
        "message": f"task 'File the APS' (todo) for {p['id']} was due 2026-01-05T15:00:00Z",
    }]
    ok(client.patch(f"/core/pros/tasks/{t['id']}", json={"status": "done"}))
    assert scan(client)["findings"] == []
