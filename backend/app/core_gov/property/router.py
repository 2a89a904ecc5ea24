from __future__ import annotations

from fastapi import Response

from ..deals import service as deals_service
from ..fields import Region
from ..http import IfMatch, ModuleRouter, Page, StorageDep, etag, one, paginate, responses
from . import service
from .schemas import (
    CompsRequest, CompsSet, Country, NeighborhoodRating, Property, PropertyCreate, PropertyType, PropertyUpdate,
    RatingInput, RepairRent, RepairRentInput,
)

router = ModuleRouter(prefix="/property", tags=["property"])


@router.post("/properties", status_code=201, summary="Add a property", responses=responses())
def create_property(db: StorageDep, body: PropertyCreate) -> Property:
    """The country follows the region (422 if it contradicts it); the postal code must fit the
    country (and, in Canada, the province) and is stored upper-case as `A1A 1A1`."""
    return service.create_property(db, body, require_deal=deals_service.require_deal)


@router.get("/properties", summary="List properties (filters: country, region, city, deal_id, tag, property_type)", responses=responses())
async def list_properties(
    db: StorageDep, response: Response, page: Page, country: Country | None = None, region: Region | None = None,
    city: str | None = None, deal_id: str | None = None, tag: str | None = None, property_type: PropertyType | None = None,
) -> list[Property]:
    found = service.list_properties(db, country=country, region=region, city=city, deal_id=deal_id, tag=tag, property_type=property_type)
    return paginate(response, found, page)


@router.post("/comps", status_code=201, summary="Compute and store a comps set and ARV for a property", responses=responses())
def compute_comps(db: StorageDep, body: CompsRequest) -> CompsSet:
    """Stored sales within `months` of now, same city (the whole region when the city has fewer
    than 3), same property_type, sqft within 25 % of the subject's, beds within 1, never the
    subject; plus the operator's comps. arv_estimate = median $/sqft x subject sqft (the median
    sale price when the subject's sqft is unknown); confidence low < 3, medium 3-5, high >= 6."""
    return service.compute_comps(db, body)


@router.get("/properties/{property_id}", summary="Get a property", responses=responses(404))
async def get_property(db: StorageDep, property_id: str) -> Property:
    return one(service.get_property(db, property_id))


@router.patch("/properties/{property_id}", summary="Change a property (send If-Match to refuse a stale edit)", responses=responses(404, 412))
def update_property(db: StorageDep, response: Response, property_id: str, body: PropertyUpdate, if_match: IfMatch = None) -> Property:
    return etag(response, service.update_property(db, property_id, body, require_deal=deals_service.require_deal, expected_version=if_match))


@router.post("/properties/{property_id}/neighborhood_rating", summary="Set the neighbourhood rating (replaces the current one)", responses=responses(404))
def upsert_rating(db: StorageDep, property_id: str, body: RatingInput) -> NeighborhoodRating:
    return service.upsert_rating(db, property_id, body)


@router.get("/properties/{property_id}/neighborhood_rating", summary="The neighbourhood rating", responses=responses(404))
async def get_rating(db: StorageDep, property_id: str) -> NeighborhoodRating:
    return service.get_rating(db, property_id)


@router.post("/properties/{property_id}/repair_rent", summary="Set repair line items and rent estimate (replaces the current ones)", responses=responses(404))
def upsert_repair_rent(db: StorageDep, property_id: str, body: RepairRentInput) -> RepairRent:
    """repairs_total is the sum of the line items' costs."""
    return service.upsert_repair_rent(db, property_id, body)


@router.get("/properties/{property_id}/repair_rent", summary="Repairs and rent estimate", responses=responses(404))
async def get_repair_rent(db: StorageDep, property_id: str) -> RepairRent:
    return service.get_repair_rent(db, property_id)


@router.get("/properties/{property_id}/comps", summary="The latest comps set for a property", responses=responses(404))
async def latest_comps(db: StorageDep, property_id: str) -> CompsSet:
    return service.latest_comps(db, property_id)
