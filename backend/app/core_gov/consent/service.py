"""Consent: who agreed to hear from us, how, with what proof, and until when.

One record per consent given by a contact (an E.164 phone or a lower-cased email); express
consent needs its proof. The expiries follow RULES (never typed), counted by calendar month on
the recipient's date. Proof is immutable: a correction is a new record superseding the old, both
kept. A withdrawal (any opt-out) withdraws every consent of the contact obtained before it, also
those recorded later. Senders ask `consent_for_send` (email, SMS, DM) and `dncl_exemption`
(a call to a DNCL-listed number)."""

from __future__ import annotations

import calendar
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable, Sequence, overload
from zoneinfo import ZoneInfo

import phonenumbers
import pydantic_core
from phonenumbers import timezone as phone_zones
from pydantic import ValidationError

from .. import csvimport
from ..errors import Conflict, InvalidField
from ..fields import normalize_contact
from ..storage import Storage, Transaction, actor, archive, select
from . import store
from .schemas import (
    Consent, ConsentCorrection, ConsentCreate, ConsentDecision, ConsentKind, ConsentState, ConsentView, ImportResult, Withdrawal,
)


@dataclass(frozen=True)
class Rule:
    casl_months: int | None  # how long it allows an email, SMS or DM; None: until withdrawn
    dncl_months: int | None  # how long it exempts a call to a DNCL-listed number; None: until withdrawn
    needs_proof: bool


# The law, written once.
# CASL (S.C. 2010, c. 23) s.10(9)-(10): express consent holds until withdrawn; consent implied by
# an existing business relationship holds for the two-year period after a purchase, lease or
# other transaction, and the six-month period after an inquiry or application.
# CRTC Unsolicited Telecommunications Rules, Part II (National DNCL) and its exemptions
# (Telecommunications Act s.41.7): a call to a listed number is exempt with express consent
# (until withdrawn) or an existing business relationship: 18 months after a purchase or
# transaction, 6 months after an inquiry or application.
# A period of months is counted as the Interpretation Act (R.S.C. 1985, c. I-21) s.28 counts it:
# see months_after.
RULES: dict[ConsentKind, Rule] = {
    ConsentKind.express: Rule(casl_months=None, dncl_months=None, needs_proof=True),
    ConsentKind.implied_inquiry: Rule(casl_months=6, dncl_months=6, needs_proof=False),
    ConsentKind.implied_transaction: Rule(casl_months=24, dncl_months=18, needs_proof=False),
}
CASL_CHANNELS = frozenset({"email", "sms", "dm"})  # commercial electronic messages
IMPORT_COLUMNS = tuple(ConsentCreate.model_fields)
IMPORT_REQUIRED = ("contact", "kind", "obtained_at", "method")


# ---------------------------------------------------------------------------------- dates


def months_after(day: date, months: int) -> date:
    """The last day a period of ``months`` from ``day`` covers (Interpretation Act s.28): the day
    with the same number that many months on; the last day of that month when it has no such
    day, or when ``day`` is the last of its own month (2025-03-31 + 6 -> 2025-09-30,
    2025-02-28 + 6 -> 2025-08-31, 2024-02-29 + 24 -> 2026-02-28)."""
    years, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month + 1
    last = calendar.monthrange(year, month)[1]
    month_end = day.day == calendar.monthrange(day.year, day.month)[1]
    return date(year, month, last if month_end else min(day.day, last))


def lapse(obtained_at: datetime, months: int | None, zone: str) -> datetime | None:
    """The first instant a period no longer covers: midnight after its last day, in the
    recipient's zone (None: it never lapses)."""
    if months is None:
        return None
    z = ZoneInfo(zone)
    through = months_after(obtained_at.astimezone(z).date(), months)
    return datetime.combine(through + timedelta(days=1), time(), tzinfo=z).astimezone(timezone.utc)


def recipient_zone(db: Storage, contact: str, at: datetime) -> str:
    """A phone's zone from its area code (the east-most when it spans several: its midnight comes
    first); an email's, or an area's the phone data does not know, is the operator's (VALHALLA_TZ)."""
    if "@" not in contact:
        zones = [z for z in phone_zones.time_zones_for_number(phonenumbers.parse(contact)) if z != phone_zones.UNKNOWN_TIMEZONE]
        if zones:
            return max(zones, key=lambda z: at.astimezone(ZoneInfo(z)).utcoffset())  # type: ignore[arg-type,return-value]
    return db.zone.key


