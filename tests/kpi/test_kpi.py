"""KPI events through HTTP: append-only log, filters, local-day summary, bad input, evaluation cost."""

from __future__ import annotations

from datetime import datetime

import orjson

from app.core_gov.kpi import service as kpi_service


def post(client, **fields):
    r = client.post("/core/kpi/events", json={"metric": "offer_generated", "domain": "offers", **fields})
    assert r.status_code == 201, r.text
    return r.json()


def lines(data_dir):
    path = data_dir / "kpi" / "events.jsonl"
    return [orjson.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def test_an_event_is_appended_with_defaults_and_normalised_names(client, data_dir):
    e = post(client, metric=" Offer_Generated ", ref="dl_1")
    assert e["id"].startswith("kpe_") and e["at"] == "2026-01-05T15:00:00Z"
    assert (e["metric"], e["domain"], e["value"], e["success"], e["ref"]) == ("offer_generated", "offers", 1.0, None, "dl_1")
    post(client, value=2.5, success=False)
    assert [(x["value"], x["success"]) for x in lines(data_dir)] == [(1.0, None), (2.5, False)]
    assert lines(data_dir)[0] == e


def test_list_filters_by_metric_domain_and_time_and_pages_oldest_first(client, clock):
    post(client, value=1)
    clock.advance(hours=1)
    post(client, value=2, domain="dispo")
    post(client, value=3, metric="ladder_created")
    post(client, value=0, at="2026-01-05T14:00:00Z")  # back-dated: sorts first
    r = client.get("/core/kpi/events")
    assert [e["value"] for e in r.json()] == [0, 1, 2, 3] and r.headers["x-total-count"] == "4"
    assert [e["value"] for e in client.get("/core/kpi/events", params={"metric": "offer_generated", "domain": "offers"}).json()] == [0, 1]
    r = client.get("/core/kpi/events", params={"since": "2026-01-05T15:00:00Z", "until": "2026-01-05T16:00:00Z"})
    assert [e["value"] for e in r.json()] == [1]  # since inclusive, until exclusive
    r = client.get("/core/kpi/events", params={"limit": 2, "offset": 1})
    assert [e["value"] for e in r.json()] == [1, 2] and r.headers["x-total-count"] == "4"


def test_summary_groups_per_metric_per_local_toronto_day(client, clock):
    # 2026-01-06T04:30Z is 23:30 on Jan 5 in Toronto: same local day as 15:00Z.
    post(client, value=2, success=True, at="2026-01-05T15:00:00Z")
    clock.set("2026-01-06T06:00:00Z")
    post(client, value=4, success=False, at="2026-01-06T04:30:00Z")
    post(client, value=6, at="2026-01-06T04:40:00Z")  # no success flag: not in the rate
    post(client, value=10, success=True, at="2026-01-06T05:00:00Z")  # 00:00 Jan 6 local
    post(client, metric="ladder_created", value=1, at="2026-01-06T05:30:00Z")
    s = client.get("/core/kpi/summary").json()
    assert s == [
        {"metric": "ladder_created", "day": "2026-01-06", "count": 1, "mean_value": 1.0, "success_events": 0, "success_rate": None},
        {"metric": "offer_generated", "day": "2026-01-05", "count": 3, "mean_value": 4.0, "success_events": 2, "success_rate": 0.5},
        {"metric": "offer_generated", "day": "2026-01-06", "count": 1, "mean_value": 10.0, "success_events": 1, "success_rate": 1.0},
    ]
    assert client.get("/core/kpi/summary", params={"metric": "ladder_created"}).headers["x-total-count"] == "1"


def test_bad_input_is_422_naming_the_field_and_writes_nothing(client, data_dir):
    for body, field in [
        ({"metric": "Offer Generated!", "domain": "offers"}, "metric"),
        ({"metric": "offer_generated", "domain": ""}, "domain"),
        ({"metric": "offer_generated", "domain": "offers", "value": "lots"}, "value"),
        ({"metric": "offer_generated", "domain": "offers", "success": "maybe"}, "success"),
        ({"metric": "offer_generated", "domain": "offers", "at": "2026-01-05T10:00:00"}, "at"),  # no offset
        ({"metric": "offer_generated", "domain": "offers", "at": "2026-01-05T15:00:01Z"}, "at"),  # future
        ({"metric": "offer_generated", "domain": "offers", "colour": "red"}, "colour"),
    ]:
        r = client.post("/core/kpi/events", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field, (body, r.text)
    for since in ["yesterday", "0001-01-01T00:00:00+01:00"]:
        r = client.get("/core/kpi/events", params={"since": since})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "since"]
    assert lines(data_dir) == []


def test_recording_evaluates_only_that_metrics_policies_reading_only_their_window(client, db, monkeypatch):
    for metric, domain in [("followup_completed", "followups"), ("buyer_feedback", "buyers")]:
        r = client.post("/core/regression/policies/upsert", json={"metric": metric, "domain": domain})
        assert r.status_code == 200
    calls = []
    real = kpi_service.latest
    monkeypatch.setattr(kpi_service, "latest", lambda db, **kw: calls.append(kw) or real(db, **kw))
    kpi_service.record(db, metric="followup_completed", domain="followups", success=True)
    assert calls == [{"metric": "followup_completed", "domain": "followups", "limit": 250}]
    assert list(client.get("/core/regression/state").json()["evaluations"]) == ["followup_completed"]
    calls.clear()
    kpi_service.record(db, metric="ladder_created", domain="followups")  # no policy: nothing evaluated or read
    assert calls == []


def test_the_metric_index_follows_appends_back_dated_events_and_hand_edits(db, data_dir):
    for value, at in [(1, "2026-01-05T14:00:00+00:00"), (2, "2026-01-05T14:30:00+00:00"), (0, "2026-01-05T13:00:00+00:00"), (3, None)]:
        kpi_service.record(db, metric="m", domain="d", value=value, at=datetime.fromisoformat(at) if at else None)
        kpi_service.record(db, metric="other", domain="d")
    assert [e.value for e in kpi_service.latest(db, metric="m", limit=10)] == [0, 1, 2, 3]
    assert [e.value for e in kpi_service.latest(db, metric="m", limit=2)] == [2, 3]
    assert [e.value for e in kpi_service.events(db, metric="m", since=datetime.fromisoformat("2026-01-05T14:00:00+00:00"))] == [1, 2, 3]
    path = data_dir / "kpi" / "events.jsonl"
    kept = [line for line in path.read_bytes().splitlines() if orjson.loads(line)["value"] != 2]
    path.write_bytes(b"\n".join(kept) + b"\n")  # the operator removes a line by hand
    assert [e.value for e in kpi_service.latest(db, metric="m", limit=10)] == [0, 1, 3]
