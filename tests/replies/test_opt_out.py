"""replies: the one opt-out rule, run by an inbound opt-out and by the follow-up outcome
`opted_out` alike, in one commit with the follow-ups it cancels; a completed follow-up's KPI
event is recorded after the commit."""

from __future__ import annotations

import orjson

from app.core_gov.replies import service as replies_service
from tests.comms.conftest import make_deal
from tests.followups.test_ladder import complete, ladder


def test_an_inbound_stop_and_an_opted_out_outcome_run_the_same_rule(client, monkeypatch):
    calls: list[tuple[str, str]] = []
    rule = replies_service.opt_out

    def spy(db, *, contact, source):
        calls.append((contact, source))
        return rule(db, contact=contact, source=source)

    monkeypatch.setattr(replies_service, "opt_out", spy)
    first = ladder(client, make_deal(client, phone="416-555-0199")["id"], start_at="2026-01-05T15:00:00Z")
    r = complete(client, first["tasks"][0]["id"], "opted_out")
    assert r.status_code == 200, r.text
    second = ladder(client, make_deal(client, phone="905-555-0142", address="9 Oak Ave")["id"], start_at="2026-01-05T15:00:00Z")
    r = client.post("/core/comms/inbound", json={"from": "(905) 555-0142", "channel": "sms", "body": "STOP"})
    assert r.status_code == 201 and r.json()["action"] == "opted_out"
    assert calls == [
        ("+14165550199", f"followup:{first['tasks'][0]['id']}"), ("jane.roy@example.com", f"followup:{first['tasks'][0]['id']}"),
        ("+19055550142", "inbound"),
    ]
    for lad in (first, second):
        statuses = [t["status"] for t in client.get("/core/followups/tasks", params={"ladder_id": lad["ladder_id"]}).json()]
        assert statuses[1:] == ["canceled"] * 5
    reasons = {s["value"]: s["reason"] for s in client.get("/core/comms/suppressions").json()}
    assert reasons == {"+14165550199": "opt_out", "jane.roy@example.com": "opt_out", "+19055550142": "opt_out"}


def test_an_opt_out_is_one_commit_a_refusal_writes_neither_module(client, data_dir):
    lad = ladder(client, make_deal(client, phone="416-555-0199")["id"], start_at="2026-01-05T15:00:00Z")
    task = lad["tasks"][0]["id"]
    assert complete(client, task, "opted_out").status_code == 200
    comms_audit = (data_dir / "comms" / "audit.jsonl").read_bytes()
    followups_audit = (data_dir / "followups" / "audit.jsonl").read_bytes()
    again = complete(client, task, "opted_out")
    assert again.status_code == 409 and again.json()["detail"]["code"] == "already_completed"
    assert (data_dir / "comms" / "audit.jsonl").read_bytes() == comms_audit
    assert (data_dir / "followups" / "audit.jsonl").read_bytes() == followups_audit


def test_a_reply_completes_the_ladder_and_its_kpi_event_follows_the_commit(client, data_dir):
    lad = ladder(client, make_deal(client, phone="416-555-0199")["id"], start_at="2026-01-05T15:00:00Z")
    r = client.post("/core/comms/inbound", json={"from": "416-555-0199", "channel": "sms", "body": "Yes, call me"})
    assert r.status_code == 201 and r.json()["tasks_responded"] == [lad["tasks"][0]["id"]]
    events = [orjson.loads(line) for line in (data_dir / "kpi" / "events.jsonl").read_bytes().splitlines()]
    assert [(e["metric"], e["ref"], e["success"]) for e in events][-1] == ("followup_completed", lad["tasks"][0]["id"], True)


def test_a_reply_that_is_not_an_opt_out_records_an_implied_inquiry_from_its_time(client, clock):
    r = client.post("/core/comms/inbound", json={"from": "(416) 555-0199", "channel": "sms", "body": "Is your offer still open?", "received_at": "2026-01-05T14:00:00Z"})
    assert r.status_code == 201, r.text
    [c] = client.get("/core/consents", params={"contact": "416-555-0199"}).json()
    assert (c["kind"], c["obtained_at"], c["method"], c["source"], c["proof"]) == (
        "implied_inquiry", "2026-01-05T14:00:00Z", "inbound sms", "inbound message", r.json()["id"])
    assert (c["casl_expires_at"], c["state"]) == ("2026-07-06T04:00:00Z", "valid")
    r = client.post("/core/comms/inbound", json={"from": "(416) 555-0199", "channel": "sms", "body": "Stop"})
    assert r.status_code == 201 and r.json()["action"] == "opted_out"
    [c] = client.get("/core/consents", params={"contact": "416-555-0199"}).json()
    assert (c["state"], c["withdrawn_at"]) == ("withdrawn", "2026-01-05T15:00:00Z")


def test_an_opted_out_outcome_withdraws_the_consents_of_the_tasks_phone_and_email(client):
    deal = make_deal(client, phone="416-555-0199")
    for contact in ("416-555-0199", "jane.roy@example.com"):
        client.post("/core/consents", json={"contact": contact, "kind": "implied_inquiry", "obtained_at": "2026-01-04T15:00:00Z", "method": "web form"})
    first = ladder(client, deal["id"], start_at="2026-01-05T15:00:00Z")
    assert complete(client, first["tasks"][0]["id"], "opted_out").status_code == 200
    assert {c["state"] for c in client.get("/core/consents").json()} == {"withdrawn"}


def test_a_reply_from_the_future_is_422_and_records_nothing(client, data_dir):
    r = client.post("/core/comms/inbound", json={"from": "416-555-0199", "channel": "sms", "body": "hi", "received_at": "2026-01-06T15:00:00Z"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "received_at"]
    assert not (data_dir / "consent").exists() and not (data_dir / "comms" / "inbound.jsonl").exists()
