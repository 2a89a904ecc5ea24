"""One rule for every create of a record with a state machine: the body may name the state the
record starts in (accepted); any other state is 409 invalid_transition naming the allowed ones,
and nothing is written."""

from __future__ import annotations

import pytest


def ok(r, status=201):
    assert r.status_code == status, r.text
    return r.json()


def deal(client):
    return ok(client.post("/core/deals", json={"address": "12 Elm St", "city": "Hamilton", "province": "ON"}))["id"]


def pro(client, name="Priya Shah LLP"):
    return ok(client.post("/core/pros", json={"name": name, "kind": "lawyer", "jurisdictions": ["ON"]}))["id"]


def course(client):
    return ok(client.post("/core/education/courses", json={"title": "Wholesaling 101", "status": "active"}))["id"]


def buyer(client):
    return ok(client.post("/core/dispo/buyers", json={"name": "Northside Rentals Ltd."}))["id"]


# (name, path, body factory, status field, module folder, the start states, a state it may not start in)
CASES = [
    ("deal", "/core/deals", lambda c: {"address": "1 A St", "city": "X", "province": "ON"}, "stage", "deals", ["lead"], "contacted"),
    ("contract", "/core/contracts", lambda c: {"kind": "purchase"}, "status", "contracts", ["draft"], "signed"),
    ("retainer", "/core/pros/retainers", lambda c: {"pro_id": pro(c), "monthly_amount": 1500, "hours_included": 10}, "status", "pros", ["proposed"], "active"),
    ("handoff", "/core/pros/handoffs", lambda c: {"from": pro(c), "to": pro(c, "Title Co")}, "status", "pros", ["pending"], "accepted"),
    ("pro task", "/core/pros/tasks", lambda c: {"title": "Review", "pro_id": pro(c)}, "status", "pros", ["todo"], "done"),
    ("course", "/core/education/courses", lambda c: {"title": "Wholesaling 101"}, "status", "education", ["draft", "active"], "archived"),
    ("enrollment", "/core/education/enrollments", lambda c: {"learner": "Jordan Lee", "course_id": course(c)}, "status", "education", ["active"], "completed"),
    ("draft", "/core/comms/drafts", lambda c: {"channel": "email", "to": "sam@example.com", "body": "Hi"}, "status", "comms", ["draft"], "sent"),
    ("assignment", "/core/dispo/assignments", lambda c: {"deal_id": deal(c), "buyer_id": buyer(c), "price": 1, "fee": 1}, "status", "dispo", ["offered"], "closed"),
    ("decision", "/core/governance/decisions", lambda c: {"title": "Raise caps", "rationale": "Proof of funds"}, "status", "governance", ["proposed"], "approved"),
    ("content", "/core/media/content", lambda c: {"title": "Sold in 9 days", "body": "b", "scheduled_for": "2026-01-12T14:00:00Z"}, "status", "media", ["draft", "scheduled"], "published"),
]


@pytest.mark.parametrize("name,path,body,field,module,starts,other", CASES, ids=[c[0] for c in CASES])
def test_a_create_may_name_the_state_it_starts_in(client, name, path, body, field, module, starts, other):
    for start in starts:
        created = ok(client.request("POST", path, json={**body(client), field: start}))
        assert created[field] == start
    assert ok(client.request("POST", path, json=body(client)))[field] == starts[0]  # the default


@pytest.mark.parametrize("name,path,body,field,module,starts,other", CASES, ids=[c[0] for c in CASES])
def test_a_create_naming_any_other_state_is_409_invalid_transition_and_writes_nothing(client, data_dir, name, path, body, field, module, starts, other):
    fields = body(client)
    audit = data_dir / module / "audit.jsonl"
    before = audit.read_bytes() if audit.exists() else b""
    r = client.post(path, json={**fields, field: other})
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert (detail["code"], detail["current"], detail["requested"], detail["allowed"]) == ("invalid_transition", None, other, starts)
    assert detail["message"] == f"a new {name} starts as {' or '.join(starts)}, not {other}: create it, then move it"
    assert (audit.read_bytes() if audit.exists() else b"") == before
