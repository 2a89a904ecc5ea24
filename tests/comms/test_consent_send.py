"""mark_sent and consent: CASL consent for email, SMS and DM; DNCL exemptions for calls; the
internal list always wins; the send log names the consent used; check names the consents."""

from __future__ import annotations

import orjson
import pytest

from .conftest import dncl_list, import_dncl, make_draft, record_consent


def send(client, draft_id, **body):
    return client.post(f"/core/comms/drafts/{draft_id}/mark_sent", json=body)


def test_an_sms_goes_from_no_consent_to_sent_and_the_log_names_the_consent(client, live, identity, data_dir):
    d = make_draft(client)
    r = send(client, d["id"])
    assert r.status_code == 409
    assert (r.json()["detail"]["code"], r.json()["detail"]["contact"], r.json()["detail"]["channel"]) == ("no_consent", "+14165550199", "sms")
    assert client.get(f"/core/comms/drafts/{d['id']}").json()["status"] == "draft"
    assert not (data_dir / "comms" / "sendlog.jsonl").exists()
    c = record_consent(client, "(416) 555-0199")
    assert send(client, d["id"]).status_code == 200
    assert client.get("/core/comms/sendlog").json()[0]["consent_id"] == c["id"]


def test_an_email_after_the_inquiry_lapsed_is_consent_expired_naming_the_dates(client, clock, live, identity):
    clock.set("2025-09-30T15:00:00Z")  # 11:00 in Toronto on the last day of the inquiry's six months
    record_consent(client, "jane@example.com", kind="implied_inquiry", obtained_at="2025-03-31T14:00:00Z")
    ok = make_draft(client, channel="email", to="Jane@Example.com", subject="12 Elm", province=None)
    late = make_draft(client, channel="email", to="jane@example.com", subject="12 Elm", province=None)
    assert send(client, ok["id"]).status_code == 200
    clock.set("2025-10-01T15:00:00Z")
    detail = send(client, late["id"]).json()["detail"]
    assert (detail["code"], detail["valid_through"], detail["expired_at"]) == ("consent_expired", "2025-09-30", "2025-10-01T04:00:00Z")


def test_a_dm_needs_consent_and_a_handle_never_has_one(client, live, identity):
    handle = make_draft(client, channel="dm", to="@jane_roy")
    assert send(client, handle["id"]).json()["detail"]["code"] == "no_consent"
    record_consent(client, "jane@example.com")
    by_email = make_draft(client, channel="dm", to="jane@example.com")
    assert send(client, by_email["id"]).status_code == 200


def test_calls_off_the_dncl_and_letters_need_no_consent(client, live, dncl):
    call = make_draft(client, channel="call", body="")
    letter = make_draft(client, channel="letter", to="12 Elm Street, Hamilton ON", province=None)
    assert send(client, call["id"]).status_code == 200 and send(client, letter["id"]).status_code == 200
    assert [e["consent_id"] for e in client.get("/core/comms/sendlog").json()] == [None, None]


def test_a_dncl_listed_seller_who_inquired_is_callable_for_six_months_then_not(client, clock, live):
    clock.set("2025-03-31T14:00:00Z")
    inquiry = record_consent(client, "416-555-0199", kind="implied_inquiry", obtained_at="2025-03-31T13:00:00Z")
    first, later = (make_draft(client, channel="call", body="") for _ in range(2))
    clock.set("2025-09-30T15:00:00Z")  # Tuesday 11:00 Toronto: the last day of the exemption
    assert import_dncl(client, dncl_list("416-555-0199"), list_date="2025-09-29").status_code == 201
    assert send(client, first["id"]).status_code == 200
    assert client.get("/core/comms/sendlog").json()[0]["consent_id"] == inquiry["id"]
    clock.set("2025-10-01T15:00:00Z")
    detail = send(client, later["id"]).json()["detail"]
    assert (detail["code"], detail["list"], detail["exemption"], detail["valid_through"]) == ("suppressed", "dncl", "consent_expired", "2025-09-30")


