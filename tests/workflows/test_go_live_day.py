"""Workflow 5, go-live day: a fresh install's runbook blockers -> each fixed in turn -> go-live on
-> a KILL_SWITCH tripwire (a compliance KPI drifting) stops every execution action -> an approved
governance decision -> the kill switch released citing it. The compliance KPI events are what the
comms checks emit; they are recorded through the KPI service, every operator step through HTTP."""

from __future__ import annotations

from app.core_gov.kpi import service as kpi_service

from . import IDENTITY, failing_blockers, ok, refused

FRESH = ["global_risk_policy", "heimdall_policies", "regression_policies", "sender_identity"]
TRIPWIRE = {"metric": "contact_compliance", "domain": "comms", "window_events": 10, "baseline_events": 20, "min_events": 10, "max_drop": 0.2, "action": "KILL_SWITCH"}


def compliance(db, n: int, *, success: bool) -> None:
    for _ in range(n):
        kpi_service.record(db, metric="contact_compliance", domain="comms", success=success)


def test_go_live_day_from_a_fresh_install_through_a_tripped_kill_switch(client, db):
    # 1. a fresh install: go-live off, four blockers, enable refused naming them
    assert ok(client.get("/core/golive/state"))["enabled"] is False
    assert failing_blockers(client) == FRESH
    detail = refused(client.post("/core/golive/enable", json={"reason": "first day"}), 412, "runbook_blockers")
    assert [b["key"] for b in detail["blockers"]] == FRESH

    # 2. fix each blocker; the runbook shows it cleared
    risk = ok(client.post("/core/risk/policies/upsert", json={"engine": "GLOBAL", "max_daily_loss": 25000, "max_daily_exposure": 1000000, "max_actions_per_day": 60}))
    assert (risk["engine"], risk["max_daily_loss"], risk["enabled"]) == ("GLOBAL", 25000.0, True)
    assert failing_blockers(client) == FRESH[1:]
    assert ok(client.post("/core/heimdall/policies/upsert", json={"domain": "offers"}))["prod_enabled"] is False
    assert failing_blockers(client) == FRESH[2:]
    tripwire = ok(client.post("/core/regression/policies/upsert", json=TRIPWIRE))
    assert (tripwire["metric"], tripwire["action"], tripwire["enabled"]) == ("contact_compliance", "KILL_SWITCH", True)
    assert ok(client.post("/core/regression/policies/upsert", json={"metric": "followup_completed", "domain": "followups"}))["action"] == "THROTTLE"
    assert failing_blockers(client) == FRESH[3:]
    assert ok(client.put("/core/comms/identity", json=IDENTITY))["sender_name"] == "Valhalla Homes Inc."
    assert failing_blockers(client) == []
    assert ok(client.get("/core/golive/checklist"))["ok_to_enable_go_live"] is True

    # 3. go live
    state = ok(client.post("/core/golive/enable", json={"reason": "runbook clear; ON and AB first"}))
    assert (state["enabled"], state["kill_switch"], state["reason"], state["changed_by"]) == (True, False, "runbook clear; ON and AB first", "operator")
    assert ok(client.get("/core/followups/due"))["halted"] is None

    # 4. the compliance KPI drifts: 30 clean checks, then failures; the second failure trips the kill switch
    compliance(db, 30, success=True)
    evaluation = ok(client.get("/core/regression/state"))["evaluations"]["contact_compliance"]
    assert (evaluation["enforced"], evaluation["fired"], evaluation["drop"]) == (True, False, 0.0)
    compliance(db, 1, success=False)
    assert ok(client.get("/core/golive/state"))["kill_switch"] is False
    compliance(db, 1, success=False)
    state = ok(client.get("/core/golive/state"))
    assert (state["enabled"], state["kill_switch"]) == (True, True)
    assert state["reason"] == "regression tripwire: contact_compliance in comms fell from 1.000 to 0.800 (drop 20.0% >= 20%)"
    locked = refused(client.post("/core/risk/reserve", json={"engine": "WHOLESALE", "amount": 1000, "ref": "test"}), 423, "kill_switch_engaged")
    assert locked["reason"] == state["reason"]
    assert ok(client.get("/core/followups/due"))["halted"] == "kill_switch_engaged"
    assert failing_blockers(client) == ["kill_switch_clear"]

    # 5. a governance decision: proposed (not enough to release), then approved
    decision = ok(client.post("/core/governance/decisions", json={
        "title": "Release the kill switch after the compliance review", "kind": "kill_switch", "subject_refs": ["golive:kill_switch", "kpi:contact_compliance"],
        "rationale": "Two SMS were queued before the Alberta window changed; the queue is fixed and the windows re-checked.",
    }), 201)
    assert (decision["status"], decision["decided_by"]) == ("proposed", None)
    refused(client.post("/core/golive/kill-switch/release", json={"reason": "reviewed", "decision_id": decision["id"]}), 409, "decision_not_approved")
    assert ok(client.get("/core/golive/state"))["kill_switch"] is True
    approved = ok(client.post(f"/core/governance/decisions/{decision['id']}/approve", json={"reason": "queue fix verified"}))
    assert (approved["status"], approved["decided_by"], approved["decided_at"]) == ("approved", "operator", "2026-01-05T15:00:00Z")

    # 6. release, citing the approved decision: execution resumes
    released = ok(client.post("/core/golive/kill-switch/release", json={"reason": "compliance review done", "decision_id": decision["id"]}))
    assert (released["enabled"], released["kill_switch"], released["reason"], released["decision_id"]) == (True, False, "compliance review done", decision["id"])
    assert ok(client.get("/core/followups/due"))["halted"] is None
    assert ok(client.post("/core/risk/reserve", json={"engine": "WHOLESALE", "amount": 1000, "ref": "test"}), 201)["status"] == "open"
    assert failing_blockers(client) == []
    history = [a["changes"] for a in ok(client.get("/core/audit", params={"order": "asc", "module": "golive", "action": "transition"}))]
    assert [(c.get("enabled", [None, None])[1], c.get("kill_switch", [None, None])[1]) for c in history] == [(True, None), (None, True), (None, False)]
