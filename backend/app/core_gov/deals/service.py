"""Deals: the lead/deal pipeline. A deal moves forward one stage at a time (lead -> contacted ->
offer_made -> under_contract -> assigned), any open deal may die, and `closed` comes only from
closing's finalization (`close`, from `assigned`); other modules move it only through
set_stage_by_system. expected_spread = assignment_fee_target - costs_estimate, always computed.
Every stage change is also an activity. Creating (one deal or a CSV import) is refused while the
`deals` domain is throttled; an import is one transaction with one audit entry, skips duplicate
addresses, is refused whole when over 1 % of its rows are invalid, and backs up the data dir
before it writes (logged)."""

from __future__ import annotations

import functools
import re
import tempfile
from array import array
from dataclasses import dataclass, field
from itertools import islice, repeat
from typing import IO, Any, Iterable, Iterator, NamedTuple, Sequence

import pydantic_core

from .. import csvimport
from ..errors import Conflict, InvalidField, require_start
from ..fields import combine_by_currency, country_of, subtotals_by_currency
from ..property import service as property_service
from ..regression import service as regression_service
from ..storage import Columns, Records, Storage, Transaction, actor, archive, files, per_segment, search, select
from . import store
from .schemas import (
    DEAL_STARTS, Activity, ActivityCreate, ActivityKind, Deal, DealCreate, DealsSummary, DealUpdate, DuplicateRow, ImportResult,
    Stage, StageTotals, expected_spread,
)

FORWARD = (Stage.lead, Stage.contacted, Stage.offer_made, Stage.under_contract, Stage.assigned)
NEXT = {a: b for a, b in zip(FORWARD, FORWARD[1:])}
FINAL = (Stage.closed, Stage.dead)
# The moves other modules make: target -> the stages it may come from.
SYSTEM_MOVES = {
    Stage.offer_made: (Stage.lead, Stage.contacted, Stage.offer_made),  # an offer was issued
    Stage.assigned: (Stage.under_contract,),  # dispo assigned the contract
    Stage.under_contract: (Stage.assigned,),  # dispo fallout
}


# ---------------------------------------------------------------------------------- reads


def get_deal(db: Storage, deal_id: str) -> Deal:
    return db.get(store.deals, deal_id)


def find_deal(db: Storage, deal_id: str) -> Deal | None:
    return db.find(store.deals, deal_id)


def require_deal(db: Storage, deal_id: str, *, field: str = "deal_id") -> Deal:
    deal = db.find(store.deals, deal_id)
    if deal is None:
        raise InvalidField(("body", field), f"no deal {deal_id}")
    return deal


def list_deals(
    db: Storage, *, stage: Stage | None = None, province: str | None = None, tag: str | None = None,
    city: str | None = None, q: str | None = None,
) -> Sequence[Deal]:
    """Deals in creation order; city ignores case, q is found in the address, city or seller name."""
    found = select(db.list(store.deals), {"stage": stage, "province": province, "tags": tag.strip().lower() if tag else None})
    if city and city.strip():
        found = search(found, city.strip(), ("city",), whole=True)
    if q and q.strip():
        found = search(found, q.strip(), ("address", "city", "seller_name"))
    return found


def activities(db: Storage, deal_id: str) -> list[Activity]:
    get_deal(db, deal_id)
    return [a for a in db.entries(store.activities) if a.deal_id == deal_id]


def _value(d: "Deal | _Summed") -> float:
    return d.offer_amount if d.offer_amount is not None else (d.asking_price or 0)


def _spread(d: "Deal | _Summed") -> float | None:
    return d.expected_spread


class _Summed(NamedTuple):
    """The stored fields of a deal the summary adds up."""

    id: str
    stage: str
    currency: str
    offer_amount: float | None
    asking_price: float | None
    expected_spread: float | None


_SUMMED = _Summed._fields[1:]
_OPEN = {s.value for s in Stage if s not in FINAL}


