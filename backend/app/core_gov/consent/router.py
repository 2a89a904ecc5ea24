from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from ..http import STREAMED_BODIES, ModuleRouter, Page, StorageDep, body_chunks, one, paginate, responses
from ..storage import QueryInstant
from . import service
from .schemas import ConsentCorrection, ConsentCreate, ConsentKind, ConsentState, ConsentView, ImportResult, WithdrawBody, Withdrawal

router = ModuleRouter(prefix="/consents", tags=["consent"])

CSV_EXAMPLE = (
    "contact,kind,obtained_at,method,source,proof\n"
    "416-555-0199,express,2026-01-05T09:30:00-05:00,web form,https://example.ca/sell,\"Checkbox: 'Yes, text and email me' #4812\"\n"
    "jane.roy@example.com,implied_inquiry,2025-12-20T14:10:00-05:00,web form,https://example.ca/sell,\n"
)
STREAMED_BODIES["/core/consents/import"] = None  # read in chunks, up to VALHALLA_MAX_IMPORT


@router.post("", status_code=201, summary="Record a consent (with its computed expiries and state)", responses=responses())
def record_consent(db: StorageDep, body: ConsentCreate) -> ConsentView:
    """`contact` is a phone (stored E.164) or an email (stored lower-case). `express` needs `proof`;
    `obtained_at` may not be in the future (both 422 naming the field). CASL consent lasts: express
    until withdrawn, implied_inquiry 6 months, implied_transaction 2 years; the DNCL exemption:
    express until withdrawn, implied_inquiry 6 months, implied_transaction 18 months. Months are
    counted on the recipient's calendar (its area code's zone; an email's is VALHALLA_TZ):
    obtained 2025-03-31 by inquiry, it holds through 2025-09-30 and `casl_expires_at` is the
    following midnight. A consent obtained before a withdrawal of that contact is recorded withdrawn."""
    return service.record_consent(db, body)


@router.get("", summary="List consents (filters: contact, kind, state, expiring_before)", responses=responses())
async def list_consents(
    db: StorageDep, response: Response, page: Page,
    contact: Annotated[str | None, Query(description="A phone or email, in any spelling")] = None,
    kind: ConsentKind | None = None,
    state: Annotated[ConsentState | None, Query(description="Its state now")] = None,
    expiring_before: Annotated[QueryInstant | None, Query(description="Its CASL consent or DNCL exemption lapses before this instant")] = None,
) -> list[ConsentView]:
    return paginate(response, service.list_consents(db, contact=contact, kind=kind, state=state, expiring_before=expiring_before), page)


@router.post(
    "/import", status_code=201, summary="Import consents from CSV text (Content-Type: text/csv)", responses=responses(413),
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {
        "schema": {"type": "string", "description": "CSV text, UTF-8, header row first"}, "example": CSV_EXAMPLE,
    }}}},
)
def import_consents(db: StorageDep, request: Request) -> ImportResult:
    """`curl --data-binary @consents.csv -H 'Content-Type: text/csv'`. Line 1 is the header:
    contact, kind, obtained_at, method required; source, proof allowed. Each row is checked as
    POST /core/consents checks a body; bad rows are reported as `invalid` [{row (file line
    number), field, message}] (the first 100, with `invalid_count`) and the good rows kept. A row
    with the contact, kind and obtained_at of a consent on file (or of an earlier row) is
    counted in `duplicates` and skipped. One write, one audit entry. A wrong header, non-UTF-8
    bytes, an empty file or more than 1 % invalid rows is 422 and nothing is written."""
    return service.import_csv(db, body_chunks(request))


@router.post("/withdraw", summary="Withdraw every consent of a contact", responses=responses())
def withdraw(db: StorageDep, body: WithdrawBody) -> Withdrawal:
    """Every consent of the contact obtained by `at` (default now) is withdrawn, and one obtained
    before it that is recorded later is recorded withdrawn. An opt-out does the same."""
    return service.withdraw_all(db, contact=body.contact, at=body.at, source="operator", reason=body.reason)


@router.get("/{consent_id}", summary="Get a consent", responses=responses(404))
async def get_consent(db: StorageDep, consent_id: str) -> ConsentView:
    return one(service.get_consent(db, consent_id))


@router.post("/{consent_id}/supersede", status_code=201, summary="Correct a consent: a new record supersedes it", responses=responses(404, 409))
def correct_consent(db: StorageDep, consent_id: str, body: ConsentCorrection) -> ConsentView:
    """Proof is never edited: the correction is a new record (`supersedes`, `correction_reason`)
    and the old one is kept with `superseded_by`. 409 `already_superseded` (correct the newer one)
    or `consent_withdrawn` (a correction does not undo a withdrawal)."""
    return service.correct_consent(db, consent_id, body)
