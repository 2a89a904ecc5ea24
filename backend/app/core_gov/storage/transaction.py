"""A transaction's staged changes, and the batch that commits several of them together.

A body works on staged copies of what it touches, layered on the newest state (the open batch,
else the batch being committed, else the cache): a collection's touched segments only, never
the whole collection. Each record, singleton and log line is serialised when it is staged, so
a value that cannot be stored is refused to its own caller, never to the batch. When the body
returns, its changes join the module's open batch.
"""

from __future__ import annotations

import contextvars
import logging
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from ..errors import InvalidField, NotFound, PreconditionFailed
from . import files, formats
from .collection import Records, segment_filename
from .formats import NOT_READ, Seg
from .ids import new_id
from .records import AuditEntry, Collection, Descriptor, Entry, Log, Record, Singleton, TextFile, audit_log

if TYPE_CHECKING:
    from .engine import Storage

R = TypeVar("R", bound=Record)
E = TypeVar("E", bound=Entry)
S = TypeVar("S", bound=BaseModel)
T = TypeVar("T")

META_FIELDS = ("id", "created_at", "updated_at", "version")
INT64 = 2**63

# Who is acting: set per request from X-Actor (default "operator"); the CLI sets "cli".
actor: contextvars.ContextVar[str] = contextvars.ContextVar("actor", default="operator")

log = logging.getLogger("valhalla.reactions")


@dataclass(frozen=True)
class Part:
    """One file: a descriptor's, or one segment of a collection."""

    d: Descriptor
    number: int = 1

    @property
    def relpath(self) -> str:
        if isinstance(self.d, Collection):
            return f"{self.d.module}/{segment_filename(self.d, self.number)}"
        return self.d.relpath


@dataclass
class Loaded:
    """A file as the cache (or a pending batch) holds it."""

    key: tuple[int, int, int] | None
    value: Any  # Seg, a singleton's model or None, a text file's parsed value, a log's entries or NOT_READ
    size: int = 0  # logs: bytes of the lines that count
    torn: bool = False  # logs: the file ends in a partial line
    open_end: bool = False  # logs: a whole last line written without its newline

    @property
    def unsettled(self) -> bool:
        return self.torn or self.open_end


def _check_storable(value: Any, loc: tuple[Any, ...]) -> None:
    """JSON files hold 64-bit integers (orjson refuses larger ones): name the one that is not."""
    if isinstance(value, int) and not -INT64 <= value < INT64:
        raise InvalidField(loc, "an integer must be between -2^63 and 2^63-1", "int_too_large")
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, (list, tuple)) else ()
    for key, item in items:
        _check_storable(item, (*loc, key))


def _serialised(dump: Callable[[Any], bytes], value: BaseModel) -> bytes:
    data = value.model_dump()
    try:
        return dump(data)
    except orjson.JSONEncodeError:
        _check_storable(data, ("body",))
        raise