def _contact_key(contact: str) -> str:
    """The stored form of a contact; a value that is neither a phone nor an email (a DM handle)
    as it is, lower-cased: it matches no consent."""
    try:
        return normalize_contact(contact)
    except ValueError:
        return contact.strip().lower()


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------------------------- records


def state_of(c: Consent, at: datetime) -> ConsentState:
    if c.withdrawn_at is not None and c.withdrawn_at <= at:
        return ConsentState.withdrawn
    if c.superseded_by is not None:
        return ConsentState.superseded
    if c.casl_expires_at is not None and c.casl_expires_at <= at:
        return ConsentState.expired
    return ConsentState.valid


def view(c: Consent, at: datetime) -> ConsentView:
    return ConsentView.model_construct(**dict(c), state=state_of(c, at))


class Views(Sequence[ConsentView]):
    """Records answered with their state at one instant, made a page at a time."""

    def __init__(self, records: Sequence[Consent], at: datetime):
        self.records, self.at = records, at

    def __len__(self) -> int:
        return len(self.records)

    @overload
    def __getitem__(self, i: int) -> ConsentView: ...
    @overload
    def __getitem__(self, i: slice) -> list[ConsentView]: ...
    def __getitem__(self, i: int | slice) -> ConsentView | list[ConsentView]:
        if isinstance(i, slice):
            return [view(c, self.at) for c in self.records[i]]
        return view(self.records[i], self.at)


def _lapses_before(c: Consent, before: datetime) -> bool:
    return any(at is not None and at < before for at in (c.casl_expires_at, c.dncl_exemption_expires_at))


def list_consents(
    db: Storage, *, contact: str | None = None, kind: ConsentKind | None = None, state: ConsentState | None = None,
    expiring_before: datetime | None = None,
) -> Sequence[ConsentView]:
    """Filters: contact (any spelling of the phone or email), kind, state now, and expiring_before
    (its CASL consent or DNCL exemption lapses before that instant)."""
    if contact is not None:
        try:
            contact = normalize_contact(contact)
        except ValueError as e:
            raise InvalidField(("query", "contact"), str(e)) from None
    found: Sequence[Consent] = select(db.list(store.consents), {"contact": contact, "kind": kind})
    now = db.now()
    if state is not None or expiring_before is not None:
        found = [
            c for c in found
            if (state is None or state_of(c, now) is state) and (expiring_before is None or _lapses_before(c, expiring_before))
        ]
    return Views(found, now)


def get_consent(db: Storage, consent_id: str) -> ConsentView:
    return view(db.get(store.consents, consent_id), db.now())


def _refusal(data: ConsentCreate, now: datetime) -> tuple[str, str] | None:
    """The field a consent's rules refuse, and why."""
    if data.obtained_at > now:
        return "obtained_at", f"{_iso(data.obtained_at)} is in the future (now {_iso(now)}): record a consent once it is given"
    if RULES[data.kind].needs_proof and not (data.proof or "").strip():
        return "proof", "express consent needs its proof: the wording shown, the form, the recording or the message id"
    return None


def _require_valid(data: ConsentCreate, now: datetime) -> None:
    bad = _refusal(data, now)
    if bad is not None:
        raise InvalidField(("body", bad[0]), bad[1])


def _withdrawals(tx: Transaction) -> dict[str, Withdrawal]:
    """Each contact's latest withdrawal."""
    latest: dict[str, Withdrawal] = {}
    for w in tx.entries(store.withdrawals):
        if w.contact not in latest or w.withdrawn_at >= latest[w.contact].withdrawn_at:
            latest[w.contact] = w
    return latest


