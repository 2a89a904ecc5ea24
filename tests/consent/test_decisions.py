"""What the senders ask: consent_for_send (email, SMS, DM need a valid CASL consent) and
dncl_exemption (a call to a DNCL-listed number), with the boundary days on the recipient's
calendar, withdrawals, corrections, and the refusal a sender raises."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from app.core_gov.consent import service
from app.core_gov.consent.schemas import ConsentCorrection, ConsentCreate
from app.core_gov.errors import Conflict

PHONE = "+14165550199"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(timezone.utc)


def give(db, kind="implied_inquiry", obtained_at="2025-03-31T12:00:00-04:00", contact=PHONE, **more):
    return service.record_consent(db, ConsentCreate(contact=contact, kind=kind, obtained_at=at(obtained_at), method="web form", **more))


def send(db, when, channel="sms", contact=PHONE):
    return service.consent_for_send(db, channel=channel, contact=contact, at=at(when))


def test_no_consent_on_file_is_no_consent(db):
    d = send(db, "2026-01-05T10:00:00-05:00")
    assert (d.allowed, d.code, d.contact, d.consent_id) == (False, "no_consent", PHONE, None)
    assert "POST /core/consents" in d.message


@pytest.mark.parametrize("channel", ["email", "sms", "dm"])
def test_an_inquiry_of_march_31_allows_messages_through_september_30_and_not_october_1(db, channel):
    contact = "jane@example.com" if channel == "email" else PHONE
    c = give(db, contact=contact)
    last = send(db, "2025-09-30T23:59:59-04:00", channel, contact)
    assert (last.allowed, last.code, last.consent_id, last.kind.value) == (True, "ok", c.id, "implied_inquiry")
    assert last.expires_at == at("2025-10-01T00:00:00-04:00")
    lapsed = send(db, "2025-10-01T00:00:00-04:00", channel, contact)
    assert (lapsed.allowed, lapsed.code) == (False, "consent_expired")
    assert lapsed.expired_at == at("2025-10-01T00:00:00-04:00") and lapsed.valid_through.isoformat() == "2025-09-30"
    assert "2025-09-30" in lapsed.message


def test_other_channels_need_no_casl_consent(db):
    for channel in ("call", "letter", "other"):
        d = send(db, "2026-01-05T10:00:00-05:00", channel)
        assert (d.allowed, d.code) == (True, "not_required")


def test_a_consent_is_not_valid_before_it_was_obtained(db):
    give(db, kind="express", proof="form", obtained_at="2026-01-02T10:00:00-05:00")
    assert send(db, "2026-01-02T09:59:59-05:00").code == "no_consent"
    assert send(db, "2026-01-02T10:00:00-05:00").code == "ok"


def test_leap_day_transaction_casl_through_feb_28_two_years_on_and_dncl_through_aug_31(db):
    give(db, kind="implied_transaction", obtained_at="2024-02-29T15:00:00-05:00")
    assert send(db, "2026-02-28T23:59:59-05:00").allowed
    expired = send(db, "2026-03-01T00:00:00-05:00")
    assert expired.code == "consent_expired" and expired.valid_through.isoformat() == "2026-02-28"
    assert service.dncl_exemption(db, PHONE, at("2025-08-31T23:59:59-04:00")).allowed
    lapsed = service.dncl_exemption(db, PHONE, at("2025-09-01T00:00:00-04:00"))
    assert (lapsed.allowed, lapsed.code, lapsed.valid_through.isoformat()) == (False, "consent_expired", "2025-08-31")
    # the CASL consent still holds after the exemption lapsed
    assert send(db, "2025-09-01T00:00:00-04:00").allowed


def test_an_inquiry_into_a_leap_february(db):
    give(db, obtained_at="2023-08-31T12:00:00-04:00")
    assert send(db, "2024-02-29T23:59:00-05:00").allowed
    assert send(db, "2024-03-01T00:00:00-05:00").code == "consent_expired"


def test_dncl_exemption_express_never_lapses_and_none_without_consent(db):
    assert service.dncl_exemption(db, PHONE, at("2026-01-05T10:00:00-05:00")).code == "no_consent"
    c = give(db, kind="express", proof="recorded call 2025-06-01 #771", obtained_at="2025-06-01T10:00:00-04:00")
    d = service.dncl_exemption(db, PHONE, at("2026-01-05T10:00:00-05:00"))
    assert (d.allowed, d.code, d.consent_id, d.expires_at) == (True, "ok", c.id, None)


def test_the_longest_lasting_consent_is_the_one_named(db):
    give(db, obtained_at="2025-12-01T10:00:00-05:00")
    express = give(db, kind="express", proof="form", obtained_at="2025-11-01T10:00:00-04:00")
    give(db, kind="implied_transaction", obtained_at="2025-12-15T10:00:00-05:00")
    d = send(db, "2026-01-05T10:00:00-05:00")
    assert d.consent_id == express.id and d.expires_at is None


def test_consent_expired_names_the_last_lapse_of_several(db):
    give(db, obtained_at="2025-01-10T10:00:00-05:00")  # through 2025-07-10
    give(db, obtained_at="2025-03-31T12:00:00-04:00")  # through 2025-09-30
    d = send(db, "2026-01-05T10:00:00-05:00")
    assert d.code == "consent_expired" and d.valid_through.isoformat() == "2025-09-30"


def test_withdrawal_turns_every_consent_to_no_consent(db):
    give(db, kind="express", proof="form", obtained_at="2025-12-01T10:00:00-05:00")
    give(db, obtained_at="2026-01-02T10:00:00-05:00")
    before = send(db, "2026-01-05T09:00:00-05:00")
    w = service.withdraw_all(db, contact="(416) 555-0199", source="inbound", reason="STOP")
    assert len(w.consent_ids) == 2 and w.withdrawn_at == at("2026-01-05T15:00:00Z")
    d = send(db, "2026-01-05T10:00:01-05:00")
    assert (d.allowed, d.code) == (False, "no_consent") and "withdrawn" in d.message
    assert service.dncl_exemption(db, PHONE, at("2026-01-05T10:00:01-05:00")).code == "no_consent"
    assert before.allowed  # a send before the withdrawal was allowed


def test_withdraw_all_joins_the_callers_transaction(db):
    give(db, obtained_at="2026-01-02T10:00:00-05:00")
    with db.transaction("comms", "consent"):
        service.withdraw_all(db, contact=PHONE, source="inbound")
    assert send(db, "2026-01-05T10:00:01-05:00").code == "no_consent"


def test_withdraw_all_of_a_contact_without_consents_or_a_dm_handle_changes_no_consent(db):
    assert service.withdraw_all(db, contact="@jane_sells", source="inbound").consent_ids == []
    assert send(db, "2026-01-05T10:00:00-05:00", "dm", "@jane_sells").code == "no_consent"


def test_a_superseded_consent_allows_nothing_and_its_correction_does(db):
    old = give(db, kind="express", proof="form #1", obtained_at="2025-12-01T10:00:00-05:00")
    new = service.correct_consent(db, old.id, ConsentCorrection(
        contact=PHONE, kind="implied_inquiry", obtained_at=at("2025-12-01T10:00:00-05:00"), method="web form", reason="it was an inquiry",
    ))
    d = send(db, "2026-01-05T10:00:00-05:00")
    assert d.consent_id == new.id and d.expires_at == at("2026-06-02T00:00:00-04:00")


def test_refusal_is_the_409_a_sender_raises_with_its_dates(db):
    give(db)
    err = service.refusal(send(db, "2026-01-05T10:00:00-05:00"), channel="sms")
    assert isinstance(err, Conflict) and err.status_code == 409
    assert err.detail["code"] == "consent_expired" and err.detail["channel"] == "sms" and err.detail["contact"] == PHONE
    assert err.detail["expired_at"] == "2025-10-01T04:00:00Z" and err.detail["valid_through"] == "2025-09-30"
