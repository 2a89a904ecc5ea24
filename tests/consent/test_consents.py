"""The consent ledger through HTTP: records with computed expiries and state, the calendar-month
boundaries on the recipient's date (month ends, leap years), bad input refused naming the field
with nothing written, corrections that supersede, withdrawals, filters, the audit trail."""

from __future__ import annotations

from datetime import date

import orjson
import pytest

from app.core_gov.consent.service import months_after

TORONTO = "+14165550199"
VANCOUVER = "+16045550142"


def record(client, **fields):
    body = {"contact": "416-555-0199", "kind": "implied_inquiry", "obtained_at": "2025-03-31T12:00:00-04:00", "method": "web form", **fields}
    r = client.post("/core/consents", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def on_disk(data_dir, name="consents.json"):
    path = data_dir / "consent" / name
    if not path.exists():
        return []
    raw = path.read_bytes()
    return orjson.loads(raw) if name.endswith(".json") else [orjson.loads(line) for line in raw.splitlines()]


def tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"} if root.exists() else {}


# ------------------------------------------------------------------------- the calendar


@pytest.mark.parametrize(("day", "months", "through"), [
    (date(2025, 3, 31), 6, date(2025, 9, 30)),  # September has no 31st
    (date(2025, 1, 15), 6, date(2025, 7, 15)),
    (date(2025, 1, 30), 6, date(2025, 7, 30)),
    (date(2025, 8, 30), 6, date(2026, 2, 28)),
    (date(2025, 2, 28), 6, date(2025, 8, 31)),  # a month's last day counts to the last day (Interpretation Act s.28)
    (date(2025, 2, 27), 6, date(2025, 8, 27)),
    (date(2023, 8, 31), 6, date(2024, 2, 29)),  # into a leap February
    (date(2024, 2, 29), 24, date(2026, 2, 28)),
    (date(2024, 2, 29), 18, date(2025, 8, 31)),
    (date(2024, 2, 28), 24, date(2026, 2, 28)),
    (date(2024, 2, 28), 6, date(2024, 8, 28)),  # not February's last day in a leap year
    (date(2025, 12, 31), 6, date(2026, 6, 30)),
    (date(2025, 7, 31), 18, date(2027, 1, 31)),
])
def test_months_are_counted_by_calendar_month_with_month_ends(day, months, through):
    assert months_after(day, months) == through


# ------------------------------------------------------------------------- recording


def test_inquiry_of_march_31_holds_through_september_30_on_the_recipients_clock(client, data_dir):
    c = record(client)
    assert c["contact"] == TORONTO and c["kind"] == "implied_inquiry" and c["id"].startswith("cn_")
    assert c["zone"] == "America/Toronto"
    assert c["casl_expires_at"] == "2025-10-01T04:00:00Z"  # midnight starting Oct 1 in Toronto (EDT)
    assert c["dncl_exemption_expires_at"] == "2025-10-01T04:00:00Z"
    assert c["state"] == "expired"  # the clock is at 2026-01-05
    assert c["recorded_by"] == "operator" and c["withdrawn_at"] is None and c["superseded_by"] is None
    stored = on_disk(data_dir)
    assert len(stored) == 1 and stored[0]["casl_expires_at"] == "2025-10-01T04:00:00Z" and "state" not in stored[0]
    got = client.get(f"/core/consents/{c['id']}")
    assert got.status_code == 200 and got.json() == c and got.headers["etag"] == '"1"'


def test_a_vancouver_number_lapses_at_vancouver_midnight(client):
    c = record(client, contact="(604) 555-0142")
    assert c["contact"] == VANCOUVER and c["zone"] == "America/Vancouver"
    assert c["casl_expires_at"] == "2025-10-01T07:00:00Z"


def test_an_email_is_lower_cased_and_counted_on_the_operators_calendar(client):
    c = record(client, contact="  Jane.Roy@Example.COM ", obtained_at="2025-08-31T23:30:00-04:00")
    assert c["contact"] == "jane.roy@example.com" and c["zone"] == "America/Toronto"
    assert c["casl_expires_at"] == "2026-03-01T05:00:00Z"  # Aug 31 (last day) + 6 months: through Feb 28 (EST)


def test_the_recipients_date_decides_not_utc(client):
    # 2025-04-01T02:00Z is still March 31 in Toronto: through September 30, not October 1.
    c = record(client, obtained_at="2025-04-01T02:00:00Z")
    assert c["casl_expires_at"] == "2025-10-01T04:00:00Z"


def test_transaction_lasts_two_years_for_casl_and_18_months_for_the_dncl(client):
    c = record(client, kind="implied_transaction", obtained_at="2024-02-29T15:00:00-05:00")
    assert c["casl_expires_at"] == "2026-03-01T05:00:00Z"  # through 2026-02-28
    assert c["dncl_exemption_expires_at"] == "2025-09-01T04:00:00Z"  # through 2025-08-31
    assert c["state"] == "valid"


def test_express_never_expires_and_keeps_its_proof(client, clock):
    c = record(client, kind="express", proof="Checkbox 'text me' #4812", source="https://example.ca/sell")
    assert c["casl_expires_at"] is None and c["dncl_exemption_expires_at"] is None and c["state"] == "valid"
    assert c["proof"] == "Checkbox 'text me' #4812" and c["source"] == "https://example.ca/sell"
    clock.set("2040-01-01T00:00:00Z")
    assert client.get(f"/core/consents/{c['id']}").json()["state"] == "valid"


def test_recorded_by_is_the_actor(client):
    r = client.post("/core/consents", json={"contact": TORONTO, "kind": "implied_inquiry", "obtained_at": "2026-01-05T09:00:00-05:00", "method": "call"}, headers={"X-Actor": "maria"})
    assert r.status_code == 201 and r.json()["recorded_by"] == "maria"


@pytest.mark.parametrize(("change", "field"), [
    ({"kind": "express"}, "proof"),  # express without proof
    ({"kind": "express", "proof": "   "}, "proof"),
    ({"obtained_at": "2026-01-05T15:00:01Z"}, "obtained_at"),  # one second in the future
    ({"obtained_at": "2025-03-31T12:00:00"}, "obtained_at"),  # no offset
    ({"obtained_at": 1735689600}, "obtained_at"),  # an epoch number
    ({"kind": "implied"}, "kind"),
    ({"contact": "12345"}, "contact"),
    ({"contact": "not-an-email@"}, "contact"),
    ({"method": " "}, "method"),
    ({"casl_expires_at": "2030-01-01T00:00:00Z"}, "casl_expires_at"),  # computed, never typed
    ({"state": "valid"}, "state"),
])
def test_bad_input_is_422_naming_the_field_and_writes_nothing(client, data_dir, change, field):
    body = {"contact": TORONTO, "kind": "implied_inquiry", "obtained_at": "2025-03-31T12:00:00-04:00", "method": "web form", **change}
    before = tree(data_dir)
    r = client.post("/core/consents", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][-1] == field, r.json()
    assert tree(data_dir) == before


def test_a_missing_required_field_is_422_naming_it(client, data_dir):
    for field in ("contact", "kind", "obtained_at", "method"):
        body = {"contact": TORONTO, "kind": "implied_inquiry", "obtained_at": "2025-03-31T12:00:00-04:00", "method": "web form"}
        del body[field]
        r = client.post("/core/consents", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field]
    assert on_disk(data_dir) == []


def test_unknown_id_is_404(client):
    assert client.get("/core/consents/cn_nope").status_code == 404
    assert client.post("/core/consents/cn_nope/supersede", json={
        "contact": TORONTO, "kind": "implied_inquiry", "obtained_at": "2025-03-31T12:00:00-04:00", "method": "web form", "reason": "typo",
    }).status_code == 404


# ------------------------------------------------------------------------- corrections


def correction(**fields):
    return {"contact": TORONTO, "kind": "express", "obtained_at": "2025-12-01T10:00:00-05:00", "method": "web form", "proof": "form #2", "reason": "wrong form number", **fields}


def test_a_correction_is_a_new_record_superseding_the_old_and_both_are_kept(client, data_dir):
    old = record(client, kind="express", proof="form #1", obtained_at="2025-12-01T10:00:00-05:00")
    r = client.post(f"/core/consents/{old['id']}/supersede", json=correction())
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["supersedes"] == old["id"] and new["correction_reason"] == "wrong form number" and new["proof"] == "form #2"
    assert new["state"] == "valid"
    kept = client.get(f"/core/consents/{old['id']}").json()
    assert kept["superseded_by"] == new["id"] and kept["proof"] == "form #1" and kept["state"] == "superseded"
    assert [c["id"] for c in on_disk(data_dir)] == [old["id"], new["id"]]
    again = client.post(f"/core/consents/{old['id']}/supersede", json=correction())
    assert again.status_code == 409 and again.json()["detail"]["code"] == "already_superseded"
    assert again.json()["detail"]["superseded_by"] == new["id"]
    assert len(on_disk(data_dir)) == 2


def test_a_correction_is_checked_like_a_record_and_a_withdrawn_one_cannot_be_corrected(client, data_dir):
    old = record(client)
    bad = client.post(f"/core/consents/{old['id']}/supersede", json=correction(proof=None))
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "proof"]
    blank = client.post(f"/core/consents/{old['id']}/supersede", json=correction(reason=" "))
    assert blank.status_code == 422 and blank.json()["detail"][0]["loc"] == ["body", "reason"]
    client.post("/core/consents/withdraw", json={"contact": TORONTO, "reason": "asked by phone"})
    r = client.post(f"/core/consents/{old['id']}/supersede", json=correction())
    assert r.status_code == 409 and r.json()["detail"]["code"] == "consent_withdrawn"
    assert len(on_disk(data_dir)) == 1


