"""Heimdall through HTTP: policies, sandbox trials over a rolling window, gate order, promote/demote."""

from __future__ import annotations

import orjson


def upsert(client, **fields):
    r = client.post("/core/heimdall/policies/upsert", json={"domain": "offers", **fields})
    assert r.status_code == 200, r.text
    return r.json()


def trials(client, n, *, success=True, confidence=0.95, domain="offers"):
    for _ in range(n):
        r = client.post("/core/heimdall/trials", json={"domain": domain, "success": success, "confidence": confidence})
        assert r.status_code == 201, r.text


def recommend(client, confidence=0.95, domain="offers"):
    r = client.post("/core/heimdall/recommend", json={"domain": domain, "confidence": confidence, "payload": {"deal_id": "dl_1"}})
    assert r.status_code == 201, r.text
    return r.json()


def test_policy_defaults_and_upsert_never_changes_prod_enabled(client, data_dir):
    p = upsert(client, prod_enabled=True)
    assert {k: p[k] for k in ("domain", "min_confidence", "min_sandbox_trials", "min_success_rate", "window_days", "prod_enabled")} == {
        "domain": "offers", "min_confidence": 0.9, "min_sandbox_trials": 50, "min_success_rate": 0.8, "window_days": 30, "prod_enabled": False,
    }
    p = upsert(client, min_sandbox_trials=2, min_success_rate=0.5)
    assert client.post("/core/heimdall/promote", json={"domain": "offers"}).status_code == 409
    trials(client, 2)
    assert client.post("/core/heimdall/promote", json={"domain": "offers"}).json()["prod_enabled"] is True
    p = upsert(client, min_confidence=0.8, prod_enabled=False)
    assert p["prod_enabled"] is True and p["min_confidence"] == 0.8 and p["version"] == 4
    assert orjson.loads((data_dir / "heimdall" / "policies.json").read_bytes()) == [p]
    assert client.get("/core/heimdall/policies").json() == [p]


def test_gate_reason_is_the_first_failing_gate_in_order(client, clock):
    upsert(client, min_sandbox_trials=4, min_success_rate=0.75)
    r = recommend(client, confidence=0.10)  # everything fails: prod_disabled comes first
    assert (r["gate_reason"], r["prod_eligible"], r["window_trials"], r["payload"]) == ("prod_disabled", False, 0, {"deal_id": "dl_1"})
    trials(client, 3, success=True)
    trials(client, 1, success=False)  # 4 trials, 0.75: passes (inclusive)
    assert client.post("/core/heimdall/promote", json={"domain": "offers"}).status_code == 200
    assert recommend(client, confidence=0.899)["gate_reason"] == "confidence_below_threshold"
    r = recommend(client, confidence=0.90)  # inclusive
    assert (r["gate_reason"], r["prod_eligible"], r["window_trials"], r["window_success_rate"]) == ("gate_pass", True, 4, 0.75)
    trials(client, 1, success=False)  # 5 trials, 3/5 = 0.6
    assert recommend(client)["gate_reason"] == "success_rate_below_threshold"
    clock.advance(days=30, seconds=1)  # every trial falls out of the rolling window
    assert recommend(client)["gate_reason"] == "insufficient_sandbox_trials"
    r = client.get("/core/heimdall/recommendations", params={"gate_reason": "gate_pass"})
    assert r.headers["x-total-count"] == "1" and r.json()[0]["confidence"] == 0.9
    assert client.get("/core/heimdall/recommendations").headers["x-total-count"] == "5"