def _subtotals(deals: Columns) -> dict[str, Any]:
    """One segment's share of the summary: counts and per-currency subtotals by stage."""
    rows = [_Summed(*row) for row in zip(deals.ids, *(deals.values[name] for name in _SUMMED))]
    by_stage = {s: [d for d in rows if d.stage == s.value] for s in Stage}
    return {
        "count": len(rows),
        "by_stage": {s: (len(found), subtotals_by_currency(found, _value), subtotals_by_currency(found, _spread)) for s, found in by_stage.items()},
        "spread": subtotals_by_currency(rows, _spread),
        "open_spread": subtotals_by_currency((d for d in rows if d.stage in _OPEN), _spread),
    }


def summary(db: Storage) -> DealsSummary:
    """Value of a deal = its offer_amount, else its asking_price; totals per currency. Each
    segment's subtotals are made from its stored values (no record made a model) and kept until
    it changes, so a million deals are summed in parts."""
    parts = per_segment(db.list(store.deals), _subtotals, _SUMMED)
    by_stage = {
        s.value: StageTotals(
            count=sum(p["by_stage"][s][0] for p in parts),
            value=combine_by_currency((p["by_stage"][s][1] for p in parts), f"{s.value} value"),
            expected_spread=combine_by_currency((p["by_stage"][s][2] for p in parts), f"{s.value} expected spread"),
        )
        for s in Stage
    }
    return DealsSummary(
        count=sum(p["count"] for p in parts), by_stage=by_stage,
        expected_spread_total=combine_by_currency((p["spread"] for p in parts), "expected spread"),
        open_expected_spread=combine_by_currency((p["open_spread"] for p in parts), "open expected spread"),
    )


# ---------------------------------------------------------------------------------- writes


def _place(db: Storage, data: dict[str, Any]) -> tuple[str, str] | None:
    """Derive the country from the province and check the linked property; return the first
    problem as (field, message) for the caller to report, else None. Fills data["country"]."""
    derived = country_of(data["province"])
    if data.get("country") not in (None, derived):
        return "country", f"province {data['province']} is in {derived}, not {data['country']}"
    data["country"] = derived
    pid = data.get("property_id")
    if pid is not None and property_service.find_property(db, pid) is None:
        return "property_id", f"no property {pid}"
    return None


def _raise_placed(db: Storage, data: dict[str, Any]) -> dict[str, Any]:
    problem = _place(db, data)
    if problem is not None:
        raise InvalidField(("body", problem[0]), problem[1])
    return data


def create_deal(db: Storage, data: DealCreate) -> Deal:
    stage = require_start("deal", DEAL_STARTS, data.stage)
    regression_service.require_not_throttled(db, "deals")
    fields = _raise_placed(db, {**data.model_dump(), "stage": stage})
    with db.transaction("deals") as tx:
        return tx.add(store.deals, fields)


def update_deal(db: Storage, deal_id: str, data: DealUpdate, *, expected_version: int | None = None) -> Deal:
    changes = data.model_dump(exclude_unset=True)
    if "stage" in changes:
        raise InvalidField(("body", "stage"), f"the stage changes only through POST /core/deals/{deal_id}/stage (or /finalize to close)")
    with db.transaction("deals") as tx:
        old = tx.get(store.deals, deal_id)
        merged = {**old.model_dump(), **changes}
        if "province" in changes and "country" not in changes:
            merged["country"] = None
        _raise_placed(db, merged)
        return tx.update(store.deals, old, {**changes, "country": merged["country"]}, expected_version=expected_version)


def add_activity(db: Storage, deal_id: str, data: ActivityCreate) -> Activity:
    with db.transaction("deals") as tx:
        tx.get(store.deals, deal_id)
        return tx.append(store.activities, {**data.model_dump(), "deal_id": deal_id, "actor": actor.get()})


def _transition(tx: Transaction, deal: Deal, stage: Stage, reason: str, **changes: Any) -> Deal:
    new = tx.update(store.deals, deal, {"stage": stage, **changes}, audit="transition")
    tx.append(store.activities, {
        "deal_id": deal.id, "kind": ActivityKind.stage, "summary": f"{deal.stage.value} -> {stage.value}: {reason}",
        "actor": actor.get(), "from_stage": deal.stage, "to_stage": stage,
    }, audit=None)
    return new


