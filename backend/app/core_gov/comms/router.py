from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query, Request, Response

from ..http import STREAMED_BODIES, IfMatch, ModuleRouter, Page, ReasonQuery, StorageDep, body_chunks, etag, one, paginate, responses
from ..storage import QueryInstant
from . import service
from .schemas import (
    Channel, DnclImport, Draft, DraftCreate, DraftStatus, DraftUpdate, IdentityInput, ImportResult,
    InboundMessage, MarkSent, SenderIdentity, SendLogEntry, Suppression, SuppressionCheck, SuppressionCreate,
    SuppressionReason,
)

router = ModuleRouter(prefix="/comms", tags=["comms"])

# A DNCL download is read in chunks, never whole: 2 million numbers are ~26 MB, far over
# VALHALLA_MAX_BODY; 256 MiB holds more than the whole national list.
DNCL_MAX_BODY = 256 * 1024 * 1024
STREAMED_BODIES["/core/comms/suppressions/import"] = DNCL_MAX_BODY


# ---------------------------------------------------------------------------- drafts


@router.post("/drafts", status_code=201, summary="Create a draft", responses=responses())
def create_draft(db: StorageDep, body: DraftCreate) -> Draft:
    """`to` is normalised (phone E.164 for sms/call, email lower-case); sms and call drafts need
    `province` (the contact's, for the contact window); email, sms and call drafts need `to`."""
    return service.create_draft(db, body)


@router.get("/drafts", summary="List drafts", responses=responses())
async def list_drafts(
    db: StorageDep, response: Response, page: Page, status: DraftStatus | None = None, channel: Channel | None = None,
    deal_id: str | None = None, tag: str | None = None,
) -> list[Draft]:
    return paginate(response, service.list_drafts(db, status=status, channel=channel, deal_id=deal_id, tag=tag), page)


@router.get("/drafts/{draft_id}", summary="Get a draft", responses=responses(404))
async def get_draft(db: StorageDep, draft_id: str) -> Draft:
    return one(service.get_draft(db, draft_id))


@router.patch("/drafts/{draft_id}", summary="Edit a draft or move its status", responses=responses(404, 409, 412))
def update_draft(db: StorageDep, response: Response, draft_id: str, body: DraftUpdate, if_match: IfMatch = None) -> Draft:
    """Status: draft <-> ready, any -> archived (409 invalid_transition otherwise; `sent` only via
    mark_sent). A sent draft's content cannot change (409 sent_immutable)."""
    return etag(response, service.update_draft(db, draft_id, body, expected_version=if_match))


@router.post("/drafts/{draft_id}/mark_sent", summary="Mark a draft sent (execution action)", responses=responses(404, 409, 423))
def mark_sent(db: StorageDep, draft_id: str, body: MarkSent | None = None) -> Draft:
    """Refused in this order: 423 go-live off / kill switch; 409 invalid_transition (not draft or
    ready); 409 suppressed (internal list, no override; `list: "internal"`); for calls 409
    dncl_list_stale (the called area code's DNCL copy missing or over 31 days old) then 409
    suppressed with `list: "dncl"` unless a valid DNCL exemption (`exemption` says why not:
    no_consent or consent_expired, with `expired_at` and `valid_through`); for email/SMS/DM 409
    no_consent or consent_expired (`contact`, `channel`, `expired_at`, `valid_through`: the last
    day the consent held); 409 sender_identity_missing (email/SMS); 409 outside_contact_window in
    the draft's province unless `override_reason` (recorded). Appends the send-log line (with the
    CASL identification and unsubscribe line added when the body lacks them, and `consent_id`,
    the consent that allowed it) in the same commit."""
    return service.mark_sent(db, draft_id, body or MarkSent())


@router.get("/sendlog", summary="The send log (messages marked sent, as sent)", responses=responses())
async def list_sendlog(
    db: StorageDep, response: Response, page: Page, channel: Channel | None = None, deal_id: str | None = None,
    since: QueryInstant | None = None,
) -> list[SendLogEntry]:
    return paginate(response, service.list_sendlog(db, channel=channel, deal_id=deal_id, since=since), page)


# ---------------------------------------------------------------------------- suppressions