# ------------------------------------------------------------------------- withdrawal


def test_withdraw_withdraws_every_consent_of_the_contact_and_only_theirs(client, data_dir):
    a = record(client, kind="express", proof="form", obtained_at="2025-12-01T10:00:00-05:00")
    b = record(client, contact="416 555 0199", obtained_at="2026-01-02T10:00:00-05:00")
    other = record(client, contact="jane@example.com", obtained_at="2026-01-02T10:00:00-05:00")
    r = client.post("/core/consents/withdraw", json={"contact": "(416) 555-0199", "reason": "asked by phone"})
    assert r.status_code == 200, r.text
    w = r.json()
    assert w["contact"] == TORONTO and w["withdrawn_at"] == "2026-01-05T15:00:00Z" and w["source"] == "operator"
    assert w["reason"] == "asked by phone" and w["consent_ids"] == [a["id"], b["id"]]
    states = {c["id"]: (c["state"], c["withdrawn_at"], c["withdrawal_source"]) for c in client.get("/core/consents").json()}
    assert states[a["id"]] == ("withdrawn", "2026-01-05T15:00:00Z", "operator")
    assert states[b["id"]] == ("withdrawn", "2026-01-05T15:00:00Z", "operator")
    assert states[other["id"]][0] == "valid"
    assert on_disk(data_dir, "withdrawals.jsonl")[0]["consent_ids"] == [a["id"], b["id"]]