def test_express_consent_never_overrides_the_internal_list(client, live, identity, dncl):
    record_consent(client, "416-555-0199")
    client.post("/core/comms/suppressions", json={"value": "416-555-0199", "reason": "manual"})
    for channel in ("sms", "call"):
        detail = send(client, make_draft(client, channel=channel)["id"]).json()["detail"]
        assert (detail["code"], detail["list"]) == ("suppressed", "internal")


def test_an_opt_out_suppression_withdraws_every_consent_of_the_contact_and_a_manual_one_none(client, clock, live, identity, data_dir):
    a = record_consent(client, "416-555-0199")
    b = record_consent(client, "416-555-0199", kind="implied_inquiry", obtained_at="2026-01-02T15:00:00Z")
    other = record_consent(client, "604-555-0123")
    client.post("/core/comms/suppressions", json={"value": "604-555-0123", "reason": "manual"})
    assert client.get(f"/core/consents/{other['id']}").json()["state"] == "valid"
    clock.advance(minutes=5)
    r = client.post("/core/comms/suppressions", json={"value": "+1 416 555 0199", "reason": "opt_out", "source": "phone call"})
    assert r.status_code == 201, r.text
    for c in (a, b):
        got = client.get(f"/core/consents/{c['id']}").json()
        assert (got["state"], got["withdrawn_at"]) == ("withdrawn", "2026-01-05T15:05:00Z")
    lines = (data_dir / "consent" / "withdrawals.jsonl").read_bytes().splitlines()
    assert len(lines) == 1 and orjson.loads(lines[0])["source"] == "opt_out:phone call"
    assert sorted(orjson.loads(lines[0])["consent_ids"]) == sorted([a["id"], b["id"]])


def test_an_opt_out_that_cannot_be_recorded_withdraws_nothing(client, db, live, monkeypatch):
    """One commit: when the suppression fails, the withdrawal is not written either."""
    from app.core_gov.comms import suppressions

    a = record_consent(client, "416-555-0199")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(suppressions, "_by_value", broken)
    with pytest.raises(RuntimeError):  # after the withdrawal was staged
        suppressions.add_suppression(db, value="416-555-0199", reason="opt_out", source="test")
    assert client.get(f"/core/consents/{a['id']}").json()["state"] == "valid"


def test_check_says_which_consent_would_allow_it(client, live, dncl):
    assert import_dncl(client, dncl_list("416-555-0199")).status_code == 201
    before = client.get("/core/comms/suppressions/check", params={"to": "416 555 0199"}).json()
    assert (before["list"], before["casl_consent"]["code"], before["dncl_exemption"]["code"]) == ("dncl", "no_consent", "no_consent")
    c = record_consent(client, "416-555-0199", kind="implied_inquiry", obtained_at="2026-01-04T15:00:00Z")
    after = client.get("/core/comms/suppressions/check", params={"to": "416 555 0199"}).json()
    assert (after["list"], after["casl_consent"]["consent_id"], after["dncl_exemption"]["consent_id"]) == ("dncl", c["id"], c["id"])
    assert after["dncl_exemption"]["expires_at"] == "2026-07-05T04:00:00Z"  # valid through 2026-07-04, Toronto
    email = client.get("/core/comms/suppressions/check", params={"to": "Jane@Example.com"}).json()
    assert (email["casl_consent"]["code"], email["dncl_exemption"]) == ("no_consent", None)


def test_a_send_reads_consents_under_the_consent_lock(client, live, identity, monkeypatch):
    """A withdrawal at the same instant as a send either lands first (the send is refused) or
    after the send's commit: never between the send's consent check and its commit."""
    from app.core_gov.comms import drafts
    from app.core_gov.storage import engine

    held = []
    real = drafts.send_refusal

    def spy(db, channel, to, at):
        held.append(engine._current.get().modules)
        return real(db, channel, to, at)

    monkeypatch.setattr(drafts, "send_refusal", spy)
    record_consent(client, "(416) 555-0199")
    assert send(client, make_draft(client)["id"]).status_code == 200
    assert held and "consent" in held[0]
