"""Inbound replies: opt-out keywords suppress and stop the ladder; other replies complete it."""

from __future__ import annotations

import orjson
import pytest

from app.core_gov.replies.service import is_opt_out
from app.core_gov.kpi import service as kpi_service

from .conftest import make_deal


def ladder(client, deal_id):
    r = client.post("/core/followups/ladder/create", json={"deal_id": deal_id, "province": "ON", "owner": "sam", "start_at": "2026-01-05T15:00:00Z"})
    assert r.status_code == 201, r.text
    return r.json()


@pytest.mark.parametrize("body", ["STOP", "Stop.", " stop! ", "StopAll", "UNSUBSCRIBE", "cancel", "End", "QUIT", "arret", "ARRÊT", "Arrêt !", "«STOP»"])
def test_opt_out_keywords_in_any_case_with_surrounding_punctuation(body):
    assert is_opt_out(body) is True


@pytest.mark.parametrize("body", ["stop calling me after 8", "please stop", "STOP STOP", "", "stopp", "end?? no, call me"])
def test_other_replies_are_not_opt_outs(body):
    assert is_opt_out(body) is False


def test_stop_from_any_spelling_stops_the_ladder_of_a_lead_stored_another_way(client, data_dir):
    deal = make_deal(client, phone="416-555-0199")
    lad = ladder(client, deal["id"])
    r = client.post("/core/comms/inbound", json={"from": "+1 (416) 555-0199", "channel": "sms", "body": "Stop."})
    assert r.status_code == 201, r.text
    msg = r.json()
    assert msg["from"] == "+14165550199" and msg["action"] == "opted_out" and msg["received_at"] == "2026-01-05T15:00:00Z"
    assert msg["tasks_canceled"] == [t["id"] for t in lad["tasks"]] and msg["tasks_responded"] == []
    sup = client.get("/core/comms/suppressions/check", params={"to": "416-555-0199"}).json()
    assert sup["suppressed"] and sup["suppression"]["id"] == msg["suppression_id"]
    assert (sup["suppression"]["reason"], sup["suppression"]["source"]) == ("opt_out", "inbound")
    tasks = client.get("/core/followups/tasks", params={"deal_id": deal["id"]}).json()
    assert {(t["status"], t["cancel_reason"]) for t in tasks} == {("canceled", "opted_out")}
    # one commit across comms and followups, each module's audit trail names the change
    stored = [orjson.loads(x) for x in (data_dir / "comms" / "inbound.jsonl").read_bytes().splitlines()]
    assert [s["from"] for s in stored] == ["+14165550199"]
    assert client.get("/core/comms/inbound", params={"from": "(416) 555-0199"}).json() == [msg]


def test_a_non_keyword_reply_marks_the_lowest_open_step_responded_and_cancels_the_rest(client, clock):
    deal = make_deal(client)
    lad = ladder(client, deal["id"])
    ids = [t["id"] for t in lad["tasks"]]
    client.post(f"/core/followups/tasks/{ids[0]}/complete", json={"outcome": "no_answer"})
    clock.set("2026-01-05T16:00:00Z")
    r = client.post("/core/comms/inbound", json={"from": "JANE.ROY@example.com", "channel": "email", "body": "Yes, call me tomorrow",
                                                 "received_at": "2026-01-05T15:40:00-00:00"})
    assert r.status_code == 201
    msg = r.json()
    assert msg["action"] == "responded" and msg["tasks_responded"] == [ids[1]] and msg["tasks_canceled"] == ids[2:]
    step2 = client.get(f"/core/followups/tasks/{ids[1]}").json()
    assert (step2["status"], step2["outcome"], step2["completed_at"]) == ("done", "responded", "2026-01-05T15:40:00Z")
    assert client.get("/core/comms/suppressions").json() == []
    kpis = kpi_service.events(client.app.state.storage, metric="followup_completed")
    assert [(e.ref, e.value, e.success) for e in kpis][-1] == (ids[1], 10.0, True)  # due 15:30, answered 15:40


def test_a_reply_from_an_unknown_sender_is_stored_and_does_nothing_else(client):
    r = client.post("/core/comms/inbound", json={"from": "604-555-0123", "channel": "sms", "body": "who is this?"})
    assert r.status_code == 201 and r.json()["action"] == "recorded" and r.json()["tasks_responded"] == []
    assert client.get("/core/comms/inbound", params={"since": "2026-01-05T16:00:00Z"}).json() == []
    assert client.get("/core/comms/inbound").headers["x-total-count"] == "1"


@pytest.mark.parametrize("body, loc", [
    ({"from": "12", "channel": "sms", "body": "STOP"}, ["body", "from"]),
    ({"from": "jane@", "channel": "email", "body": "STOP"}, ["body", "from"]),
    ({"from": "4165550199", "channel": "pigeon", "body": "STOP"}, ["body", "channel"]),
    ({"from": "4165550199", "channel": "sms"}, ["body", "body"]),
    ({"from": "4165550199", "channel": "sms", "body": "STOP", "received_at": "2026-01-05 10:00"}, ["body", "received_at"]),
])
def test_bad_inbound_is_422_naming_the_field_and_writes_nothing(client, data_dir, body, loc):
    r = client.post("/core/comms/inbound", json=body)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc
    assert not (data_dir / "comms" / "inbound.jsonl").exists() and not (data_dir / "comms" / "suppressions.json").exists()
    assert client.get("/core/comms/inbound", params={"from": "nope"}).status_code == 422