def _stamped(db: Storage, tx: Transaction, fields: dict[str, Any], withdrawn: dict[str, Withdrawal]) -> dict[str, Any]:
    """A new record's computed fields: who recorded it, the recipient's zone, the expiries, and
    the withdrawal of a contact who withdrew after it was obtained."""
    rule, obtained_at = RULES[ConsentKind(fields["kind"])], fields["obtained_at"]
    if isinstance(obtained_at, str):
        obtained_at = datetime.fromisoformat(obtained_at)
    zone = recipient_zone(db, fields["contact"], obtained_at)
    out = {
        **fields, "recorded_by": actor.get(), "zone": zone,
        "casl_expires_at": lapse(obtained_at, rule.casl_months, zone), "dncl_exemption_expires_at": lapse(obtained_at, rule.dncl_months, zone),
    }
    later = withdrawn.get(fields["contact"])
    if later is not None and later.withdrawn_at >= obtained_at:
        out |= {"withdrawn_at": later.withdrawn_at, "withdrawal_source": later.source}
    return out


def record_consent(db: Storage, data: ConsentCreate) -> ConsentView:
    with db.transaction("consent") as tx:
        _require_valid(data, tx.now)
        return view(tx.add(store.consents, _stamped(db, tx, data.model_dump(), _withdrawals(tx))), tx.now)


def correct_consent(db: Storage, consent_id: str, data: ConsentCorrection) -> ConsentView:
    """A new record that supersedes ``consent_id``; the old one is kept, marked superseded_by."""
    with db.transaction("consent") as tx:
        old = tx.get(store.consents, consent_id)
        if old.superseded_by is not None:
            raise Conflict("already_superseded", f"consent {old.id} was corrected by {old.superseded_by}: correct that one", superseded_by=old.superseded_by)
        if old.withdrawn_at is not None:
            raise Conflict(
                "consent_withdrawn", f"consent {old.id} was withdrawn at {_iso(old.withdrawn_at)}: a correction does not undo a "
                "withdrawal; record a new consent when the person gives one again", withdrawn_at=_iso(old.withdrawn_at),
            )
        _require_valid(data, tx.now)
        fields = data.model_dump(exclude={"reason"}) | {"supersedes": old.id, "correction_reason": data.reason}
        new = tx.add(store.consents, _stamped(db, tx, fields, _withdrawals(tx)))
        tx.update(store.consents, old, superseded_by=new.id, audit="action")
        return view(new, tx.now)


def withdraw_all(db: Storage, *, contact: str, at: datetime | None = None, source: str, reason: str | None = None) -> Withdrawal:
    """Withdraw every consent in force of ``contact`` obtained by ``at`` (default now; a superseded
    one is left as it is), and remember it, so
    that a consent obtained before it and recorded later is recorded withdrawn. Comms calls it on
    every opt-out; it joins the caller's transaction when that one named "consent"."""
    with db.transaction("consent") as tx:
        at = at or tx.now
        if at > tx.now:
            raise InvalidField(("body", "at"), f"{_iso(at)} is in the future (now {_iso(tx.now)})")
        key = _contact_key(contact)
        ids = []
        for c in list(select(tx.list(store.consents), {"contact": key})):
            if c.superseded_by is None and c.obtained_at <= at and (c.withdrawn_at is None or c.withdrawn_at > at):
                tx.update(store.consents, c, withdrawn_at=at, withdrawal_source=source, audit="action")
                ids.append(c.id)
        return tx.append(store.withdrawals, {"contact": key, "withdrawn_at": at, "source": source, "reason": reason, "consent_ids": ids}, audit="action")


# ---------------------------------------------------------------------------------- decisions


def _decide(db: Storage, contact: str, at: datetime, expiry: str, what: str) -> ConsentDecision:
    """The consent that allows it at ``at`` (the one lasting longest), else why not."""
    key = _contact_key(contact)
    on_file = [c for c in select(db.list(store.consents), {"contact": key}) if c.superseded_by is None and c.obtained_at <= at]
    live = [c for c in on_file if c.withdrawn_at is None or at < c.withdrawn_at]
    valid = [c for c in live if getattr(c, expiry) is None or at < getattr(c, expiry)]
    if valid:
        best = max(valid, key=lambda c: (getattr(c, expiry) is None, getattr(c, expiry) or at, c.obtained_at))
        return ConsentDecision(
            allowed=True, code="ok", message=f"{what} of {key}: {best.kind.value} consent {best.id}", contact=key,
            consent_id=best.id, kind=best.kind, expires_at=getattr(best, expiry),
        )
    if live:
        last = max(live, key=lambda c: getattr(c, expiry))
        lapsed: datetime = getattr(last, expiry)
        through = lapsed.astimezone(ZoneInfo(last.zone)).date() - timedelta(days=1)
        return ConsentDecision(
            allowed=False, code="consent_expired", contact=key, expired_at=lapsed, valid_through=through,
            message=f"the {what} of {key} lapsed at {_iso(lapsed)} (the {last.kind.value} consent {last.id} held through "
                    f"{through.isoformat()}): ask for express consent and record it (POST /core/consents)",
        )
    ended = max((c.withdrawn_at for c in on_file if c.withdrawn_at is not None), default=None)
    why = f"every consent of {key} was withdrawn (last at {_iso(ended)})" if ended else f"no consent of {key} on file"
    return ConsentDecision(allowed=False, code="no_consent", contact=key, message=f"no {what}: {why}; record one first (POST /core/consents)")