def test_a_consent_obtained_before_a_withdrawal_and_recorded_after_it_is_withdrawn(client):
    client.post("/core/consents/withdraw", json={"contact": TORONTO, "reason": "STOP by SMS"})
    late = record(client, kind="express", proof="old paper form", obtained_at="2026-01-01T10:00:00-05:00")
    assert late["state"] == "withdrawn" and late["withdrawn_at"] == "2026-01-05T15:00:00Z"


def test_a_consent_given_after_a_withdrawal_is_valid(client, clock):
    client.post("/core/consents/withdraw", json={"contact": TORONTO, "reason": "STOP"})
    clock.advance(minutes=5)
    again = record(client, kind="express", proof="opted back in by form #9", obtained_at="2026-01-05T15:04:00Z")
    assert again["state"] == "valid" and again["withdrawn_at"] is None


def test_withdraw_at_a_past_time_spares_consents_obtained_after_it(client):
    before = record(client, obtained_at="2026-01-01T10:00:00-05:00")
    after = record(client, obtained_at="2026-01-04T10:00:00-05:00")
    w = client.post("/core/consents/withdraw", json={"contact": TORONTO, "reason": "said so on Jan 2", "at": "2026-01-02T12:00:00-05:00"}).json()
    assert w["consent_ids"] == [before["id"]]
    assert client.get(f"/core/consents/{after['id']}").json()["state"] == "valid"


