"""The National DNCL: one sorted copy per Canadian area code (comms/dncl/<area>.txt), dated by its
list date. A call needs the called area code's copy at most 31 days old (else dncl_list_stale)
and the number not on it. An import replaces the copy of every area code in its file (after a
backup), never with an older list, and never touches the internal list; a file that is not UTF-8
or has more than 1 % invalid rows changes nothing."""

from __future__ import annotations

import hashlib
import json
from array import array
from bisect import bisect_left
from datetime import date, datetime, time, timedelta, timezone
from itertools import groupby, islice
from operator import lt
from pathlib import Path
from typing import Iterable, Sequence

from .. import csvimport
from ..errors import Conflict, InvalidField
from ..storage import Storage, archive, files, new_id
from ..storage.version import migration
from . import store
from .schemas import CA_AREA_CODES, AreaCopy, DnclCopies, DnclCopy, DnclImport, DnclStatus, ImportResult

DNCL_MAX_AGE = timedelta(days=31)  # CRTC: call against a list copy at most 31 days old

# A DNCL row is one number written with digits and these separators; 10 digits, or 11 with the
# country code 1 first (so 4165550100, 416-555-0100, (416) 555-0100, +1 416 555 0100, "416",5550100).
_SEPARATORS = b" \t\r-().+,\""
_AREAS = {code.encode(): code for code in CA_AREA_CODES}


def _area_code(value: str) -> str | None:
    """The Canadian area code of an E.164 number (+1AAANNNNNNN), else None (the DNCL does not cover it)."""
    if len(value) == 12 and value.startswith("+1") and value[2:5] in store.dncl_lists:
        return value[2:5]
    return None


def _holds(numbers: array, number: int) -> bool:
    i = bisect_left(numbers, number)
    return i < len(numbers) and numbers[i] == number


def _list_start(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=timezone.utc)


def dncl_copies(db: Storage) -> dict[str, DnclCopy]:
    """Area code -> its copy's list date, count and sha256 (as imported)."""
    return db.read(store.dncl_copies).root


def dncl_status(db: Storage, value: str) -> DnclStatus | None:
    """A normalised contact's DNCL copy: None for an email or a number outside the Canadian area
    codes. A copy whose file is gone (empty) counts as missing: stale, never "not listed"."""
    area = _area_code(value)
    if area is None:
        return None
    copy = dncl_copies(db).get(area)
    numbers = db.text(store.dncl_lists[area]) if copy is not None else array("Q")
    if not numbers:
        return DnclStatus(area_code=area, list_date=copy.list_date if copy else None, listed=False, stale=True)
    stale = db.now() - _list_start(copy.list_date) > DNCL_MAX_AGE
    return DnclStatus(area_code=area, list_date=copy.list_date, listed=_holds(numbers, int(value[2:])), stale=stale)


def list_dncl_imports(db: Storage) -> list[DnclImport]:
    return list(db.entries(store.dncl_imports))