def consent_for_send(db: Storage, *, channel: Any, contact: str, at: datetime) -> ConsentDecision:
    """Email, SMS and DM are commercial electronic messages: they need a valid CASL consent at
    ``at`` (refusal `no_consent`, or `consent_expired` naming when the last one lapsed). Other
    channels need none (`not_required`)."""
    name = getattr(channel, "value", channel)
    if name not in CASL_CHANNELS:
        return ConsentDecision(allowed=True, code="not_required", message=f"a {name} is not a commercial electronic message", contact=_contact_key(contact))
    return _decide(db, contact, at, "casl_expires_at", "CASL consent")


def dncl_exemption(db: Storage, contact: str, at: datetime) -> ConsentDecision:
    """Whether a call to a DNCL-listed number is exempt at ``at``: express consent or a running
    existing business relationship."""
    return _decide(db, contact, at, "dncl_exemption_expires_at", "DNCL exemption")


def refusal(decision: ConsentDecision, **context: Any) -> Conflict:
    """A refused decision as the 409 a sender raises: its code, message and dates."""
    dates = decision.model_dump(mode="json", include={"contact", "expired_at", "valid_through"}, exclude_none=True)
    return Conflict(decision.code, decision.message, **dates, **context)


# ---------------------------------------------------------------------------------- CSV import


def _row(now: datetime) -> Any:
    def parse(values: dict[str, str]) -> csvimport.Parsed:
        try:
            data = ConsentCreate.model_validate(values, strict=False)
        except ValidationError as e:
            return None, csvimport.problems(e)
        bad = _refusal(data, now)
        return (None, [bad]) if bad else (data.model_dump(mode="json"), [])
    return parse


def _key(contact: str, kind: str, obtained_at: str) -> tuple[str, str, datetime]:
    return contact, kind, datetime.fromisoformat(obtained_at)


def import_csv(db: Storage, chunks: Iterable[bytes]) -> ImportResult:
    """Import consents (a web-form export) read in chunks of any size: one transaction, one audit
    entry. A row repeating the contact, kind and obtained_at of a record (or an earlier row) is
    a duplicate, skipped."""
    with tempfile.TemporaryFile() as spool:
        checked = csvimport.check(chunks, spool, required=IMPORT_REQUIRED, allowed=IMPORT_COLUMNS, parse=_row(db.now()))
        saved = archive.backup_before(db, f"the import of {checked.rows} consent row(s)", modules=("consent",)) if spool.tell() else None
        ids: list[str] = []
        duplicates = 0
        with db.transaction("consent") as tx:
            seen = {_key(d["contact"], d["kind"], d["obtained_at"]) for d in map(pydantic_core.from_json, tx.list(store.consents).frags())}
            withdrawn = _withdrawals(tx)
            for _, fields in csvimport.spooled(spool):
                key = _key(fields["contact"], fields["kind"], fields["obtained_at"])
                if key in seen:
                    duplicates += 1
                    continue
                seen.add(key)
                ids.append(tx.add(store.consents, _stamped(db, tx, fields, withdrawn), audit=None).id)
            if ids:
                tx.audit("consent", store.consents.name, "import", "action", {
                    "file_sha256": [None, checked.sha256], "rows": [None, checked.rows], "added": [None, len(ids)],
                    "duplicates": [None, duplicates], "invalid": [None, checked.invalid_count], "first_id": [None, ids[0]], "last_id": [None, ids[-1]],
                })
    return ImportResult(added=len(ids), duplicates=duplicates, invalid=checked.invalid, invalid_count=checked.invalid_count, backup=str(saved) if saved else None)
