"""Workflow 3, Friday's Heimdall promotion: a week of sandbox trials for the buyer-matching domain
-> its scorecard -> promote (refused until the window holds enough trials) -> a recommendation
that passes every gate (gate_pass, prod_eligible) while a timid one is still held back."""

from __future__ import annotations

from . import ok, refused

POLICY = {"domain": "dispo", "min_confidence": 0.9, "min_sandbox_trials": 20, "min_success_rate": 0.8, "window_days": 30}
# Monday to Friday: (successes, failures) of the sandbox runs that day
WEEK = [("2026-01-05T20:00:00Z", 4, 1), ("2026-01-06T20:00:00Z", 5, 0), ("2026-01-07T20:00:00Z", 4, 1), ("2026-01-08T20:00:00Z", 4, 1), ("2026-01-09T20:00:00Z", 4, 1)]


def test_a_week_of_sandbox_trials_earns_the_domain_production(client, clock):
    policy = ok(client.post("/core/heimdall/policies/upsert", json=POLICY))
    assert (policy["domain"], policy["prod_enabled"], policy["min_sandbox_trials"]) == ("dispo", False, 20)
    held = ok(client.post("/core/heimdall/recommend", json={"domain": "dispo", "confidence": 0.95, "payload": {"deal_id": "dl_demo"}}), 201)
    assert (held["gate_reason"], held["prod_eligible"], held["window_trials"]) == ("prod_disabled", False, 0)
    detail = refused(client.post("/core/heimdall/promote", json={"domain": "dispo"}), 409, "insufficient_sandbox_trials")
    assert (detail["trials"], detail["min_sandbox_trials"]) == (0, 20)

    # 1. the sandbox runs, one batch each evening
    for at, good, bad in WEEK:
        clock.set(at)
        for i in range(good + bad):
            confidence = 0.94 if i < good else 0.78
            trial = ok(client.post("/core/heimdall/trials", json={"domain": "dispo", "success": i < good, "confidence": confidence}), 201)
            assert (trial["at"], trial["success"]) == (at, i < good)
    trials = ok(client.get("/core/heimdall/trials", params={"domain": "dispo"}))
    assert (len(trials), sum(t["success"] for t in trials)) == (25, 21)

    # 2. Friday afternoon: the scorecard over the rolling 30-day window
    clock.set("2026-01-09T21:00:00Z")
    card = ok(client.get("/core/heimdall/scorecard", params={"domain": "dispo"}))[0]
    assert (card["trials"], card["successes"], card["success_rate"], card["prod_enabled"], card["has_policy"]) == (25, 21, 0.84, False, True)
    assert round(card["mean_confidence"], 4) == round((21 * 0.94 + 4 * 0.78) / 25, 4)
    assert [(d["day"], d["trials"], d["successes"]) for d in card["daily"]] == [
        ("2026-01-05", 5, 4), ("2026-01-06", 5, 5), ("2026-01-07", 5, 4), ("2026-01-08", 5, 4), ("2026-01-09", 5, 4),
    ]

    # 3. promote: 25 trials >= 20 and 84% >= 80%
    promoted = ok(client.post("/core/heimdall/promote", json={"domain": "dispo"}))
    assert (promoted["prod_enabled"], promoted["version"]) == (True, 2)
    assert ok(client.get("/core/heimdall/scorecard", params={"domain": "dispo"}))[0]["prod_enabled"] is True

    # 4. a confident recommendation passes every gate; a timid one is still held back
    rec = ok(client.post("/core/heimdall/recommend", json={"domain": "dispo", "confidence": 0.93, "payload": {"deal_id": "dl_demo", "buyer_id": "dbuy_demo"}}), 201)
    assert (rec["gate_reason"], rec["prod_eligible"], rec["window_trials"], rec["window_success_rate"]) == ("gate_pass", True, 25, 0.84)
    timid = ok(client.post("/core/heimdall/recommend", json={"domain": "dispo", "confidence": 0.85}), 201)
    assert (timid["gate_reason"], timid["prod_eligible"]) == ("confidence_below_threshold", False)
    eligible = ok(client.get("/core/heimdall/recommendations", params={"domain": "dispo", "prod_eligible": True}))
    assert [r["id"] for r in eligible] == [rec["id"]]
    audit = ok(client.get("/core/audit", params={"module": "heimdall", "action": "transition"}))
    assert [a["changes"]["prod_enabled"] for a in audit] == [[False, True]]
