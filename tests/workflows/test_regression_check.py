"""Workflow 2, the daily regression check: follow-up KPIs drift -> the tripwire throttles the
`followups` domain (a new ladder is refused 409 throttled) -> the operator reviews the baseline,
the recent rate and the drop -> resets with a reason -> ladders are created again.
The KPI events are what completed follow-ups emit; they are recorded through the KPI service
(hundreds of HTTP calls would only slow the test down); every operator step goes through HTTP."""

from __future__ import annotations

from app.core_gov.kpi import service as kpi_service

from . import deal, ok, refused

POLICY = {"metric": "followup_completed", "domain": "followups", "window_events": 20, "baseline_events": 60, "min_events": 20, "max_drop": 0.2, "action": "THROTTLE"}


def completed(db, n: int, *, success: bool) -> None:
    for _ in range(n):
        kpi_service.record(db, metric="followup_completed", domain="followups", value=12.0 if success else 180.0, success=success)


def evaluation(client) -> dict:
    return ok(client.get("/core/regression/state"))["evaluations"]["followup_completed"]


def test_drifting_follow_ups_throttle_the_domain_until_the_operator_resets_it(client, db):
    lead = deal(client, seller_phone="613-555-0157", address="88 Bank Street", city="Ottawa")
    policy = ok(client.post("/core/regression/policies/upsert", json=POLICY))
    assert (policy["window_events"], policy["baseline_events"], policy["min_events"], policy["action"]) == (20, 60, 20, "THROTTLE")

    # 1. a healthy baseline: 80 follow-ups done within two hours of due
    completed(db, 80, success=True)
    e = evaluation(client)
    assert (e["enforced"], e["fired"], e["recent_events"], e["baseline_events"], e["recent_rate"], e["baseline_rate"], e["drop"]) == (True, False, 20, 60, 1.0, 1.0, 0.0)
    assert e["detail"] == "holding: followup_completed in followups drop 0.0% is under 20%"

    # 2. the drift: three late follow-ups keep it under the 20% limit, the fourth fires
    completed(db, 3, success=False)
    e = evaluation(client)
    assert (e["fired"], e["recent_rate"], e["drop"]) == (False, 0.85, 0.15)
    assert ok(client.get("/core/regression/state"))["throttled"] == {}
    completed(db, 1, success=False)
    state = ok(client.get("/core/regression/state"))
    assert list(state["throttled"]) == ["followups"]
    assert (state["evaluations"]["followup_completed"]["fired"], state["evaluations"]["followup_completed"]["drop"]) == (True, 0.2)

    # 3. the throttle holds: a new ladder is refused and nothing is written
    r = client.post("/core/followups/ladder/create", json={"deal_id": lead["id"], "province": "ON", "market": "Ottawa", "owner": "alex"})
    detail = refused(r, 409, "throttled")
    assert (detail["domain"], detail["metric"], detail["since"]) == ("followups", "followup_completed", "2026-01-05T15:00:00+00:00")
    assert ok(client.get("/core/followups/tasks", params={"deal_id": lead["id"]})) == []
    runbook = {i["key"]: i for i in ok(client.get("/core/runbook/status"))["items"]}
    assert runbook["no_throttled_domain"]["ok"] is False and "followups" in runbook["no_throttled_domain"]["detail"]

    # 4. the operator reviews: baseline, recent rate and drop, and the KPI summary behind them
    review = ok(client.get("/core/regression/state"))
    throttle = review["throttled"]["followups"]
    assert (throttle["metric"], throttle["since"]) == ("followup_completed", "2026-01-05T15:00:00Z")
    assert throttle["reason"] == "followup_completed in followups fell from 1.000 to 0.800 (drop 20.0% >= 20%)"
    e = review["evaluations"]["followup_completed"]
    assert (e["baseline_events"], e["baseline_rate"], e["recent_events"], e["recent_rate"], e["drop"], e["max_drop"]) == (60, 1.0, 20, 0.8, 0.2, 0.2)
    day = ok(client.get("/core/kpi/summary", params={"metric": "followup_completed"}))
    assert [(d["day"], d["count"], d["success_events"], round(d["success_rate"], 4)) for d in day] == [("2026-01-05", 84, 84, round(80 / 84, 4))]

    # 5. reset with a reason (a blank one is refused and lifts nothing)
    r = client.post("/core/regression/reset", json={"domain": "followups", "reason": "  "})
    assert r.status_code == 422 and list(ok(client.get("/core/regression/state"))["throttled"]) == ["followups"]
    reset = ok(client.post("/core/regression/reset", json={"domain": "followups", "reason": "the late tasks were the holiday backlog; cleared"}))
    assert reset["throttled"] == {}
    assert reset["last_reset"]["followups"] == {"at": "2026-01-05T15:00:00Z", "reason": "the late tasks were the holiday backlog; cleared"}
    runbook = {i["key"]: i["ok"] for i in ok(client.get("/core/runbook/status"))["items"]}
    assert runbook["no_throttled_domain"] is True

    # 6. ladders work again
    ladder = ok(client.post("/core/followups/ladder/create", json={"deal_id": lead["id"], "province": "ON", "market": "Ottawa", "owner": "alex"}), 201)
    assert len(ladder["tasks"]) == 6 and ladder["contact"] == "+16135550157"
    assert len(ok(client.get("/core/followups/tasks", params={"deal_id": lead["id"], "status": "open"}))) == 6
    audit = ok(client.get("/core/audit", params={"order": "asc", "module": "regression", "action": "transition"}))
    assert [sorted(a["changes"]) for a in audit][-2:] == [["evaluations", "throttled"], ["last_reset", "throttled"]]
