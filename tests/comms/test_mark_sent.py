"""mark_sent: the execution guard, the refusal order, contact windows per province, CASL copy, send log."""

from __future__ import annotations

import orjson

from app.core_gov.golive import service as golive_service

from .conftest import dncl_list, import_dncl, make_deal, make_draft, record_consent

SATURDAY_1830_TORONTO = "2026-01-10T23:30:00Z"  # 15:30 in Vancouver


def send(client, draft_id, **body):
    return client.post(f"/core/comms/drafts/{draft_id}/mark_sent", json=body)


def test_go_live_off_is_423_and_the_kill_switch_wins(client, db, data_dir, identity):
    d = make_draft(client)
    r = send(client, d["id"])
    assert r.status_code == 423 and r.json()["detail"]["code"] == "go_live_disabled"
    golive_service.engage_kill_switch(db, reason="complaint")
    r = send(client, d["id"])
    assert r.status_code == 423 and r.json()["detail"]["code"] == "kill_switch_engaged"
    assert client.get(f"/core/comms/drafts/{d['id']}").json()["status"] == "draft"
    assert not (data_dir / "comms" / "sendlog.jsonl").exists()


def test_sms_saturday_1830_refused_in_ontario_but_allowed_in_bc_at_the_same_instant(client, clock, live, identity, consented):
    on = make_draft(client, to="416-555-0199", province="ON")
    bc = make_draft(client, to="604-555-0123", province="BC")
    clock.set(SATURDAY_1830_TORONTO)
    r = send(client, on["id"])
    assert r.status_code == 409
    assert r.json()["detail"] == {
        "code": "outside_contact_window", "province": "ON", "channel": "SMS",
        "local_time": "2026-01-10T18:30:00-05:00", "next_allowed_at": "2026-01-12T14:00:00Z",
        "message": "SMS to ON is not allowed now (outside_contact_window); send override_reason to send anyway",
        "refused_by": {"source": "province", "province": "ON", "market": "ALL", "timezone": "America/Toronto", "area_code": None,
                       "allowed": False, "reason": "outside_contact_window", "local_time": "2026-01-10T18:30:00-05:00"},
    }
    assert client.get(f"/core/comms/drafts/{on['id']}").json()["status"] == "draft"
    ok = send(client, bc["id"])
    assert ok.status_code == 200 and ok.json()["status"] == "sent" and ok.json()["sent_at"] == SATURDAY_1830_TORONTO
    log = client.get("/core/comms/sendlog").json()
    assert [(e["draft_id"], e["to"], e["local_time"]) for e in log] == [(bc["id"], "+16045550123", "2026-01-10T15:30:00-08:00")]


def test_override_reason_sends_outside_the_window_and_is_recorded_on_draft_and_log(client, clock, live, identity, consented):
    d = make_draft(client)
    clock.set(SATURDAY_1830_TORONTO)
    r = send(client, d["id"], override_reason="seller asked for a text tonight")
    assert r.status_code == 200 and r.json()["override_reason"] == "seller asked for a text tonight"
    entry = client.get("/core/comms/sendlog").json()[0]
    assert entry["override_reason"] == "seller asked for a text tonight" and entry["local_time"] == "2026-01-10T18:30:00-05:00"


def test_override_is_not_recorded_when_inside_the_window(client, live, identity, consented):
    d = make_draft(client)
    r = send(client, d["id"], override_reason="not needed")
    assert r.status_code == 200 and r.json()["override_reason"] is None


