"""Outreach fixtures: go-live on, a sender identity, a fresh DNCL list, a lead with a phone.

Go-live is switched on by writing golive's state through the store core (the runbook's other
requirements belong to other modules' tests); everything else goes through HTTP."""

from __future__ import annotations

import pytest

from app.core_gov.golive import service as golive_service
from app.core_gov.comms.schemas import CA_AREA_CODES
from app.core_gov.golive import store as golive_store

IDENTITY = {
    "sender_name": "Valhalla Homes Inc.", "mailing_address": "100 King St W, Toronto ON M5X 1A9",
    "phone": "416-555-0100", "unsubscribe_text": "Reply STOP to opt out.",
}


@pytest.fixture
def live(db):
    """Go-live enabled, kill switch clear."""
    with db.transaction("golive") as tx:
        tx.write(golive_store.state, golive_service.state(db).model_copy(update={"enabled": True, "reason": "test fixture"}))
    return db


@pytest.fixture
def identity(client):
    r = client.put("/core/comms/identity", json=IDENTITY)
    assert r.status_code == 200, r.text
    return r.json()


def dncl_list(*numbers: str) -> bytes:
    return ("phone\n" + "".join(f"{n}\n" for n in numbers)).encode()


def import_dncl(client, body: bytes, list_date="2026-01-05"):
    return client.post("/core/comms/suppressions/import", params={"list_date": list_date}, content=body, headers={"Content-Type": "text/csv"})


@pytest.fixture
def dncl(client):
    """National DNCL copies dated today (2026-01-05) for every Canadian area code, each holding
    one unrelated number (AREA-555-0111)."""
    r = import_dncl(client, dncl_list(*(f"{area}-555-0111" for area in CA_AREA_CODES)))
    assert r.status_code == 201, r.text
    return r.json()


def make_deal(client, phone="416-555-0199", **fields):
    body = {"seller_name": "Jane Roy", "seller_phone": phone, "seller_email": "Jane.Roy@Example.com",
            "address": "12 Elm Street", "city": "Hamilton", "province": "ON", **fields}
    r = client.post("/core/deals", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def make_draft(client, **fields):
    body = {"channel": "sms", "to": "(416) 555-0199", "body": "Hi Jane, still thinking about selling?", "province": "ON", **fields}
    r = client.post("/core/comms/drafts", json=body)
    assert r.status_code == 201, r.text
    return r.json()


CONSENTED = ("416-555-0199", "604-555-0123", "604-555-0189", "905-555-0123", "a@b.ca", "c@d.ca", "x@y.ca", "jane@example.com", "jane.roy@example.com")


def record_consent(client, contact, kind="express", obtained_at="2025-12-01T15:00:00Z", **fields):
    body = {"contact": contact, "kind": kind, "obtained_at": obtained_at, "method": "web form", **fields}
    if kind == "express":
        body.setdefault("proof", "Checkbox: 'Yes, Valhalla Homes may text and email me.'")
    r = client.post("/core/consents", json=body)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def consented(client):
    """Express CASL consent (no DNCL exemption needed by these numbers) for the tests' usual contacts."""
    return {contact: record_consent(client, contact) for contact in CONSENTED}
