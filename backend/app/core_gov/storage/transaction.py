"""A transaction's staged changes, and the batch that commits several of them together.

A body works on staged copies of the files it touches, layered on the newest state (the open
batch, else the batch being committed, else the cache). When it returns, its changes join the
module's open batch; the engine commits a batch with one serialisation and one durable write
per file.
"""

from __future__ import annotations

import contextvars
import functools
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from ..errors import InvalidField, NotFound, PreconditionFailed
from . import files
from .ids import new_id
from .records import AuditEntry, Collection, Descriptor, Entry, Log, Record, Singleton, TextFile, audit_log

if TYPE_CHECKING:
    from .engine import Storage, _Cached

R = TypeVar("R", bound=Record)
E = TypeVar("E", bound=Entry)
S = TypeVar("S", bound=BaseModel)
T = TypeVar("T")

META_FIELDS = ("id", "created_at", "updated_at", "version")

# Who is acting: set per request from X-Actor (default "operator"); the CLI sets "cli".
actor: contextvars.ContextVar[str] = contextvars.ContextVar("actor", default="operator")


@functools.cache
def _list_adapter(model: type[BaseModel]) -> TypeAdapter:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


@dataclass
class _Staged:
    """A collection's records as the transaction leaves them, with each record's serialised
    form kept beside it: a commit re-serialises only the records that changed."""

    records: list[Record]
    index: dict[str, int]
    frags: list[bytes | None]


def serialised(model: type[BaseModel], records: Sequence[Record], frags: list[bytes | None]) -> list[bytes]:
    """Fill in the serialised form of every record that changed, in one batch call."""
    missing = [i for i, f in enumerate(frags) if f is None]
    if missing:
        dumped = _list_adapter(model).dump_python([records[i] for i in missing])
        for i, raw in zip(missing, dumped):
            frags[i] = files.array_item(raw)
    return frags  # type: ignore[return-value]


INT64 = 2**63


def _check_storable(value: Any, loc: tuple[Any, ...]) -> None:
    """JSON files hold 64-bit integers (orjson refuses larger ones): refuse them as input."""
    if isinstance(value, int) and not -INT64 <= value < INT64:
        raise InvalidField(loc, "an integer must be between -2^63 and 2^63-1", "int_too_large")
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, (list, tuple)) else ()
    for key, item in items:
        _check_storable(item, (*loc, key))


