"""What the bench loads and sends: holdings of about 500 B, realistic deals of about 900 B, DNCL
numbers. Deterministic in i (no random state), API-shaped (the bodies a client would POST)."""

from __future__ import annotations

import unicodedata
from typing import Iterator

NOTE = "Tenanted duplex near transit; roof 2019, furnace 2021; seller motivated, estate sale. " * 3


def holding(i: int) -> dict:
    return {"name": f"Holding {i:06d}", "asset_type": "property", "jurisdiction": "ON", "entity": "Valhalla Holdings Inc.",
            "value_estimate": 250000 + i, "currency": "CAD", "notes": NOTE[:260]}


def _weighted(*pairs: tuple[object, int]) -> list:
    return [value for value, weight in pairs for _ in range(weight)]


# (province, city, area code) weighted like a GTA-based wholesaler's lead lists.
PLACES = _weighted(
    (("ON", "Toronto", "416"), 24), (("ON", "Toronto", "647"), 6), (("ON", "Mississauga", "905"), 7),
    (("ON", "Brampton", "905"), 5), (("ON", "Hamilton", "289"), 6), (("ON", "Ottawa", "613"), 7), (("ON", "London", "519"), 4),
    (("QC", "Montréal", "514"), 10), (("QC", "Laval", "450"), 3), (("BC", "Vancouver", "604"), 7), (("BC", "Surrey", "778"), 3),
    (("AB", "Calgary", "403"), 6), (("AB", "Edmonton", "780"), 5), (("MB", "Winnipeg", "204"), 3), (("NS", "Halifax", "902"), 2),
    (("SK", "Saskatoon", "306"), 2),
)
STAGES = _weighted(("lead", 60), ("contacted", 18), ("offer_made", 8), ("under_contract", 5), ("assigned", 3), ("closed", 3), ("dead", 3))
FIRST = ["Jane", "Raj", "Marie", "Wei", "Aisha", "Luc", "Olivia", "Mohamed", "Sofia", "Daniel", "Priya", "Jean", "Emma", "Hiro", "Fatima", "Liam"]
LAST = ["Roy", "Patel", "Tremblay", "Chen", "Singh", "Gagnon", "Smith", "Nguyen", "Wilson", "Côté", "Khan", "Martin", "Brown", "Lee", "Bouchard",
        "Taylor", "Ali", "Kim", "Morin", "Campbell", "Anderson", "Wong", "Leblanc", "Murphy", "Sharma", "Lavoie", "Young", "Fortin", "Gill", "White",
        "Ahmed", "Clark", "Pelletier", "Scott", "Li", "Hall", "Bélanger", "Grant", "Walker", "Dubois"]
STREETS = ["Elm", "Oak", "Maple", "King", "Queen", "Dundas", "Bloor", "College", "Danforth", "Jane", "Finch", "Bathurst", "Yonge", "Victoria", "Main", "Church"]
SUFFIXES = ["Street", "Avenue", "Road", "Drive", "Crescent", "Court", "Boulevard", "Lane"]
SOURCES = ["probate list", "tax arrears list", "absentee owners list", "driving for dollars", "direct mail", "referral", "code violations list"]
TYPES = ["sfr", "sfr", "townhouse", "condo", "duplex", "triplex", "fourplex", "small_mf"]
TAGS = [["vacant"], ["probate"], ["absentee", "tired landlord"], ["tax arrears"], [], ["vacant", "needs roof"], ["estate"], ["motivated"]]
NOTES = ("Inherited from a parent; the family lives out of province and wants a quick, as-is close. Basement partly finished, "
         "original kitchen, roof about 15 years old, furnace replaced recently. Tenant on month to month, cooperative for showings. ")
SEARCH = "tremblay"  # a seller surname in about 1 deal in 30, for the text search


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _mix(i: int, salt: int) -> int:
    return ((i + 1) * 2654435761 ^ salt * 40503) * 2246822519 & 0xFFFFFFFF


def deal(i: int) -> dict:
    """The body of a POST /core/deals (about 900 B once stored): a lead as a list vendor sells it."""
    province, city, area = PLACES[_mix(i, 1) % len(PLACES)]
    arv = 350000.0 + _mix(i, 2) % 900 * 1000
    first, last = FIRST[_mix(i, 3) % len(FIRST)], LAST[_mix(i, 4) % len(LAST)]
    return {
        "seller_name": f"{first} {last}", "seller_phone": f"+1{area}{2000000 + _mix(i, 5) % 8000000}",
        "seller_email": _ascii(f"{first}.{last}.{i}@example.com").lower(),
        "address": f"{i + 1} {STREETS[_mix(i, 6) % len(STREETS)]} {SUFFIXES[_mix(i, 7) % len(SUFFIXES)]}", "city": city, "province": province,
        "property_type": TYPES[_mix(i, 8) % len(TYPES)], "lead_source": SOURCES[_mix(i, 9) % len(SOURCES)],
        "lead_score": _mix(i, 10) % 100 / 100, "arv_estimate": arv, "repairs_estimate": float(_mix(i, 11) % 120 * 1000),
        "asking_price": round(arv * 0.72, -2), "assignment_fee_target": float(10000 + _mix(i, 12) % 30 * 1000), "costs_estimate": 1500.0,
        "tags": TAGS[_mix(i, 13) % len(TAGS)], "notes": NOTES[: 60 + _mix(i, 14) % 100], "currency": "CAD",
    }


def stage(i: int) -> str:
    """The pipeline stage deal i is at when preloaded as files (a CSV import makes every deal a lead)."""
    return STAGES[_mix(i, 15) % len(STAGES)]


def dncl_numbers(n: int) -> Iterator[str]:
    """n distinct 10-digit numbers spread over 416, 647 and 437 (the Toronto area codes)."""
    for k in range(n):
        yield f"{('416', '647', '437')[k % 3]}{2000000 + (k // 3) * 2654435761 % 8000000}"


def opt_out_number(k: int) -> str:
    """A number outside the DNCL list (area code 905) for the opt-outs."""
    return f"+1905{2000000 + k * 2654435761 % 8000000}"
