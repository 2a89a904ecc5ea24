"""The regression tripwire: windows, rates, enforcement minimums, throttle, reset, kill switch."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import pytest

from app.core_gov.errors import Conflict
from app.core_gov.kpi import service as kpi_service
from app.core_gov.kpi import store as kpi_store
from app.core_gov.regression import service


def policy(client, **fields):
    body = {"metric": "followup_completed", "domain": "followups", "action": "THROTTLE", **fields}
    r = client.post("/core/regression/policies/upsert", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def _count(db):
    return len(db.entries(kpi_store.events))


def _at(i):
    """The i-th event's time: one second apart from 10:00Z, before the frozen now (15:00Z)."""
    return datetime(2026, 1, 5, 10, tzinfo=timezone.utc) + timedelta(seconds=i)


def record(db, n, *, success=None, value=1.0, metric="followup_completed", domain="followups"):
    """Through the service: each event is appended, then evaluated."""
    for _ in range(n):
        kpi_service.record(db, metric=metric, domain=domain, success=success, value=value, at=_at(_count(db)))


def backfill(db, n, *, success=None, value=1.0, metric="followup_completed", domain="followups", pattern=None):
    """Hand-append events to the log (fast, no evaluation): the operator may edit files."""
    start = _count(db)
    path = db.data_dir / "kpi" / "events.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as f:
        for i in range(n):
            ok = pattern[i % len(pattern)] if pattern else success
            row = {"id": f"kpe_seed{start + i}", "at": _at(start + i).isoformat(), "metric": metric, "domain": domain, "value": value, "success": ok, "ref": None}
            f.write(orjson.dumps(row) + b"\n")


def test_a_half_success_window_after_a_full_baseline_throttles_the_domain(client, db, data_dir):
    policy(client)
    backfill(db, 200, success=True)
    backfill(db, 49, pattern=[True, False])  # 25 successes, 24 failures
    assert service.throttled_domains(db) == []  # hand-appended events are evaluated on the next record or evaluate
    r = client.post("/core/kpi/events", json={"metric": "followup_completed", "domain": "followups", "success": False})
    assert r.status_code == 201
    ev = client.get("/core/regression/state").json()["evaluations"]["followup_completed"]
    assert {k: ev[k] for k in ("rate_kind", "recent_events", "baseline_events", "recent_rate", "baseline_rate", "drop", "enforced", "fired")} == {
        "rate_kind": "success_rate", "recent_events": 50, "baseline_events": 200, "recent_rate": 0.5,
        "baseline_rate": 1.0, "drop": 0.5, "enforced": True, "fired": True,
    }
    assert service.is_throttled(db, "followups") and service.throttled_domains(db) == ["followups"]
    with pytest.raises(Conflict) as refused:
        service.require_not_throttled(db, "followups")
    assert refused.value.status_code == 409 and refused.value.code == "throttled" and refused.value.detail["domain"] == "followups"
    service.require_not_throttled(db, "offers")  # another domain is untouched
    on_disk = orjson.loads((data_dir / "regression" / "state.json").read_bytes())
    assert on_disk["throttled"]["followups"]["metric"] == "followup_completed"


def test_it_fires_exactly_at_max_drop_and_not_below(client, db, data_dir):
    policy(client)
    backfill(db, 241, success=True)
    backfill(db, 8, success=False)
    record(db, 1, success=False)  # recent 41/50 = 0.82: drop 0.18
    ev = service.evaluate(db)[0]
    assert (ev.recent_rate, ev.drop, ev.fired) == (0.82, 0.18, False) and not service.is_throttled(db, "followups")
    record(db, 1, success=False)  # recent 40/50 = 0.80 over a baseline still at 1.0: drop 0.20
    ev = service.state(db).evaluations["followup_completed"]
    assert (ev.recent_rate, ev.baseline_rate, ev.drop, ev.fired) == (0.8, 1.0, 0.2, True)
    assert service.is_throttled(db, "followups")


def test_too_few_events_enforce_nothing_and_the_state_says_why(client, db, data_dir):
    policy(client)
    backfill(db, 60, success=False)
    r = client.post("/core/regression/evaluate")
    assert r.status_code == 200
    ev = r.json()[0]
    assert (ev["recent_events"], ev["baseline_events"], ev["enforced"], ev["fired"]) == (50, 10, False, False)
    assert ev["detail"] == "not enforced: too few events of followup_completed in followups: 50 recent and 10 baseline, each needs at least 50"
    assert client.get("/core/regression/state").json()["evaluations"]["followup_completed"]["detail"] == ev["detail"]
    assert service.throttled_domains(db) == []


def test_without_success_flags_the_rate_is_the_mean_value(client, db, data_dir):
    policy(client, metric="offer_generated", domain="offers", window_events=10, baseline_events=20, min_events=10, max_drop=0.25)
    backfill(db, 20, value=10, metric="offer_generated", domain="offers")
    backfill(db, 9, value=8, metric="offer_generated", domain="offers")
    record(db, 1, value=8, metric="offer_generated", domain="offers")
    ev = service.state(db).evaluations["offer_generated"]
    assert (ev.rate_kind, ev.baseline_rate, ev.recent_rate, ev.drop, ev.fired) == ("mean_value", 10.0, 8.0, 0.2, False)
    backfill(db, 9, value=6, metric="offer_generated", domain="offers")
    record(db, 1, value=6, metric="offer_generated", domain="offers")  # baseline 10 x 10 and 10 x 8: 9.0; recent 6
    ev = service.state(db).evaluations["offer_generated"]
    assert (ev.baseline_events, ev.baseline_rate, ev.recent_rate, ev.drop, ev.fired) == (20, 9.0, 6.0, 0.333333, True)
    assert service.throttled_domains(db) == ["offers"]