class _StagedCollection:
    """A collection's segments as the transaction leaves them; touched ones are private copies.

    It starts from the segments the reads see, without statting each file (a thousand of them
    at a million records); every segment it reads a record from or changes is re-read under
    the lock first (``fresh``), so a hand edit saved meanwhile is used, never overwritten."""

    def __init__(self, d: Collection, segs: Sequence[Seg], reread: Callable[[int], Seg], folder: Path):
        self.d = d
        self.folder = folder
        self.segs = list(segs)
        self.thawed: set[int] = set()
        self._reread = reread
        self._fresh: set[int] = set()
        self._spool: IO[bytes] | None = None  # full staged segments, until the commit

    def view(self) -> Records:
        return Records(self.d.model, self.segs, None)

    def _spool_out(self, seg: Seg) -> None:
        """Keep a full staged segment in a temporary file until the commit copies it into place,
        and let its records and models go (read back from there if the body reads them)."""
        if self._spool is None:
            # On the data's disk (not a RAM /tmp) and unnamed; should the system name it for an
            # instant, it is a dot-named temp file that recovery removes.
            self._spool = tempfile.TemporaryFile(dir=self.folder, prefix=".staged-", suffix=files.TMP_SUFFIX)
        spool = self._spool
        offset = spool.seek(0, os.SEEK_END)
        for piece in files.join_array(seg.frags):
            spool.write(piece)
        spool.flush()
        spans = seg.spans = formats.spans_of(seg.frags)

        def read_span(start: int, stop: int) -> bytes:
            return os.pread(spool.fileno(), stop - start, offset + start)

        seg.read_span = read_span
        seg.reread = lambda seg: formats.cut(read_span(0, spans[-1] + 1), spans)
        seg.models = [None] * len(seg)
        seg.release()

    def fresh(self, i: int) -> Seg:
        seg = self.segs[i]
        if seg.number not in self._fresh:
            seg = self.segs[i] = self._reread(seg.number)
            self._fresh.add(seg.number)
        return seg

    def reread_done(self, number: int) -> None:
        """The segment is current without a re-read (it has no file yet)."""
        self._fresh.add(number)

    def locate(self, record_id: str) -> tuple[int, int] | None:
        """Where the record is, as re-read under the lock."""
        for everywhere in (False, True):
            for i in range(len(self.segs) - 1, -1, -1):
                if everywhere or self.segs[i].position(record_id) is not None:
                    pos = self.fresh(i).position(record_id)
                    if pos is not None:
                        return i, pos
        return None

    def writable(self, i: int) -> Seg:
        seg = self.fresh(i)
        if seg.number not in self.thawed:
            seg = self.segs[i] = seg.thaw(self.d.model)
            self.thawed.add(seg.number)
        return seg

    def append(self, record_id: str, frag: bytes) -> None:
        """Add a serialised record without its model (made from the bytes when read)."""
        seg = self.tail()
        seg.ids.append(record_id)
        seg.frags.append(frag)
        seg.models.append(None)  # type: ignore[union-attr]
        seg.added(record_id)

    def tail(self) -> Seg:
        """The segment a new record goes to: the last one, or a new one once it is full (the
        full one is then spooled: a large import holds one segment in memory, not every record)."""
        if not self.segs or len(self.segs[-1]) >= self.d.segment_size:
            if self.segs and self.segs[-1].number in self.thawed:
                self._spool_out(self.segs[-1])
            number = self.segs[-1].number + 1 if self.segs else 1
            self.segs.append(Seg(number, Part(self.d, number).relpath, [], [], []))
            self.thawed.add(number)
            self.reread_done(number)
        return self.writable(len(self.segs) - 1)