def test_refusal_order_suppressed_then_dncl_then_consent_then_identity_then_window(client, clock, live):
    """A call to a suppressed number after hours, with no DNCL list, no consent and no identity:
    each fix reveals the next refusal in the pinned order (SPEC §0)."""
    call = make_draft(client, channel="call", body="")
    sms = make_draft(client, channel="sms", to="604-555-0123", province="ON")
    client.post("/core/comms/suppressions", json={"value": "+1 416 555 0199", "reason": "manual"})
    clock.set(SATURDAY_1830_TORONTO)
    codes = lambda d: send(client, d["id"]).json()["detail"]["code"]  # noqa: E731
    r = send(client, call["id"])
    assert r.status_code == 409 and (r.json()["detail"]["code"], r.json()["detail"]["list"]) == ("suppressed", "internal")
    sup = client.get("/core/comms/suppressions").json()[0]
    client.delete(f"/core/comms/suppressions/{sup['id']}", params={"reason": "entered by mistake"})
    assert codes(call) == "dncl_list_stale"
    assert codes(sms) == "no_consent"
    record_consent(client, "604-555-0123")
    assert codes(sms) == "sender_identity_missing"
    assert import_dncl(client, dncl_list("416-555-0199", "416-555-0111"), list_date="2026-01-10").status_code == 201
    r = send(client, call["id"])
    assert r.status_code == 409 and r.json()["detail"] | {"message": None} == {
        "code": "suppressed", "list": "dncl", "to": "+14165550199", "area_code": "416", "list_date": "2026-01-10", "message": None,
        "exemption": "no_consent",
    }
    inquiry = record_consent(client, "416-555-0199", kind="implied_inquiry", obtained_at="2026-01-09T15:00:00Z", source="we-buy-houses form")
    client.put("/core/comms/identity", json={"sender_name": "V", "mailing_address": "1 A St", "web": "v.example", "unsubscribe_text": "Reply STOP"})
    assert codes(call) == "outside_contact_window"  # listed, but exempt: the inquiry is 1 day old
    assert codes(sms) == "outside_contact_window"
    clock.set("2026-01-12T17:00:00Z")  # Monday 12:00 Toronto, 09:00 in Vancouver (the SMS's 604 number)
    assert send(client, call["id"]).status_code == 200
    assert send(client, sms["id"]).status_code == 200
    log = client.get("/core/comms/sendlog").json()
    assert [e["consent_id"] for e in log] == [inquiry["id"], client.get("/core/consents", params={"contact": "604-555-0123"}).json()[0]["id"]]


def test_calls_need_a_dncl_list_at_most_31_days_old(client, clock, live):
    import_dncl(client, dncl_list("416-555-0111"), list_date="2025-12-05")
    d = make_draft(client, channel="call")
    clock.set("2026-01-05T15:00:00Z")  # 31 days and 15 h after 2025-12-05 00:00Z
    r = send(client, d["id"])
    assert r.status_code == 409 and r.json()["detail"]["code"] == "dncl_list_stale"
    assert (r.json()["detail"]["area_code"], r.json()["detail"]["list_date"]) == ("416", "2025-12-05")
    clock.set("2026-01-05T00:00:00Z")  # exactly 31 days: still usable, but 19:00 Sunday in Toronto
    assert send(client, d["id"]).json()["detail"]["code"] == "outside_contact_window"
    import_dncl(client, dncl_list("416-555-0111"), list_date="2026-01-02")
    clock.set("2026-01-05T15:00:00Z")
    assert send(client, d["id"]).status_code == 200


def test_email_and_dm_windows(client, clock, live, identity, consented):
    """Email with a province is window-checked (EMAIL); without one, and dm/letter/other, are not."""
    with_province = make_draft(client, channel="email", to="a@b.ca", subject="Hi", province="ON")
    without = make_draft(client, channel="email", to="c@d.ca", subject="Hi", province=None)
    dm = make_draft(client, channel="dm", to="jane.roy@example.com", province="ON")
    clock.set(SATURDAY_1830_TORONTO)
    r = send(client, with_province["id"])
    assert r.status_code == 409 and r.json()["detail"]["channel"] == "EMAIL"
    assert send(client, without["id"]).status_code == 200
    assert send(client, dm["id"]).status_code == 200


