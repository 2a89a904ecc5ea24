"""Go-live through HTTP: the guard and its precedence, kill switch reasons, decisions cited on
release, enable refused with the runbook's blockers until they are cleared."""

from __future__ import annotations

import orjson
import pytest

from app.core_gov.errors import Locked
from app.core_gov.golive import service, store
from app.core_gov.golive.schemas import GoLiveState


NO_FLAG_CHANGES = {f"{flag}_{field}": None for flag in ("go_live", "kill_switch") for field in ("reason", "changed_by", "changed_at")}


def force_enabled(db) -> None:
    """Go-live on without the runbook (the runbook tests cover enabling for real)."""
    with db.transaction("golive") as tx:
        tx.write(store.state, GoLiveState(enabled=True))


def guard_code(db) -> str | None:
    try:
        service.require_execution_allowed(db)
    except Locked as e:
        return e.code
    return None


def approved_decision(client, approve: bool = True) -> str:
    d = client.post("/core/governance/decisions", json={"title": "release", "kind": "kill_switch", "rationale": "checked"}).json()
    if approve:
        assert client.post(f"/core/governance/decisions/{d['id']}/approve", json={"reason": "ok"}).status_code == 200
    return d["id"]


def test_fresh_install_is_disabled_and_the_guard_says_go_live_disabled(client, db, data_dir):
    r = client.get("/core/golive/state")
    assert r.status_code == 200
    assert r.json() == {"enabled": False, "kill_switch": False, "reason": None, "changed_by": None, "changed_at": None, "decision_id": None, **NO_FLAG_CHANGES}
    assert guard_code(db) == "go_live_disabled" and service.halt_reason(db) == "go_live_disabled"
    with pytest.raises(Locked) as exc:
        service.require_execution_allowed(db)
    assert exc.value.status_code == 423 and "POST /core/golive/enable" in exc.value.detail["message"]
    assert not (data_dir / "golive" / "state.json").exists()


def test_kill_switch_wins_over_go_live_on_and_off(client, db):
    r = client.post("/core/golive/kill-switch/engage", json={"reason": "complaint"})
    assert r.status_code == 200 and r.json()["kill_switch"] is True and r.json()["enabled"] is False
    assert guard_code(db) == "kill_switch_engaged"  # off and engaged: the kill switch wins
    force_enabled(db)
    assert guard_code(db) is None and service.halt_reason(db) is None
    client.post("/core/golive/kill-switch/engage", json={"reason": "complaint"})
    assert guard_code(db) == "kill_switch_engaged" and service.halt_reason(db) == "kill_switch_engaged"
    with pytest.raises(Locked) as exc:
        service.require_execution_allowed(db)
    assert exc.value.detail["reason"] == "complaint"
    r = client.post("/core/golive/kill-switch/release", json={"reason": "handled"})
    assert r.status_code == 200 and r.json()["kill_switch"] is False and r.json()["enabled"] is True
    assert guard_code(db) is None


def test_engage_records_reason_actor_time_on_disk_and_in_the_audit(client, clock, data_dir):
    clock.set("2026-01-05T16:30:00Z")
    r = client.post("/core/golive/kill-switch/engage", json={"reason": " late text "}, headers={"X-Actor": "regression"})
    assert r.json() == {
        "enabled": False, "kill_switch": True, "reason": "late text", "changed_by": "regression",
        "changed_at": "2026-01-05T16:30:00Z", "decision_id": None, "go_live_reason": None, "go_live_changed_by": None, "go_live_changed_at": None,
        "kill_switch_reason": "late text", "kill_switch_changed_by": "regression", "kill_switch_changed_at": "2026-01-05T16:30:00Z",
    }
    assert orjson.loads((data_dir / "golive" / "state.json").read_bytes()) == r.json()
    again = client.post("/core/golive/kill-switch/engage", json={"reason": "another"})
    assert again.status_code == 200 and again.json()["reason"] == "late text"  # idempotent: the cause stays
    audit = client.get("/core/audit", params={"order": "asc", "module": "golive"}).json()
    assert [(a["action"], a["actor"], a["changes"]["kill_switch"]) for a in audit] == [("transition", "regression", [False, True])]


