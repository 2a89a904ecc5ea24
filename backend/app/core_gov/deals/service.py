"""Deals: the lead/deal pipeline. A deal moves forward one stage at a time (lead -> contacted ->
offer_made -> under_contract -> assigned), any open deal may die, and `closed` comes only from
closing's finalization (`close`, from `assigned`); other modules move it only through
set_stage_by_system. expected_spread = assignment_fee_target - costs_estimate, always computed.
Every stage change is also an activity. Creating (one deal or a CSV import) is refused while the
`deals` domain is throttled; an import is one transaction with one audit entry, skips duplicate
addresses, is refused whole when over 1 % of its rows are invalid, and backs up the data dir
before it writes (logged)."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import tempfile
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterable, Iterator, Sequence

import pydantic_core
from pydantic import ValidationError

from ..errors import Conflict, InvalidField, require_start
from ..fields import country_of, totals_by_currency
from ..property import service as property_service
from ..regression import service as regression_service
from ..storage import Records, Storage, Transaction, actor, archive, search, select
from . import store
from .schemas import (
    DEAL_STARTS, Activity, ActivityCreate, ActivityKind, Deal, DealCreate, DealsSummary, DealUpdate, DuplicateRow, ImportResult,
    InvalidRow, Stage, StageTotals,
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


def _value(d: Deal) -> float:
    return d.offer_amount if d.offer_amount is not None else (d.asking_price or 0)


def _spread(d: Deal) -> float | None:
    return d.expected_spread


def summary(db: Storage) -> DealsSummary:
    """Value of a deal = its offer_amount, else its asking_price; totals per currency."""
    records = db.list(store.deals)
    by_stage = {}
    for s in Stage:
        deals = [d for d in records if d.stage is s]
        by_stage[s.value] = StageTotals(
            count=len(deals), value=totals_by_currency(deals, _value, f"{s.value} value"),
            expected_spread=totals_by_currency(deals, _spread, f"{s.value} expected spread"),
        )
    return DealsSummary(
        count=len(records), by_stage=by_stage, expected_spread_total=totals_by_currency(records, _spread, "expected spread"),
        open_expected_spread=totals_by_currency((d for d in records if d.stage not in FINAL), _spread, "open expected spread"),
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
# A lead list is read as it arrives (an HTTP body or a file, in chunks): each row is checked and
# the good ones spooled to a temporary file, so memory does not grow with the file. A file that
# is not UTF-8 text, is empty or has more than 1 % invalid rows changes nothing. The good rows
# are then added in one transaction, duplicates judged under its lock, with one audit entry.

REQUIRED_COLUMNS = ("address", "city", "province")
ALLOWED_COLUMNS = tuple(n for n in DealCreate.model_fields if n != "stage")  # an import adds leads
SHOWN = 100  # invalid and duplicate rows an answer lists; the counts cover every row
MAX_INVALID = 0.01  # a file with a larger share of invalid rows is refused whole
_PUNCT = re.compile(r"[^\w\s]")
_SPACE = re.compile(r"\s+")
_ABBREV = {
    "street": "st", "avenue": "ave", "av": "ave", "road": "rd", "drive": "dr", "boulevard": "blvd", "crescent": "cres",
    "court": "ct", "place": "pl", "lane": "ln", "terrace": "terr", "circle": "cir", "highway": "hwy", "parkway": "pkwy",
    "square": "sq", "trail": "trl", "grove": "grv", "heights": "hts", "point": "pt", "route": "rte",
    "north": "n", "south": "s", "east": "e", "west": "w", "apartment": "apt", "suite": "ste",
}


def address_key(address: str, city: str) -> str:
    """Case, whitespace, punctuation and street-type spelling do not make two addresses differ."""
    words = _SPACE.split(_PUNCT.sub(" ", f"{address}").casefold().strip())
    town = _SPACE.sub(" ", _PUNCT.sub(" ", city).casefold()).strip()
    return " ".join(_ABBREV.get(w, w) for w in words) + "|" + town


def _not_utf8(e: UnicodeDecodeError, lines_before: int) -> InvalidField:
    line = lines_before + e.object[: e.start].count(b"\n") + 1
    return InvalidField(("body",), f"the file is not UTF-8 text (byte 0x{e.object[e.start]:02x} on line {line}); save it as 'CSV UTF-8'; nothing was imported")


def _lines(chunks: Iterable[bytes], digest: Any) -> Iterator[str]:
    """The text lines of a UTF-8 file read in chunks of any size, endings kept (as csv wants
    them; a "\r\n" split between two chunks is one ending). 422 at a byte that is not UTF-8 or NUL."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    rest, newlines = "", 0
    for chunk in chunks:
        digest.update(chunk)
        if b"\x00" in chunk:
            line = newlines + chunk[: chunk.index(b"\x00")].count(b"\n") + 1
            raise InvalidField(("body",), f"line {line} holds a NUL byte: this is not a text CSV file; nothing was imported")
        try:
            text = rest + decoder.decode(chunk)
        except UnicodeDecodeError as e:
            raise _not_utf8(e, newlines) from None
        newlines += chunk.count(b"\n")
        cut = max(text.rfind("\n"), text.rfind("\r", 0, len(text) - 1)) + 1  # a last "\r" may precede a "\n"
        yield from io.StringIO(text[:cut], newline="")
        rest = text[cut:]
    try:
        rest += decoder.decode(b"", final=True)
    except UnicodeDecodeError as e:
        raise _not_utf8(e, newlines) from None
    yield from io.StringIO(rest, newline="")