def _check_move(deal: Deal, stage: Stage) -> None:
    current = deal.stage.value
    if deal.stage in FINAL:
        raise Conflict("invalid_transition", f"the deal is {current}: it moves no further", current=current, requested=stage.value, allowed=[])
    nxt = NEXT.get(deal.stage)
    allowed = [s.value for s in (nxt, Stage.dead) if s is not None]
    if stage is Stage.closed:
        raise Conflict("invalid_transition", f"a deal closes only through finalization: POST /core/deals/{deal.id}/finalize", current=current, requested=stage.value, allowed=allowed)
    if stage is not Stage.dead and stage is not nxt:
        rule = f"{current} -> {nxt.value}" if nxt else f"{current} moves on only by finalize or dead"
        raise Conflict("invalid_transition", f"a deal moves forward one stage at a time ({rule}) or to dead", current=current, requested=stage.value, allowed=allowed)


def move_stage(db: Storage, deal_id: str, *, stage: Stage, reason: str) -> Deal:
    with db.transaction("deals") as tx:
        deal = tx.get(store.deals, deal_id)
        _check_move(deal, stage)
        return _transition(tx, deal, stage, reason)


def _check_system_move(deal: Deal, stage: Stage) -> None:
    sources = SYSTEM_MOVES.get(stage, ())
    if deal.stage not in sources:
        rule = f"needs it at {' or '.join(s.value for s in sources)}" if sources else "is not a system move"
        raise Conflict(
            "invalid_transition", f"the deal is {deal.stage.value}; moving it to {stage.value} {rule}",
            current=deal.stage.value, requested=stage.value, allowed_from=[s.value for s in sources],
        )


def require_system_move(db: Storage, deal_id: str, *, stage: Stage) -> Deal:
    """Check, without writing, that set_stage_by_system(stage) would be accepted now."""
    deal = get_deal(db, deal_id)
    _check_system_move(deal, stage)
    return deal


def set_stage_by_system(db: Storage, deal_id: str, *, stage: Stage, reason: str) -> Deal:
    with db.transaction("deals") as tx:
        deal = tx.get(store.deals, deal_id)
        _check_system_move(deal, stage)
        return deal if deal.stage is stage else _transition(tx, deal, stage, reason)


def close(db: Storage, deal_id: str, *, reason: str) -> Deal:
    """Close an assigned deal. Only closing.service.finalize calls it, after the closing
    checklist, inside its ("deals", "dispo") transaction."""
    with db.transaction("deals") as tx:
        deal = tx.get(store.deals, deal_id)
        if deal.stage is not Stage.assigned:
            raise Conflict("invalid_transition", f"the deal is {deal.stage.value}; it closes only from assigned", current=deal.stage.value, requested=Stage.closed.value, allowed=[])
        return _transition(tx, deal, Stage.closed, reason, closed_at=tx.now)


def record_offer(db: Storage, deal_id: str, *, offer_amount: float, evidence_id: str, mao: float | None = None) -> Deal:
    with db.transaction("deals") as tx:
        deal = tx.get(store.deals, deal_id)
        changes: dict[str, Any] = {"offer_amount": offer_amount}
        if mao is not None:
            changes["mao"] = mao
        new = tx.update(store.deals, deal, changes, audit="action")
        tx.append(store.activities, {
            "deal_id": deal_id, "kind": ActivityKind.offer, "actor": actor.get(), "ref": evidence_id,
            "summary": f"offer of {offer_amount:,.2f} {deal.currency} issued (evidence {evidence_id})",
        }, audit=None)
        return new


