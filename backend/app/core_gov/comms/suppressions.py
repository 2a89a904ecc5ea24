"""The internal do-not-contact list. Contacts are normalised (phone E.164, email lower-case) before
every comparison; a value is listed once (an opt-out upgrades a manual entry to opt_out). An
opt-out is kept 3 years and 14 days (retention: deleting it earlier is 409 retention_period).
An opt-out (any source) withdraws every consent of the contact in its commit. A check names the
list that holds a contact (the internal one first, else its DNCL copy) and the consents that
would allow it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import KeysView, Sequence

from ..consent import service as consent_service
from ..errors import Conflict, InvalidField
from ..fields import normalize_contact
from ..storage import Storage, matches
from . import store
from .dncl import dncl_status
from .schemas import Suppression, SuppressionCheck, SuppressionCreate, SuppressionReason

OPT_OUT_EXTRA_DAYS = 14  # an opt-out is kept 3 years + 14 days


def utc_text(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def contact_value(raw: str, loc: tuple[str, ...]) -> str:
    """The contact as stored (normalised), or 422 at `loc`."""
    try:
        return normalize_contact(raw)
    except ValueError as e:
        raise InvalidField(loc, str(e)) from None


def _index(records: Sequence[Suppression]) -> dict[str, Suppression]:
    return {s.value: s for s in records}


def _by_value(db: Storage) -> dict[str, Suppression]:
    """value -> suppression, kept by the store until the list changes."""
    return db.derived(store.suppressions, _index)


def find_suppression(db: Storage, contact: str) -> Suppression | None:
    try:
        value = normalize_contact(contact)
    except ValueError:
        return None  # every stored value is normalised: something unparseable is never on the list
    return _by_value(db).get(value)


def is_suppressed(db: Storage, contact: str) -> bool:
    return find_suppression(db, contact) is not None


def suppressed_values(db: Storage) -> KeysView[str]:
    """Every suppressed value (normalised), for many membership tests at once."""
    return _by_value(db).keys()


def _opt_out_until(s: Suppression) -> datetime:
    start = s.opted_out_at or s.created_at
    try:
        later = start.replace(year=start.year + 3)
    except ValueError:  # 29 February
        later = start.replace(year=start.year + 3, day=28)
    return later + timedelta(days=OPT_OUT_EXTRA_DAYS)


def add_suppression(db: Storage, *, value: str, reason: str, source: str) -> tuple[Suppression, bool]:
    """(suppression, created). An existing value is answered as is, except that an opt-out
    upgrades a manual entry to opt_out (it then falls under the retention period). An opt-out
    withdraws every consent of the contact in the same commit."""
    value = contact_value(value, ("body", "value"))
    reason = SuppressionReason(reason)
    with db.transaction("comms", "consent") as tx:
        if reason is SuppressionReason.opt_out:
            consent_service.withdraw_all(db, contact=value, source=f"opt_out:{source}")
        existing = _by_value(db).get(value)
        if existing is not None:
            if reason is SuppressionReason.opt_out and existing.reason is not SuppressionReason.opt_out:
                existing = tx.update(store.suppressions, existing, reason=reason, source=source, opted_out_at=tx.now)
            return existing, False
        extra = {"opted_out_at": tx.now} if reason is SuppressionReason.opt_out else {}
        return tx.add(store.suppressions, {"value": value, "reason": reason, "source": source, **extra}), True


def suppress(db: Storage, *, value: str, reason: str, source: str) -> Suppression:
    return add_suppression(db, value=value, reason=reason, source=source)[0]


def create_suppression(db: Storage, data: SuppressionCreate) -> tuple[Suppression, bool]:
    return add_suppression(db, value=data.value, reason=data.reason.value, source=data.source)


def list_suppressions(db: Storage, *, reason: str | None = None, source: str | None = None) -> list[Suppression]:
    return [s for s in db.list(store.suppressions) if matches(s, {"reason": reason, "source": source})]


def get_suppression(db: Storage, suppression_id: str) -> Suppression:
    return db.get(store.suppressions, suppression_id)


def check(db: Storage, *, to: str) -> SuppressionCheck:
    """Which list holds the contact (the internal one first, else its area code's DNCL copy) and
    which consent would allow a message (CASL) or a call to a listed number (DNCL exemption) now."""
    value = contact_value(to, ("query", "to"))
    found = _by_value(db).get(value)
    dncl = dncl_status(db, value)
    on = "internal" if found is not None else "dncl" if dncl is not None and dncl.listed else None
    now = db.now()
    return SuppressionCheck(
        to=to, value=value, suppressed=on is not None, list=on, suppression=found, dncl=dncl,
        casl_consent=consent_service.consent_for_send(db, channel="email" if "@" in value else "sms", contact=value, at=now),
        dncl_exemption=None if "@" in value else consent_service.dncl_exemption(db, value, now),
    )


def delete_suppression(db: Storage, suppression_id: str, *, reason: str) -> Suppression:
    with db.transaction("comms") as tx:
        s = tx.get(store.suppressions, suppression_id)
        if s.reason is SuppressionReason.opt_out:
            until = _opt_out_until(s)
            if tx.now < until:
                raise Conflict(
                    "retention_period", f"an opt-out is kept 3 years and {OPT_OUT_EXTRA_DAYS} days; this one until {utc_text(until)}",
                    until=utc_text(until), suppression_id=s.id,
                )
        return tx.delete(store.suppressions, suppression_id, reason=reason)