def test_sent_email_and_sms_carry_identification_and_unsubscribe_in_the_logged_copy(client, live, identity, data_dir, consented):
    bare = make_draft(client, body="Hi Jane, still selling 12 Elm St?")
    full = make_draft(client, channel="email", to="jane@example.com", subject="12 Elm",
                      body="Hi Jane.\nValhalla Homes Inc., 100 King St W, Toronto ON M5X 1A9\nReply STOP to opt out.", province=None)
    call = make_draft(client, channel="dm", to="jane@example.com", body="hello")
    for d in (bare, full, call):
        assert send(client, d["id"]).status_code == 200
    log = client.get("/core/comms/sendlog").json()
    assert log[0]["body"] == (
        "Hi Jane, still selling 12 Elm St?\n"
        "Valhalla Homes Inc., 100 King St W, Toronto ON M5X 1A9, +14165550100\n"
        "Reply STOP to opt out."
    )
    assert (log[0]["identification_appended"], log[0]["unsubscribe_appended"]) == (True, True)
    assert log[1]["body"] == full["body"] and (log[1]["identification_appended"], log[1]["unsubscribe_appended"]) == (False, False)
    assert log[2]["body"] == "hello"
    assert client.get(f"/core/comms/drafts/{bare['id']}").json()["body"] == "Hi Jane, still selling 12 Elm St?"
    lines = (data_dir / "comms" / "sendlog.jsonl").read_bytes().splitlines()
    assert [orjson.loads(x)["draft_id"] for x in lines] == [bare["id"], full["id"], call["id"]]


def test_sending_twice_is_invalid_transition_and_logs_once(client, live, identity, consented):
    d = make_draft(client)
    assert send(client, d["id"]).status_code == 200
    r = send(client, d["id"])
    assert r.status_code == 409 and r.json()["detail"]["code"] == "invalid_transition" and r.json()["detail"]["current"] == "sent"
    assert client.get("/core/comms/sendlog").headers["x-total-count"] == "1"


def test_sendlog_filters_by_channel_deal_and_since(client, clock, live, identity, consented):
    deal = make_deal(client)
    a = make_draft(client, deal_id=deal["id"])
    b = make_draft(client, channel="email", to="x@y.ca", province=None)
    send(client, a["id"])
    clock.advance(hours=1)
    send(client, b["id"])
    assert [e["draft_id"] for e in client.get("/core/comms/sendlog", params={"deal_id": deal["id"]}).json()] == [a["id"]]
    assert [e["draft_id"] for e in client.get("/core/comms/sendlog", params={"channel": "email"}).json()] == [b["id"]]
    assert [e["draft_id"] for e in client.get("/core/comms/sendlog", params={"since": "2026-01-05T15:30:00Z"}).json()] == [b["id"]]
    assert client.get("/core/comms/sendlog", params={"since": "2026-01-05T15:30:00"}).status_code == 422


def test_mark_sent_unknown_draft_is_404(client, live):
    assert send(client, "dr_nope").status_code == 404


def test_a_draft_for_a_deal_uses_the_city_policy_of_the_deal(client, clock, live, identity, consented):
    """Kenora (western ON) keeps Central time: Monday 09:30 in Toronto is 08:30 there, before the window."""
    r = client.post("/core/market/policies/upsert", json={"province": "ON", "market": "Kenora", "timezone": "America/Winnipeg"})
    assert r.status_code == 200, r.text
    kenora = make_deal(client, city="Kenora", address="5 Lake St")
    toronto = make_deal(client, city="Toronto", address="6 Bay St")
    west = make_draft(client, deal_id=kenora["id"])
    east = make_draft(client, deal_id=toronto["id"])
    clock.set("2026-01-12T14:30:00Z")
    refused = send(client, west["id"]).json()["detail"]
    assert (refused["code"], refused["refused_by"]["market"], refused["local_time"]) == ("outside_contact_window", "Kenora", "2026-01-12T08:30:00-06:00")
    assert send(client, east["id"]).status_code == 200
    clock.set("2026-01-12T15:00:00Z")
    assert send(client, west["id"]).status_code == 200
    assert client.get("/core/comms/sendlog").json()[1]["local_time"] == "2026-01-12T09:00:00-06:00"
