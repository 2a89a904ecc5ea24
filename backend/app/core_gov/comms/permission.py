"""Whether a contact may be reached on a channel at a time, decided in one place (mark_sent and
the follow-up ladder's due list both ask it), after the go-live guard and before the sender
identity and the contact window. In order: the internal do-not-contact list (nothing overrides
it); for calls the area code's DNCL copy (`dncl_list_stale`, then `suppressed` with list dncl
unless a valid DNCL exemption); for email, SMS and DM a valid CASL consent (`no_consent` /
`consent_expired`)."""

from __future__ import annotations

from datetime import datetime

from ..consent import service as consent_service
from ..errors import Conflict
from ..storage import Storage
from .dncl import dncl_status
from .schemas import Channel
from .suppressions import find_suppression


def send_refusal(db: Storage, channel: Channel, to: str | None, at: datetime) -> tuple[Conflict | None, str | None]:
    """(the refusal, None), or (None, the id of the consent that allows it; None when none is needed)."""
    hit = find_suppression(db, to) if to else None
    if hit is not None:
        return Conflict(
            "suppressed", f"{hit.value} is on the do-not-contact list ({hit.reason.value})",
            to=hit.value, list="internal", suppression_id=hit.id,
        ), None
    if channel is Channel.call:
        status = dncl_status(db, to) if to else None
        if status is None:
            return None, None
        area, listed_on = status.area_code, status.list_date.isoformat() if status.list_date else None
        if status.stale:
            why = f"is from {listed_on}, more than 31 days ago" if listed_on else "was never imported"
            return Conflict(
                "dncl_list_stale", f"the National DNCL copy for area code {area} {why}: import a fresh {area} list before calling",
                area_code=area, list_date=listed_on,
            ), None
        if not status.listed:
            return None, None
        exemption = consent_service.dncl_exemption(db, to, at)  # type: ignore[arg-type]
        if not exemption.allowed:
            return Conflict(
                "suppressed", f"{to} is on the National DNCL (the {area} copy of {listed_on}) and has no DNCL exemption: {exemption.message}",
                to=to, list="dncl", area_code=area, list_date=listed_on, exemption=exemption.code,
                **exemption.model_dump(mode="json", include={"expired_at", "valid_through"}, exclude_none=True),
            ), None
        return None, exemption.consent_id
    casl = consent_service.consent_for_send(db, channel=channel, contact=to or "", at=at)
    if not casl.allowed:
        return consent_service.refusal(casl, channel=channel.value), None
    return None, casl.consent_id
