from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from ..fields import Region
from ..http import STREAMED_BODIES, IfMatch, ModuleRouter, Page, StorageDep, body_chunks, etag, one, paginate, responses
from . import service
from .schemas import (
    Activity, ActivityCreate, Deal, DealCreate, DealsSummary, DealUpdate, ImportResult, Stage, StageChange,
)

router = ModuleRouter(prefix="/deals", tags=["deals"])

CSV_EXAMPLE = (
    "seller_name,seller_phone,address,city,province,asking_price,tags\n"
    "Jane Roy,416-555-0199,12 Elm Street,Hamilton,ON,190000,vacant;probate\n"
    "Raj Patel,(604) 555-0142,8 Oak Ave,Surrey,BC,,\n"
)
STREAMED_BODIES["/core/deals/import"] = None  # read in chunks, up to VALHALLA_MAX_IMPORT


@router.post("", status_code=201, summary="Create a deal (a lead)", responses=responses(409))
def create_deal(db: StorageDep, body: DealCreate) -> Deal:
    """Starts at `lead`. The country follows the province (422 if it contradicts it); the phone is
    stored E.164 and the email lower-case. Refused 409 `throttled` while `deals` is throttled."""
    return service.create_deal(db, body)


@router.get("", summary="List deals (filters: stage, province, tag, city, q)", responses=responses())
async def list_deals(
    db: StorageDep, response: Response, page: Page, stage: Stage | None = None, province: Region | None = None,
    tag: str | None = None, city: str | None = None,
    q: Annotated[str | None, Query(description="Case-insensitive text in the seller name, address or city")] = None,
) -> list[Deal]:
    return paginate(response, service.list_deals(db, stage=stage, province=province, tag=tag, city=city, q=q), page)


@router.get("/summary", summary="Count, value and expected spread by stage (per currency)", responses=responses(409))
async def deals_summary(db: StorageDep) -> DealsSummary:
    """A deal's value is its offer_amount, else its asking_price. `open_expected_spread` leaves out
    closed and dead deals. A total that is not a finite number (an amount beyond 1e12 stored by
    hand) is 409 `amount_out_of_range` naming the deals, never null."""
    return service.summary(db)


@router.post(
    "/import", status_code=201, summary="Import leads from CSV text (Content-Type: text/csv)", responses=responses(409, 413),
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {
        "schema": {"type": "string", "description": "CSV text, UTF-8, header row first"}, "example": CSV_EXAMPLE,
    }}}},
)
def import_deals(db: StorageDep, request: Request) -> ImportResult:
    """`curl --data-binary @leads.csv -H 'Content-Type: text/csv'`. The body is read as it arrives
    (up to VALHALLA_MAX_IMPORT, 1 GiB by default; VALHALLA_MAX_BODY does not apply). Line 1 is the
    header. Required columns: address, city, province. Allowed: seller_name, seller_phone,
    seller_email, address, city, province, country, property_id, property_type, lead_source,
    lead_score, arv_estimate, repairs_estimate, asking_price, mao, offer_amount,
    assignment_fee_target, costs_estimate, tags (separated by `;` or `|`), notes, currency. Bad rows
    are reported as `invalid` [{row (file line number), field, message}] (the first 100 rows, with
    `invalid_count`) and the good rows kept; an address already on a deal or earlier in the file
    (ignoring case, spacing, punctuation and Street/St, Avenue/Ave...) in the same city is skipped
    and counted in `duplicates` (the first 100 listed in `duplicate_rows`). All rows land in one
    write with one audit entry (the file's sha256 and the counts). A wrong header, non-UTF-8 bytes,
    an empty file or more than 1 % invalid rows is 422 and nothing is written."""
    return service.import_csv(db, body_chunks(request))


@router.get("/{deal_id}", summary="Get a deal", responses=responses(404))
async def get_deal(db: StorageDep, deal_id: str) -> Deal:
    return one(service.get_deal(db, deal_id))


@router.patch("/{deal_id}", summary="Change a deal's fields (not its stage; send If-Match to refuse a stale edit)", responses=responses(404, 412))
def update_deal(db: StorageDep, response: Response, deal_id: str, body: DealUpdate, if_match: IfMatch = None) -> Deal:
    return etag(response, service.update_deal(db, deal_id, body, expected_version=if_match))


@router.post("/{deal_id}/stage", summary="Move a deal to its next stage, or to dead", responses=responses(404, 409))
def move_stage(db: StorageDep, deal_id: str, body: StageChange) -> Deal:
    """Forward one step at a time: lead -> contacted -> offer_made -> under_contract -> assigned;
    any open deal -> dead. `closed` only through POST /core/deals/{id}/finalize. Anything else is
    409 `invalid_transition` with the current stage and the allowed moves. Logged as an activity."""
    return service.move_stage(db, deal_id, stage=body.stage, reason=body.reason)


@router.post("/{deal_id}/activities", status_code=201, summary="Log a call, sms, email, inspection, offer or note", responses=responses(404))
def add_activity(db: StorageDep, deal_id: str, body: ActivityCreate) -> Activity:
    return service.add_activity(db, deal_id, body)


@router.get("/{deal_id}/activities", summary="A deal's activities, oldest first (stage changes included)", responses=responses(404))
async def list_activities(db: StorageDep, response: Response, page: Page, deal_id: str) -> list[Activity]:
    return paginate(response, service.activities(db, deal_id), page)

