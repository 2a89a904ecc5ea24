"""Communications: drafts, the send log, the internal do-not-contact list, CASL sender identity,
the National DNCL and inbound replies. Contacts are normalised (phone E.164, email lower-case)
before every comparison. mark_sent is an execution action, checked in this order: go-live guard
(423), suppressed (internal list), for calls dncl_list_stale (the called area code's DNCL copy
missing or over 31 days old) then suppressed (on that copy), sender identity missing
(email/SMS), then the province's contact window (overridable with a reason). An opt-out is kept
3 years and 14 days. The DNCL is one sorted copy per area code: an import replaces the copy of
every area code in its file (after a backup) and never touches the internal list."""

from __future__ import annotations

import hashlib
import json
import unicodedata
import weakref
from array import array
from bisect import bisect_left
from datetime import date, datetime, time, timedelta, timezone
from itertools import groupby, islice
from operator import lt
from pathlib import Path
from typing import Iterable, KeysView, Sequence

from .. import csvimport
from ..deals import service as deals_service
from ..errors import Conflict, InvalidField, NotFound, PreconditionFailed, require_start
from ..fields import normalize_contact, normalize_email, normalize_phone
from ..golive import service as golive_service
from ..market import service as market_service
from ..storage import Storage, archive, files, matches, new_id
from ..storage.version import migration
from . import store
from .schemas import (
    CA_AREA_CODES, DRAFT_STARTS, PHONE_CHANNELS, WINDOW_CHANNEL, AreaCopy, Channel, DnclCopies, DnclCopy, DnclImport, DnclStatus, Draft,
    DraftCreate, DraftStatus, DraftUpdate, IdentityFile, IdentityInput, ImportResult, InboundAction,
    InboundCreate, InboundMessage, MarkSent, SenderIdentity, SendLogEntry, Suppression, SuppressionCheck,
    SuppressionCreate, SuppressionReason,
)


OPT_OUT_KEYWORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "arret", "arrêt"})
DNCL_MAX_AGE = timedelta(days=31)  # CRTC: call against a list copy at most 31 days old
OPT_OUT_EXTRA_DAYS = 14  # an opt-out is kept 3 years + 14 days

# Draft status moves through PATCH; `sent` only through mark_sent.
TRANSITIONS = {
    DraftStatus.draft: {DraftStatus.ready, DraftStatus.archived},
    DraftStatus.ready: {DraftStatus.draft, DraftStatus.archived},
    DraftStatus.sent: {DraftStatus.archived},
    DraftStatus.archived: set(),
}


