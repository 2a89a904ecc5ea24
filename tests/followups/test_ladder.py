"""The follow-up ladder: a full lead-to-ladder day, outcomes, the due batch, SLA figures."""

from __future__ import annotations

import orjson
import pytest

from app.core_gov.golive import service as golive_service
from app.core_gov.kpi import service as kpi_service
from app.core_gov.regression import service as regression_service
from app.core_gov.regression.schemas import RegressionPolicyUpsert
from tests.comms.conftest import make_deal, make_draft

FRIDAY_1950_TORONTO = "2026-01-10T00:50:00Z"


def ladder(client, deal_id, start_at=FRIDAY_1950_TORONTO, **fields):
    r = client.post("/core/followups/ladder/create", json={"deal_id": deal_id, "province": "ON", "owner": "sam", "start_at": start_at, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def complete(client, task_id, outcome, note=None):
    return client.post(f"/core/followups/tasks/{task_id}/complete", json={"outcome": outcome, "note": note})


def test_a_lead_created_friday_1950_gets_each_step_moved_into_the_window(client, clock, data_dir):
    clock.set(FRIDAY_1950_TORONTO)
    deal = make_deal(client, phone="416-555-0199")
    lad = ladder(client, deal["id"], start_at=None)
    assert lad["contact"] == "+14165550199" and lad["email"] == "jane.roy@example.com"
    assert [(t["step"], t["channel"], t["nominal_at"], t["due_at"]) for t in lad["tasks"]] == [
        (1, "SMS", "2026-01-10T00:50:00Z", "2026-01-10T00:50:00Z"),  # Fri 19:50: inside Mon-Fri 09-20
        (2, "CALL", "2026-01-10T01:20:00Z", "2026-01-10T15:00:00Z"),  # Fri 20:20 -> Sat 10:00
        (3, "SMS", "2026-01-10T03:50:00Z", "2026-01-10T17:30:00Z"),  # Fri 22:50 -> Sat 10:00 + 2 h 30 after step 2
        (4, "CALL", "2026-01-11T00:50:00Z", "2026-01-12T14:00:00Z"),  # Sat 19:50 -> Mon 09:00 (no Sunday)
        (5, "SMS", "2026-01-13T00:50:00Z", "2026-01-14T14:00:00Z"),  # Mon 19:50, but 2 days after step 4: Wed 09:00
        (6, "CALL", "2026-01-17T00:50:00Z", "2026-01-19T14:00:00Z"),  # 4 days after step 5: Sun 09:00 -> Mon 09:00
    ]
    assert {t["status"] for t in lad["tasks"]} == {"open"} and {t["owner"] for t in lad["tasks"]} == {"sam"}
    on_disk = orjson.loads((data_dir / "followups" / "tasks.json").read_bytes())
    assert [t["id"] for t in on_disk] == [t["id"] for t in lad["tasks"]]
    events = kpi_service.events(client.app.state.storage, metric="ladder_created")
    assert [(e.domain, e.value, e.ref) for e in events] == [("followups", 6.0, lad["ladder_id"])]


def test_a_ladder_started_on_a_weekend_keeps_its_spacing_instead_of_stacking_at_monday_0900(client):
    deal = make_deal(client)
    lad = ladder(client, deal["id"], start_at="2026-01-11T00:00:00Z")  # Saturday 19:00 in Toronto
    assert [(t["step"], t["nominal_at"], t["due_at"]) for t in lad["tasks"]] == [
        (1, "2026-01-11T00:00:00Z", "2026-01-12T14:00:00Z"),  # Sat 19:00 -> Mon 09:00
        (2, "2026-01-11T00:30:00Z", "2026-01-12T14:30:00Z"),  # 30 min after step 1
        (3, "2026-01-11T03:00:00Z", "2026-01-12T17:00:00Z"),  # 2 h 30 after step 2
        (4, "2026-01-12T00:00:00Z", "2026-01-13T14:00:00Z"),  # 21 h after step 3: Tue 09:00
        (5, "2026-01-14T00:00:00Z", "2026-01-15T14:00:00Z"),  # 2 days after step 4: Thu 09:00
        (6, "2026-01-18T00:00:00Z", "2026-01-19T14:00:00Z"),  # 4 days after step 5: Mon 09:00
    ]


def test_the_ladder_waits_for_the_window_where_the_sellers_number_rings(client, live, consented, dncl):
    deal = make_deal(client, phone="604-555-0189")
    lad = ladder(client, deal["id"], start_at="2026-01-05T16:30:00Z")  # Monday 11:30 Toronto, 08:30 Vancouver
    assert [t["due_at"] for t in lad["tasks"][:2]] == ["2026-01-05T17:00:00Z", "2026-01-05T17:30:00Z"]
    first = lad["tasks"][0]["id"]
    due = client.get("/core/followups/due", params={"as_of": "2026-01-06T14:30:00Z"}).json()  # Tue 09:30 Toronto, 06:30 Vancouver
    assert (due["tasks"], due["held_back"][0]) == ([], {"task_id": first, "reason": "outside_contact_window", "detail": None})
    due = client.get("/core/followups/due", params={"as_of": "2026-01-06T17:00:00Z"}).json()
    assert [t["id"] for t in due["tasks"]][:1] == [first]


def test_the_due_batch_through_that_weekend(client, clock, live, consented, dncl):
    deal = make_deal(client)
    lad = ladder(client, deal["id"])
    ids = [t["id"] for t in lad["tasks"]]
    due = client.get("/core/followups/due", params={"as_of": "2026-01-10T00:55:00Z"}).json()
    assert due["halted"] is None and [t["id"] for t in due["tasks"]] == ids[:1] and due["held_back"] == []
    # Saturday 18:30 in Toronto: steps 1-3 are due but the window closed at 18:00.
    due = client.get("/core/followups/due", params={"as_of": "2026-01-10T23:30:00Z"}).json()
    assert due["tasks"] == [] and due["held_back"] == [{"task_id": i, "reason": "outside_contact_window", "detail": None} for i in ids[:3]]
    due = client.get("/core/followups/due", params={"as_of": "2026-01-12T14:00:00Z", "limit": 2}).json()
    assert [t["id"] for t in due["tasks"]] == ids[:2]  # oldest first, limited
    assert client.get("/core/followups/due", params={"as_of": "2026-01-12T14:00:00Z", "owner": "kim"}).json()["tasks"] == []
    assert client.get("/core/followups/due", params={"as_of": "2026-01-12"}).status_code == 422


def test_due_is_halted_while_go_live_is_off_or_the_kill_switch_is_engaged(client, db):
    deal = make_deal(client)
    ladder(client, deal["id"])
    due = client.get("/core/followups/due", params={"as_of": "2026-01-12T15:00:00Z"}).json()
    assert due == {"halted": "go_live_disabled", "as_of": "2026-01-12T15:00:00Z", "tasks": [], "held_back": []}
    golive_service.engage_kill_switch(db, reason="complaint")
    assert client.get("/core/followups/due").json()["halted"] == "kill_switch_engaged"


def test_due_holds_back_suppressed_contacts_by_any_spelling(client, live, consented, dncl):
    deal = make_deal(client, phone="+1 416 555 0199")
    other = make_deal(client, phone="905-555-0123", address="9 Oak Ave")
    a = ladder(client, deal["id"], start_at="2026-01-05T15:00:00Z")
    b = ladder(client, other["id"], start_at="2026-01-05T15:00:00Z")
    client.post("/core/comms/suppressions", json={"value": "(416) 555-0199", "reason": "manual"})
    due = client.get("/core/followups/due").json()
    assert [t["id"] for t in due["tasks"]] == [b["tasks"][0]["id"]]
    assert due["held_back"] == [{"task_id": a["tasks"][0]["id"], "reason": "suppressed", "detail": None}]


def test_outcomes_cancel_the_rest_of_the_ladder_only_when_they_end_it(client, clock):
    deal = make_deal(client)
    lad = ladder(client, deal["id"], start_at="2026-01-05T15:00:00Z")
    t = [x["id"] for x in lad["tasks"]]
    r = complete(client, t[0], "no_answer", "voicemail")
    assert r.status_code == 200 and r.json()["task"]["status"] == "done" and r.json()["task"]["outcome"] == "no_answer"
    assert r.json()["canceled"] == [] and r.json()["task"]["completed_at"] == "2026-01-05T15:00:00Z"
    again = complete(client, t[0], "done")
    assert again.status_code == 409 and again.json()["detail"]["code"] == "already_completed"
    r = complete(client, t[1], "dead")
    assert [c["id"] for c in r.json()["canceled"]] == t[2:]
    statuses = [(x["step"], x["status"], x["cancel_reason"]) for x in client.get("/core/followups/tasks", params={"deal_id": deal["id"]}).json()]
    assert statuses == [(1, "done", None), (2, "done", None)] + [(s, "canceled", "dead") for s in range(3, 7)]
    r = complete(client, t[3], "done")
    assert r.status_code == 409 and r.json()["detail"]["code"] == "task_canceled"


def test_recording_an_outcome_is_never_blocked_by_go_live(client, db):
    deal = make_deal(client)
    lad = ladder(client, deal["id"])
    golive_service.engage_kill_switch(db, reason="incident")
    r = complete(client, lad["tasks"][0]["id"], "responded")
    assert r.status_code == 200 and len(r.json()["canceled"]) == 5


def test_opted_out_stops_the_ladder_and_blocks_the_next_mark_sent(client, live, identity, data_dir):
    deal = make_deal(client, phone="416-555-0199")
    lad = ladder(client, deal["id"], start_at="2026-01-05T15:00:00Z")
    draft = make_draft(client, to="(416) 555-0199", deal_id=deal["id"])
    r = complete(client, lad["tasks"][0]["id"], "opted_out", "asked not to be contacted")
    assert r.status_code == 200 and len(r.json()["canceled"]) == 5 and len(r.json()["suppression_ids"]) == 2
    sups = {s["value"]: (s["reason"], s["source"]) for s in client.get("/core/comms/suppressions").json()}
    src = f"followup:{lad['tasks'][0]['id']}"
    assert sups == {"+14165550199": ("opt_out", src), "jane.roy@example.com": ("opt_out", src)}
    assert {t["status"] for t in client.get("/core/followups/tasks", params={"ladder_id": lad["ladder_id"]}).json()[1:]} == {"canceled"}
    refused = client.post(f"/core/comms/drafts/{draft['id']}/mark_sent", json={"override_reason": "try anyway"})
    assert refused.status_code == 409 and refused.json()["detail"]["code"] == "suppressed"
    assert not (data_dir / "comms" / "sendlog.jsonl").exists()


def test_sla_figures_from_known_completions(client, clock):
    on = make_deal(client)
    bc = make_deal(client, phone="604-555-0123", address="9 Oak Ave", city="Victoria", province="BC")
    a = ladder(client, on["id"], start_at="2026-01-05T15:00:00Z")["tasks"]  # due 15:00, 15:30, 18:00 ...
    b = client.post("/core/followups/ladder/create", json={"deal_id": bc["id"], "province": "BC", "owner": "sam", "start_at": "2026-01-05T18:00:00Z"}).json()["tasks"]
    clock.set("2026-01-05T15:20:00Z")
    complete(client, a[0]["id"], "done")  # 20 min late: within 30 min
    clock.set("2026-01-05T16:30:00Z")
    complete(client, a[1]["id"], "no_answer")  # due 15:30, 60 min late: within 2 h
    clock.set("2026-01-05T21:00:00Z")
    complete(client, a[2]["id"], "no_answer")  # due 18:00, 3 h late: neither
    complete(client, b[0]["id"], "done")  # BC due 18:00Z (10:00 Vancouver), 3 h late
    clock.set("2026-01-05T21:10:00Z")
    complete(client, b[1]["id"], "done")  # due 18:30Z, 2 h 40 late
    sla = client.get("/core/followups/sla").json()
    assert sla == {
        "count": 5, "within_30m": 0.2, "within_2h": 0.4, "since": None,
        "by_province": {"BC": {"count": 2, "within_30m": 0.0, "within_2h": 0.0}, "ON": {"count": 3, "within_30m": 0.3333, "within_2h": 0.6667}},
    }
    later = client.get("/core/followups/sla", params={"since": "2026-01-05T21:00:00Z"}).json()
    assert (later["count"], later["within_2h"]) == (3, 0.0)
    assert client.get("/core/followups/sla", params={"since": "2027-01-01T00:00:00Z"}).json() == {
        "count": 0, "within_30m": None, "within_2h": None, "since": "2027-01-01T00:00:00Z", "by_province": {},
    }
    kpis = kpi_service.events(client.app.state.storage, metric="followup_completed")
    assert [(e.value, e.success) for e in kpis] == [(20.0, True), (60.0, True), (180.0, False), (180.0, False), (160.0, False)]


def test_ladder_refused_when_followups_are_throttled(client, db):
    regression_service.upsert_policy(db, RegressionPolicyUpsert(
        metric="followup_completed", window_events=2, baseline_events=2, min_events=2, max_drop=0.2, action="THROTTLE", domain="followups",
    ))
    for ok in (True, True, False, False):
        kpi_service.record(db, metric="followup_completed", domain="followups", success=ok)
    deal = make_deal(client)
    r = client.post("/core/followups/ladder/create", json={"deal_id": deal["id"], "province": "ON", "owner": "sam"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "throttled" and r.json()["detail"]["domain"] == "followups"
    assert client.get("/core/followups/tasks").json() == []


def test_a_deal_gets_one_open_ladder_at_a_time(client):
    deal = make_deal(client)
    first = ladder(client, deal["id"])
    r = client.post("/core/followups/ladder/create", json={"deal_id": deal["id"], "province": "ON", "owner": "sam"})
    assert r.status_code == 409 and r.json()["detail"] == {
        "code": "ladder_open", "ladder_id": first["ladder_id"],
        "message": f"deal {deal['id']} already has open follow-ups (ladder {first['ladder_id']})",
    }


@pytest.mark.parametrize("body, loc", [
    ({"deal_id": "dl_nope", "province": "ON", "owner": "sam"}, ["body", "deal_id"]),
    ({"province": "ZZ", "owner": "sam"}, ["body", "province"]),
    ({"province": "ON"}, ["body", "owner"]),
    ({"province": "ON", "owner": "sam", "start_at": "2026-01-09T19:50:00"}, ["body", "start_at"]),
])
def test_bad_ladder_input_is_422_naming_the_field_and_writes_nothing(client, data_dir, body, loc):
    deal = make_deal(client)
    r = client.post("/core/followups/ladder/create", json={"deal_id": deal["id"], **body})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc
    assert not (data_dir / "followups" / "tasks.json").exists()


def test_a_deal_without_a_seller_phone_cannot_get_a_ladder(client, data_dir):
    deal = make_deal(client, phone=None)
    r = client.post("/core/followups/ladder/create", json={"deal_id": deal["id"], "province": "ON", "owner": "sam"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "deal_id"] and "seller phone" in r.json()["detail"][0]["msg"]


def test_unknown_outcome_is_422_and_unknown_task_404(client):
    deal = make_deal(client)
    t = ladder(client, deal["id"])["tasks"][0]
    r = complete(client, t["id"], "maybe")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "outcome"]
    assert client.get(f"/core/followups/tasks/{t['id']}").json()["status"] == "open"
    assert complete(client, "fu_nope", "done").status_code == 404
    assert client.get("/core/followups/tasks/fu_nope").status_code == 404
    assert client.get("/core/followups/tasks", params={"status": "closed"}).status_code == 422


def test_due_holds_back_what_mark_sent_would_refuse_for_consent_with_the_reason(client, clock, live, dncl):
    """The same decision as mark_sent: an SMS step without a CASL consent, a call step to a
    DNCL-listed number whose inquiry lapsed, each with mark_sent's refusal."""
    from tests.comms.conftest import dncl_list, import_dncl, record_consent

    clock.set("2025-07-04T15:00:00Z")
    record_consent(client, "416-555-0199", kind="implied_inquiry", obtained_at="2025-07-04T14:00:00Z")  # through 2026-01-04
    deal = make_deal(client)
    lad = ladder(client, deal["id"], start_at="2026-01-05T15:00:00Z")  # Monday 10:00 Toronto
    clock.set("2026-01-05T15:00:00Z")
    assert import_dncl(client, dncl_list("416-555-0199")).status_code == 201
    due = client.get("/core/followups/due", params={"as_of": "2026-01-05T15:31:00Z"}).json()
    assert due["tasks"] == []
    sms, call = due["held_back"]
    assert (sms["task_id"], sms["reason"], sms["detail"]["code"]) == (lad["tasks"][0]["id"], "consent_expired", "consent_expired")
    assert (sms["detail"]["valid_through"], sms["detail"]["expired_at"]) == ("2026-01-04", "2026-01-05T05:00:00Z")
    assert (call["task_id"], call["reason"], call["detail"]["list"], call["detail"]["exemption"]) == (lad["tasks"][1]["id"], "suppressed", "dncl", "consent_expired")
    record_consent(client, "416-555-0199", kind="implied_inquiry", obtained_at="2026-01-05T14:00:00Z")
    due = client.get("/core/followups/due", params={"as_of": "2026-01-05T15:31:00Z"}).json()
    assert [t["id"] for t in due["tasks"]] == [t["id"] for t in lad["tasks"][:2]] and due["held_back"] == []