@pytest.mark.parametrize(("body", "field"), [
    ({"contact": TORONTO, "reason": " "}, "reason"),
    ({"contact": TORONTO}, "reason"),
    ({"contact": "nobody", "reason": "x"}, "contact"),
    ({"contact": TORONTO, "reason": "x", "at": "2026-01-06T00:00:00Z"}, "at"),
])
def test_a_bad_withdrawal_is_422_naming_the_field_and_writes_nothing(client, data_dir, body, field):
    record(client)
    before = tree(data_dir)
    r = client.post("/core/consents/withdraw", json=body)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field, r.text
    assert tree(data_dir) == before


# ------------------------------------------------------------------------- lists


def test_list_filters_by_contact_kind_state_and_expiring_before(client, clock):
    inquiry = record(client, obtained_at="2025-12-01T10:00:00-05:00")  # through 2026-06-01
    old = record(client, obtained_at="2025-03-31T12:00:00-04:00")  # expired
    sale = record(client, contact="jane@example.com", kind="implied_transaction", obtained_at="2025-01-10T10:00:00-05:00")
    express = record(client, contact="jane@example.com", kind="express", proof="form", obtained_at="2025-06-01T10:00:00-04:00")

    def ids(**params):
        r = client.get("/core/consents", params=params)
        assert r.status_code == 200, r.text
        assert "offset" in params or r.headers["x-total-count"] == str(len(r.json()))
        return [c["id"] for c in r.json()]

    assert ids() == [inquiry["id"], old["id"], sale["id"], express["id"]]
    assert ids(contact="416.555.0199") == [inquiry["id"], old["id"]]
    assert ids(contact="JANE@example.com") == [sale["id"], express["id"]]
    assert ids(kind="implied_transaction") == [sale["id"]]
    assert ids(state="expired") == [old["id"]]
    assert ids(state="valid") == [inquiry["id"], sale["id"], express["id"]]
    # the sale's DNCL exemption lapses 2026-07-11 (18 months), its CASL consent 2027-01-11
    assert ids(state="valid", expiring_before="2026-07-01T00:00:00Z") == [inquiry["id"]]
    assert ids(state="valid", expiring_before="2026-08-01T00:00:00Z") == [inquiry["id"], sale["id"]]
    assert ids(state="valid", expiring_before="2026-08-01T00:00:00Z", limit=1, offset=1) == [sale["id"]]
    assert client.get("/core/consents", params={"limit": 1, "offset": 1}).headers["x-total-count"] == "4"
    clock.set("2026-06-02T04:00:00Z")  # the inquiry lapsed at midnight June 2 in Toronto
    assert ids(state="valid") == [sale["id"], express["id"]]


@pytest.mark.parametrize(("params", "field"), [
    ({"contact": "12"}, "contact"), ({"kind": "implied"}, "kind"), ({"state": "lapsed"}, "state"),
    ({"expiring_before": "1700000000"}, "expiring_before"), ({"expiring_before": "2026-01-01T00:00:00"}, "expiring_before"),
    ({"colour": "red"}, "colour"),
])
def test_bad_filters_are_422_naming_them(client, params, field):
    r = client.get("/core/consents", params=params)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", field], r.text


# ------------------------------------------------------------------------- audit


def test_every_change_is_in_the_audit_trail(client, data_dir):
    c = record(client, kind="express", proof="form #1", obtained_at="2025-12-01T10:00:00-05:00")
    new = client.post(f"/core/consents/{c['id']}/supersede", json=correction()).json()
    client.post("/core/consents/withdraw", json={"contact": TORONTO, "reason": "asked"})
    trail = [(e["entity"], e["entity_id"], e["action"], sorted(e["changes"])) for e in on_disk(data_dir, "audit.jsonl")]
    assert trail[0][:3] == ("consents", c["id"], "create") and "proof" in trail[0][3] and "casl_expires_at" in trail[0][3]
    assert trail[1][:3] == ("consents", new["id"], "create") and "supersedes" in trail[1][3]
    assert trail[2] == ("consents", c["id"], "action", ["superseded_by"])
    assert trail[3] == ("consents", new["id"], "action", ["withdrawal_source", "withdrawn_at"])
    assert trail[4][0] == "withdrawals" and trail[4][2] == "action"
    assert len(trail) == 5
    r = client.get("/core/audit", params={"module": "consent"})
    assert r.status_code == 200 and len(r.json()) == 5
