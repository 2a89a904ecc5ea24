"""Property intelligence. A property's country follows its region (CA province or US state) and
its postal code is checked for that country (CA `A1A 1A1` in the province's letter range, US ZIP).
Comps are real sales: stored properties sold within `months` (12) of now, same city (the region
when the city has fewer than 3), same type, sqft within 25 %, beds within 1, never the subject;
plus the operator's own. ARV = median $/sqft x subject sqft (median price when sqft is unknown);
confidence low < 3 comps, medium 3-5, high >= 6. Ratings and repairs are one record per property."""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import date
from statistics import median
from typing import Any, Callable

from ..errors import InvalidField, NotFound
from ..fields import country_of
from ..storage import Storage
from . import store
from .schemas import (
    Comp, CompsRequest, CompsSet, Confidence, NeighborhoodRating, Property, PropertyCreate, PropertyUpdate, RatingInput,
    RepairRent, RepairRentInput,
)

_CA_POSTAL = re.compile(r"^([ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]) ?(\d[ABCEGHJ-NPRSTV-Z]\d)$")
_US_ZIP = re.compile(r"^\d{5}(-\d{4})?$")
# First letter of a Canadian postal code -> the provinces it serves (Canada Post).
_POSTAL_REGIONS = {
    "A": "NL", "B": "NS", "C": "PE", "E": "NB", "G": "QC", "H": "QC", "J": "QC", "K": "ON", "L": "ON", "M": "ON",
    "N": "ON", "P": "ON", "R": "MB", "S": "SK", "T": "AB", "V": "BC", "X": "NT NU", "Y": "YT",
}


def _postal(value: str, country: str, region: str) -> str:
    """The postal code normalised for its country, or ValueError saying what is wrong."""
    raw = value.strip().upper()
    if country == "US":
        if not _US_ZIP.match(raw):
            raise ValueError(f"{value!r} is not a US ZIP code (12345 or 12345-6789)")
        return raw
    m = _CA_POSTAL.match(re.sub(r"\s+", " ", raw))
    if not m:
        raise ValueError(f"{value!r} is not a Canadian postal code (A1A 1A1)")
    if region not in _POSTAL_REGIONS[raw[0]].split():
        raise ValueError(f"postal code {raw} belongs to {_POSTAL_REGIONS[raw[0]]}, not {region}")
    return f"{m.group(1)} {m.group(2)}"


def _placed(data: dict[str, Any]) -> dict[str, Any]:
    derived = country_of(data["region"])
    if data.get("country") not in (None, derived):
        raise InvalidField(("body", "country"), f"region {data['region']} is in {derived}, not {data['country']}")
    data["country"] = derived
    if data.get("postal"):
        try:
            data["postal"] = _postal(data["postal"], derived, data["region"])
        except ValueError as e:
            raise InvalidField(("body", "postal"), str(e)) from None
    else:
        data["postal"] = None
    return data


# The deal link is the deals module's: it sits above this one (a deal checks its property_id here).
# A property's own deal_id is checked with the lookup its caller passes: deals.service.require_deal.
RequireDeal = Callable[[Storage, str], object]


def _check_links(db: Storage, data: dict[str, Any], today: date, require_deal: RequireDeal) -> None:
    if data.get("deal_id") is not None:
        require_deal(db, data["deal_id"])
    if data.get("last_sale_date") is not None and data["last_sale_date"] > today:
        raise InvalidField(("body", "last_sale_date"), f"{data['last_sale_date']} is in the future")


# ---------------------------------------------------------------------------------- properties


def list_properties(
    db: Storage, *, country: str | None = None, region: str | None = None, city: str | None = None,
    deal_id: str | None = None, tag: str | None = None, property_type: str | None = None,
) -> list[Property]:
    city_key = city.strip().casefold() if city else None
    tag_key = tag.strip().lower() if tag else None
    return [
        p for p in db.list(store.properties)
        if (country is None or p.country == country) and (region is None or p.region == region)
        and (city_key is None or p.city.casefold() == city_key) and (deal_id is None or p.deal_id == deal_id)
        and (tag_key is None or tag_key in p.tags) and (property_type is None or p.property_type == property_type)
    ]


def get_property(db: Storage, property_id: str) -> Property:
    return db.get(store.properties, property_id)


def find_property(db: Storage, property_id: str) -> Property | None:
    return db.find(store.properties, property_id)


def create_property(db: Storage, data: PropertyCreate, *, require_deal: RequireDeal) -> Property:
    fields = _placed(data.model_dump())
    _check_links(db, fields, db.now().date(), require_deal)
    with db.transaction("property") as tx:
        return tx.add(store.properties, fields)


def update_property(
    db: Storage, property_id: str, data: PropertyUpdate, *, require_deal: RequireDeal, expected_version: int | None = None,
) -> Property:
    changes = data.model_dump(exclude_unset=True)
    with db.transaction("property") as tx:
        old = tx.get(store.properties, property_id)
        merged = {**old.model_dump(), **changes}
        if "region" in changes and "country" not in changes:
            merged["country"] = None
        _placed(merged)
        _check_links(db, changes, tx.now.date(), require_deal)
        return tx.update(store.properties, old, {**changes, "country": merged["country"], "postal": merged["postal"]}, expected_version=expected_version)


