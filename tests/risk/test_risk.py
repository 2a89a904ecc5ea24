"""Risk caps through HTTP and the service: the guard, each cap with its context, denials
recorded, settle and release, cap 0 = no cap, the local day, and GLOBAL raises citing decisions."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import orjson

from app.core_gov.golive import store as golive_store
from app.core_gov.golive.schemas import GoLiveState

GENEROUS = {"max_daily_loss": 10_000, "max_daily_exposure": 100_000, "max_open_risk": 100_000, "max_actions_per_day": 100}


def go_live(db) -> None:
    with db.transaction("golive") as tx:
        tx.write(golive_store.state, GoLiveState(enabled=True))


def policy(client, engine: str, **fields) -> dict:
    r = client.post("/core/risk/policies/upsert", json={"engine": engine, **fields})
    assert r.status_code == 200, r.text
    return r.json()


def reserve(client, engine: str, amount: float, status: int = 201, **extra) -> dict:
    r = client.post("/core/risk/reserve", json={"engine": engine, "amount": amount, **extra})
    assert r.status_code == status, r.text
    return r.json() if status == 201 else r.json()["detail"]


def events(data_dir) -> list[dict]:
    path = data_dir / "risk" / "events.jsonl"
    return [orjson.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def test_reserve_is_an_execution_action_423_before_any_check_and_writes_nothing(client, db, data_dir):
    policy(client, "GLOBAL", **GENEROUS)
    assert reserve(client, "WHOLESALE", 100, 423)["code"] == "go_live_disabled"
    go_live(db)
    client.post("/core/golive/kill-switch/engage", json={"reason": "stop"})
    assert reserve(client, "WHOLESALE", 100, 423)["code"] == "kill_switch_engaged"
    assert not (data_dir / "risk" / "reservations.json").exists() and events(data_dir) == []


def test_without_a_global_policy_every_reserve_is_denied_and_recorded(client, db, data_dir):
    go_live(db)
    policy(client, "WHOLESALE", **GENEROUS)
    detail = reserve(client, "WHOLESALE", 100, 409)
    assert detail["code"] == "no_global_policy" and "no GLOBAL risk policy" in detail["message"]
    assert [(e["kind"], e["code"], e["engine"], e["amount"]) for e in events(data_dir)] == [("denied", "no_global_policy", "WHOLESALE", 100.0)]
    assert not (data_dir / "risk" / "reservations.json").exists()


def test_a_success_books_global_and_the_engine_and_the_snapshot_shows_it(client, db, data_dir):
    go_live(db)
    policy(client, "GLOBAL", max_daily_loss=1000, max_daily_exposure=5000, max_open_risk=0, max_actions_per_day=10)
    policy(client, "WHOLESALE", max_daily_exposure=2000)
    res = reserve(client, "wholesale", 1500.5, ref="dl_1")
    assert (res["engine"], res["amount"], res["ref"], res["status"], res["day"]) == ("WHOLESALE", 1500.5, "dl_1", "open", "2026-01-05")
    assert res["id"].startswith("rsv_")
    ledger = orjson.loads((data_dir / "risk" / "ledger.json").read_bytes())
    assert [(r["id"], r["actions"], r["exposure"]) for r in ledger] == [("rl_20260105_GLOBAL", 1, 1500.5), ("rl_20260105_WHOLESALE", 1, 1500.5)]
    snap = client.get("/core/risk/snapshot").json()
    assert (snap["day"], snap["zone"]) == ("2026-01-05", "America/Toronto")
    glob, whole = snap["engines"]
    assert glob["engine"] == "GLOBAL" and glob["used"] == {"max_actions_per_day": 1, "max_daily_exposure": 1500.5, "max_open_risk": 1500.5, "max_daily_loss": 0}
    assert glob["remaining"] == {"max_actions_per_day": 9, "max_daily_exposure": 3499.5, "max_open_risk": None, "max_daily_loss": 1000}
    assert whole["engine"] == "WHOLESALE" and whole["remaining"]["max_daily_exposure"] == 499.5 and whole["remaining"]["max_daily_loss"] is None
    assert [e["kind"] for e in events(data_dir)] == ["reserved"]


def test_each_cap_denies_409_naming_it_with_used_cap_amount_and_records_the_denial(client, db, data_dir):
    go_live(db)
    policy(client, "GLOBAL", max_daily_exposure=1000)
    policy(client, "DISPO", max_actions_per_day=2, max_open_risk=700)
    reserve(client, "DISPO", 300)
    d = reserve(client, "DISPO", 500, 409)
    assert (d["code"], d["policy"], d["used"], d["cap"], d["amount"]) == ("max_open_risk", "DISPO", 300, 700, 500)
    reserve(client, "DISPO", 400)
    d = reserve(client, "DISPO", 1, 409)
    assert (d["code"], d["policy"], d["used"], d["cap"]) == ("max_actions_per_day", "DISPO", 2, 2)
    d = reserve(client, "WHOLESALE", 301, 409)  # GLOBAL first: 700 + 301 > 1000
    assert (d["code"], d["policy"], d["engine"], d["used"], d["cap"], d["amount"]) == ("max_daily_exposure", "GLOBAL", "WHOLESALE", 700, 1000, 301)
    denials = [e for e in events(data_dir) if e["kind"] == "denied"]
    assert [(e["code"], e["policy"], e["used"], e["cap"], e["amount"]) for e in denials] == [
        ("max_open_risk", "DISPO", 300, 700, 500), ("max_actions_per_day", "DISPO", 2, 2, 1), ("max_daily_exposure", "GLOBAL", 700, 1000, 301),
    ]
    r = client.get("/core/risk/events", params={"kind": "denied", "engine": "dispo"})
    assert r.headers["x-total-count"] == "2" and [e["code"] for e in r.json()] == ["max_open_risk", "max_actions_per_day"]
    assert len(orjson.loads((data_dir / "risk" / "reservations.json").read_bytes())) == 2


def test_a_disabled_policy_denies_and_cap_zero_means_no_cap(client, db):
    go_live(db)
    policy(client, "GLOBAL", max_daily_loss=0, max_daily_exposure=0, max_open_risk=0, max_actions_per_day=0)
    for _ in range(3):
        reserve(client, "HOLDINGS", 1_000_000)
    snap = client.get("/core/risk/snapshot").json()["engines"][0]
    assert snap["used"]["max_daily_exposure"] == 3_000_000 and snap["remaining"] == dict.fromkeys(snap["remaining"])
    policy(client, "HOLDINGS", enabled=False)
    d = reserve(client, "HOLDINGS", 1, 409)
    assert (d["code"], d["policy"]) == ("policy_disabled", "HOLDINGS")
    policy(client, "GLOBAL", enabled=False)
    assert reserve(client, "HOLDINGS", 1, 409)["policy"] == "GLOBAL"


def test_settle_frees_open_risk_books_the_loss_and_then_the_loss_cap_denies(client, db, data_dir):
    go_live(db)
    policy(client, "GLOBAL", max_daily_loss=500, max_open_risk=1000)
    a = reserve(client, "WHOLESALE", 1000)
    assert reserve(client, "WHOLESALE", 1, 409)["code"] == "max_open_risk"
    r = client.post("/core/risk/settle", json={"reservation_id": a["id"], "realized_pnl": -300})
    assert r.status_code == 200 and (r.json()["status"], r.json()["realized_pnl"], r.json()["closed_at"]) == ("settled", -300, "2026-01-05T15:00:00Z")
    b = reserve(client, "WHOLESALE", 1000)  # open risk is back to 0; loss 300 < 500
    client.post("/core/risk/settle", json={"reservation_id": b["id"], "realized_pnl": -200.0})
    d = reserve(client, "WHOLESALE", 1, 409)
    assert (d["code"], d["policy"], d["used"], d["cap"]) == ("max_daily_loss", "GLOBAL", 500, 500)
    again = client.post("/core/risk/settle", json={"reservation_id": b["id"], "realized_pnl": 0})
    assert again.status_code == 409 and again.json()["detail"]["code"] == "invalid_transition" and again.json()["detail"]["current"] == "settled"
    used = client.get("/core/risk/snapshot").json()["engines"][1]["used"]
    assert used == {"max_actions_per_day": 2, "max_daily_exposure": 2000, "max_open_risk": 0, "max_daily_loss": 500}
    assert [e["kind"] for e in events(data_dir)].count("settled") == 2


def test_a_profit_books_no_loss(client, db):
    go_live(db)
    policy(client, "GLOBAL", max_daily_loss=100)
    a = reserve(client, "WHOLESALE", 50)
    client.post("/core/risk/settle", json={"reservation_id": a["id"], "realized_pnl": 900})
    assert client.get("/core/risk/snapshot").json()["engines"][0]["used"]["max_daily_loss"] == 0
    reserve(client, "WHOLESALE", 50)


def test_release_gives_back_the_action_and_exposure_without_a_loss(client, db):
    go_live(db)
    policy(client, "GLOBAL", max_actions_per_day=1, max_daily_exposure=100)
    a = reserve(client, "WHOLESALE", 100)
    assert reserve(client, "WHOLESALE", 100, 409)["code"] == "max_actions_per_day"
    r = client.post("/core/risk/release", json={"reservation_id": a["id"], "reason": "offer refused by market policy"})
    assert r.status_code == 200 and (r.json()["status"], r.json()["reason"]) == ("released", "offer refused by market policy")
    assert client.get("/core/risk/snapshot").json()["engines"][0]["used"] == {
        "max_actions_per_day": 0, "max_daily_exposure": 0, "max_open_risk": 0, "max_daily_loss": 0,
    }
    reserve(client, "WHOLESALE", 100)
    r = client.post("/core/risk/release", json={"reservation_id": a["id"], "reason": "again"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "invalid_transition"


def test_the_day_is_local_to_valhalla_tz_and_usage_resets_at_local_midnight(client, db, clock):
    go_live(db)
    policy(client, "GLOBAL", max_daily_exposure=1000)
    clock.set("2026-01-05T23:30:00Z")  # 18:30 in Toronto, Jan 5
    reserve(client, "WHOLESALE", 1000)
    clock.set("2026-01-06T04:59:00Z")  # 23:59 in Toronto: still Jan 5 locally though Jan 6 in UTC
    assert reserve(client, "WHOLESALE", 100, 409)["day"] == "2026-01-05"
    clock.set("2026-01-06T05:00:00Z")  # local midnight
    res = reserve(client, "WHOLESALE", 100)
    assert res["day"] == "2026-01-06"
    snap = client.get("/core/risk/snapshot").json()
    assert snap["day"] == "2026-01-06" and snap["engines"][0]["used"]["max_daily_exposure"] == 100


def test_the_service_day_follows_the_zone_it_is_given(db, clock):
    from app.core_gov.risk import service
    from app.core_gov.risk.schemas import RiskPolicyUpsert

    go_live(db)
    service.upsert_policy(db, RiskPolicyUpsert(engine="GLOBAL"))
    clock.set("2026-01-06T04:00:00Z")
    assert service.reserve(db, engine="WHOLESALE", amount=1, tz=ZoneInfo("America/Toronto")).day.isoformat() == "2026-01-05"
    assert service.reserve(db, engine="WHOLESALE", amount=1, tz=ZoneInfo("Europe/Paris")).day.isoformat() == "2026-01-06"


def test_upsert_changes_only_sent_fields_and_a_global_raise_records_its_decision(client, data_dir):
    first = policy(client, "GLOBAL", max_daily_loss=1000, max_daily_exposure=5000)
    assert first["max_open_risk"] == 0 and first["enabled"] is True and first["id"].startswith("rp_")
    lowered = policy(client, "GLOBAL", max_daily_loss=800)
    assert (lowered["max_daily_loss"], lowered["max_daily_exposure"], lowered["version"]) == (800, 5000, 2)
    assert policy(client, "GLOBAL", max_daily_loss=800)["version"] == 2  # nothing changed, nothing written
    assert events(data_dir) == []  # lowering is not a raise
    r = client.post("/core/risk/policies/upsert", json={"engine": "GLOBAL", "max_daily_exposure": 9000, "decision_id": "gd_nope"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "decision_id"]
    pending = client.post("/core/governance/decisions", json={"title": "raise", "kind": "risk_cap", "rationale": "launch"}).json()["id"]
    r = client.post("/core/risk/policies/upsert", json={"engine": "GLOBAL", "max_daily_exposure": 9000, "decision_id": pending})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "decision_not_approved"
    assert client.get("/core/risk/policies").json()[0]["max_daily_exposure"] == 5000
    client.post(f"/core/governance/decisions/{pending}/approve", json={"reason": "ok"})
    raised = policy(client, "GLOBAL", max_daily_exposure=9000, max_daily_loss=0, decision_id=pending)
    assert (raised["max_daily_exposure"], raised["max_daily_loss"], raised["decision_id"]) == (9000, 0, pending)
    [event] = events(data_dir)
    assert (event["kind"], event["decision_id"]) == ("policy_raised", pending)
    assert event["raised"] == {"max_daily_exposure": [5000, 9000], "max_daily_loss": [800, 0]}
    audit = client.get("/core/audit", params={"order": "asc", "module": "risk", "action": "update"}).json()
    assert audit[-1]["changes"]["decision_id"] == [None, pending]
    policy(client, "GLOBAL", enabled=False)
    policy(client, "GLOBAL", enabled=True)  # re-enabling loosens too, recorded without a decision
    assert events(data_dir)[-1]["raised"] == {"enabled": [False, True]} and events(data_dir)[-1]["decision_id"] is None


def test_bad_input_is_422_naming_the_field_and_writes_nothing(client, db, data_dir):
    go_live(db)
    for body, field in [
        ({"engine": "whole sale"}, "engine"),
        ({"engine": "9LIVES"}, "engine"),
        ({"engine": "GLOBAL", "max_daily_loss": -1}, "max_daily_loss"),
        ({"engine": "GLOBAL", "max_actions_per_day": 1.5}, "max_actions_per_day"),
        ({"engine": "GLOBAL", "max_open_risk": "lots"}, "max_open_risk"),
        ({"engine": "GLOBAL", "colour": "red"}, "colour"),
    ]:
        r = client.post("/core/risk/policies/upsert", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field, (body, r.text)
    assert not (data_dir / "risk").exists()
    policy(client, "GLOBAL", **GENEROUS)
    before = (data_dir / "risk" / "policies.json").read_bytes()
    for body, field in [
        ({"engine": "whole-sale", "amount": 1}, "engine"),
        ({"engine": "WHOLESALE", "amount": -5}, "amount"),
        ({"engine": "WHOLESALE"}, "amount"),
        ({"engine": "WHOLESALE", "amount": 1, "ref": "  "}, "ref"),
    ]:
        r = client.post("/core/risk/reserve", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field, (body, r.text)
    for path, body, field in [
        ("/core/risk/settle", {"reservation_id": "rsv_nope", "realized_pnl": -1}, "reservation_id"),
        ("/core/risk/settle", {"reservation_id": "rsv_nope"}, "realized_pnl"),
        ("/core/risk/release", {"reservation_id": "rsv_nope", "reason": " "}, "reason"),
        ("/core/risk/release", {"reservation_id": "rsv_nope", "reason": "x"}, "reservation_id"),
    ]:
        r = client.post(path, json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field], (path, body, r.text)
    assert client.get("/core/risk/events", params={"since": "yesterday"}).status_code == 422
    assert sorted(p.name for p in (data_dir / "risk").iterdir() if not p.name.startswith(".")) == ["audit.jsonl", "policies.json"]
    assert (data_dir / "risk" / "policies.json").read_bytes() == before


def test_the_service_validates_like_the_http_body(db):
    import pytest

    from app.core_gov.errors import InvalidField
    from app.core_gov.risk import service

    go_live(db)
    with pytest.raises(InvalidField) as exc:
        service.reserve(db, engine="WHOLESALE", amount=-1)
    assert exc.value.detail[0]["loc"] == ["body", "amount"]
    with pytest.raises(InvalidField) as exc:
        service.reserve(db, engine="not an engine", amount=1)
    assert exc.value.detail[0]["loc"] == ["body", "engine"]


def test_a_reserve_against_an_unknown_engine_is_422_listing_the_known_ones_and_writes_nothing(client, db, data_dir):
    go_live(db)
    policy(client, "GLOBAL", **GENEROUS)
    policy(client, "FLIPS", **GENEROUS)
    before = (data_dir / "risk" / "policies.json").read_bytes()
    r = client.post("/core/risk/reserve", json={"engine": "WHOLESAEL", "amount": 100})
    assert r.status_code == 422
    [err] = r.json()["detail"]
    assert err["loc"] == ["body", "engine"]
    assert err["msg"] == "no risk engine WHOLESAEL: the known engines are DISPO, FLIPS, GLOBAL, HOLDINGS, WHOLESALE (an engine is known once it has a policy)"
    assert events(data_dir) == [] and not (data_dir / "risk" / "reservations.json").exists()
    assert (data_dir / "risk" / "policies.json").read_bytes() == before
    assert reserve(client, "FLIPS", 100)["engine"] == "FLIPS"  # its own policy makes it known
    assert reserve(client, "DISPO", 100)["engine"] == "DISPO"  # a named engine: GLOBAL's caps only