def test_engage_and_release_need_a_reason_and_a_refusal_writes_nothing(client, data_dir):
    for path in ("/core/golive/kill-switch/engage", "/core/golive/kill-switch/release"):
        for body in ({}, {"reason": ""}, {"reason": "   "}):
            r = client.post(path, json=body)
            assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "reason"], (path, body)
    r = client.post("/core/golive/kill-switch/engage", json={"reason": "x", "force": True})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "force"]
    assert not (data_dir / "golive" / "state.json").exists()
    r = client.post("/core/golive/kill-switch/release", json={"reason": "nothing engaged"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "kill_switch_not_engaged"
    assert not (data_dir / "golive").exists() or not (data_dir / "golive" / "state.json").exists()


def test_release_with_unknown_or_unapproved_decision_is_refused_and_changes_nothing(client, data_dir):
    client.post("/core/golive/kill-switch/engage", json={"reason": "complaint"})
    before = (data_dir / "golive" / "state.json").read_bytes()
    r = client.post("/core/golive/kill-switch/release", json={"reason": "ok", "decision_id": "gd_nope"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "decision_id"]
    pending = approved_decision(client, approve=False)
    r = client.post("/core/golive/kill-switch/release", json={"reason": "ok", "decision_id": pending})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "decision_not_approved" and r.json()["detail"]["status"] == "proposed"
    assert (data_dir / "golive" / "state.json").read_bytes() == before
    assert client.get("/core/golive/state").json()["kill_switch"] is True


def test_release_with_an_approved_decision_records_it_in_state_and_audit(client):
    client.post("/core/golive/kill-switch/engage", json={"reason": "complaint"})
    decision = approved_decision(client)
    r = client.post("/core/golive/kill-switch/release", json={"reason": "handled", "decision_id": decision}, headers={"X-Actor": "owner"})
    assert r.status_code == 200
    assert (r.json()["kill_switch"], r.json()["decision_id"], r.json()["reason"], r.json()["changed_by"]) == (False, decision, "handled", "owner")
    last = client.get("/core/audit", params={"order": "asc", "module": "golive"}).json()[-1]
    assert last["action"] == "transition" and last["changes"]["decision_id"] == [None, decision]
    assert last["changes"]["kill_switch"] == [True, False] and last["changes"]["reason"] == ["complaint", "handled"]


def test_disable_turns_execution_off_and_is_a_no_op_when_already_off(client, db, data_dir):
    r = client.post("/core/golive/disable")
    assert r.status_code == 200 and r.json()["enabled"] is False and not (data_dir / "golive" / "state.json").exists()
    force_enabled(db)
    r = client.post("/core/golive/disable", json={"reason": "holiday"})
    assert r.status_code == 200 and (r.json()["enabled"], r.json()["reason"]) == (False, "holiday")
    assert guard_code(db) == "go_live_disabled"
    assert client.post("/core/golive/disable", json={"reason": ""}).status_code == 422


def test_a_go_live_toggle_keeps_the_kill_switch_reason_who_and_when(client, db, clock, data_dir):
    force_enabled(db)
    clock.set("2026-01-05T22:00:00Z")
    client.post("/core/golive/kill-switch/engage", json={"reason": "end of day test: halt everything"}, headers={"X-Actor": "sam"})
    clock.set("2026-01-05T22:05:00Z")
    r = client.post("/core/golive/disable", json={"reason": "off"}, headers={"X-Actor": "kim"})
    assert r.status_code == 200
    assert r.json() == {
        "enabled": False, "kill_switch": True, "reason": "off", "changed_by": "kim", "changed_at": "2026-01-05T22:05:00Z", "decision_id": None,
        "go_live_reason": "off", "go_live_changed_by": "kim", "go_live_changed_at": "2026-01-05T22:05:00Z",
        "kill_switch_reason": "end of day test: halt everything", "kill_switch_changed_by": "sam", "kill_switch_changed_at": "2026-01-05T22:00:00Z",
    }
    assert orjson.loads((data_dir / "golive" / "state.json").read_bytes()) == r.json()
    with pytest.raises(Locked) as exc:
        service.require_execution_allowed(db)
    detail = exc.value.detail
    assert (detail["reason"], detail["changed_by"], detail["changed_at"]) == ("end of day test: halt everything", "sam", "2026-01-05T22:00:00+00:00")
    assert "(end of day test: halt everything)" in detail["message"] and "(off)" not in detail["message"]
    assert service.engaged_message(service.state(db)).startswith("the kill switch is engaged (end of day test: halt everything)")


def test_a_state_file_written_before_the_per_flag_fields_still_reads(client, data_dir):
    (data_dir / "golive").mkdir(parents=True)
    legacy = {"enabled": True, "kill_switch": True, "reason": "complaint", "changed_by": "sam", "changed_at": "2026-01-05T14:00:00Z", "decision_id": None}
    (data_dir / "golive" / "state.json").write_bytes(orjson.dumps(legacy))
    r = client.get("/core/golive/state")
    assert r.status_code == 200
    assert r.json() == {**legacy, "go_live_reason": None, "go_live_changed_by": None, "go_live_changed_at": None,
                        "kill_switch_reason": "complaint", "kill_switch_changed_by": "sam", "kill_switch_changed_at": "2026-01-05T14:00:00Z"}
    legacy_clear = {**legacy, "kill_switch": False, "reason": "runbook clear"}
    (data_dir / "golive" / "state.json").write_bytes(orjson.dumps(legacy_clear))
    assert client.get("/core/golive/state").json()["kill_switch_reason"] is None
    assert client.post("/core/golive/disable", json={"reason": "holiday"}).json()["go_live_reason"] == "holiday"


def test_enable_while_on_and_engaged_says_go_live_is_on_and_the_switch_halts_it(client, db):
    force_enabled(db)
    client.post("/core/golive/kill-switch/engage", json={"reason": "end of day test: halt everything"})
    client.post("/core/golive/disable", json={"reason": "off"})
    r = client.post("/core/golive/enable", json={"reason": "morning"})
    assert r.status_code == 412 and r.json()["detail"]["message"].startswith("go-live stays off: ")
    force_enabled(db)
    client.post("/core/golive/kill-switch/engage", json={"reason": "end of day test: halt everything"})
    r = client.post("/core/golive/enable", json={"reason": "morning"})
    detail = r.json()["detail"]
    assert r.status_code == 412 and detail["code"] == "runbook_blockers" and detail["enabled"] is True
    assert "stays off" not in detail["message"]
    assert detail["message"].startswith("go-live is already on, but every execution action answers 423: the kill switch is engaged (end of day test: halt everything)")
    assert "kill_switch_clear" in [b["key"] for b in detail["blockers"]]
    assert client.get("/core/golive/state").json()["enabled"] is True
    client.post("/core/golive/kill-switch/release", json={"reason": "test over"})
    detail = client.post("/core/golive/enable").json()["detail"]  # a fresh install: no risk policy, ...
    assert detail["message"].startswith("go-live is already on and stays on, but the runbook fails: ")
