"""Communications: drafts, the send log, do-not-contact suppressions, CASL sender identity, the
National DNCL list and inbound replies. A DNCL import backs up the data dir first (logged).
Contacts are normalised (phone E.164, email lower-case)
before every comparison. mark_sent is an execution action, checked in this order: go-live guard
(423), suppressed, dncl_list_stale (calls: newest list older than 31 days, or none), sender
identity missing (email/SMS), then the province's contact window (overridable with a reason).
An opt-out reply or a suppression is kept 3 years and 14 days before it may be deleted."""

from __future__ import annotations

import csv
import io
import unicodedata
import weakref
from datetime import date, datetime, time, timedelta, timezone
from typing import KeysView, Sequence

from ..deals import service as deals_service
from ..errors import Conflict, InvalidField, NotFound, PreconditionFailed, require_start
from ..fields import normalize_contact, normalize_email, normalize_phone
from ..golive import service as golive_service
from ..market import service as market_service
from ..storage import Storage, Transaction, archive, matches
from . import store
from .schemas import (
    DRAFT_STARTS, PHONE_CHANNELS, WINDOW_CHANNEL, Channel, DnclImport, Draft, DraftCreate, DraftStatus, DraftUpdate,
    IdentityFile, IdentityInput, ImportProblem, ImportResult, InboundAction, InboundCreate, InboundMessage,
    MarkSent, SenderIdentity, SendLogEntry, Suppression, SuppressionCheck, SuppressionCreate, SuppressionReason,
)


OPT_OUT_KEYWORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "arret", "arrêt"})
DNCL_MAX_AGE = timedelta(days=31)  # CRTC: call against a list copy at most 31 days old
OPT_OUT_EXTRA_DAYS = 14  # an opt-out is kept 3 years + 14 days

# Draft status moves through PATCH; `sent` only through mark_sent.
TRANSITIONS = {
    DraftStatus.draft: {DraftStatus.ready, DraftStatus.archived},
    DraftStatus.ready: {DraftStatus.draft, DraftStatus.archived},
    DraftStatus.sent: {DraftStatus.archived},
    DraftStatus.archived: set(),
}


