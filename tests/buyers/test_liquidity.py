"""Buyer liquidity: feedback, the smoothed score with known values, nodes, the 90-day window."""

from __future__ import annotations

import orjson
import pytest

from app.core_gov.buyers import service as buyers_service
from app.core_gov.kpi import service as kpi_service


def feedback(client, buyer_id, event, province="ON", market="Hamilton", property_type="sfr"):
    r = client.post("/core/buyers/liquidity/feedback", json={
        "buyer_id": buyer_id, "province": province, "market": market, "property_type": property_type, "event": event,
    })
    assert r.status_code == 201, r.text
    return r.json()


KNOWN = [("b1", "responded"), ("b1", "bought"), ("b2", "passed"), ("b3", "no_response"),
         ("b4", "bought"), ("b5", "responded"), ("b6", "no_response"), ("b2", "bought")]


def test_score_of_a_known_set_of_feedback(client, data_dir):
    for buyer, event in KNOWN:
        feedback(client, buyer, event)
    s = client.get("/core/buyers/liquidity/score", params={"province": "on", "market": "hamilton", "property_type": "sfr"}).json()
    # response (6 + 2.5) / 13, close (3 + 2.5) / 13, active 4 of 10:
    # 100 x (0.4 x 0.653846 + 0.4 x 0.423077 + 0.2 x 0.4) = 51.08
    assert s == {
        "province": "ON", "market": "hamilton", "property_type": "sfr", "events": 8, "responses": 6, "bought": 3,
        "active_buyers": 4, "response_rate": 0.6538, "close_rate": 0.4231, "score": 51.1, "label": "warm",
    }
    lines = (data_dir / "buyers" / "feedback.jsonl").read_bytes().splitlines()
    assert [orjson.loads(x)["event"] for x in lines] == [e for _, e in KNOWN]
    kpis = kpi_service.events(client.app.state.storage, metric="buyer_feedback")
    assert [e.success for e in kpis] == [True, True, False, False, True, True, False, True]
    assert {e.domain for e in kpis} == {"buyers"}


def test_one_event_cannot_make_a_market_hot_but_ten_steady_buyers_can(client):
    feedback(client, "b1", "bought", market="Barrie")
    one = buyers_service.score(client.app.state.storage, province="ON", market="Barrie", property_type="sfr")
    assert (one.score, one.label.value) == (48.7, "cold")  # 100 x (0.8 x 3.5/6 + 0.2 x 0.1)
    for i in range(10):
        feedback(client, f"buyer{i}", "bought", market="Barrie")
        feedback(client, f"buyer{i}", "bought", market="Barrie")
    hot = buyers_service.score(client.app.state.storage, province="ON", market="Barrie", property_type="sfr")
    assert (hot.events, hot.active_buyers, hot.score, hot.label.value) == (21, 11, 92.3, "hot")


def test_no_feedback_scores_40_cold(client):
    s = client.get("/core/buyers/liquidity/score", params={"province": "BC", "market": "Victoria", "property_type": "condo"}).json()
    assert (s["events"], s["response_rate"], s["close_rate"], s["score"], s["label"]) == (0, 0.5, 0.5, 40.0, "cold")


def test_nodes_group_by_province_market_type_over_the_last_90_days(client, clock):
    feedback(client, "old", "bought", market="Ottawa")
    clock.advance(days=60)
    for buyer, event in KNOWN:
        feedback(client, buyer, event)
    feedback(client, "x", "no_response", market="HAMILTON", property_type="duplex")
    feedback(client, "y", "responded", province="BC", market="Victoria")
    nodes = client.get("/core/buyers/liquidity/nodes").json()
    assert [(n["province"], n["market"], n["property_type"], n["events"], n["score"]) for n in nodes] == [
        ("ON", "Hamilton", "sfr", 8, 51.1), ("ON", "Ottawa", "sfr", 1, 48.7), ("BC", "Victoria", "sfr", 1, 42.0),
        ("ON", "HAMILTON", "duplex", 1, 33.3),
    ]
    clock.advance(days=31)  # the Ottawa event is now 91 days old
    nodes = client.get("/core/buyers/liquidity/nodes", params={"province": "ON"})
    assert nodes.headers["x-total-count"] == "2" and [n["market"] for n in nodes.json()] == ["Hamilton", "HAMILTON"]
    assert client.get("/core/buyers/liquidity/nodes", params={"label": "warm"}).json()[0]["market"] == "Hamilton"


@pytest.mark.parametrize("body, loc", [
    ({"event": "maybe"}, ["body", "event"]),
    ({"property_type": "castle"}, ["body", "property_type"]),
    ({"province": "ZZ"}, ["body", "province"]),
    ({"buyer_id": ""}, ["body", "buyer_id"]),
])
def test_bad_feedback_is_422_naming_the_field_and_writes_nothing(client, data_dir, body, loc):
    base = {"buyer_id": "b1", "province": "ON", "market": "Hamilton", "property_type": "sfr", "event": "bought"}
    r = client.post("/core/buyers/liquidity/feedback", json={**base, **body})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc
    assert not (data_dir / "buyers" / "feedback.jsonl").exists()
    r = client.get("/core/buyers/liquidity/score", params={"province": "ON", "market": "Hamilton", "property_type": "castle"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "property_type"]