def test_a_policy_with_a_domain_counts_only_that_domains_events(client, db, data_dir):
    policy(client, window_events=10, baseline_events=10, min_events=10)
    backfill(db, 10, success=True)
    backfill(db, 10, success=False, domain="dispo")  # another domain's failures do not count
    ev = service.evaluate(db)[0]
    assert (ev.recent_events, ev.baseline_events, ev.enforced) == (10, 0, False)
    backfill(db, 10, success=True)
    ev = service.evaluate(db)[0]
    assert (ev.recent_events, ev.baseline_events, ev.drop, ev.enforced) == (10, 10, 0.0, True)


def test_reset_needs_a_reason_lifts_the_throttle_and_records_why(client, db, data_dir):
    policy(client, window_events=10, baseline_events=10, min_events=10)
    backfill(db, 10, success=True)
    backfill(db, 9, success=False)
    record(db, 1, success=False)
    assert service.is_throttled(db, "followups")
    for body, field in [({"domain": "followups", "reason": "  "}, "reason"), ({"domain": "followups"}, "reason"), ({"domain": "nobody", "reason": "x"}, "domain")]:
        r = client.post("/core/regression/reset", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field], r.text
    assert service.is_throttled(db, "followups")
    r = client.post("/core/regression/reset", json={"domain": "followups", "reason": "holiday week"})
    assert r.status_code == 200 and r.json()["throttled"] == {} and r.json()["last_reset"]["followups"]["reason"] == "holiday week"
    service.require_not_throttled(db, "followups")
    # The action runs when a policy starts firing: still-low events after a reset do not re-throttle...
    record(db, 1, success=False)
    assert not service.is_throttled(db, "followups")
    # ...a recovery followed by a new drop does.
    backfill(db, 9, success=True)
    record(db, 1, success=True)
    assert not service.state(db).evaluations["followup_completed"].fired
    backfill(db, 9, success=False)
    record(db, 1, success=False)
    assert service.is_throttled(db, "followups")
    audit = [orjson.loads(x) for x in (data_dir / "regression" / "audit.jsonl").read_bytes().splitlines()]
    transitions = [a for a in audit if a["action"] == "transition"]
    assert len(transitions) == 3 and transitions[1]["changes"]["last_reset"][1]["followups"]["reason"] == "holiday week"


def test_a_disabled_policy_enforces_nothing(client, db, data_dir):
    policy(client, window_events=10, baseline_events=10, min_events=10, enabled=False)
    backfill(db, 10, success=True)
    backfill(db, 9, success=False)
    record(db, 1, success=False)
    ev = service.state(db).evaluations["followup_completed"]
    assert (ev.enforced, ev.fired, ev.detail, ev.drop) == (False, False, "not enforced: the policy is disabled", 1.0)
    assert service.throttled_domains(db) == []


def test_policies_upsert_one_per_metric_and_refuse_incoherent_input(client, data_dir):
    first = policy(client)
    assert {k: first[k] for k in ("window_events", "baseline_events", "min_events", "max_drop", "action", "enabled")} == {
        "window_events": 50, "baseline_events": 200, "min_events": 50, "max_drop": 0.2, "action": "THROTTLE", "enabled": True,
    }
    second = policy(client, max_drop=0.3)
    assert second["id"] == first["id"] and second["version"] == 2 and second["max_drop"] == 0.3
    for body, field in [
        ({"metric": "x_rate", "action": "THROTTLE"}, "domain"),
        ({"metric": "x_rate", "domain": "offers", "min_events": 60}, "min_events"),
        ({"metric": "x_rate", "domain": "offers", "max_drop": 1.5}, "max_drop"),
        ({"metric": "x_rate", "domain": "offers", "action": "PANIC"}, "action"),
        ({"metric": "x_rate", "domain": "Not A Domain"}, "domain"),
        ({"metric": "x_rate", "domain": "offers", "window_events": 0}, "window_events"),
    ]:
        r = client.post("/core/regression/policies/upsert", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field, (body, r.text)
    r = client.get("/core/regression/policies")
    assert r.headers["x-total-count"] == "1" and r.json() == [second]
    assert len(orjson.loads((data_dir / "regression" / "policies.json").read_bytes())) == 1


def test_evaluate_on_demand_can_be_narrowed_to_one_metric(client, db):
    policy(client)
    policy(client, metric="buyer_feedback", domain="buyers")
    assert [e["metric"] for e in client.post("/core/regression/evaluate").json()] == ["followup_completed", "buyer_feedback"]
    assert [e["metric"] for e in client.post("/core/regression/evaluate", params={"metric": "buyer_feedback"}).json()] == ["buyer_feedback"]
    assert client.post("/core/regression/evaluate", params={"metric": "nothing_here"}).json() == []


def test_a_kill_switch_policy_engages_the_kill_switch(client, db, data_dir):
    from app.core_gov.golive import service as golive_service

    policy(client, metric="buyer_feedback", domain=None, action="KILL_SWITCH", window_events=10, baseline_events=10, min_events=10)
    backfill(db, 10, success=True, metric="buyer_feedback", domain="buyers")
    backfill(db, 9, success=False, metric="buyer_feedback", domain="buyers")
    assert not golive_service.state(db).kill_switch
    record(db, 1, success=False, metric="buyer_feedback", domain="buyers")
    state = golive_service.state(db)
    assert state.kill_switch and "regression tripwire: buyer_feedback fell from 1.000 to 0.000" in state.reason
    assert service.throttled_domains(db) == []
