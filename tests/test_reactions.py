"""core_gov/reactions.py: a KPI event runs the tripwire after the KPI commit; the tripwire may
engage the kill switch after its own; a reaction that fails leaves the fact it reacted to."""

from __future__ import annotations

import orjson

from app.core_gov.regression import service as regression_service

from .regression.test_regression import backfill, policy


def audit(data_dir, module: str) -> list[dict]:
    path = data_dir / module / "audit.jsonl"
    return [orjson.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def test_a_kpi_event_trips_the_kill_switch_in_three_commits_each_in_its_own_module(client, db, data_dir):
    policy(client, metric="buyer_feedback", domain=None, action="KILL_SWITCH", window_events=10, baseline_events=10, min_events=10)
    backfill(db, 10, success=True, metric="buyer_feedback", domain="buyers")
    backfill(db, 9, success=False, metric="buyer_feedback", domain="buyers")
    r = client.post("/core/kpi/events", json={"metric": "buyer_feedback", "domain": "buyers", "success": False})
    assert r.status_code == 201, r.text
    state = client.get("/core/golive/state").json()
    assert state["kill_switch"] is True and state["kill_switch_reason"].startswith("regression tripwire: buyer_feedback fell from 1.000 to 0.000")
    assert [a["action"] for a in audit(data_dir, "kpi")] == ["create"]  # the event, nothing else in kpi's commit
    assert [a["entity"] for a in audit(data_dir, "regression")][-1] == "state"
    assert [(a["entity"], a["action"]) for a in audit(data_dir, "golive")] == [("state", "transition")]


def test_a_failing_tripwire_keeps_the_event_and_is_in_the_kpi_audit_trail(client, db, data_dir, monkeypatch):
    def broken(db, *, metric=None):
        raise RuntimeError("policy file unreadable")

    monkeypatch.setattr(regression_service, "evaluate", broken)
    r = client.post("/core/kpi/events", json={"metric": "offer_generated", "domain": "offers", "value": 1})
    assert r.status_code == 201, r.text
    assert [e["id"] for e in client.get("/core/kpi/events").json()] == [r.json()["id"]]
    failed = audit(data_dir, "kpi")[-1]
    assert (failed["entity"], failed["entity_id"], failed["action"]) == ("reaction", "app.core_gov.reactions.run_tripwire", "reaction_failed")
    assert failed["changes"] == {"error": [None, "RuntimeError: policy file unreadable"]}
