"""mark_sent judges the window on the number dialled as well as the province typed on the draft."""

from __future__ import annotations

from .conftest import make_draft


def test_a_text_to_a_vancouver_number_typed_ontario_waits_for_0900_vancouver_time(client, clock, live, identity, data_dir, consented):
    clock.set("2026-01-05T16:30:00Z")  # 11:30 in Toronto, 08:30 in Vancouver
    draft = make_draft(client, to="(604) 555-0189", province="ON")
    r = client.post(f"/core/comms/drafts/{draft['id']}/mark_sent", json={})
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert (detail["code"], detail["next_allowed_at"]) == ("outside_contact_window", "2026-01-05T17:00:00Z")
    assert {k: detail["refused_by"][k] for k in ("source", "province", "timezone", "area_code", "local_time")} == {
        "source": "number", "province": "BC", "timezone": "America/Vancouver", "area_code": "604", "local_time": "2026-01-05T08:30:00-08:00"}
    assert not (data_dir / "comms" / "sendlog.jsonl").exists()
    clock.set("2026-01-05T17:00:00Z")
    r = client.post(f"/core/comms/drafts/{draft['id']}/mark_sent", json={})
    assert r.status_code == 200 and r.json()["status"] == "sent"
