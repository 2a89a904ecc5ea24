"""Contracts through HTTP: create (parties as names or objects), the status machine with every
invalid transition refused 409 naming the allowed states, signed_at stamping, terms fixed once
signed, deal references checked (422), filters, and list_contracts for other modules."""

from __future__ import annotations

import orjson

from app.core_gov.contracts import service
from app.core_gov.contracts.service import TRANSITIONS

STATUSES = ["draft", "sent", "signed", "active", "completed", "terminated", "expired"]
# A path from draft to each status.
PATHS = {
    "draft": [], "sent": ["sent"], "signed": ["signed"], "active": ["signed", "active"],
    "completed": ["signed", "completed"], "terminated": ["terminated"], "expired": ["sent", "expired"],
}


def add(client, **fields):
    body = {"kind": "purchase", "parties": ["Jane Seller", {"name": "Valhalla Holdings Inc.", "role": "buyer"}], "amount": 310000, **fields}
    r = client.post("/core/contracts", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def move(client, contract_id, status, **more):
    return client.patch(f"/core/contracts/{contract_id}", json={"status": status, **more})


def deal(client, **fields):
    r = client.post("/core/deals", json={"address": "12 Elm Street", "city": "Hamilton", "province": "ON", **fields})
    assert r.status_code == 201, r.text
    return r.json()


def test_create_stores_a_draft_with_parties_normalised(client, data_dir):
    c = add(client, expires_at="2026-03-31T17:00:00-04:00", parties=["Jane Seller", {"name": "Bob", "role": "buyer", "email": "Bob@Example.com"}])
    assert c["id"].startswith("ct_") and c["status"] == "draft" and c["signed_at"] is None and c["currency"] == "CAD"
    assert c["parties"] == [
        {"name": "Jane Seller", "role": None, "email": None, "phone": None},
        {"name": "Bob", "role": "buyer", "email": "bob@example.com", "phone": None},
    ]
    assert c["expires_at"] == "2026-03-31T21:00:00Z"
    r = client.get(f"/core/contracts/{c['id']}")
    assert r.status_code == 200 and r.json() == c and r.headers["etag"] == '"1"'
    assert orjson.loads((data_dir / "contracts" / "contracts.json").read_bytes()) == [c]


def test_lifecycle_stamps_signed_at_and_audits_each_transition(client, clock):
    c = add(client)
    assert move(client, c["id"], "sent").json()["status"] == "sent"
    clock.advance(minutes=90)
    signed = move(client, c["id"], "signed").json()
    assert signed["status"] == "signed" and signed["signed_at"] == "2026-01-05T16:30:00Z"
    assert move(client, c["id"], "active").json()["signed_at"] == "2026-01-05T16:30:00Z"
    done = move(client, c["id"], "completed").json()
    assert done["status"] == "completed" and done["version"] == 5
    trail = client.get("/core/audit", params={"order": "asc", "module": "contracts", "entity_id": c["id"], "action": "transition"}).json()
    assert [e["changes"]["status"] for e in trail] == [["draft", "sent"], ["sent", "signed"], ["signed", "active"], ["active", "completed"]]


def test_a_given_signing_time_is_kept(client):
    c = add(client)
    r = move(client, c["id"], "signed", signed_at="2026-01-02T09:00:00-05:00")
    assert r.status_code == 200 and r.json()["signed_at"] == "2026-01-02T14:00:00Z"


def test_every_invalid_transition_is_409_with_the_allowed_states(client):
    refused = 0
    for current in STATUSES:
        c = add(client)
        for step in PATHS[current]:
            assert move(client, c["id"], step).status_code == 200
        allowed = [s.value for s in TRANSITIONS[service.ContractStatus(current)]]
        for target in STATUSES:
            if target == current or target in allowed:
                continue
            r = move(client, c["id"], target)
            assert r.status_code == 409, (current, target)
            assert r.json()["detail"]["code"] == "invalid_transition"
            assert r.json()["detail"]["allowed"] == allowed and r.json()["detail"]["current"] == current
            refused += 1
        assert client.get(f"/core/contracts/{c['id']}").json()["status"] == current
    assert refused == 7 * 6 - 14  # every pair but the 14 allowed moves


def test_the_transition_table_is_the_documented_one():
    assert {k.value: [s.value for s in v] for k, v in TRANSITIONS.items()} == {
        "draft": ["sent", "signed", "terminated"],
        "sent": ["draft", "signed", "expired", "terminated"],
        "signed": ["active", "completed", "terminated", "expired"],
        "active": ["completed", "terminated", "expired"],
        "completed": [], "terminated": [], "expired": [],
    }


def test_terms_are_fixed_once_signed_but_notes_may_change(client, data_dir):
    c = add(client)
    assert client.patch(f"/core/contracts/{c['id']}", json={"amount": 300000}).json()["amount"] == 300000
    move(client, c["id"], "signed")
    before = (data_dir / "contracts" / "contracts.json").read_bytes()
    r = client.patch(f"/core/contracts/{c['id']}", json={"amount": 250000, "parties": ["Someone else"]})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "contract_signed"
    assert r.json()["detail"]["fields"] == ["parties", "amount"]
    assert (data_dir / "contracts" / "contracts.json").read_bytes() == before
    r = client.patch(f"/core/contracts/{c['id']}", json={"amount": 300000, "notes": "Deposit received"})
    assert r.status_code == 200 and r.json()["notes"] == "Deposit received" and r.json()["amount"] == 300000


def test_bad_input_is_422_naming_the_field(client, data_dir):
    for body, loc in [
        ({"kind": "lease"}, ["body", "kind"]),
        ({"kind": "purchase", "amount": -5}, ["body", "amount"]),
        ({"kind": "purchase", "parties": [{"name": "x", "email": "not-an-email"}]}, ["body", "parties", 0, "email"]),
        ({"kind": "purchase", "expires_at": "2026-03-31T17:00:00"}, ["body", "expires_at"]),
        ({"kind": "purchase", "status": "signing"}, ["body", "status"]),  # a signed one is 409 (tests/test_state_machines.py)
        ({"kind": "purchase", "deal_id": "dl_nope"}, ["body", "deal_id"]),
    ]:
        r = client.post("/core/contracts", json=body)
        assert r.status_code == 422, body
        assert r.json()["detail"][0]["loc"] == loc
    assert not (data_dir / "contracts" / "contracts.json").exists()
    c = add(client)
    for body, loc in [
        ({"status": "finished"}, ["body", "status"]),
        ({"status": None}, ["body", "status"]),
        ({"signed_at": "2026-01-01T00:00:00Z"}, ["body", "signed_at"]),
        ({"deal_id": "dl_nope"}, ["body", "deal_id"]),
        ({"kind": "jv"}, ["body", "kind"]),
    ]:
        r = client.patch(f"/core/contracts/{c['id']}", json=body)
        assert r.status_code == 422, body
        assert r.json()["detail"][0]["loc"] == loc
    assert client.get(f"/core/contracts/{c['id']}").json()["version"] == 1
    assert client.get("/core/contracts/ct_nope").status_code == 404
    assert client.patch("/core/contracts/ct_nope", json={"notes": "x"}).status_code == 404


def test_a_contract_belongs_to_an_existing_deal_and_lists_filter(client, db):
    d = deal(client)
    buy = add(client, deal_id=d["id"])
    sell = add(client, kind="assignment", deal_id=d["id"])
    add(client, kind="retainer")
    move(client, buy["id"], "signed")
    r = client.get("/core/contracts", params={"deal_id": d["id"], "limit": 1})
    assert r.headers["x-total-count"] == "2" and [c["id"] for c in r.json()] == [buy["id"]]
    assert [c["id"] for c in client.get("/core/contracts", params={"status": "signed"}).json()] == [buy["id"]]
    assert [c.id for c in service.list_contracts(db, deal_id=d["id"], kind="assignment")] == [sell["id"]]
    assert service.list_contracts(db, deal_id=d["id"], kind="purchase", status="draft") == []


def test_if_match_refuses_a_stale_edit(client):
    c = add(client)
    assert client.patch(f"/core/contracts/{c['id']}", json={"notes": "a"}, headers={"If-Match": '"1"'}).status_code == 200
    r = client.patch(f"/core/contracts/{c['id']}", json={"notes": "b"}, headers={"If-Match": '"1"'})
    assert r.status_code == 412 and r.json()["detail"]["current_version"] == 2
