"""Contact windows stay inside the CRTC telemarketing hours (weekdays 09:00-21:30, weekends
10:00-18:00, the recipient's local time): an upsert that leaves them is 422 naming the rule, the
seeded policies keep inside them, and a hand-edited wider window never allows more."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from app.core_gov.market import service
from app.core_gov.market.schemas import ContactWindow, seed_policies

ROOT = Path(__file__).resolve().parents[2]


def check(client, at, province="ON", channel="SMS", **more):
    r = client.get("/core/market/can-contact", params={"province": province, "channel": channel, "at": at, **more})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("windows, index", [
    ([{"days": [0], "start": "00:00", "end": "24:00"}], 0),  # Monday all day
    ([{"days": [6], "start": "07:00", "end": "23:00"}], 0),  # Sunday 07:00-23:00
    ([{"days": [0, 1, 2, 3, 4], "start": "08:59", "end": "20:00"}], 0),
    ([{"days": [4], "start": "09:00", "end": "21:31"}], 0),
    ([{"days": [0], "start": "09:00", "end": "20:00"}, {"days": [5], "start": "09:59", "end": "18:00"}], 1),
    ([{"days": [5, 6], "start": "10:00", "end": "18:01"}], 0),
    ([{"days": [4, 5], "start": "09:00", "end": "18:00"}], 0),  # legal on Friday, not on Saturday
])
def test_a_window_outside_the_crtc_hours_is_refused_naming_the_rule(client, data_dir, windows, index):
    for body in ({"province": "ON", "contact_windows": windows}, {"province": "BC", "market": "Kelowna", "contact_windows": windows}):
        r = client.post("/core/market/policies/upsert", json=body)
        assert r.status_code == 422, r.text
        error = r.json()["detail"][0]
        assert (error["loc"], error["type"]) == (["body", "contact_windows", index], "crtc_telemarketing_hours")
        assert "CRTC telemarketing hours (weekdays 09:00-21:30, weekends 10:00-18:00" in error["msg"]
    assert not (data_dir / "market" / "policies.json").exists()


def test_windows_up_to_the_crtc_hours_are_accepted_and_honoured(client):
    widest = [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "21:30"}, {"days": [5, 6], "start": "10:00", "end": "18:00"}]
    r = client.post("/core/market/policies/upsert", json={"province": "ON", "contact_windows": widest})
    assert r.status_code == 200 and r.json()["contact_windows"] == widest
    assert check(client, "2026-01-04T15:00:00Z")["allowed"] is True  # Sunday 10:00
    assert check(client, "2026-01-06T02:29:00Z")["allowed"] is True  # Monday 21:29
    assert check(client, "2026-01-06T02:30:00Z")["allowed"] is False  # Monday 21:30: end exclusive


def test_the_seeded_policies_keep_inside_the_crtc_hours():
    seeded = seed_policies()
    assert len(seeded) == 13
    for row in seeded:
        assert [service.outside_legal_hours(w) for w in row["contact_windows"]] == [[], []], row["province"]
    assert service.outside_legal_hours(ContactWindow(days=[0, 6], start="09:00", end="18:00")) == [6]


def test_a_hand_edited_window_outside_the_crtc_hours_never_allows_contact(client, data_dir):
    client.post("/core/market/policies/upsert", json={"province": "QC", "min_lead_score": 0.6})
    path = data_dir / "market" / "policies.json"
    rows = orjson.loads(path.read_bytes())
    on = next(r for r in rows if r["province"] == "ON")
    on["contact_windows"] = [{"days": [6], "start": "07:00", "end": "23:00"}, {"days": [0], "start": "00:00", "end": "24:00"}]
    path.write_bytes(orjson.dumps(rows, option=orjson.OPT_INDENT_2))
    r = check(client, "2026-01-04T12:30:00Z")  # Sunday 07:30 in Toronto
    assert (r["allowed"], r["reason"], r["local_time"], r["next_allowed_at"]) == (
        False, "outside_contact_window", "2026-01-04T07:30:00-05:00", "2026-01-04T15:00:00Z")
    assert (r["refused_by"]["source"], r["refused_by"]["province"]) == ("province", "ON")
    assert check(client, "2026-01-04T15:00:00Z")["allowed"] is True  # Sunday 10:00
    r = check(client, "2026-01-04T23:00:00Z")  # Sunday 18:00 -> Monday 09:00, not Monday 00:00
    assert (r["allowed"], r["next_allowed_at"]) == (False, "2026-01-05T14:00:00Z")
    assert check(client, "2026-01-06T02:30:00Z")["allowed"] is False  # Monday 21:30


def test_the_shipped_lead_to_offer_workflow_never_sends_with_an_override():
    script = (ROOT / "scripts" / "workflows" / "lead_to_offer.sh").read_text()
    assert "mark_sent" in script
    assert "override_reason\\\": \\\"" not in script and '"override_reason": "' not in script