@router.post(
    "/suppressions", status_code=201, summary="Add a do-not-contact entry",
    responses={200: {"model": Suppression, "description": "Already on the list: the existing entry"}, **responses()},
)
def create_suppression(db: StorageDep, response: Response, body: SuppressionCreate) -> Suppression:
    """201 with the new entry; a value already on the list answers 200 with the existing entry
    (an opt_out given for a dncl/manual entry upgrades it to opt_out)."""
    found, created = service.create_suppression(db, body)
    if not created:
        response.status_code = 200
    return found


@router.get("/suppressions", summary="List the do-not-contact entries", responses=responses())
async def list_suppressions(
    db: StorageDep, response: Response, page: Page, reason: SuppressionReason | None = None, source: str | None = None,
) -> list[Suppression]:
    return paginate(response, service.list_suppressions(db, reason=reason, source=source), page)


@router.get("/suppressions/check", summary="Is this phone or email on the internal list or the National DNCL, and which consent would allow it?", responses=responses())
async def check_suppression(db: StorageDep, to: Annotated[str, Query(min_length=1, max_length=320)]) -> SuppressionCheck:
    """`list`: the list that holds it (internal first); `casl_consent`: the consent that allows an
    email, SMS or DM now (or why none does); `dncl_exemption` (phones): the consent that exempts a
    call from the DNCL now."""
    return service.check(db, to=to)


@router.post(
    "/suppressions/import", status_code=201, summary="Import a National DNCL list (replaces each area code's copy)",
    responses=responses(409, 413),
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {
        "schema": {"type": "string", "description": "One number a line (10 digits, or +1/1 first; spaces - . ( ) allowed); an optional header line"},
        "example": "phone\n416-555-0101\n(604) 555-0102\n+1 403 555 0103\n",
    }}}},
)
def import_dncl(db: StorageDep, request: Request, list_date: date) -> ImportResult:
    """The body (text/csv, streamed, up to 256 MiB) replaces the copy of every area code it holds:
    numbers that left the registry are no longer suppressed; the internal list is never touched.
    422 (nothing changes) when the file is not UTF-8, holds no number, or over 1 % of its rows are
    invalid; 409 dncl_list_older when a copy it would replace holds a newer list. Otherwise
    `invalid` lists the first 100 bad rows by file line (a header is line 1), with `invalid_count`.
    Calls need their area code's copy at most 31 days old. The data dir is backed up first."""
    return service.import_dncl(db, list_date=list_date, chunks=body_chunks(request))


@router.get("/suppressions/imports", summary="National DNCL lists imported", responses=responses())
async def list_dncl_imports(db: StorageDep, response: Response, page: Page) -> list[DnclImport]:
    return paginate(response, service.list_dncl_imports(db), page)


@router.get("/suppressions/{suppression_id}", summary="Get a do-not-contact entry", responses=responses(404))
async def get_suppression(db: StorageDep, suppression_id: str) -> Suppression:
    return one(service.get_suppression(db, suppression_id))


@router.delete("/suppressions/{suppression_id}", summary="Remove a do-not-contact entry (reason required)", responses=responses(404, 409))
def delete_suppression(db: StorageDep, suppression_id: str, reason: ReasonQuery) -> Suppression:
    """An opt_out younger than 3 years and 14 days cannot be removed (409 retention_period)."""
    return service.delete_suppression(db, suppression_id, reason=reason)


# ---------------------------------------------------------------------------- sender identity


@router.get("/identity", summary="The CASL sender identity", responses=responses(404))
async def get_identity(db: StorageDep) -> SenderIdentity:
    return service.get_identity(db)


@router.put("/identity", summary="Set the CASL sender identity", responses=responses())
def put_identity(db: StorageDep, body: IdentityInput) -> SenderIdentity:
    """Name, mailing address, at least one of phone/email/web, and the unsubscribe line; every
    email and SMS marked sent carries them."""
    return service.set_identity(db, body)


@router.delete("/identity", summary="Remove the CASL sender identity (email/SMS then refuse to send)", responses=responses(404))
def delete_identity(db: StorageDep, reason: ReasonQuery) -> SenderIdentity:
    return service.delete_identity(db, reason=reason)


# ---------------------------------------------------------------------------- inbound


@router.get("/inbound", summary="List inbound replies", responses=responses())
async def list_inbound(
    db: StorageDep, response: Response, page: Page, from_: Annotated[str | None, Query(alias="from")] = None,
    since: QueryInstant | None = None,
) -> list[InboundMessage]:
    return paginate(response, service.list_inbound(db, sender=from_, since=since), page)