def _rows(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """(file line number, cells) of each CSV row that has a cell that is not blank."""
    reader = csv.reader(lines, strict=True)  # a stray or unclosed quote is an error, not a swallowed file
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise InvalidField(("body",), f"line {line} is not valid CSV: {e}; nothing was imported") from None
        if any(c.strip() for c in row):
            yield line, row


def _header(line: int, row: list[str]) -> list[str]:
    names = [c.strip().lower().replace(" ", "_") for c in row]
    unknown = [n for n in names if n not in ALLOWED_COLUMNS]
    missing = [n for n in REQUIRED_COLUMNS if n not in names]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if unknown or missing or doubled:
        problems = [f"unknown column(s) {', '.join(repr(n) for n in unknown)}"] if unknown else []
        problems += [f"missing required column(s) {', '.join(missing)}"] if missing else []
        problems += [f"repeated column(s) {', '.join(doubled)}"] if doubled else []
        raise InvalidField(("body",), f"line {line} is not a valid header: {'; '.join(problems)}. Required: {', '.join(REQUIRED_COLUMNS)}; allowed: {', '.join(ALLOWED_COLUMNS)}")
    return names


def _problems(db: Storage, header: list[str], row: list[str]) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
    """A row's deal fields, or its problems as (field, message)."""
    if len(row) > len(header) and any(c.strip() for c in row[len(header):]):
        return None, [("(row)", f"{len(row)} fields; the header has {len(header)}")]
    values: dict[str, Any] = {k: v.strip() for k, v in zip(header, row) if v.strip()}
    if "tags" in values:
        values["tags"] = re.split(r"[;|]", values["tags"])
    try:
        fields = DealCreate.model_validate(values, strict=False).model_dump(exclude={"stage"})  # cells are text: "5" is 5
    except ValidationError as e:
        return None, [(str(err["loc"][0]) if err["loc"] else "(row)", err["msg"].removeprefix("Value error, ")) for err in e.errors()]
    problem = _place(db, fields)
    return (None, [problem]) if problem else (fields, [])


@dataclass
class _Checked:
    """What reading a file found; its good rows are in the spool, one a line: `row<TAB>address
    key<TAB>fields as JSON`."""

    sha256: str = ""
    rows: int = 0  # data rows: not blank, not the header
    invalid: list[InvalidRow] = field(default_factory=list)  # the problems of the first SHOWN invalid rows
    invalid_count: int = 0  # invalid rows


def _check(db: Storage, chunks: Iterable[bytes], spool: IO[bytes]) -> _Checked:
    """Read the file, spool its good rows, and refuse it (422) when it is empty or not text, or
    more than MAX_INVALID of its rows are invalid."""
    digest = hashlib.sha256()
    rows = _rows(_lines(chunks, digest))
    first = next(rows, None)
    if first is None:
        raise InvalidField(("body",), f"the file is empty: expected a header row (required columns: {', '.join(REQUIRED_COLUMNS)})")
    header = _header(*first)
    found = _Checked()
    for line, row in rows:
        found.rows += 1
        fields, problems = _problems(db, header, row)
        if fields is not None:
            spool.write(b"%d\t%s\t%s\n" % (line, address_key(fields["address"], fields["city"]).encode(), pydantic_core.to_json(fields)))
            continue
        found.invalid_count += 1
        if found.invalid_count <= SHOWN:
            found.invalid += [InvalidRow(row=line, field=f, message=m) for f, m in problems]
    found.sha256 = digest.hexdigest()
    if found.invalid_count > MAX_INVALID * found.rows:
        first_problems = "; ".join(f"line {p.row} {p.field}: {p.message}" for p in found.invalid[:5])
        raise InvalidField(("body",), (
            f"{found.invalid_count} of {found.rows} rows are invalid (more than {MAX_INVALID:.0%}); nothing was imported. "
            f"First problems: {first_problems}"
        ))
    return found


def _spooled(spool: IO[bytes]) -> Iterator[tuple[int, str, bytes]]:
    spool.seek(0)
    for raw in spool:
        line, key, data = raw.split(b"\t", 2)
        yield int(line), key.decode(), data


def _existing(deals: Records[Deal]) -> dict[str, str | int]:
    """Address key -> the id of the deal at that address (read from the stored JSON: no models)."""
    keys: dict[str, str | int] = {}
    for frag in deals.frags():
        d = pydantic_core.from_json(frag)
        keys[address_key(d["address"], d["city"])] = d["id"]
    return keys


def _sort(spool: IO[bytes], seen: dict[str, str | int], add: Callable[[dict[str, Any]], str] | None) -> tuple[list[str], int, list[DuplicateRow]]:
    """Add each spooled row whose address is not in ``seen`` yet (the ids added), and count the
    others, listing the first SHOWN with the deal id or row they repeat."""
    ids: list[str] = []
    duplicates: list[DuplicateRow] = []
    count = 0
    for line, key, data in _spooled(spool):
        of = seen.get(key)
        if of is None:
            seen[key] = line
            ids.append(add(pydantic_core.from_json(data)))  # type: ignore[misc]
            continue
        count += 1
        if len(duplicates) < SHOWN:
            duplicates.append(DuplicateRow(row=line, address=pydantic_core.from_json(data)["address"], duplicate_of=of if isinstance(of, str) else f"row {of}"))
    return ids, count, duplicates


def import_csv(db: Storage, chunks: Iterable[bytes]) -> ImportResult:
    """Import a lead list read in chunks of any size: one transaction, one audit entry."""
    regression_service.require_not_throttled(db, "deals")
    with tempfile.TemporaryFile() as spool:
        checked = _check(db, chunks, spool)
        known = _existing(db.list(store.deals))  # read without the lock, to skip the backup when nothing is new
        saved = None
        if all(key in known for _, key, _ in _spooled(spool)):
            ids, duplicates, shown = _sort(spool, known, None)
        else:
            del known
            saved = archive.backup_before(db, f"the import of {checked.rows} row(s)", modules=("deals",))
            with db.transaction("deals") as tx:  # duplicates judged under the lock: a concurrent import may have added some
                ids, duplicates, shown = _sort(spool, _existing(tx.list(store.deals)), lambda fields: tx.add(store.deals, fields, audit=None).id)
                if ids:
                    tx.audit("deals", store.deals.name, "import", "action", {
                        "file_sha256": [None, checked.sha256], "rows": [None, checked.rows], "added": [None, len(ids)],
                        "duplicates": [None, duplicates], "invalid": [None, checked.invalid_count], "first_id": [None, ids[0]], "last_id": [None, ids[-1]],
                    })
    return ImportResult(
        added=len(ids), duplicates=duplicates, invalid=checked.invalid, invalid_count=checked.invalid_count,
        duplicate_rows=shown, backup=str(saved) if saved else None,
    )