class DnclReader(csvimport.Tally):
    """A National DNCL download read in chunks of any size (an HTTP body, a file; the text read
    by csvimport): keeps only the valid numbers, as 8-byte integers per area code, and the first
    invalid rows. Rows are file lines; a first line without a digit is a header; blank lines are
    skipped."""

    def __init__(self) -> None:
        super().__init__()
        self._numbers = {area: array("Q") for area in _AREAS}
        self._text = csvimport.Lines()
        self._line = 0

    def feed(self, chunk: bytes) -> None:
        self._rows(self._text.feed(chunk))

    def finish(self) -> dict[str, tuple[array, int]]:
        """Area code -> (its numbers sorted, each once; how many rows repeated one). Raises 422 when
        the file is not UTF-8, holds no number, or more than 1 % of its rows are invalid."""
        self._rows(self._text.finish())
        if self.rows == 0:
            raise csvimport.empty("one phone number a line (after an optional header line)")
        self.check()
        lists = {}
        for area, numbers in self._numbers.items():
            if numbers and not all(map(lt, numbers, islice(numbers, 1, None))):  # a download is sorted already
                numbers = array("Q", (n for n, _ in groupby(sorted(numbers))))
                lists[_AREAS[area]] = (numbers, len(self._numbers[area]) - len(numbers))
            elif numbers:
                lists[_AREAS[area]] = (numbers, 0)
        self._numbers.clear()
        return lists

    def _rows(self, block: bytes) -> None:
        """Complete lines, checked UTF-8 (``block`` ends with a line ending, or is the file's last line)."""
        if block and not self._plain(block if block.endswith(b"\n") else block + b"\n"):
            self._each_line(block)

    def _plain(self, block: bytes) -> bool:
        """The common case at C speed: every line of the block is 10 digits of one Canadian area
        code with a valid exchange. False (nothing read) for anything else."""
        clean = block.translate(None, _SEPARATORS)
        n = clean.count(b"\n")
        if len(clean) != 11 * n or clean[10::11] != b"\n" * n or not clean.replace(b"\n", b"").isdigit():
            return False
        area, exchanges = self._numbers.get(clean[:3]), clean[3::11]
        if area is None or b"0" in exchanges or b"1" in exchanges or any(clean[i::11] != clean[i:i + 1] * n for i in range(3)):
            return False
        area.extend(map(int, clean.split(b"\n")[:-1]))
        self.rows += n
        self._line += n
        return True

    def _each_line(self, block: bytes) -> None:
        lines = block.splitlines()  # as csvimport counts them
        numbers, lineno, rows = self._numbers, self._line, 0
        for raw in lines:
            lineno += 1
            digits = raw.translate(None, _SEPARATORS)
            if len(digits) == 11 and digits[0] == 0x31:  # "1", the country code
                digits = digits[1:]
            area = numbers.get(digits[:3])
            if area is not None and len(digits) == 10 and digits.isdigit() and digits[3] >= 0x32:  # exchange 2-9
                area.append(int(digits))
                rows += 1
            elif not raw.strip() or (lineno == 1 and not any(c in b"0123456789" for c in raw)):
                continue  # a blank line, or the header
            else:
                rows += 1
                self._invalid(lineno, raw, digits)
        self._line, self.rows = lineno, self.rows + rows

    def _invalid(self, lineno: int, raw: bytes, digits: bytes) -> None:
        if self.invalid_count >= csvimport.SHOWN:
            self.invalid_count += 1
            return
        text = raw.decode("utf-8").strip()[:40]
        if not digits.isdigit():
            message = f"{text!r} is not a phone number (digits and the separators space - . ( ) + , only)"
        elif len(digits) != 10:
            message = f"{text!r} has {len(digits)} digits: expected 10 (or 11 starting with the country code 1)"
        elif digits[:3] not in _AREAS:
            message = f"area code {digits[:3].decode()} is not a Canadian area code"
        else:
            message = f"{text!r} is not a valid number: the exchange ({digits[3:6].decode()}) cannot start with 0 or 1"
        self.add_invalid(lineno, [("phone", message)])


def _render(numbers: Sequence[int]) -> tuple[list[bytes], str]:
    """A copy's file (in pieces, one number a line) and its sha256."""
    pieces = [("\n".join(map(str, numbers[i:i + 65536])) + "\n").encode() for i in range(0, len(numbers), 65536)]
    digest = hashlib.sha256()
    for piece in pieces:
        digest.update(piece)
    return pieces, digest.hexdigest()


def _common(a: array, b: array) -> int:
    """How many numbers two sorted copies share (one merge walk)."""
    i = j = n = 0
    la, lb = len(a), len(b)
    while i < la and j < lb:
        x, y = a[i], b[j]
        if x == y:
            n += 1
            i += 1
            j += 1
        elif x < y:
            i += 1
        else:
            j += 1
    return n


def _refuse_older(copies: dict[str, DnclCopy], areas: Iterable[str], list_date: date) -> None:
    newer = {a: copies[a].list_date.isoformat() for a in areas if a in copies and copies[a].list_date > list_date}
    if newer:
        raise Conflict(
            "dncl_list_older", f"the copies of {', '.join(sorted(newer))} hold a newer list than {list_date}; nothing was imported",
            newer=newer,
        )