class Transaction:
    """Staged changes to the files of the locked modules; committed when the body returns."""

    def __init__(self, storage: "Storage", modules: tuple[str, ...], base: Callable[[Descriptor, bool], "_Cached"]):
        self.storage = storage
        self.modules = modules
        self._lookup = base
        self.now = storage.now()
        self._records: dict[Collection, _Staged] = {}
        self._singletons: dict[Singleton, BaseModel | None] = {}
        self._appends: dict[Log, list[Entry]] = {}
        self._texts: dict[TextFile, tuple[list[bytes], Any]] = {}
        self._base: dict[Descriptor, "_Cached"] = {}

    # ---------------------------------------------------------------- staged reads

    def _held(self, d: Descriptor) -> None:
        if d.module not in self.modules:
            raise RuntimeError(f"{d.relpath} is not in this transaction's modules {list(self.modules)}")

    def _cached(self, d: Descriptor, parse: bool = True) -> "_Cached":
        base = self._base.get(d)
        if base is None or (parse and base.value is None):
            self._held(d)
            base = self._base[d] = self._lookup(d, parse)
        return base

    def list(self, d: Collection[R]) -> Sequence[R]:
        if d in self._records:
            return self._records[d].records  # type: ignore[return-value]
        return self._cached(d).value[0]

    def find(self, d: Collection[R], record_id: str) -> R | None:
        staged = self._records.get(d)
        records, index = (staged.records, staged.index) if staged else self._cached(d).value
        pos = index.get(record_id)
        return None if pos is None else records[pos]

    def get(self, d: Collection[R], record_id: str) -> R:
        rec = self.find(d, record_id)
        if rec is None:
            raise NotFound(f"{d.model.__name__} {record_id} not found")
        return rec

    def read(self, d: Singleton[S]) -> S:
        if d in self._singletons:
            value = self._singletons[d]
        else:
            value = self._cached(d).value
        return d.default() if value is None else value  # type: ignore[return-value]

    def text(self, d: TextFile[T]) -> T:
        if d in self._texts:
            return self._texts[d][1]
        return self._cached(d).value

    def replace_text(self, d: TextFile[T], data: bytes | list[bytes]) -> T:
        """Replace the whole file (bytes, or pieces written in turn). The new content is parsed
        (a bad one raises BadText here, before anything is written). No audit entry is made:
        record one that summarises the change with ``tx.audit``."""
        self._held(d)
        pieces = [data] if isinstance(data, bytes) else list(data)
        value = d.parse(b"".join(pieces))
        self._texts[d] = (pieces, value)
        return value

    def entries(self, d: Log[E]) -> Sequence[E]:
        return (*self._cached(d).value, *self._appends.get(d, ()))  # type: ignore[return-value]

    # ---------------------------------------------------------------- staged writes

    def _staged(self, d: Collection) -> "_Staged":
        if d not in self._records:
            base = self._cached(d)
            records, index = base.value
            self._records[d] = _Staged(list(records), dict(index), list(base.frags))
        return self._records[d]

    def _validate(self, model: type[BaseModel], data: Mapping[str, Any] | BaseModel) -> Any:
        try:
            value = data if isinstance(data, BaseModel) else model.model_validate(data)
        except ValidationError as e:
            err = e.errors()[0]
            raise InvalidField(("body", *err["loc"]), err["msg"], err["type"]) from None
        _check_storable(value.model_dump(), ("body",))
        return value

    def add(self, d: Collection[R], fields: Mapping[str, Any] | BaseModel, *, audit: str = "create") -> R:
        data = fields.model_dump() if isinstance(fields, BaseModel) else dict(fields)
        rec = self._validate(
            d.model,
            {**data, "id": data.get("id") or new_id(d.id_prefix), "created_at": self.now, "updated_at": self.now, "version": 1},
        )
        staged = self._staged(d)
        if rec.id in staged.index:
            raise InvalidField(("body", "id"), f"{rec.id} already exists")
        staged.index[rec.id] = len(staged.records)
        staged.records.append(rec)
        staged.frags.append(None)
        after = rec.model_dump(mode="json")
        self.audit(d.module, d.name, rec.id, audit, {k: [None, after[k]] for k in after if k not in META_FIELDS})
        return rec

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
        staged = self._staged(d)
        pos = staged.index[old.id]
        staged.records[pos] = new
        staged.frags[pos] = None
        self.audit(d.module, d.name, old.id, audit, diff)
        return new

    def delete(self, d: Collection[R], record_id: str, *, reason: str | None = None) -> R:
        old = self.get(d, record_id)
        staged = self._staged(d)
        pos = staged.index[record_id]
        del staged.records[pos], staged.frags[pos]
        staged.index.clear()
        staged.index.update((r.id, i) for i, r in enumerate(staged.records))
        before = old.model_dump(mode="json")
        changes = {k: [before[k], None] for k in before if k not in META_FIELDS}
        if reason is not None:
            changes["reason"] = [None, reason]
        self.audit(d.module, d.name, record_id, "delete", changes)
        return old

    def write(self, d: Singleton[S], value: S | Mapping[str, Any], *, audit: str = "update") -> S:
        self._held(d)
        new = self._validate(d.model, value)
        old = self.read(d)
        before = old.model_dump(mode="json") if old is not None else {}
        after = new.model_dump(mode="json")
        diff = {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}
        if not diff and self._cached(d).value is not None:
            return old
        self._singletons[d] = new
        self.audit(d.module, d.name, d.name, audit, diff)
        return new

    def append(self, d: Log[E], fields: Mapping[str, Any] | BaseModel, *, audit: str | None = "create") -> E:
        self._held(d)
        data = fields.model_dump() if isinstance(fields, BaseModel) else dict(fields)
        entry = self._validate(d.model, {**data, "id": data.get("id") or new_id(d.id_prefix), "at": data.get("at") or self.now})
        self._appends.setdefault(d, []).append(entry)
        if audit is not None:
            self.audit(d.module, d.name, entry.id, audit, {})
        return entry

    def audit(self, module: str, entity: str, entity_id: str, action: str, changes: dict[str, list[Any]]) -> None:
        """Record one audit entry in the module's own audit log, in this same commit."""
        log = audit_log(module)
        self._held(log)
        entry = AuditEntry(
            id=new_id("au"), at=self.now, actor=actor.get(), module=module,
            entity=entity, entity_id=entity_id, action=action, changes=changes,
        )
        self._appends.setdefault(log, []).append(entry)

    # ---------------------------------------------------------------- result

    def changes(self) -> "Changes":
        """What this transaction leaves behind: the new view of each file it changed, and the
        bytes to append to each log (at the log's size before this transaction)."""
        from .engine import _Cached

        out = Changes()
        for d, staged in self._records.items():
            out.views[d] = _Cached(None, (tuple(staged.records), staged.index), frags=staged.frags)
        for d, value in self._singletons.items():
            out.views[d] = _Cached(None, value)
        for d, (pieces, parsed) in self._texts.items():
            out.views[d] = _Cached(None, parsed)
            out.texts[d] = pieces
        for d, new_entries in self._appends.items():
            base = self._cached(d, parse=False)  # an append needs the log's length, not its entries
            data = b"".join(files.dumps_line(e.model_dump()) for e in new_entries)
            entries = None if base.value is None else (*base.value, *new_entries)
            out.views[d] = _Cached(None, entries, size=base.size + len(data))
            out.log_base[d] = base.size
            out.log_data[d] = [data]
            out.log_entries[d] = list(new_entries)
        return out


@dataclass
class Changes:
    """Changes to commit: one transaction's, or a batch of several merged in order."""

    views: dict[Descriptor, "_Cached"] = field(default_factory=dict)
    log_base: dict[Log, int] = field(default_factory=dict)
    log_data: dict[Log, list[bytes]] = field(default_factory=dict)
    log_entries: dict[Log, list[Entry]] = field(default_factory=dict)
    texts: dict[TextFile, list[bytes]] = field(default_factory=dict)

    def merge(self, later: "Changes") -> None:
        self.views.update(later.views)  # a later transaction started from the earlier one's view
        self.texts.update(later.texts)
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