# ---------------------------------------------------------------------------------- rating, repairs


def _one_for(records: Any, property_id: str) -> Any:
    return next((r for r in records if r.property_id == property_id), None)


def upsert_rating(db: Storage, property_id: str, data: RatingInput) -> NeighborhoodRating:
    with db.transaction("property") as tx:
        tx.get(store.properties, property_id)
        current = _one_for(tx.list(store.ratings), property_id)
        if current is None:
            return tx.add(store.ratings, {**data.model_dump(), "property_id": property_id})
        return tx.update(store.ratings, current, data.model_dump())


def get_rating(db: Storage, property_id: str) -> NeighborhoodRating:
    get_property(db, property_id)
    found = _one_for(db.list(store.ratings), property_id)
    if found is None:
        raise NotFound(f"property {property_id} has no neighbourhood rating yet")
    return found


def upsert_repair_rent(db: Storage, property_id: str, data: RepairRentInput) -> RepairRent:
    fields = {**data.model_dump(), "repairs_total": round(sum(i.cost for i in data.line_items), 2)}
    with db.transaction("property") as tx:
        tx.get(store.properties, property_id)
        current = _one_for(tx.list(store.repair_rent), property_id)
        if current is None:
            return tx.add(store.repair_rent, {**fields, "property_id": property_id})
        return tx.update(store.repair_rent, current, fields)


def get_repair_rent(db: Storage, property_id: str) -> RepairRent:
    get_property(db, property_id)
    found = _one_for(db.list(store.repair_rent), property_id)
    if found is None:
        raise NotFound(f"property {property_id} has no repair/rent estimate yet")
    return found


# ---------------------------------------------------------------------------------- comps


def _months_before(day: date, months: int) -> date:
    year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month0 + 1, min(day.day, monthrange(year, month0 + 1)[1]))  # 31 Mar - 1 month = 28/29 Feb


def _comp(p: Property) -> Comp:
    assert p.last_sale_price is not None and p.last_sale_date is not None
    ppsf = round(p.last_sale_price / p.sqft, 2) if p.sqft else None
    return Comp(address=p.address, sale_price=p.last_sale_price, sale_date=p.last_sale_date, sqft=p.sqft, beds=p.beds, price_per_sqft=ppsf, source="stored", property_id=p.id)


def find_comps(db: Storage, subject: Property, *, months: int = 12) -> tuple[list[Comp], str]:
    """Stored sales that qualify for the subject, and the scope used (city, else region)."""
    today = db.now().date()
    since = _months_before(today, months)
    city = subject.city.casefold()
    lo, hi = (subject.sqft * 0.75, subject.sqft * 1.25) if subject.sqft else (None, None)
    beds = subject.beds
    in_city: list[Property] = []
    in_region: list[Property] = []
    for p in db.list(store.properties):  # one pass over the cached list
        if (
            p.region != subject.region or p.property_type != subject.property_type or p.last_sale_date is None
            or p.last_sale_price is None or not since <= p.last_sale_date <= today or p.id == subject.id
        ):
            continue
        if lo is not None and (p.sqft is None or not lo <= p.sqft <= hi):
            continue
        if beds is not None and p.beds is not None and abs(p.beds - beds) > 1:
            continue
        in_region.append(p)
        if p.city.casefold() == city:
            in_city.append(p)
    scope, chosen = ("city", in_city) if len(in_city) >= 3 else ("region", in_region)
    chosen.sort(key=lambda p: (p.last_sale_date, p.id), reverse=True)
    return [_comp(p) for p in chosen], scope


def compute_comps(db: Storage, data: CompsRequest) -> CompsSet:
    subject = db.find(store.properties, data.property_id)
    if subject is None:
        raise InvalidField(("body", "property_id"), f"no property {data.property_id}")
    today = db.now().date()
    for i, c in enumerate(data.comps):
        if c.sale_date > today:
            raise InvalidField(("body", "comps", i, "sale_date"), f"{c.sale_date} is in the future")
    comps, scope = find_comps(db, subject, months=data.months)
    comps += [
        Comp(**c.model_dump(), price_per_sqft=round(c.sale_price / c.sqft, 2) if c.sqft else None, source="operator")
        for c in data.comps
    ]
    ppsf = [c.price_per_sqft for c in comps if c.price_per_sqft is not None]
    median_ppsf = round(median(ppsf), 2) if ppsf else None
    if subject.sqft and median_ppsf is not None:
        arv = round(median_ppsf * subject.sqft, 2)
    else:
        arv = round(median(c.sale_price for c in comps), 2) if comps else None
    n = len(comps)
    confidence = Confidence.low if n < 3 else Confidence.medium if n <= 5 else Confidence.high
    with db.transaction("property") as tx:
        return tx.add(store.comps, {
            "subject_id": subject.id, "comps": comps, "count": n, "median_price_per_sqft": median_ppsf,
            "arv_estimate": arv, "confidence": confidence, "scope": scope, "months": data.months,
        })


def latest_comps(db: Storage, property_id: str) -> CompsSet:
    get_property(db, property_id)
    for c in reversed(db.list(store.comps)):
        if c.subject_id == property_id:
            return c
    raise NotFound(f"no comps computed for property {property_id} yet: POST /core/property/comps")