def _utc(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _contact(raw: str, loc: tuple[str, ...]) -> str:
    try:
        return normalize_contact(raw)
    except ValueError as e:
        raise InvalidField(loc, str(e)) from None


# ============================================================================ sender identity


def sender_identity(db: Storage) -> SenderIdentity | None:
    """The configured CASL identification, or None (never set, deleted, or incomplete by hand edit)."""
    f = db.read(store.identity)
    if not (f.sender_name and f.mailing_address and f.unsubscribe_text and (f.phone or f.email or f.web)):
        return None
    return SenderIdentity.model_validate(f.model_dump(exclude={"deleted_reason"}))


def get_identity(db: Storage) -> SenderIdentity:
    found = sender_identity(db)
    if found is None:
        raise NotFound("the sender identity is not configured: PUT /core/comms/identity")
    return found


def set_identity(db: Storage, data: IdentityInput) -> SenderIdentity:
    if not (data.phone or data.email or data.web):
        raise InvalidField(("body", "phone"), "give at least one way to reach the sender: phone, email or web")
    with db.transaction("comms") as tx:
        tx.write(store.identity, IdentityFile(**data.model_dump(), updated_at=tx.now))
    return get_identity(db)


def delete_identity(db: Storage, *, reason: str) -> SenderIdentity:
    """Remove the identity (email and SMS then refuse to send); answers what was removed."""
    with db.transaction("comms") as tx:
        old = get_identity(db)
        tx.write(store.identity, IdentityFile(updated_at=tx.now, deleted_reason=reason), audit="delete")
    return old


# ============================================================================ suppressions

_INDEX: "weakref.WeakKeyDictionary[Storage, tuple[Sequence[Suppression], dict[str, Suppression]]]" = weakref.WeakKeyDictionary()


def _by_value(db: Storage) -> dict[str, Suppression]:
    """value -> suppression; rebuilt only when the cached file changes (the core hands back the
    same tuple while it is unchanged). Inside a transaction the staged list is scanned."""
    records = db.list(store.suppressions)
    if not isinstance(records, tuple):
        return {s.value: s for s in records}
    hit = _INDEX.get(db)
    if hit is None or hit[0] is not records:
        hit = (records, {s.value: s for s in records})
        _INDEX[db] = hit
    return hit[1]


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
    upgrades a dncl/manual entry to opt_out (it then falls under the retention period)."""
    value = _contact(value, ("body", "value"))
    reason = SuppressionReason(reason)
    with db.transaction("comms") as tx:
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
    value = _contact(to, ("query", "to"))
    found = _by_value(db).get(value)
    return SuppressionCheck(to=to, value=value, suppressed=found is not None, suppression=found)


def delete_suppression(db: Storage, suppression_id: str, *, reason: str) -> Suppression:
    with db.transaction("comms") as tx:
        s = tx.get(store.suppressions, suppression_id)
        if s.reason is SuppressionReason.opt_out:
            until = _opt_out_until(s)
            if tx.now < until:
                raise Conflict(
                    "retention_period", f"an opt-out is kept 3 years and {OPT_OUT_EXTRA_DAYS} days; this one until {_utc(until)}",
                    until=_utc(until), suppression_id=s.id,
                )
        return tx.delete(store.suppressions, suppression_id, reason=reason)


# ============================================================================ National DNCL


def latest_dncl_import(db: Storage) -> datetime | None:
    """The newest imported list's date (00:00 UTC of its list_date), or None if never imported."""
    dates = [e.list_date for e in db.entries(store.dncl_imports)]
    return datetime.combine(max(dates), time(0), tzinfo=timezone.utc) if dates else None


def list_dncl_imports(db: Storage) -> list[DnclImport]:
    return list(db.entries(store.dncl_imports))


def _parse_dncl(content: bytes) -> tuple[list[tuple[int, str]], list[ImportProblem]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InvalidField(("body",), f"the file is not UTF-8 text: {e.reason} at byte {e.start}") from None
    numbers: list[tuple[int, str]] = []
    invalid: list[ImportProblem] = []
    reader = csv.reader(io.StringIO(text))
    first = True
    for row in reader:
        cell = row[0].strip() if row else ""
        if not cell:
            continue
        if first and not any(c.isdigit() for c in cell):
            first = False
            continue  # a header line (e.g. "phone")
        first = False
        try:
            numbers.append((reader.line_num, normalize_phone(cell)))
        except ValueError as e:
            invalid.append(ImportProblem(row=reader.line_num, field="phone", message=str(e)))
    return numbers, invalid


def import_dncl(db: Storage, *, list_date: date, content: bytes) -> ImportResult:
    """Add every number as a `dncl` suppression in one transaction and record the list's date."""
    if list_date > (db.now() + timedelta(days=1)).date():
        raise InvalidField(("query", "list_date"), f"{list_date} is in the future")
    numbers, invalid = _parse_dncl(content)
    if not numbers:
        raise InvalidField(("body",), "no valid phone number in the file (one number a row, optional header line)")
    saved = archive.backup_before(db, f"the DNCL import of the {list_date} list")
    added = duplicates = 0
    with db.transaction("comms") as tx:
        known = set(_by_value(db))
        for _, value in numbers:
            if value in known:
                duplicates += 1
                continue
            known.add(value)
            tx.add(store.suppressions, {"value": value, "reason": SuppressionReason.dncl, "source": f"dncl:{list_date}"})
            added += 1
        entry = tx.append(store.dncl_imports, {"list_date": list_date, "added": added, "duplicates": duplicates, "invalid": len(invalid)})
    return ImportResult(id=entry.id, list_date=list_date, added=added, duplicates=duplicates, invalid=invalid, backup=str(saved) if saved else None)


# ============================================================================ drafts


def _normalised_to(channel: Channel, to: str | None, province: str | None) -> str | None:
    """`to` as stored: E.164 for sms/call, lower-case for email; province required for sms/call."""
    if channel in PHONE_CHANNELS or channel is Channel.email:
        if not to:
            kind = "an email address" if channel is Channel.email else "a phone number"
            raise InvalidField(("body", "to"), f"a {channel.value} draft needs `to` ({kind})")
        try:
            to = normalize_email(to) if channel is Channel.email else normalize_phone(to)
        except ValueError as e:
            raise InvalidField(("body", "to"), str(e)) from None
    if channel in PHONE_CHANNELS and not province:
        raise InvalidField(("body", "province"), f"a {channel.value} draft needs the contact's province (for the contact window)")
    return to


def list_drafts(
    db: Storage, *, status: str | None = None, channel: str | None = None, deal_id: str | None = None, tag: str | None = None,
) -> list[Draft]:
    found: Sequence[Draft] = db.list(store.drafts)
    if status is not None:
        found = [d for d in found if d.status == status]
    if channel is not None:
        found = [d for d in found if d.channel == channel]
    if deal_id is not None:
        found = [d for d in found if d.deal_id == deal_id]
    if tag is not None:
        wanted = tag.strip().lower()
        found = [d for d in found if wanted in d.tags]
    return list(found)


def get_draft(db: Storage, draft_id: str) -> Draft:
    return db.get(store.drafts, draft_id)


def create_draft(db: Storage, data: DraftCreate) -> Draft:
    status = require_start("draft", DRAFT_STARTS, data.status)
    to = _normalised_to(data.channel, data.to, data.province)
    if data.deal_id is not None:
        deals_service.require_deal(db, data.deal_id)
    with db.transaction("comms") as tx:
        return tx.add(store.drafts, {**data.model_dump(), "to": to, "status": status})


def update_draft(db: Storage, draft_id: str, data: DraftUpdate, *, expected_version: int | None = None) -> Draft:
    """Content changes and/or a status move (draft <-> ready, any -> archived). A sent draft's
    content is immutable (409 sent_immutable); `sent` is reached only through mark_sent."""
    changes = data.model_dump(exclude_unset=True)
    status = changes.pop("status", None)
    if "status" in data.model_fields_set and status is None:
        raise InvalidField(("body", "status"), "status cannot be null")
    with db.transaction("comms") as tx:
        d = tx.get(store.drafts, draft_id)
        if expected_version is not None and d.version != expected_version:
            raise PreconditionFailed(
                "version_mismatch", f"Draft {d.id} is at version {d.version}, not {expected_version}; re-read it and retry",
                current_version=d.version,
            )
        content = {k: v for k, v in changes.items() if getattr(d, k) != v}
        if content:
            if d.sent_at is not None:
                raise Conflict("sent_immutable", f"draft {d.id} was sent at {_utc(d.sent_at)}; its content cannot change", fields=sorted(content))
            merged = {**d.model_dump(), **content}
            if merged["channel"] is None:
                raise InvalidField(("body", "channel"), "channel cannot be null")
            if {"channel", "to", "province"} & content.keys():
                content["to"] = _normalised_to(Channel(merged["channel"]), merged["to"], merged["province"])
            if content.get("deal_id") is not None:
                deals_service.require_deal(db, content["deal_id"])
        if status is not None and status is not d.status:
            if status not in TRANSITIONS[d.status]:
                how = "only mark_sent sends a draft" if status is DraftStatus.sent else f"allowed from {d.status.value}: {', '.join(sorted(s.value for s in TRANSITIONS[d.status])) or 'nothing'}"
                raise Conflict("invalid_transition", f"a {d.status.value} draft cannot move to {status.value}; {how}", current=d.status.value)
            content["status"] = status
        return tx.update(store.drafts, d, content, audit="transition" if "status" in content else "update")


def _casl_copy(body: str, ident: SenderIdentity) -> tuple[str, bool, bool]:
    """The body as logged: the identification line and the unsubscribe line appended if missing."""
    folded = body.casefold()
    need_id = ident.sender_name.casefold() not in folded or ident.mailing_address.casefold() not in folded
    need_unsub = ident.unsubscribe_text.casefold() not in folded
    lines = [body.rstrip()] if body.strip() else []
    if need_id:
        lines.append(", ".join(x for x in (ident.sender_name, ident.mailing_address, ident.phone, ident.email, ident.web) if x))
    if need_unsub:
        lines.append(ident.unsubscribe_text)
    return "\n".join(lines), need_id, need_unsub


def _window_market(db: Storage, draft: Draft) -> str:
    """The deal's city when the draft has one (a city policy may set its own zone), else ALL."""
    deal = deals_service.find_deal(db, draft.deal_id) if draft.deal_id else None
    return (getattr(deal, "city", None) or "ALL") if deal is not None else "ALL"


def mark_sent(db: Storage, draft_id: str, data: MarkSent) -> Draft:
    """Execution action. Refusals in order: 423 go-live/kill switch; 409 invalid_transition (not
    draft/ready); suppressed (no override); dncl_list_stale (calls); sender_identity_missing
    (email/SMS); outside_contact_window (or the policy's other refusal) unless override_reason.
    The draft update and the send-log line are one commit."""
    golive_service.require_execution_allowed(db)
    seen = db.get(store.drafts, draft_id)
    window = None
    if seen.channel in WINDOW_CHANNEL and seen.province and seen.status in (DraftStatus.draft, DraftStatus.ready):
        window = market_service.can_contact(
            db, province=seen.province, channel=WINDOW_CHANNEL[seen.channel], market=_window_market(db, seen), at=db.now(), to=seen.to,
        )
    with db.transaction("comms") as tx:
        d = tx.get(store.drafts, draft_id)
        if d.version != seen.version:
            raise Conflict("draft_changed", f"draft {d.id} changed while being sent; retry", current_version=d.version)
        if d.status not in (DraftStatus.draft, DraftStatus.ready):
            raise Conflict("invalid_transition", f"a {d.status.value} draft cannot be sent", current=d.status.value)
        hit = find_suppression(db, d.to) if d.to else None
        if hit is not None:
            raise Conflict("suppressed", f"{hit.value} is on the do-not-contact list ({hit.reason.value})", to=hit.value, suppression_id=hit.id)
        if d.channel is Channel.call:
            _require_fresh_dncl(db, tx)
        ident = sender_identity(db) if d.channel in (Channel.email, Channel.sms) else None
        if d.channel in (Channel.email, Channel.sms) and ident is None:
            raise Conflict("sender_identity_missing", "email and SMS must carry the CASL sender identification: PUT /core/comms/identity first")
        override = None
        if window is not None and not window.allowed:
            if not data.override_reason:
                raise Conflict(
                    window.reason, f"{WINDOW_CHANNEL[d.channel]} to {d.province} is not allowed now ({window.reason}); send override_reason to send anyway",
                    province=d.province, channel=WINDOW_CHANNEL[d.channel], local_time=window.local_time.isoformat(),
                    next_allowed_at=_utc(window.next_allowed_at) if window.next_allowed_at else None,
                    refused_by=window.refused_by.model_dump(mode="json") if window.refused_by else None,
                )
            override = data.override_reason
        body, id_added, unsub_added = _casl_copy(d.body, ident) if ident is not None else (d.body, False, False)
        sent = tx.update(store.drafts, d, status=DraftStatus.sent, sent_at=tx.now, override_reason=override, audit="transition")
        tx.append(store.sendlog, {
            "draft_id": d.id, "channel": d.channel, "to": d.to, "subject": d.subject, "body": body, "deal_id": d.deal_id,
            "province": d.province, "provider": d.provider, "local_time": window.local_time.isoformat() if window else None,
            "identification_appended": id_added, "unsubscribe_appended": unsub_added, "override_reason": override,
        }, audit="action")
    return sent


def _require_fresh_dncl(db: Storage, tx: Transaction) -> None:
    latest = latest_dncl_import(db)
    if latest is None:
        raise Conflict("dncl_list_stale", "no National DNCL list was ever imported: POST /core/comms/suppressions/import before calling", latest_list_date=None)
    if tx.now - latest > DNCL_MAX_AGE:
        raise Conflict(
            "dncl_list_stale", f"the newest National DNCL list is from {latest.date()}, more than 31 days ago; import a fresh one",
            latest_list_date=latest.date().isoformat(),
        )


def list_sendlog(db: Storage, *, channel: str | None = None, deal_id: str | None = None, since: datetime | None = None) -> list[SendLogEntry]:
    return [
        e for e in db.entries(store.sendlog)
        if matches(e, {"channel": channel, "deal_id": deal_id}) and (since is None or e.at >= since)
    ]


# ============================================================================ inbound replies


def is_opt_out(body: str) -> bool:
    """The whole text is an opt-out keyword, in any case, ignoring surrounding spaces and punctuation."""
    text = unicodedata.normalize("NFC", body)
    strip = lambda c: c.isspace() or unicodedata.category(c)[0] in "PZC"  # noqa: E731
    start, end = 0, len(text)
    while start < end and strip(text[start]):
        start += 1
    while end > start and strip(text[end - 1]):
        end -= 1
    return text[start:end].casefold() in OPT_OUT_KEYWORDS


def record_inbound(db: Storage, data: InboundCreate) -> InboundMessage:
    """Store a reply. An opt-out keyword suppresses the sender and cancels their open follow-ups;
    any other reply completes each of the sender's ladders as `responded` (its lowest open step
    done, the rest canceled). The comms and followups changes are one commit."""
    from ..followups import service as followups_service  # followups imports comms

    sender = data.from_
    received_at = data.received_at or db.now()
    with db.transaction("comms", "followups") as tx:
        record: dict = {"from": sender, "channel": data.channel, "body": data.body, "received_at": received_at}
        responded = []
        if is_opt_out(data.body):
            sup = suppress(db, value=sender, reason="opt_out", source="inbound")
            canceled = followups_service.cancel_open_for_contact(db, contact=sender, reason="opted_out")
            record |= {"action": InboundAction.opted_out, "suppression_id": sup.id, "tasks_canceled": [t.id for t in canceled]}
        else:
            changed = followups_service.mark_responded(db, contact=sender, at=received_at)
            responded = [t for t in changed if t.status.value == "done"]
            record |= {
                "action": InboundAction.responded if responded else InboundAction.recorded,
                "tasks_responded": [t.id for t in responded],
                "tasks_canceled": [t.id for t in changed if t.status.value == "canceled"],
            }
        entry = tx.append(store.inbound, record, audit="action")
    followups_service.report_completed(db, responded)
    return entry


def list_inbound(db: Storage, *, sender: str | None = None, since: datetime | None = None) -> list[InboundMessage]:
    value = _contact(sender, ("query", "from")) if sender is not None else None
    return [e for e in db.entries(store.inbound) if (value is None or e.from_ == value) and (since is None or e.received_at >= since)]
