"""The internal do-not-contact list and the CASL sender identity (the National DNCL: test_dncl.py)."""

from __future__ import annotations

import orjson
import pytest

from app.core_gov.comms import service as comms_service

def add(client, value, reason="manual", source="operator"):
    return client.post("/core/comms/suppressions", json={"value": value, "reason": reason, "source": source})


def test_any_phone_spelling_is_one_entry_and_checks_true(client, data_dir):
    r = add(client, "(416) 555-0199", reason="opt_out", source="phone call")
    assert r.status_code == 201 and r.json()["value"] == "+14165550199" and r.json()["opted_out_at"] == "2026-01-05T15:00:00Z"
    again = add(client, "+1 416 555 0199")
    assert again.status_code == 200 and again.json() == r.json()  # idempotent: the existing entry, unchanged
    for spelling in ("(416) 555-0199", "+1 416 555 0199", "4165550199", "416.555.0199"):
        c = client.get("/core/comms/suppressions/check", params={"to": spelling}).json()
        assert c["suppressed"] is True and c["value"] == "+14165550199" and c["suppression"]["id"] == r.json()["id"]
    assert client.get("/core/comms/suppressions/check", params={"to": "416-555-0100"}).json()["suppressed"] is False
    assert comms_service.is_suppressed(client.app.state.storage, "416 555 0199") is True
    assert len(orjson.loads((data_dir / "comms" / "suppressions.json").read_bytes())) == 1


def test_emails_are_lower_cased_and_an_opt_out_upgrades_a_manual_entry(client):
    m = add(client, "Jane.Roy@Example.com").json()
    assert m["value"] == "jane.roy@example.com" and m["reason"] == "manual" and m["opted_out_at"] is None
    up = add(client, "JANE.ROY@example.com", reason="opt_out", source="email reply")
    assert up.status_code == 200 and up.json()["id"] == m["id"] and up.json()["reason"] == "opt_out"
    assert up.json()["opted_out_at"] == "2026-01-05T15:00:00Z" and up.json()["version"] == 2


@pytest.mark.parametrize("body, loc", [
    ({"value": "555-01"}, ["body", "value"]),
    ({"value": "jane@"}, ["body", "value"]),
    ({"value": "4165550199", "reason": "angry"}, ["body", "reason"]),
    ({"value": "4165550199", "reason": "dncl"}, ["body", "reason"]),  # the National DNCL is imported, never entered
    ({"reason": "manual"}, ["body", "value"]),
])
def test_bad_suppression_is_422_naming_the_field(client, data_dir, body, loc):
    r = client.post("/core/comms/suppressions", json=body)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc
    assert not (data_dir / "comms" / "suppressions.json").exists()
    r = client.get("/core/comms/suppressions/check", params={"to": "not a phone"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "to"]


def test_delete_needs_a_reason_is_audited_and_opt_outs_are_kept_3_years_14_days(client, clock):
    manual = add(client, "4165550100").json()
    opt = add(client, "4165550199", reason="opt_out").json()
    assert client.delete(f"/core/comms/suppressions/{manual['id']}").status_code == 422
    assert client.delete(f"/core/comms/suppressions/{manual['id']}", params={"reason": " "}).status_code == 422
    r = client.delete(f"/core/comms/suppressions/{manual['id']}", params={"reason": "typo"})
    assert r.status_code == 200 and r.json()["id"] == manual["id"]
    audit = [e for e in client.get("/core/audit", params={"entity_id": manual["id"]}).json() if e["action"] == "delete"]
    assert audit[0]["changes"]["reason"] == [None, "typo"]
    clock.set("2029-01-19T14:59:59Z")  # 3 years + 14 days after 2026-01-05T15:00Z, less a second
    r = client.delete(f"/core/comms/suppressions/{opt['id']}", params={"reason": "old"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "retention_period" and r.json()["detail"]["until"] == "2029-01-19T15:00:00Z"
    clock.set("2029-01-19T15:00:00Z")
    assert client.delete(f"/core/comms/suppressions/{opt['id']}", params={"reason": "retention over"}).status_code == 200
    assert client.get("/core/comms/suppressions").json() == []
    assert client.delete("/core/comms/suppressions/sup_nope", params={"reason": "x"}).status_code == 404


def test_list_filters_by_reason(client):
    add(client, "4165550100", reason="manual")
    add(client, "4165550199", reason="opt_out")
    r = client.get("/core/comms/suppressions", params={"reason": "opt_out"})
    assert r.headers["x-total-count"] == "1" and r.json()[0]["value"] == "+14165550199"


def test_identity_get_put_delete(client, data_dir):
    assert client.get("/core/comms/identity").status_code == 404
    assert comms_service.sender_identity(client.app.state.storage) is None
    body = {"sender_name": "Valhalla Homes Inc.", "mailing_address": "100 King St W, Toronto", "unsubscribe_text": "Reply STOP"}
    r = client.put("/core/comms/identity", json=body)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "phone"]
    r = client.put("/core/comms/identity", json={**body, "email": "Hello@Valhalla.example"})
    assert r.status_code == 200 and r.json()["email"] == "hello@valhalla.example" and r.json()["updated_at"] == "2026-01-05T15:00:00Z"
    assert client.get("/core/comms/identity").json() == r.json()
    assert comms_service.sender_identity(client.app.state.storage).sender_name == "Valhalla Homes Inc."
    assert orjson.loads((data_dir / "comms" / "identity.json").read_bytes())["sender_name"] == "Valhalla Homes Inc."
    assert client.delete("/core/comms/identity").status_code == 422
    gone = client.delete("/core/comms/identity", params={"reason": "company renamed"})
    assert gone.status_code == 200 and gone.json()["sender_name"] == "Valhalla Homes Inc."
    assert client.get("/core/comms/identity").status_code == 404
    assert comms_service.sender_identity(client.app.state.storage) is None
    assert client.delete("/core/comms/identity", params={"reason": "again"}).status_code == 404
    r = client.put("/core/comms/identity", json={**body, "phone": "12"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "phone"]