# ---------------------------------------------------------------------------------- CSV import
#
# A lead list is read as it arrives (an HTTP body or a file, in chunks; csvimport checks the text),
# in batches of rows validated column by column by DealCreate's field types (csvimport.Columns:
# each distinct cell once, no model made). Each good row's deal is spooled to a temporary file,
# serialised as the store writes it, so memory holds the file's address keys, not its rows. A file
# that is not UTF-8 text, is empty or has more than 1 % invalid rows changes nothing. The
# duplicates are judged against the deals as read (nothing new: no backup, no write), and again
# under the lock when a concurrent write changed them; the new deals are then added in one
# transaction (their spooled bytes, given an id and stamps: no second validation) with one audit
# entry.

REQUIRED_COLUMNS = ("address", "city", "province")
ALLOWED_COLUMNS = tuple(n for n in DealCreate.model_fields if n != "stage")  # an import adds leads
STORED = tuple(n for n in Deal.model_fields if n not in ("id", "created_at", "updated_at", "version"))  # a deal's fields, in file order
_TAGS = re.compile(r"[;|]")
_PUNCT = re.compile(r"[^\w\s]")
_ABBREV = {
    "street": "st", "avenue": "ave", "av": "ave", "road": "rd", "drive": "dr", "boulevard": "blvd", "crescent": "cres",
    "court": "ct", "place": "pl", "lane": "ln", "terrace": "terr", "circle": "cir", "highway": "hwy", "parkway": "pkwy",
    "square": "sq", "trail": "trl", "grove": "grv", "heights": "hts", "point": "pt", "route": "rte",
    "north": "n", "south": "s", "east": "e", "west": "w", "apartment": "apt", "suite": "ste",
}


def address_key(address: str, city: str) -> str:
    """Case, whitespace, punctuation and street-type spelling do not make two addresses differ."""
    words = _PUNCT.sub(" ", address).casefold().split()
    return " ".join(map(_ABBREV.get, words, words)) + "|" + _town(city)


@functools.lru_cache(maxsize=4096)  # a lead list names a few towns many times
def _town(city: str) -> str:
    return " ".join(_PUNCT.sub(" ", city).casefold().split())


_COLUMNS = csvimport.Columns(DealCreate, exclude=("stage",), prepare={"tags": _TAGS.split})
_LEAD = {"stage": Stage.lead.value, "closed_at": None}  # what a row does not give
_BATCH = 2000  # rows validated together


def _deals(db: Storage, header: list[str], rows: list[list[str]]) -> Iterator[tuple[dict[str, Any] | None, list[tuple[str, str]]]]:
    """Each row's deal as stored (all but its id and stamps, in file order, as a DealCreate of
    its cells would make it: "5" is 5), or its problems as (field, message)."""
    values, problems = _COLUMNS(header, rows)
    values["expected_spread"] = list(map(expected_spread, values["assignment_fee_target"], values["costs_estimate"]))
    for i, fields in enumerate(zip(*(values[n] if n in values else repeat(_LEAD[n]) for n in STORED))):
        if i in problems:
            yield None, problems[i]
            continue
        deal = dict(zip(STORED, fields))
        problem = _place(db, deal)
        yield (None, [problem]) if problem else (deal, [])


@dataclass
class _Checked(csvimport.Tally):
    """What reading a file found. Its good rows' deals are in the spool one after the other
    (files.array_item bytes); here are each one's file line, address key and end in the spool."""

    sha256: str = ""
    lines: array = field(default_factory=lambda: array("q"))
    keys: list[str] = field(default_factory=list)
    ends: array = field(default_factory=lambda: array("q"))


def _check(db: Storage, chunks: Iterable[bytes], spool: IO[bytes]) -> _Checked:
    """Read the file, spool its good rows, and refuse it (422) when it is empty or not text, or
    more than csvimport.MAX_INVALID of its rows are invalid."""
    text = csvimport.Lines()
    rows = csvimport.rows(text.text(chunks))
    first = next(rows, None)
    if first is None:
        raise csvimport.empty(f"a header row naming the columns (required: {', '.join(REQUIRED_COLUMNS)})")
    header = csvimport.header(*first, REQUIRED_COLUMNS, ALLOWED_COLUMNS)
    found = _Checked()
    end = 0
    while batch := list(islice(rows, _BATCH)):
        found.rows += len(batch)
        lines, cells = zip(*batch)
        items = []
        for line, (deal, problems) in zip(lines, _deals(db, header, list(cells))):
            if deal is not None:
                items.append(files.array_item(deal))
                end += len(items[-1])
                found.lines.append(line)
                found.keys.append(address_key(deal["address"], deal["city"]))
                found.ends.append(end)
            else:
                found.add_invalid(line, problems)
        spool.write(b"".join(items))
    found.sha256 = text.digest.hexdigest()
    found.check()
    return found


