"""The number dialled is judged too: its Canadian area code gives every (province, zone) it may
ring in, and contact is allowed only when the province given and each of those places allow it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import geocoder

from app.core_gov.fields import CA_PROVINCES
from app.core_gov.market.schemas import AREA_CODES
from app.core_gov.market.service import area_code, places

MONDAY_0830_VANCOUVER = "2026-01-05T16:30:00Z"  # 11:30 in Toronto


def check(client, at, province="ON", channel="SMS", **more):
    r = client.get("/core/market/can-contact", params={"province": province, "channel": channel, "at": at, **more})
    assert r.status_code == 200, r.text
    return r.json()


def canadian_geographic_codes() -> set[str]:
    codes = set()
    for code in range(200, 1000):
        number = phonenumbers.parse(f"+1{code}2345678")
        if phonenumbers.region_code_for_number(number) == "CA" and geocoder.description_for_number(number, "en") != "Canada":
            codes.add(str(code))
    return codes


def test_every_canadian_geographic_area_code_has_its_places():
    assert set(AREA_CODES) == canadian_geographic_codes()
    for code, where in AREA_CODES.items():
        assert where and len(set(where)) == len(where), code
        for province, zone in where:
            assert province in CA_PROVINCES and ZoneInfo(zone), (code, province, zone)
    assert (area_code("+16045550189"), area_code("+12125550100"), area_code("+16005550100"), area_code("jane@example.com")) == ("604", None, None, None)


def test_codes_that_span_zones_list_every_zone():
    zones = lambda code: {z for _, z in AREA_CODES[code]}
    assert zones("604") == {"America/Vancouver"}
    assert {"America/Toronto", "America/Winnipeg"} <= zones("807")
    for code in ("250", "778", "236", "672"):
        assert {"America/Vancouver", "America/Edmonton"} <= zones(code), code
    assert {p for p, _ in AREA_CODES["867"]} == {"YT", "NT", "NU"} and len(zones("867")) >= 5
    assert {p for p, _ in AREA_CODES["902"]} == {"NS", "PE"}
    assert places("+14165550199") == (("ON", "America/Toronto"),)


def test_a_vancouver_number_typed_as_ontario_is_refused_at_0830_vancouver_time(client):
    assert check(client, MONDAY_0830_VANCOUVER)["allowed"] is True  # Toronto alone: 11:30
    assert check(client, MONDAY_0830_VANCOUVER, to="416-555-0199")["allowed"] is True
    r = check(client, MONDAY_0830_VANCOUVER, to="(604) 555-0189")
    province = {"source": "province", "province": "ON", "market": "ALL", "timezone": "America/Toronto", "area_code": None,
                "allowed": True, "reason": "ok", "local_time": "2026-01-05T11:30:00-05:00"}
    number = {"source": "number", "province": "BC", "market": "ALL", "timezone": "America/Vancouver", "area_code": "604",
              "allowed": False, "reason": "outside_contact_window", "local_time": "2026-01-05T08:30:00-08:00"}
    assert r == {
        "allowed": False, "reason": "outside_contact_window", "local_time": "2026-01-05T11:30:00-05:00",
        "next_allowed_at": "2026-01-05T17:00:00Z", "refused_by": number, "checks": [province, number],
    }
    assert check(client, "2026-01-05T17:00:00Z", to="+16045550189")["allowed"] is True  # 09:00 in Vancouver


def test_western_ontario_807_is_judged_on_central_and_eastern_time(client):
    r = check(client, "2026-01-05T14:30:00Z", to="807-555-0100")  # 09:30 Thunder Bay, 08:30 Kenora
    assert (r["allowed"], r["refused_by"]["timezone"], r["refused_by"]["local_time"]) == (False, "America/Winnipeg", "2026-01-05T08:30:00-06:00")
    assert r["next_allowed_at"] == "2026-01-05T15:00:00Z"
    assert [c["timezone"] for c in r["checks"]] == ["America/Toronto", "America/Toronto", "America/Winnipeg", "America/Atikokan"]
    r = check(client, "2026-01-06T00:30:00Z", to="807-555-0100")  # 19:30 Thunder Bay: the window shuts at 19:00 Kenora time
    assert (r["allowed"], r["next_allowed_at"]) == (True, None)
    r = check(client, "2026-01-06T01:30:00Z", to="807-555-0100")  # 20:30 Thunder Bay, 19:30 Kenora
    assert (r["allowed"], r["refused_by"]["source"], r["next_allowed_at"]) == (False, "province", "2026-01-06T15:00:00Z")


def test_the_north_867_is_allowed_only_where_every_territory_zone_is_in_its_window(client):
    r = check(client, "2026-01-05T14:00:00Z", province="NU", to="867-555-0100")  # 09:00 Iqaluit, 07:00 Whitehorse
    assert r["checks"][0]["allowed"] is True
    assert (r["allowed"], r["refused_by"]["province"], r["refused_by"]["timezone"]) == (False, "YT", "America/Whitehorse")
    assert r["next_allowed_at"] == "2026-01-05T16:00:00Z"  # 09:00 in Whitehorse and Cambridge Bay
    assert check(client, "2026-01-05T16:00:00Z", province="NU", to="867-555-0100")["allowed"] is True
    r = check(client, "2026-01-06T01:00:00Z", province="NU", to="867-555-0100")  # 20:00 Iqaluit
    assert (r["allowed"], r["refused_by"]["source"], r["next_allowed_at"]) == (False, "province", "2026-01-06T16:00:00Z")


def test_the_numbers_province_policy_applies_and_a_never_refusal_wins(client):
    assert client.post("/core/market/policies/upsert", json={"province": "BC", "enabled": False}).status_code == 200
    r = check(client, "2026-01-05T18:00:00Z", to="604-555-0189")
    assert (r["allowed"], r["reason"], r["next_allowed_at"], r["refused_by"]["province"]) == (False, "policy_disabled", None, "BC")
    r = check(client, "2026-01-04T18:00:00Z", to="604-555-0189")  # Sunday: ON refuses the window, BC refuses for good
    assert (r["reason"], r["next_allowed_at"], r["refused_by"]["province"]) == ("policy_disabled", None, "BC")


def test_a_number_without_a_canadian_area_code_adds_no_check_and_a_bad_one_is_422(client):
    for to in ("+1 212 555 0100", "600-555-0100"):
        r = check(client, MONDAY_0830_VANCOUVER, to=to)
        assert (r["allowed"], len(r["checks"])) == (True, 1), to
    r = client.get("/core/market/can-contact", params={"province": "ON", "channel": "SMS", "to": "555-01"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "to"]