class Transaction:
    """Staged changes to the files of the locked modules; committed when the body returns."""

    def __init__(
        self,
        storage: "Storage",
        modules: tuple[str, ...],
        lookup: Callable[[Part, bool], Loaded],
        segments: Callable[[Collection], list[Seg]],
    ):
        self.storage = storage
        self.modules = modules
        self._lookup = lookup
        self._segments = segments
        self.now = storage.now()
        self._collections: dict[Collection, _StagedCollection] = {}
        self._singletons: dict[Singleton, tuple[BaseModel, bytes]] = {}
        self._appends: dict[Log, list[tuple[Entry, bytes]]] = {}
        self._texts: dict[TextFile, tuple[list[bytes], Any]] = {}
        self._base: dict[Part, Loaded] = {}
        self._after_commit: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    # ---------------------------------------------------------------- after commit

    def after_commit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` once this transaction's commit is durable (never when it fails or
        its body raises). A transaction that joins another queues on the outermost one; the same
        call queued twice runs once."""
        if (fn, args) not in self._after_commit:
            self._after_commit.append((fn, args))

    def run_after_commit(self) -> None:
        """Called by the engine once the commit is durable, outside every lock. A reaction that
        raises is logged and recorded in the audit trail (action ``reaction_failed``); the
        commit stands and the next reaction runs."""
        queued, self._after_commit = self._after_commit, []
        for fn, args in queued:
            try:
                fn(*args)
            except Exception as e:
                name = f"{fn.__module__}.{fn.__qualname__}"
                log.exception("reaction %s failed after a commit on %s", name, list(self.modules))
                module = self.modules[0]
                try:
                    with self.storage.transaction(module) as tx:
                        tx.audit(module, "reaction", name, "reaction_failed", {"error": [None, f"{type(e).__name__}: {e}"]})
                except Exception:
                    log.exception("could not record the failure of reaction %s in the %s audit trail", name, module)

    # ---------------------------------------------------------------- staged reads

    def _held(self, d: Descriptor) -> None:
        if d.module not in self.modules:
            raise RuntimeError(f"{d.relpath} is not in this transaction's modules {list(self.modules)}")

    def _cached(self, part: Part, parse: bool = True) -> Loaded:
        base = self._base.get(part)
        if base is None or (parse and base.value is NOT_READ):
            self._held(part.d)
            base = self._base[part] = self._lookup(part, parse)
        return base

    def _collection(self, d: Collection) -> _StagedCollection:
        staged = self._collections.get(d)
        if staged is None:
            self._held(d)
            segs = self._segments(d)
            staged = self._collections[d] = _StagedCollection(d, segs, lambda number: self._cached(Part(d, number)).value, self.storage.data_dir / d.module)
            if not segs and d.seed is not None:  # no file yet: the seeded rows are the state
                staged.segs = [formats.seed_segment(d, Part(d).relpath, self.now)]
                staged.reread_done(1)
        return staged

    def list(self, d: Collection[R]) -> Records[R]:
        return self._collection(d).view()  # type: ignore[return-value]

    def find(self, d: Collection[R], record_id: str) -> R | None:
        staged = self._collection(d)
        found = staged.locate(record_id)
        return None if found is None else staged.view()._model(staged.segs[found[0]], found[1])

    def get(self, d: Collection[R], record_id: str) -> R:
        rec = self.find(d, record_id)
        if rec is None:
            raise NotFound(f"{d.model.__name__} {record_id} not found")
        return rec

    def read(self, d: Singleton[S]) -> S:
        if d in self._singletons:
            return self._singletons[d][0]  # type: ignore[return-value]
        value = self._cached(Part(d)).value
        return d.default() if value is None else value  # type: ignore[return-value]

    def text(self, d: TextFile[T]) -> T:
        if d in self._texts:
            return self._texts[d][1]
        return self._cached(Part(d)).value

    def entries(self, d: Log[E]) -> Sequence[E]:
        return (*self._cached(Part(d)).value, *(e for e, _ in self._appends.get(d, ())))  # type: ignore[return-value]

    # ---------------------------------------------------------------- staged writes

    def _validate(self, model: type[BaseModel], data: Mapping[str, Any]) -> Any:
        try:
            return model.model_validate(data)
        except ValidationError as e:
            err = e.errors()[0]
            raise InvalidField(("body", *err["loc"]), err["msg"], err["type"]) from None

    def _stage(self, staged: _StagedCollection, i: int | None, pos: int | None, rec: Record, dumped: dict[str, Any]) -> None:
        """Put a record in its segment with its serialised form (``dumped`` is its JSON-mode
        dump, which serialises exactly as the model does)."""
        try:
            frag = files.array_item(dumped)
        except orjson.JSONEncodeError:
            _check_storable(dumped, ("body",))
            raise
        seg = staged.tail() if i is None else staged.writable(i)
        seg.put(pos, rec, frag)

    def add(self, d: Collection[R], fields: Mapping[str, Any] | BaseModel, *, audit: str | None = "create") -> R:
        """Stage a new record. ``audit=None`` leaves its audit entry to the caller: a bulk import
        records one entry that summarises every record it added."""
        data = fields.model_dump() if isinstance(fields, BaseModel) else dict(fields)
        rec = self._validate(
            d.model,
            {**data, "id": data.get("id") or new_id(d.id_prefix), "created_at": self.now, "updated_at": self.now, "version": 1},
        )
        staged = self._collection(d)
        if data.get("id") and staged.locate(rec.id) is not None:  # an id the store makes is new
            raise InvalidField(("body", "id"), f"{rec.id} already exists")
        after = rec.model_dump(mode="json")
        self._stage(staged, None, None, rec, after)
        if audit is not None:
            self.audit(d.module, d.name, rec.id, audit, {k: [None, after[k]] for k in after if k not in META_FIELDS})
        return rec

    def add_many(self, d: Collection[R], rows: Iterable[Mapping[str, Any] | bytes]) -> list[str]:
        """Stage new records from rows the caller has just validated (a bulk import): each row
        is a record's fields but the id and stamps, JSON-ready, in the model's order, as a
        mapping or already serialised by ``files.array_item``. Each row gets an id and the stamps
        put in front of its serialised fields, no model made; the first record so made is checked
        against the model, so rows built wrong fail at once rather than store a bad record. No
        audit entry: the caller records one that sums up the import. Returns the ids."""
        staged = self._collection(d)
        ids: list[str] = []
        head: tuple[bytes, bytes] | None = None
        for row in rows:
            record_id = new_id(d.id_prefix)
            item = row if isinstance(row, bytes) else files.array_item(row)
            if head is None:
                head = self._head(d, record_id, item)
            staged.append(record_id, b"".join((head[0], record_id.encode(), head[1], item[4:])))  # item[4:]: its fields, after "  {\n"
            ids.append(record_id)
        return ids

    def _head(self, d: Collection, record_id: str, item: bytes) -> tuple[bytes, bytes]:
        """What goes before and after a new record's id (the stamps) to make it from its fields
        serialised as an array item, once the record so made is found to be its validated
        record as stored (ValueError otherwise: the caller built the row wrong)."""
        stored = self._validate(d.model, {**orjson.loads(item), "id": record_id, "created_at": self.now, "updated_at": self.now, "version": 1})
        after = stored.model_dump(mode="json")
        start = files.array_item({k: after[k] for k in META_FIELDS})[:-4] + b",\n"  # without its closing "\n  }"
        before, stamps = start.split(record_id.encode(), 1)
        if b"".join((before, record_id.encode(), stamps, item[4:])) != files.array_item(after):
            raise ValueError(f"add_many: the row is not a {d.model.__name__} as stored (its fields, JSON-ready, in order): {item.decode()}")
        return before, stamps

    def update(
        self,
        d: Collection[R],
        record: R | str,
        changes: Mapping[str, Any] | None = None,
        *,
        expected_version: int | None = None,
        audit: str = "update",
        **more: Any,
    ) -> R:
        """Apply field changes; a no-op change writes nothing. ``expected_version`` is If-Match."""
        old = self.get(d, record if isinstance(record, str) else record.id)
        if expected_version is not None and old.version != expected_version:
            raise PreconditionFailed(
                "version_mismatch",
                f"{d.model.__name__} {old.id} is at version {old.version}, not {expected_version}; re-read it and retry",
                current_version=old.version,
            )
        changes = {**(changes or {}), **more}
        before = old.model_dump(mode="json")
        new = self._validate(d.model, {**old.model_dump(), **changes, "updated_at": self.now, "version": old.version + 1})
        after = new.model_dump(mode="json")
        diff = {k: [before[k], after[k]] for k in after if k not in META_FIELDS and before.get(k) != after[k]}
        if not diff:
            return old
        staged = self._collection(d)
        i, pos = staged.locate(old.id)  # type: ignore[misc]
        self._stage(staged, i, pos, new, after)
        self.audit(d.module, d.name, old.id, audit, diff)
        return new

    def delete(self, d: Collection[R], record_id: str, *, reason: str | None = None) -> R:
        old = self.get(d, record_id)
        staged = self._collection(d)
        i, pos = staged.locate(record_id)  # type: ignore[misc]
        staged.writable(i).remove(pos)
        before = old.model_dump(mode="json")
        changes = {k: [before[k], None] for k in before if k not in META_FIELDS}
        if reason is not None:
            changes["reason"] = [None, reason]
        self.audit(d.module, d.name, record_id, "delete", changes)
        return old

    def write(self, d: Singleton[S], value: S | Mapping[str, Any], *, audit: str = "update") -> S:
        self._held(d)
        new = value if isinstance(value, BaseModel) else self._validate(d.model, value)
        data = _serialised(files.dumps_pretty, new)
        old = self.read(d)
        before = old.model_dump(mode="json") if old is not None else {}
        after = new.model_dump(mode="json")
        diff = {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}
        if not diff and self._cached(Part(d)).value is not None:
            return old
        self._singletons[d] = (new, data)
        self.audit(d.module, d.name, d.name, audit, diff)
        return new

    def replace_text(self, d: TextFile[T], data: bytes | list[bytes]) -> T:
        """Replace the whole file (bytes, or pieces written in turn). The new content is parsed
        (a bad one raises BadText here, before anything is written). No audit entry is made:
        record one that summarises the change with ``tx.audit``."""
        self._held(d)
        pieces = [data] if isinstance(data, bytes) else list(data)
        value = d.parse(b"".join(pieces))
        self._texts[d] = (pieces, value)
        return value

    def append(self, d: Log[E], fields: Mapping[str, Any] | BaseModel, *, audit: str | None = "create") -> E:
        self._held(d)
        data = fields.model_dump() if isinstance(fields, BaseModel) else dict(fields)
        entry = self._validate(d.model, {**data, "id": data.get("id") or new_id(d.id_prefix), "at": data.get("at") or self.now})
        self._appends.setdefault(d, []).append((entry, _serialised(files.dumps_line, entry)))
        if audit is not None:
            self.audit(d.module, d.name, entry.id, audit, {})
        return entry

    def audit(self, module: str, entity: str, entity_id: str, action: str, changes: dict[str, list[Any]]) -> None:
        """Record one audit entry in the module's own audit log, in this same commit."""
        log = audit_log(module)
        self._held(log)
        entry = AuditEntry.model_construct(  # built from validated values: no second validation
            id=new_id("au"), at=self.now, actor=actor.get(), module=module,
            entity=entity, entity_id=entity_id, action=action, changes=changes,
        )
        self._appends.setdefault(log, []).append((entry, files.dumps_line(entry.model_dump())))

    # ---------------------------------------------------------------- result

    def changes(self) -> "Changes":
        """What this transaction leaves behind: the new state and bytes of each file it
        replaces, and the bytes to append to each log (at the log's size before it)."""
        out = Changes()
        for d, staged in self._collections.items():
            for seg in staged.segs:
                if seg.number in staged.thawed:
                    part = Part(d, seg.number)
                    out.views[part] = Loaded(None, seg)
                    out.pieces[part] = formats.serialise_segment(seg)
        for d, (value, data) in self._singletons.items():
            out.views[Part(d)] = Loaded(None, value)
            out.pieces[Part(d)] = [data]
        for d, (pieces, parsed) in self._texts.items():
            out.views[Part(d)] = Loaded(None, parsed)
            out.pieces[Part(d)] = pieces
        for d, staged_entries in self._appends.items():
            base = self._cached(Part(d), parse=False)  # an append needs the log's length, not its entries
            data = b"".join(line for _, line in staged_entries)
            new_entries = [e for e, _ in staged_entries]
            entries = NOT_READ if base.value is NOT_READ else (*base.value, *new_entries)
            out.views[Part(d)] = Loaded(None, entries, size=base.size + len(data))
            out.log_base[d] = base.size
            out.log_data[d] = [data]
            out.log_entries[d] = new_entries
        return out


@dataclass
class Changes:
    """Changes to commit: one transaction's, or a batch of several merged in order."""

    views: dict[Part, Loaded] = field(default_factory=dict)
    pieces: dict[Part, Iterable[bytes]] = field(default_factory=dict)
    log_base: dict[Log, int] = field(default_factory=dict)
    log_data: dict[Log, list[bytes]] = field(default_factory=dict)
    log_entries: dict[Log, list[Entry]] = field(default_factory=dict)

    def merge(self, later: "Changes") -> None:
        self.views.update(later.views)  # a later transaction started from the earlier one's view
        self.pieces.update(later.pieces)
        for d, base in later.log_base.items():
            self.log_base.setdefault(d, base)
            self.log_data.setdefault(d, []).extend(later.log_data[d])
            self.log_entries.setdefault(d, []).extend(later.log_entries[d])

    def __bool__(self) -> bool:
        return bool(self.views)


@dataclass
class Batch:
    """Transactions of one module waiting for the same commit."""

    changes: Changes = field(default_factory=Changes)
    members: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    error: str | None = None