def _items(spool: IO[bytes], checked: _Checked) -> Iterator[bytes]:
    """The deal of each good row, as files.array_item serialised it."""
    spool.seek(0)
    start = 0
    for end in checked.ends:
        yield spool.read(end - start)
        start = end


def _address(spool: IO[bytes], checked: _Checked, i: int) -> str:
    """The address of the i-th good row."""
    start = checked.ends[i - 1] if i else 0
    spool.seek(start)
    return pydantic_core.from_json(spool.read(checked.ends[i] - start))["address"]


def _existing(deals: Records[Deal]) -> dict[str, str]:
    """Address key -> the id of the deal at that address (read from the stored JSON: no models)."""
    keys: dict[str, str] = {}
    for frag in deals.frags():
        d = pydantic_core.from_json(frag)
        keys[address_key(d["address"], d["city"])] = d["id"]
    return keys


def _judge(spool: IO[bytes], checked: _Checked, known: dict[str, str]) -> tuple[bytearray, int, list[DuplicateRow]]:
    """Which good rows are new (1) and which repeat an address ``known`` or on an earlier row
    (0); how many repeat one, the first csvimport.SHOWN listed with what they repeat."""
    new = bytearray()
    duplicates: list[DuplicateRow] = []
    count = 0
    first: dict[str, int] = {}  # the row each address of the file is first on
    for i, (line, key) in enumerate(zip(checked.lines, checked.keys)):
        of = known.get(key) or first.setdefault(key, line)
        new.append(of == line)
        if of != line:
            count += 1
            if len(duplicates) < csvimport.SHOWN:
                duplicates.append(DuplicateRow(row=line, address=_address(spool, checked, i), duplicate_of=of if isinstance(of, str) else f"row {of}"))
    return new, count, duplicates


def _new_rows(spool: IO[bytes], checked: _Checked, new: bytearray) -> Iterator[bytes]:
    for item, keep in zip(_items(spool, checked), new):
        if keep:
            yield item


def import_csv(db: Storage, chunks: Iterable[bytes]) -> ImportResult:
    """Import a lead list read in chunks of any size: one transaction, one audit entry."""
    regression_service.require_not_throttled(db, "deals")
    ids: list[str] = []
    saved = None
    with tempfile.TemporaryFile() as spool:
        checked = _check(db, chunks, spool)
        known = _existing(db.list(store.deals))  # read without the lock, to skip the backup when nothing is new
        new, duplicates, shown = _judge(spool, checked, known)
        if 1 in new:
            saved = archive.backup_before(db, f"the import of {checked.rows} row(s)", modules=("deals",))
            with db.transaction("deals") as tx:
                existing = _existing(tx.list(store.deals))
                if existing != known:  # a concurrent import added some meanwhile
                    new, duplicates, shown = _judge(spool, checked, existing)
                del known, existing, checked.keys[:]  # let the keys go before the deals are staged
                ids = tx.add_many(store.deals, _new_rows(spool, checked, new))
                if ids:
                    tx.audit("deals", store.deals.name, "import", "action", {
                        "file_sha256": [None, checked.sha256], "rows": [None, checked.rows], "added": [None, len(ids)],
                        "duplicates": [None, duplicates], "invalid": [None, checked.invalid_count], "first_id": [None, ids[0]], "last_id": [None, ids[-1]],
                    })
    return ImportResult(
        added=len(ids), duplicates=duplicates, invalid=checked.invalid, invalid_count=checked.invalid_count,
        duplicate_rows=shown, backup=str(saved) if saved else None,
    )