def import_dncl(db: Storage, *, list_date: date, chunks: Iterable[bytes]) -> ImportResult:
    """Read a DNCL download (chunks of any size) and replace the copy of every area code in it,
    in one commit with one audit entry (comms/dncl.json's change: each copy before and after).
    The internal list is never touched. A broken file, or a list older than a copy it would
    replace, changes nothing; the data dir is backed up before anything is written."""
    if list_date > (db.now() + timedelta(days=1)).date():
        raise InvalidField(("query", "list_date"), f"{list_date} is in the future")
    reader = DnclReader()
    for chunk in chunks:
        reader.feed(chunk)
    lists = reader.finish()
    _refuse_older(dncl_copies(db), lists, list_date)
    # The new files and their differences from the copies in use, computed before taking the lock.
    staged = {area: (*_render(numbers), db.text(store.dncl_lists[area])) for area, (numbers, _) in lists.items()}
    common = {area: _common(numbers, staged[area][2]) for area, (numbers, _) in lists.items()}
    saved = archive.backup_before(db, f"the DNCL import of the {list_date} list", modules=("comms",))
    added = removed = 0
    with db.transaction("comms") as tx:
        copies = dict(tx.read(store.dncl_copies).root)
        _refuse_older(copies, lists, list_date)
        for area, (numbers, _) in lists.items():
            pieces, sha256, before = staged[area]
            if tx.text(store.dncl_lists[area]) is not before:  # replaced meanwhile
                before = tx.text(store.dncl_lists[area])
                common[area] = _common(numbers, before)
            tx.replace_text(store.dncl_lists[area], pieces)
            copies[area] = DnclCopy(
                list_date=list_date, count=len(numbers), sha256=sha256, imported_at=tx.now,
                added=len(numbers) - common[area], removed=len(before) - common[area],
            )
            added, removed = added + copies[area].added, removed + copies[area].removed
        tx.write(store.dncl_copies, DnclCopies(dict(sorted(copies.items()))), audit="action")
        duplicates = sum(d for _, d in lists.values())
        entry = tx.append(store.dncl_imports, {
            "list_date": list_date, "added": added, "removed": removed, "duplicates": duplicates,
            "invalid": reader.invalid_count, "area_codes": sorted(lists),
        }, audit=None)
    return ImportResult(
        id=entry.id, list_date=list_date, added=added, removed=removed, duplicates=duplicates,
        invalid=reader.invalid, invalid_count=reader.invalid_count,
        area_codes={a: AreaCopy(count=copies[a].count, list_date=list_date) for a in sorted(lists)},
        backup=str(saved) if saved else None,
    )


@migration(1)
def _dncl_records_to_copies(data_dir: Path) -> None:
    """Format 1 -> 2: the National DNCL was `reason: "dncl"` suppression records; it becomes one
    sorted copy per area code (comms/dncl/<area>.txt) dated by the newest import's list date. A
    number outside the Canadian area codes stays on the internal list (reason manual): a
    do-not-call is never dropped. Idempotent: a migration cut short is simply run again."""
    folder = data_dir / "comms"
    path = folder / "suppressions.json"
    records = json.loads(path.read_bytes()) if path.exists() else []
    if not any(r.get("reason") == "dncl" for r in records):
        return
    log = folder / "dncl_imports.jsonl"
    dates = [json.loads(line)["list_date"] for line in (log.read_bytes().splitlines() if log.exists() else []) if line.strip()]
    by_area: dict[str, list[int]] = {}
    newest: dict[str, str] = {}
    kept = []
    for r in records:
        area = _area_code(r["value"]) if r.get("reason") == "dncl" else None
        if area is not None:
            by_area.setdefault(area, []).append(int(r["value"][2:]))
            newest[area] = max(newest.get(area, ""), r["created_at"])
        elif r.get("reason") == "dncl":
            kept.append({**r, "reason": "manual", "source": f"{r.get('source')} (outside the Canadian area codes)"})
        else:
            kept.append(r)
    list_date = date.fromisoformat(max(dates) if dates else max(newest.values())[:10])
    txn = new_id("mig")
    (folder / "dncl").mkdir(exist_ok=True)
    copies = {}
    for area, numbers in sorted(by_area.items()):
        unique = sorted(set(numbers))
        pieces, sha256 = _render(unique)
        files.write_atomic(folder / "dncl" / f"{area}.txt", b"".join(pieces), txn)
        copies[area] = DnclCopy(list_date=list_date, count=len(unique), sha256=sha256, imported_at=newest[area], added=len(unique))
    files.write_atomic(folder / "dncl.json", files.dumps_pretty(DnclCopies(copies).model_dump(mode="json")), txn)
    files.write_atomic(path, b"".join(files.join_array([files.array_item(r) for r in kept])), txn)
