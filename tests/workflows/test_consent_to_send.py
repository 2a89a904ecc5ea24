"""Workflow 6, consent before a message (scripts/workflows/consent_to_send.sh): an SMS refused
no_consent -> consent recorded with proof -> sent, the send log naming it; a DNCL-listed seller who
inquired becomes callable and stops being callable when the exemption lapses; an opt-out
withdraws every consent and the internal list refuses."""

from __future__ import annotations

from . import go_live, ok, refused


def draft(client, **fields) -> dict:
    body = {"channel": "sms", "to": "(416) 555-0199", "province": "ON", "body": "Hi Jane, would you consider a cash offer?", **fields}
    return ok(client.post("/core/comms/drafts", json=body), 201)


def send(client, d):
    return client.post(f"/core/comms/drafts/{d['id']}/mark_sent", json={})


def test_a_refusal_then_consent_then_the_send_a_dncl_exemption_that_lapses_and_an_opt_out(client, clock):
    go_live(client)
    # 1. an SMS to a stranger: refused, nothing logged
    sms = draft(client)
    detail = refused(send(client, sms), 409, "no_consent")
    assert (detail["contact"], detail["channel"]) == ("+14165550199", "sms")
    assert ok(client.get("/core/comms/sendlog")) == []

    # 2. express consent with its proof, then the send; the log names the consent
    consent = ok(client.post("/core/consents", json={
        "contact": "416-555-0199", "kind": "express", "obtained_at": "2026-01-05T14:30:00Z", "method": "web form",
        "source": "valhallahomes.example/sell", "proof": "Checkbox: 'Yes, Valhalla Homes may text me.' Submission #4812"}), 201)
    assert ok(send(client, sms))["status"] == "sent"
    assert [e["consent_id"] for e in ok(client.get("/core/comms/sendlog"))] == [consent["id"]]

    # 3. a DNCL-listed seller who filled in the form on 2026-01-05 is callable for six months
    dncl = client.post("/core/comms/suppressions/import", params={"list_date": "2026-01-05"}, content=b"phone\n905-555-0142\n", headers={"Content-Type": "text/csv"})
    assert dncl.status_code == 201, dncl.text
    call = draft(client, channel="call", to="905-555-0142", body="")
    assert refused(send(client, call), 409, "suppressed")["list"] == "dncl"
    inquiry = ok(client.post("/core/consents", json={
        "contact": "905-555-0142", "kind": "implied_inquiry", "obtained_at": "2026-01-05T14:00:00Z", "method": "web form"}), 201)
    assert inquiry["dncl_exemption_expires_at"] == "2026-07-06T04:00:00Z"  # valid through 2026-07-05, Toronto
    assert ok(send(client, call))["status"] == "sent"
    assert ok(client.get("/core/comms/sendlog", params={"channel": "call"}))[0]["consent_id"] == inquiry["id"]
    clock.set("2026-07-06T14:00:00Z")  # Monday 10:00 Toronto, the day after the exemption's last day
    ok(client.post("/core/comms/suppressions/import", params={"list_date": "2026-07-06"}, content=b"phone\n905-555-0142\n", headers={"Content-Type": "text/csv"}), 201)
    later = draft(client, channel="call", to="905-555-0142", body="")
    detail = refused(send(client, later), 409, "suppressed")
    assert (detail["list"], detail["exemption"], detail["valid_through"]) == ("dncl", "consent_expired", "2026-07-05")

    # 4. an opt-out withdraws every consent of the contact; the internal list then refuses
    stop = ok(client.post("/core/comms/inbound", json={"from": "416 555 0199", "channel": "sms", "body": "STOP"}), 201)
    assert stop["action"] == "opted_out"
    assert ok(client.get(f"/core/consents/{consent['id']}"))["state"] == "withdrawn"
    detail = refused(send(client, draft(client)), 409, "suppressed")
    assert detail["list"] == "internal"