def _utc(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _contact(raw: str, loc: tuple[str, ...]) -> str:
    try:
        return normalize_contact(raw)
    except ValueError as e:
        raise InvalidField(loc, str(e)) from None


# ============================================================================ sender identity


def sender_identity(db: Storage) -> SenderIdentity | None:
    """The configured CASL identification, or None (never set, deleted, or incomplete by hand edit)."""
    f = db.read(store.identity)
    if not (f.sender_name and f.mailing_address and f.unsubscribe_text and (f.phone or f.email or f.web)):
        return None
    return SenderIdentity.model_validate(f.model_dump(exclude={"deleted_reason"}))


def get_identity(db: Storage) -> SenderIdentity:
    found = sender_identity(db)
    if found is None:
        raise NotFound("the sender identity is not configured: PUT /core/comms/identity")
    return found


def set_identity(db: Storage, data: IdentityInput) -> SenderIdentity:
    if not (data.phone or data.email or data.web):
        raise InvalidField(("body", "phone"), "give at least one way to reach the sender: phone, email or web")
    with db.transaction("comms") as tx:
        tx.write(store.identity, IdentityFile(**data.model_dump(), updated_at=tx.now))
    return get_identity(db)


def delete_identity(db: Storage, *, reason: str) -> SenderIdentity:
    """Remove the identity (email and SMS then refuse to send); answers what was removed."""
    with db.transaction("comms") as tx:
        old = get_identity(db)
        tx.write(store.identity, IdentityFile(updated_at=tx.now, deleted_reason=reason), audit="delete")
    return old


# ============================================================================ suppressions

_INDEX: "weakref.WeakKeyDictionary[Storage, tuple[Sequence[Suppression], dict[str, Suppression]]]" = weakref.WeakKeyDictionary()


def _by_value(db: Storage) -> dict[str, Suppression]:
    """value -> suppression; rebuilt only when the cached file changes (the core hands back the
    same tuple while it is unchanged). Inside a transaction the staged list is scanned."""
    records = db.list(store.suppressions)
    if not isinstance(records, tuple):
        return {s.value: s for s in records}
    hit = _INDEX.get(db)
    if hit is None or hit[0] is not records:
        hit = (records, {s.value: s for s in records})
        _INDEX[db] = hit
    return hit[1]


def find_suppression(db: Storage, contact: str) -> Suppression | None:
    try:
        value = normalize_contact(contact)
    except ValueError:
        return None  # every stored value is normalised: something unparseable is never on the list
    return _by_value(db).get(value)


def is_suppressed(db: Storage, contact: str) -> bool:
    return find_suppression(db, contact) is not None


def suppressed_values(db: Storage) -> KeysView[str]:
    """Every suppressed value (normalised), for many membership tests at once."""
    return _by_value(db).keys()


def _opt_out_until(s: Suppression) -> datetime:
    start = s.opted_out_at or s.created_at
    try:
        later = start.replace(year=start.year + 3)
    except ValueError:  # 29 February
        later = start.replace(year=start.year + 3, day=28)
    return later + timedelta(days=OPT_OUT_EXTRA_DAYS)


def add_suppression(db: Storage, *, value: str, reason: str, source: str) -> tuple[Suppression, bool]:
    """(suppression, created). An existing value is answered as is, except that an opt-out
    upgrades a manual entry to opt_out (it then falls under the retention period)."""
    value = _contact(value, ("body", "value"))
    reason = SuppressionReason(reason)
    with db.transaction("comms") as tx:
        existing = _by_value(db).get(value)
        if existing is not None:
            if reason is SuppressionReason.opt_out and existing.reason is not SuppressionReason.opt_out:
                existing = tx.update(store.suppressions, existing, reason=reason, source=source, opted_out_at=tx.now)
            return existing, False
        extra = {"opted_out_at": tx.now} if reason is SuppressionReason.opt_out else {}
        return tx.add(store.suppressions, {"value": value, "reason": reason, "source": source, **extra}), True


def suppress(db: Storage, *, value: str, reason: str, source: str) -> Suppression:
    return add_suppression(db, value=value, reason=reason, source=source)[0]


def create_suppression(db: Storage, data: SuppressionCreate) -> tuple[Suppression, bool]:
    return add_suppression(db, value=data.value, reason=data.reason.value, source=data.source)


def list_suppressions(db: Storage, *, reason: str | None = None, source: str | None = None) -> list[Suppression]:
    return [s for s in db.list(store.suppressions) if matches(s, {"reason": reason, "source": source})]


def get_suppression(db: Storage, suppression_id: str) -> Suppression:
    return db.get(store.suppressions, suppression_id)


def check(db: Storage, *, to: str) -> SuppressionCheck:
    """Which list holds the contact: the internal one first, else its area code's DNCL copy."""
    value = _contact(to, ("query", "to"))
    found = _by_value(db).get(value)
    dncl = dncl_status(db, value)
    on = "internal" if found is not None else "dncl" if dncl is not None and dncl.listed else None
    return SuppressionCheck(to=to, value=value, suppressed=on is not None, list=on, suppression=found, dncl=dncl)


def delete_suppression(db: Storage, suppression_id: str, *, reason: str) -> Suppression:
    with db.transaction("comms") as tx:
        s = tx.get(store.suppressions, suppression_id)
        if s.reason is SuppressionReason.opt_out:
            until = _opt_out_until(s)
            if tx.now < until:
                raise Conflict(
                    "retention_period", f"an opt-out is kept 3 years and {OPT_OUT_EXTRA_DAYS} days; this one until {_utc(until)}",
                    until=_utc(until), suppression_id=s.id,
                )
        return tx.delete(store.suppressions, suppression_id, reason=reason)


# ============================================================================ National DNCL

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


def _require_dncl_clear(db: Storage, to: str) -> None:
    """Calls: the area code's copy must exist and be at most 31 days old, and not hold the number."""
    status = dncl_status(db, to)
    if status is None:
        return
    area, listed_on = status.area_code, status.list_date.isoformat() if status.list_date else None
    if status.stale:
        why = f"is from {listed_on}, more than 31 days ago" if listed_on else "was never imported"
        raise Conflict(
            "dncl_list_stale", f"the National DNCL copy for area code {area} {why}: import a fresh {area} list before calling",
            area_code=area, list_date=listed_on,
        )
    if status.listed:
        raise Conflict(
            "suppressed", f"{to} is on the National DNCL (the {area} copy of {listed_on})",
            to=to, list="dncl", area_code=area, list_date=listed_on,
        )


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
    saved = archive.backup_before(db, f"the DNCL import of the {list_date} list")
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


# ============================================================================ drafts


def _normalised_to(channel: Channel, to: str | None, province: str | None) -> str | None:
    """`to` as stored: E.164 for sms/call, lower-case for email; province required for sms/call."""
    if channel in PHONE_CHANNELS or channel is Channel.email:
        if not to:
            kind = "an email address" if channel is Channel.email else "a phone number"
            raise InvalidField(("body", "to"), f"a {channel.value} draft needs `to` ({kind})")
        try:
            to = normalize_email(to) if channel is Channel.email else normalize_phone(to)
        except ValueError as e:
            raise InvalidField(("body", "to"), str(e)) from None
    if channel in PHONE_CHANNELS and not province:
        raise InvalidField(("body", "province"), f"a {channel.value} draft needs the contact's province (for the contact window)")
    return to


def list_drafts(
    db: Storage, *, status: str | None = None, channel: str | None = None, deal_id: str | None = None, tag: str | None = None,
) -> list[Draft]:
    found: Sequence[Draft] = db.list(store.drafts)
    if status is not None:
        found = [d for d in found if d.status == status]
    if channel is not None:
        found = [d for d in found if d.channel == channel]
    if deal_id is not None:
        found = [d for d in found if d.deal_id == deal_id]
    if tag is not None:
        wanted = tag.strip().lower()
        found = [d for d in found if wanted in d.tags]
    return list(found)


def get_draft(db: Storage, draft_id: str) -> Draft:
    return db.get(store.drafts, draft_id)


def create_draft(db: Storage, data: DraftCreate) -> Draft:
    status = require_start("draft", DRAFT_STARTS, data.status)
    to = _normalised_to(data.channel, data.to, data.province)
    if data.deal_id is not None:
        deals_service.require_deal(db, data.deal_id)
    with db.transaction("comms") as tx:
        return tx.add(store.drafts, {**data.model_dump(), "to": to, "status": status})


def update_draft(db: Storage, draft_id: str, data: DraftUpdate, *, expected_version: int | None = None) -> Draft:
    """Content changes and/or a status move (draft <-> ready, any -> archived). A sent draft's
    content is immutable (409 sent_immutable); `sent` is reached only through mark_sent."""
    changes = data.model_dump(exclude_unset=True)
    status = changes.pop("status", None)
    if "status" in data.model_fields_set and status is None:
        raise InvalidField(("body", "status"), "status cannot be null")
    with db.transaction("comms") as tx:
        d = tx.get(store.drafts, draft_id)
        if expected_version is not None and d.version != expected_version:
            raise PreconditionFailed(
                "version_mismatch", f"Draft {d.id} is at version {d.version}, not {expected_version}; re-read it and retry",
                current_version=d.version,
            )
        content = {k: v for k, v in changes.items() if getattr(d, k) != v}
        if content:
            if d.sent_at is not None:
                raise Conflict("sent_immutable", f"draft {d.id} was sent at {_utc(d.sent_at)}; its content cannot change", fields=sorted(content))
            merged = {**d.model_dump(), **content}
            if merged["channel"] is None:
                raise InvalidField(("body", "channel"), "channel cannot be null")
            if {"channel", "to", "province"} & content.keys():
                content["to"] = _normalised_to(Channel(merged["channel"]), merged["to"], merged["province"])
            if content.get("deal_id") is not None:
                deals_service.require_deal(db, content["deal_id"])
        if status is not None and status is not d.status:
            if status not in TRANSITIONS[d.status]:
                how = "only mark_sent sends a draft" if status is DraftStatus.sent else f"allowed from {d.status.value}: {', '.join(sorted(s.value for s in TRANSITIONS[d.status])) or 'nothing'}"
                raise Conflict("invalid_transition", f"a {d.status.value} draft cannot move to {status.value}; {how}", current=d.status.value)
            content["status"] = status
        return tx.update(store.drafts, d, content, audit="transition" if "status" in content else "update")


def _casl_copy(body: str, ident: SenderIdentity) -> tuple[str, bool, bool]:
    """The body as logged: the identification line and the unsubscribe line appended if missing."""
    folded = body.casefold()
    need_id = ident.sender_name.casefold() not in folded or ident.mailing_address.casefold() not in folded
    need_unsub = ident.unsubscribe_text.casefold() not in folded
    lines = [body.rstrip()] if body.strip() else []
    if need_id:
        lines.append(", ".join(x for x in (ident.sender_name, ident.mailing_address, ident.phone, ident.email, ident.web) if x))
    if need_unsub:
        lines.append(ident.unsubscribe_text)
    return "\n".join(lines), need_id, need_unsub


def _window_market(db: Storage, draft: Draft) -> str:
    """The deal's city when the draft has one (a city policy may set its own zone), else ALL."""
    deal = deals_service.find_deal(db, draft.deal_id) if draft.deal_id else None
    return (getattr(deal, "city", None) or "ALL") if deal is not None else "ALL"


def mark_sent(db: Storage, draft_id: str, data: MarkSent) -> Draft:
    """Execution action. Refusals in order: 423 go-live/kill switch; 409 invalid_transition (not
    draft/ready); suppressed (internal list, no override); for calls dncl_list_stale then
    suppressed (list dncl); sender_identity_missing (email/SMS); outside_contact_window (or the
    policy's other refusal) unless override_reason.
    The draft update and the send-log line are one commit."""
    golive_service.require_execution_allowed(db)
    seen = db.get(store.drafts, draft_id)
    window = None
    if seen.channel in WINDOW_CHANNEL and seen.province and seen.status in (DraftStatus.draft, DraftStatus.ready):
        window = market_service.can_contact(
            db, province=seen.province, channel=WINDOW_CHANNEL[seen.channel], market=_window_market(db, seen), at=db.now(), to=seen.to,
        )
    with db.transaction("comms") as tx:
        d = tx.get(store.drafts, draft_id)
        if d.version != seen.version:
            raise Conflict("draft_changed", f"draft {d.id} changed while being sent; retry", current_version=d.version)
        if d.status not in (DraftStatus.draft, DraftStatus.ready):
            raise Conflict("invalid_transition", f"a {d.status.value} draft cannot be sent", current=d.status.value)
        hit = find_suppression(db, d.to) if d.to else None
        if hit is not None:
            raise Conflict(
                "suppressed", f"{hit.value} is on the do-not-contact list ({hit.reason.value})",
                to=hit.value, list="internal", suppression_id=hit.id,
            )
        if d.channel is Channel.call and d.to:
            _require_dncl_clear(db, d.to)
        ident = sender_identity(db) if d.channel in (Channel.email, Channel.sms) else None
        if d.channel in (Channel.email, Channel.sms) and ident is None:
            raise Conflict("sender_identity_missing", "email and SMS must carry the CASL sender identification: PUT /core/comms/identity first")
        override = None
        if window is not None and not window.allowed:
            if not data.override_reason:
                raise Conflict(
                    window.reason, f"{WINDOW_CHANNEL[d.channel]} to {d.province} is not allowed now ({window.reason}); send override_reason to send anyway",
                    province=d.province, channel=WINDOW_CHANNEL[d.channel], local_time=window.local_time.isoformat(),
                    next_allowed_at=_utc(window.next_allowed_at) if window.next_allowed_at else None,
                    refused_by=window.refused_by.model_dump(mode="json") if window.refused_by else None,
                )
            override = data.override_reason
        body, id_added, unsub_added = _casl_copy(d.body, ident) if ident is not None else (d.body, False, False)
        sent = tx.update(store.drafts, d, status=DraftStatus.sent, sent_at=tx.now, override_reason=override, audit="transition")
        tx.append(store.sendlog, {
            "draft_id": d.id, "channel": d.channel, "to": d.to, "subject": d.subject, "body": body, "deal_id": d.deal_id,
            "province": d.province, "provider": d.provider, "local_time": window.local_time.isoformat() if window else None,
            "identification_appended": id_added, "unsubscribe_appended": unsub_added, "override_reason": override,
        }, audit="action")
    return sent


def list_sendlog(db: Storage, *, channel: str | None = None, deal_id: str | None = None, since: datetime | None = None) -> list[SendLogEntry]:
    return [
        e for e in db.entries(store.sendlog)
        if matches(e, {"channel": channel, "deal_id": deal_id}) and (since is None or e.at >= since)
    ]


# ============================================================================ inbound replies


def is_opt_out(body: str) -> bool:
    """The whole text is an opt-out keyword, in any case, ignoring surrounding spaces and punctuation."""
    text = unicodedata.normalize("NFC", body)
    strip = lambda c: c.isspace() or unicodedata.category(c)[0] in "PZC"  # noqa: E731
    start, end = 0, len(text)
    while start < end and strip(text[start]):
        start += 1
    while end > start and strip(text[end - 1]):
        end -= 1
    return text[start:end].casefold() in OPT_OUT_KEYWORDS


def record_inbound(db: Storage, data: InboundCreate) -> InboundMessage:
    """Store a reply. An opt-out keyword suppresses the sender and cancels their open follow-ups;
    any other reply completes each of the sender's ladders as `responded` (its lowest open step
    done, the rest canceled). The comms and followups changes are one commit."""
    from ..followups import service as followups_service  # followups imports comms

    sender = data.from_
    received_at = data.received_at or db.now()
    with db.transaction("comms", "followups") as tx:
        record: dict = {"from": sender, "channel": data.channel, "body": data.body, "received_at": received_at}
        responded = []
        if is_opt_out(data.body):
            sup = suppress(db, value=sender, reason="opt_out", source="inbound")
            canceled = followups_service.cancel_open_for_contact(db, contact=sender, reason="opted_out")
            record |= {"action": InboundAction.opted_out, "suppression_id": sup.id, "tasks_canceled": [t.id for t in canceled]}
        else:
            changed = followups_service.mark_responded(db, contact=sender, at=received_at)
            responded = [t for t in changed if t.status.value == "done"]
            record |= {
                "action": InboundAction.responded if responded else InboundAction.recorded,
                "tasks_responded": [t.id for t in responded],
                "tasks_canceled": [t.id for t in changed if t.status.value == "canceled"],
            }
        entry = tx.append(store.inbound, record, audit="action")
    followups_service.report_completed(db, responded)
    return entry


def list_inbound(db: Storage, *, sender: str | None = None, since: datetime | None = None) -> list[InboundMessage]:
    value = _contact(sender, ("query", "from")) if sender is not None else None
    return [e for e in db.entries(store.inbound) if (value is None or e.from_ == value) and (since is None or e.received_at >= since)]
