"""Market contact policy: seeding, upsert, effective row, and can-contact across zones, DST and edges."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import orjson
import pytest

from app.core_gov.errors import InvalidField
from app.core_gov.market import service
from app.core_gov.market.schemas import ContactWindow

ZONES = {
    "BC": "America/Vancouver", "AB": "America/Edmonton", "SK": "America/Regina", "MB": "America/Winnipeg",
    "ON": "America/Toronto", "QC": "America/Toronto", "NB": "America/Moncton", "NS": "America/Halifax",
    "PE": "America/Halifax", "NL": "America/St_Johns", "YT": "America/Whitehorse", "NT": "America/Yellowknife",
    "NU": "America/Iqaluit",
}


SPEC_KEYS = ("allowed", "reason", "local_time", "next_allowed_at")  # SPEC §0; `checks` and `refused_by` are in test_area_codes


def check(client, at, province="ON", channel="SMS", **more):
    r = client.get("/core/market/can-contact", params={"province": province, "channel": channel, "at": at, **more})
    assert r.status_code == 200, r.text
    return {k: r.json()[k] for k in SPEC_KEYS}


def upsert(client, **fields):
    r = client.post("/core/market/policies/upsert", json={"province": "ON", **fields})
    assert r.status_code == 200, r.text
    return r.json()


def test_the_13_provinces_are_seeded_on_first_read_without_writing(client, data_dir):
    r = client.get("/core/market/policies")
    rows = r.json()
    assert r.headers["x-total-count"] == "13" and [p["province"] for p in rows] == list(ZONES)
    assert {p["province"]: p["timezone"] for p in rows} == ZONES
    assert all(p["market"] == "ALL" and p["enabled"] and p["min_lead_score"] == 0.65 and p["channels_allowed"] == ["SMS", "CALL", "EMAIL"] for p in rows)
    assert rows[0]["contact_windows"] == [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "20:00"}, {"days": [5], "start": "10:00", "end": "18:00"}]
    assert not (data_dir / "market" / "policies.json").exists()


def test_the_first_upsert_persists_the_seeded_set_plus_the_change(client, data_dir):
    before = {p["province"]: p["id"] for p in client.get("/core/market/policies").json()}
    p = upsert(client, min_lead_score=0.7)
    assert (p["min_lead_score"], p["version"], p["timezone"], p["id"]) == (0.7, 2, "America/Toronto", before["ON"])
    on_disk = orjson.loads((data_dir / "market" / "policies.json").read_bytes())
    assert len(on_disk) == 13 and {r["province"]: r["id"] for r in on_disk} == before
    assert [r["min_lead_score"] for r in on_disk if r["province"] == "ON"] == [0.7]
    assert [r["min_lead_score"] for r in on_disk if r["province"] == "QC"] == [0.65]
    city = upsert(client, market="Thunder Bay", timezone="America/Thunder_Bay", channels_allowed=["email", "EMAIL"])
    assert (city["market"], city["channels_allowed"], city["min_lead_score"], city["contact_windows"][1]["days"]) == ("Thunder Bay", ["EMAIL"], 0.65, [5])
    assert client.get("/core/market/policies").headers["x-total-count"] == "14"


def test_effective_is_the_market_row_else_all(client):
    upsert(client, market="Ottawa", min_lead_score=0.8)
    r = client.get("/core/market/effective", params={"province": "on", "market": "ottawa"})
    assert r.status_code == 200 and (r.json()["market"], r.json()["min_lead_score"]) == ("Ottawa", 0.8)
    r = client.get("/core/market/effective", params={"province": "ON", "market": "Toronto"})
    assert (r.json()["market"], r.json()["min_lead_score"]) == ("ALL", 0.65)
    assert client.get("/core/market/effective", params={"province": "ON"}).json()["market"] == "ALL"


def test_ontario_windows_and_their_edges(client):
    for at, allowed, local, next_at in [
        ("2026-01-05T14:00:00Z", True, "2026-01-05T09:00:00-05:00", None),  # Mon 09:00: start inclusive
        ("2026-01-05T13:59:59Z", False, "2026-01-05T08:59:59-05:00", "2026-01-05T14:00:00Z"),
        ("2026-01-06T00:59:59Z", True, "2026-01-05T19:59:59-05:00", None),
        ("2026-01-06T01:00:00Z", False, "2026-01-05T20:00:00-05:00", "2026-01-06T14:00:00Z"),  # 20:00: end exclusive
        ("2026-01-10T15:00:00Z", True, "2026-01-10T10:00:00-05:00", None),  # Saturday 10:00
        ("2026-01-10T23:00:00Z", False, "2026-01-10T18:00:00-05:00", "2026-01-12T14:00:00Z"),  # Sat 18:00 -> Monday
        ("2026-01-04T17:00:00Z", False, "2026-01-04T12:00:00-05:00", "2026-01-05T14:00:00Z"),  # Sunday noon
    ]:
        expected = {"allowed": allowed, "reason": "ok" if allowed else "outside_contact_window", "local_time": local, "next_allowed_at": next_at}
        assert check(client, at) == expected, at


def test_newfoundland_half_hour_offset(client):
    assert check(client, "2026-01-05T12:29:00Z", "NL") == {
        "allowed": False, "reason": "outside_contact_window", "local_time": "2026-01-05T08:59:00-03:30", "next_allowed_at": "2026-01-05T12:30:00Z",
    }
    assert check(client, "2026-01-05T12:30:00Z", "NL")["allowed"] is True
    assert check(client, "2026-07-06T11:30:00Z", "NL")["local_time"] == "2026-07-06T09:00:00-02:30"  # NDT
    assert check(client, "2026-07-06T11:30:00Z", "NL")["allowed"] is True


def test_saskatchewan_keeps_one_offset_all_year(client):
    winter = check(client, "2026-01-05T15:00:00Z", "SK")
    summer = check(client, "2026-07-06T15:00:00Z", "SK")
    assert winter["local_time"] == "2026-01-05T09:00:00-06:00" and summer["local_time"] == "2026-07-06T09:00:00-06:00"
    assert winter["allowed"] and summer["allowed"]
    assert check(client, "2026-07-06T14:59:00Z", "SK")["next_allowed_at"] == "2026-07-06T15:00:00Z"


def test_next_allowed_at_across_ontario_dst_changes(client):
    # Spring forward on Sunday 2026-03-08: Saturday evening (EST) -> Monday 09:00 EDT = 13:00Z.
    r = check(client, "2026-03-07T23:30:00Z")
    assert (r["local_time"], r["next_allowed_at"]) == ("2026-03-07T18:30:00-05:00", "2026-03-09T13:00:00Z")
    # Fall back on Sunday 2026-11-01: Sunday (EST after 02:00) -> Monday 09:00 EST = 14:00Z.
    r = check(client, "2026-11-01T12:00:00Z")
    assert (r["local_time"], r["next_allowed_at"]) == ("2026-11-01T07:00:00-05:00", "2026-11-02T14:00:00Z")
    r = check(client, "2026-10-31T22:30:00Z")  # Saturday 18:30 EDT
    assert (r["local_time"], r["next_allowed_at"]) == ("2026-10-31T18:30:00-04:00", "2026-11-02T14:00:00Z")


def test_windows_that_start_in_a_dst_gap_or_overlap():
    # Legal windows never meet a Canadian DST change (02:00); the search still handles one.
    toronto = ZoneInfo("America/Toronto")
    windows = [ContactWindow(days=[6], start="02:30", end="05:00"), ContactWindow(days=[6], start="01:30", end="01:45")]
    at = lambda iso: datetime.fromisoformat(iso.replace("Z", "+00:00"))
    # 2026-03-08 02:30 does not exist in Toronto (02:00 EST jumps to 03:00 EDT): the window opens at the jump.
    assert service.next_window_start(windows, toronto, at("2026-03-08T06:50:00Z")) == at("2026-03-08T07:00:00Z")  # from 01:50 EST
    # 2026-11-01 01:30 happens twice: the first (EDT, 05:30Z) is the next start.
    assert service.next_window_start(windows, toronto, at("2026-11-01T04:00:00Z")) == at("2026-11-01T05:30:00Z")  # from 00:00 EDT


def test_refusal_reasons_and_when_there_is_no_next_time(client):
    upsert(client, channels_allowed=["SMS", "EMAIL"])
    inside = "2026-01-05T15:00:00Z"
    assert check(client, inside, channel="call") == {"allowed": False, "reason": "channel_not_allowed", "local_time": "2026-01-05T10:00:00-05:00", "next_allowed_at": None}
    assert check(client, inside, lead_score=0.64)["reason"] == "lead_score_below_minimum"
    assert check(client, inside, lead_score=0.65)["reason"] == "ok"
    assert check(client, "2026-01-04T15:00:00Z", lead_score=0.1) == {  # never allowed for this lead: no next time
        "allowed": False, "reason": "lead_score_below_minimum", "local_time": "2026-01-04T10:00:00-05:00", "next_allowed_at": None,
    }
    upsert(client, enabled=False)
    assert check(client, inside) == {"allowed": False, "reason": "policy_disabled", "local_time": "2026-01-05T10:00:00-05:00", "next_allowed_at": None}
    assert check(client, inside, province="QC")["allowed"] is True


def test_at_defaults_to_now_and_the_service_answers_the_same(client, db):
    r = client.get("/core/market/can-contact", params={"province": "BC", "channel": "EMAIL"})
    assert {k: r.json()[k] for k in SPEC_KEYS} == {
        "allowed": False, "reason": "outside_contact_window", "local_time": "2026-01-05T07:00:00-08:00", "next_allowed_at": "2026-01-05T17:00:00Z"}
    c = service.can_contact(db, province="BC", channel="EMAIL", at=datetime.fromisoformat("2026-01-05T17:00:00+00:00"))
    assert (c.allowed, c.reason, c.local_time.isoformat()) == (True, "ok", "2026-01-05T09:00:00-08:00")
    with pytest.raises(InvalidField):
        service.can_contact(db, province="WA", channel="SMS")


def test_bad_input_is_422_naming_the_field_and_writes_nothing(client, data_dir):
    for params, field in [
        ({"province": "XX", "channel": "SMS"}, "province"),
        ({"province": "WA", "channel": "SMS"}, "province"),
        ({"province": "ON", "channel": "FAX"}, "channel"),
        ({"province": "ON", "channel": "SMS", "at": "Monday 9am"}, "at"),
        ({"province": "ON", "channel": "SMS", "at": "2026-01-05T09:00:00"}, "at"),  # no offset
        ({"province": "ON", "channel": "SMS", "at": "0001-01-01T00:00:00+01:00"}, "at"),  # out of range, not a 500
        ({"province": "ON", "channel": "SMS", "lead_score": 1.2}, "lead_score"),
    ]:
        r = client.get("/core/market/can-contact", params=params)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", field], (params, r.text)
    for body, loc in [
        ({"province": "XX"}, ["body", "province"]),
        ({"province": "ON", "timezone": "America/Nowhere"}, ["body", "timezone"]),
        ({"province": "ON", "timezone": "localtime"}, ["body", "timezone"]),
        ({"province": "ON", "contact_windows": [{"days": [0], "start": "9:00", "end": "20:00"}]}, ["body", "contact_windows", 0, "start"]),
        ({"province": "ON", "contact_windows": [{"days": [0], "start": "09:00", "end": "25:00"}]}, ["body", "contact_windows", 0, "end"]),
        ({"province": "ON", "contact_windows": [{"days": [0], "start": "20:00", "end": "09:00"}]}, ["body", "contact_windows", 0, "end"]),
        ({"province": "ON", "contact_windows": [{"days": [7], "start": "09:00", "end": "10:00"}]}, ["body", "contact_windows", 0, "days", 0]),
        ({"province": "ON", "channels_allowed": ["PIGEON"]}, ["body", "channels_allowed", 0]),
        ({"province": "ON", "min_lead_score": 1.5}, ["body", "min_lead_score"]),
    ]:
        r = client.post("/core/market/policies/upsert", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc, (body, r.text)
    assert not (data_dir / "market" / "policies.json").exists()