def test_promote_is_refused_with_the_failing_gate_and_demote_turns_prod_off(client):
    upsert(client, min_sandbox_trials=10)  # min_success_rate 0.80
    r = client.post("/core/heimdall/promote", json={"domain": "offers"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "insufficient_sandbox_trials" and r.json()["detail"]["trials"] == 0
    trials(client, 7, success=True)
    trials(client, 2, success=False)
    r = client.post("/core/heimdall/promote", json={"domain": "offers"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "insufficient_sandbox_trials" and r.json()["detail"]["trials"] == 9
    trials(client, 1, success=False)  # 10 trials, 7/10 = 0.70
    r = client.post("/core/heimdall/promote", json={"domain": "offers"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "success_rate_below_threshold" and r.json()["detail"]["success_rate"] == 0.7
    assert client.get("/core/heimdall/policies").json()[0]["prod_enabled"] is False
    trials(client, 4, success=True)  # 14 trials, 11/14 = 0.786
    assert client.post("/core/heimdall/promote", json={"domain": "offers"}).json()["detail"]["code"] == "success_rate_below_threshold"
    trials(client, 1, success=True)  # 15 trials, 12/15 = 0.80: inclusive
    r = client.post("/core/heimdall/promote", json={"domain": "offers"})
    assert r.status_code == 200 and r.json()["prod_enabled"] is True
    r = client.post("/core/heimdall/demote", json={"domain": "offers"})
    assert r.status_code == 200 and r.json()["prod_enabled"] is False


def test_a_domain_without_policy_is_409_no_policy_on_recommend_and_promote(client, data_dir):
    for path, body in [("recommend", {"domain": "dispo", "confidence": 0.95}), ("promote", {"domain": "dispo"}), ("demote", {"domain": "dispo"})]:
        r = client.post(f"/core/heimdall/{path}", json=body)
        assert r.status_code == 409 and r.json()["detail"]["code"] == "no_policy" and r.json()["detail"]["domain"] == "dispo"
    assert not (data_dir / "heimdall" / "recommendations.json").exists()


def test_scorecard_counts_a_rolling_window_with_a_local_daily_series(client, clock):
    upsert(client, window_days=2)
    clock.set("2026-01-05T04:00:00Z")  # Jan 4, 23:00 Toronto
    trials(client, 1, success=True, confidence=0.9)
    clock.set("2026-01-05T15:00:00Z")  # Jan 5, 10:00
    trials(client, 2, success=False, confidence=0.7)
    trials(client, 1, success=True, confidence=0.8)
    card = client.get("/core/heimdall/scorecard", params={"domain": "offers"}).json()[0]
    assert {k: card[k] for k in ("trials", "successes", "success_rate", "prod_enabled", "has_policy", "window_start", "window_end")} == {
        "trials": 4, "successes": 2, "success_rate": 0.5, "prod_enabled": False, "has_policy": True,
        "window_start": "2026-01-03T15:00:00Z", "window_end": "2026-01-05T15:00:00Z",
    }
    assert round(card["mean_confidence"], 6) == 0.775
    assert [(d["day"], d["trials"], d["successes"], d["success_rate"], round(d["mean_confidence"], 6)) for d in card["daily"]] == [
        ("2026-01-04", 1, 1, 1.0, 0.9), ("2026-01-05", 3, 1, 1 / 3, 0.733333),
    ]
    clock.set("2026-01-07T04:00:01Z")  # two days after the first trial, plus a second: it left the window
    card = client.get("/core/heimdall/scorecard").json()[0]
    assert (card["domain"], card["trials"], card["successes"], [d["day"] for d in card["daily"]]) == ("offers", 3, 1, ["2026-01-05"])


def test_bad_input_is_422_naming_the_field_and_writes_nothing(client, data_dir):
    upsert(client)
    for path, body, field in [
        ("trials", {"domain": "offers", "success": True, "confidence": 1.5}, "confidence"),
        ("trials", {"domain": "offers", "success": True, "confidence": -0.1}, "confidence"),
        ("trials", {"domain": "comms", "success": True, "confidence": 0.9}, "domain"),  # no policy
        ("trials", {"domain": "Offers Team", "success": True, "confidence": 0.9}, "domain"),
        ("trials", {"domain": "offers", "confidence": 0.9}, "success"),
        ("recommend", {"domain": "offers", "confidence": 2}, "confidence"),
        ("recommend", {"domain": "offers", "confidence": 0.9, "payload": "text"}, "payload"),
        ("policies/upsert", {"domain": "offers", "min_confidence": 1.1}, "min_confidence"),
        ("policies/upsert", {"domain": "offers", "window_days": 0}, "window_days"),
        ("promote", {"domain": "offers", "force": True}, "force"),
    ]:
        r = client.post(f"/core/heimdall/{path}", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field, (path, body, r.text)
    assert not (data_dir / "heimdall" / "trials.jsonl").exists()
    assert not (data_dir / "heimdall" / "recommendations.json").exists()
    assert client.get("/core/heimdall/policies").json()[0]["version"] == 1
