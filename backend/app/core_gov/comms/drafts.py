"""Drafts and the send log. A draft's `to` is normalised (E.164 for sms/call, lower-case email);
sms and call drafts need the contact's province. Status moves draft <-> ready, any -> archived by
PATCH; `sent` only through mark_sent, after which the content is immutable. mark_sent is an
execution action, checked in this order: go-live guard (423), then the send permission
(permission.py: internal list, for calls the DNCL copy and exemption, for email/SMS/DM the CASL
consent), sender identity missing (email/SMS), then the province's contact window (overridable
with a reason). The draft update and the send-log line (the body as sent, CASL lines appended,
the consent that allowed it) are one commit."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from ..deals import service as deals_service
from ..errors import Conflict, InvalidField, require_start
from ..fields import normalize_email, normalize_phone
from ..golive import service as golive_service
from ..market import service as market_service
from ..storage import Storage, matches
from . import store
from .identity import sender_identity
from .permission import send_refusal
from .schemas import (
    DRAFT_STARTS, PHONE_CHANNELS, WINDOW_CHANNEL, Channel, Draft, DraftCreate, DraftStatus, DraftUpdate, MarkSent, SenderIdentity,
    SendLogEntry,
)
from .suppressions import utc_text

# Draft status moves through PATCH; `sent` only through mark_sent.
TRANSITIONS = {
    DraftStatus.draft: {DraftStatus.ready, DraftStatus.archived},
    DraftStatus.ready: {DraftStatus.draft, DraftStatus.archived},
    DraftStatus.sent: {DraftStatus.archived},
    DraftStatus.archived: set(),
}


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
    with db.transaction("comms") as tx:
        d = tx.get(store.drafts, draft_id)
        content = {k: v for k, v in changes.items() if getattr(d, k) != v}
        if content:
            if d.sent_at is not None:
                raise Conflict("sent_immutable", f"draft {d.id} was sent at {utc_text(d.sent_at)}; its content cannot change", fields=sorted(content))
            merged = {**d.model_dump(), **content}
            if {"channel", "to", "province"} & content.keys():
                content["to"] = _normalised_to(Channel(merged["channel"]), merged["to"], merged["province"])
            if content.get("deal_id") is not None:
                deals_service.require_deal(db, content["deal_id"])
        if status is not None and status is not d.status:
            if status not in TRANSITIONS[d.status]:
                how = "only mark_sent sends a draft" if status is DraftStatus.sent else f"allowed from {d.status.value}: {', '.join(sorted(s.value for s in TRANSITIONS[d.status])) or 'nothing'}"
                raise Conflict("invalid_transition", f"a {d.status.value} draft cannot move to {status.value}; {how}", current=d.status.value)
            content["status"] = status
        return tx.update(store.drafts, d, content, expected_version=expected_version, audit="transition" if "status" in content else "update")


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
    return deal.city if deal is not None else "ALL"


def mark_sent(db: Storage, draft_id: str, data: MarkSent) -> Draft:
    """Execution action. Refusals in order: 423 go-live/kill switch; 409 invalid_transition (not
    draft/ready); suppressed (internal list, no override); for calls dncl_list_stale then
    suppressed (list dncl) unless a valid DNCL exemption; no_consent / consent_expired
    (email/SMS/DM); sender_identity_missing (email/SMS); outside_contact_window (or the
    policy's other refusal) unless override_reason.
    The draft update and the send-log line are one commit, with the consent ledger held: a
    withdrawal lands before the check or after the send, never between."""
    golive_service.require_execution_allowed(db)
    seen = db.get(store.drafts, draft_id)
    window = None
    if seen.channel in WINDOW_CHANNEL and seen.province and seen.status in (DraftStatus.draft, DraftStatus.ready):
        window = market_service.can_contact(
            db, province=seen.province, channel=WINDOW_CHANNEL[seen.channel], market=_window_market(db, seen), at=db.now(), to=seen.to,
        )
    with db.transaction("comms", "consent") as tx:
        d = tx.get(store.drafts, draft_id)
        if d.version != seen.version:
            raise Conflict("draft_changed", f"draft {d.id} changed while being sent; retry", current_version=d.version)
        if d.status not in (DraftStatus.draft, DraftStatus.ready):
            raise Conflict("invalid_transition", f"a {d.status.value} draft cannot be sent", current=d.status.value)
        refused, consent_id = send_refusal(db, d.channel, d.to, tx.now)
        if refused is not None:
            raise refused
        ident = sender_identity(db) if d.channel in (Channel.email, Channel.sms) else None
        if d.channel in (Channel.email, Channel.sms) and ident is None:
            raise Conflict("sender_identity_missing", "email and SMS must carry the CASL sender identification: PUT /core/comms/identity first")
        override = None
        if window is not None and not window.allowed:
            if not data.override_reason:
                raise Conflict(
                    window.reason, f"{WINDOW_CHANNEL[d.channel]} to {d.province} is not allowed now ({window.reason}); send override_reason to send anyway",
                    province=d.province, channel=WINDOW_CHANNEL[d.channel], local_time=window.local_time.isoformat(),
                    next_allowed_at=utc_text(window.next_allowed_at) if window.next_allowed_at else None,
                    refused_by=window.refused_by.model_dump(mode="json") if window.refused_by else None,
                )
            override = data.override_reason
        body, id_added, unsub_added = _casl_copy(d.body, ident) if ident is not None else (d.body, False, False)
        sent = tx.update(store.drafts, d, status=DraftStatus.sent, sent_at=tx.now, override_reason=override, audit="transition")
        tx.append(store.sendlog, {
            "draft_id": d.id, "channel": d.channel, "to": d.to, "subject": d.subject, "body": body, "deal_id": d.deal_id,
            "province": d.province, "provider": d.provider, "local_time": window.local_time.isoformat() if window else None,
            "identification_appended": id_added, "unsubscribe_appended": unsub_added, "override_reason": override,
            "consent_id": consent_id,
        }, audit="action")
    return sent


def list_sendlog(db: Storage, *, channel: str | None = None, deal_id: str | None = None, since: datetime | None = None) -> list[SendLogEntry]:
    return [
        e for e in db.entries(store.sendlog)
        if matches(e, {"channel": channel, "deal_id": deal_id}) and (since is None or e.at >= since)
    ]
