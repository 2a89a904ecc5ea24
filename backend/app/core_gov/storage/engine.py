"""The store engine: cached reads, locked all-or-nothing transactions, crash recovery.

Reads stat the file and reuse the parsed records while (mtime_ns, size, inode) is unchanged, so
a hand edit or another process's write is seen on the next request. Writes happen only inside
``with db.transaction(module) as tx:``; the body works on staged copies and, when it returns,
every changed file is committed at once:

1. each replaced file is written to a unique temp file in its folder and fsynced;
2. a commit manifest naming the renames and log appends is written to every involved module's
   folder, the first module's copy last: once that copy exists the commit has happened;
3. log lines are written at their recorded offsets, temp files are renamed over their targets,
   the folders are fsynced, and the manifests are removed.

Whoever next takes a module's lock rolls forward any committed manifest in its folder (every
step is idempotent) and deletes temp files no committed manifest names. So a SIGKILL at any
point leaves each transaction fully applied or not at all.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence, TypeVar

import orjson
from filelock import FileLock
from pydantic import BaseModel, TypeAdapter, ValidationError

from ..errors import InvalidField, NotFound, PreconditionFailed, StoreCorrupt, StoreUnavailable
from . import files
from .clock import Clock, SystemClock
from .ids import new_id
from .records import REGISTRY, AuditEntry, Collection, Descriptor, Entry, Log, Record, Singleton, audit_log

R = TypeVar("R", bound=Record)
E = TypeVar("E", bound=Entry)
S = TypeVar("S", bound=BaseModel)

# Who is acting: set per request from X-Actor (default "operator"); the CLI sets "cli".
actor: contextvars.ContextVar[str] = contextvars.ContextVar("actor", default="operator")
_current: contextvars.ContextVar["Transaction | None"] = contextvars.ContextVar("transaction", default=None)

# Crash-test hook: called with the name of each commit step. Tests set it in a subprocess to
# SIGKILL the process at that step; it is None in normal operation.
FAULT: Callable[[str], None] | None = None

META_FIELDS = ("id", "created_at", "updated_at", "version")


def _fault(step: str) -> None:
    if FAULT is not None:
        FAULT(step)


def _before_sync() -> None:
    _fault("temp_unsynced")


# --------------------------------------------------------------------------------------------
# Parsing: bytes on disk -> validated models, or StoreCorrupt naming the file and position.


def _validation_position(index: int | None, raw: Any, err: ValidationError) -> tuple[str, str]:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(record)"
    where = f"field {loc}"
    if index is not None:
        rid = raw.get("id") if isinstance(raw, dict) else None
        where = f"record {index}" + (f" (id {rid})" if rid else "") + f", {where}"
    return where, first["msg"]


def _parse_json(rel: str, data: bytes) -> Any:
    if not data.strip():
        raise StoreCorrupt(rel, "byte 0", "the file is empty; a missing file is read as empty, a zero-byte one is not")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise StoreCorrupt(rel, f"line {e.lineno} column {e.colno}", e.msg) from None


def _parse_collection(d: Collection, data: bytes) -> tuple[tuple[Record, ...], dict[str, int]]:
    raw = _parse_json(d.relpath, data)
    if not isinstance(raw, list):
        raise StoreCorrupt(d.relpath, "top level", "expected a JSON array of records")
    records: list[Record] = []
    index: dict[str, int] = {}
    for i, item in enumerate(raw):
        try:
            rec = d.model.model_validate(item)
        except ValidationError as e:
            raise StoreCorrupt(d.relpath, *_validation_position(i, item, e)) from None
        if rec.id in index:
            raise StoreCorrupt(d.relpath, f"record {i}", f"duplicate id {rec.id}")
        index[rec.id] = i
        records.append(rec)
    return tuple(records), index


def _parse_singleton(d: Singleton, data: bytes) -> BaseModel:
    raw = _parse_json(d.relpath, data)
    if not isinstance(raw, dict):
        raise StoreCorrupt(d.relpath, "top level", "expected a JSON object")
    try:
        return d.model.model_validate(raw)
    except ValidationError as e:
        raise StoreCorrupt(d.relpath, *_validation_position(None, raw, e)) from None


def _parse_log(d: Log, data: bytes) -> tuple[tuple[Entry, ...], int]:
    """Entries and the length of the complete lines. A final line without its newline is a
    write torn by a crash (never acknowledged): it is left out here and trimmed under the lock."""
    valid = data.rfind(b"\n") + 1
    entries: list[Entry] = []
    for lineno, line in enumerate(data[:valid].split(b"\n")[:-1], start=1):
        try:
            raw = orjson.loads(line)
        except orjson.JSONDecodeError as e:
            raise StoreCorrupt(d.relpath, f"line {lineno} column {e.colno}", e.msg) from None
        try:
            entries.append(d.model.model_validate(raw))
        except ValidationError as e:
            where, msg = _validation_position(None, raw, e)
            raise StoreCorrupt(d.relpath, f"line {lineno}, {where}", msg) from None
    return tuple(entries), valid


# --------------------------------------------------------------------------------------------
# The cache: one entry per file, valid while the file's stat key is unchanged.


@dataclass
class _Cached:
    key: tuple[int, int, int] | None
    value: Any  # collection: (records, index); singleton: model | None; log: entries
    size: int = 0  # logs: bytes of complete lines
    torn: bool = False  # logs: the file ends in a partial line
    frags: list[bytes | None] = field(default_factory=list)  # collection: each record serialised, None until needed


@dataclass
class _Module:
    name: str
    path: Path
    thread_lock: threading.Lock = field(default_factory=threading.Lock)
    file_lock: FileLock | None = None


class Storage:
    """All state and I/O for one data dir. One per app (``app.state.storage``); one per test."""

    def __init__(self, data_dir: Path | str, clock: Clock | None = None):
        self.data_dir = Path(data_dir)
        self.clock = clock or SystemClock()
        self._cache: dict[str, _Cached] = {}
        self._modules: dict[str, _Module] = {}
        self._modules_lock = threading.Lock()
        self._opened: set[str] = set()

    def now(self):
        return self.clock.now()

    def path(self, d: Descriptor) -> Path:
        return self.data_dir / d.module / d.filename

    # ---------------------------------------------------------------- reads (lock-free)

    def list(self, d: Collection[R]) -> Sequence[R]:
        tx = self._tx_for(d)
        if tx is not None:
            return tx.list(d)
        return self._load(d).value[0]

    def find(self, d: Collection[R], record_id: str) -> R | None:
        tx = self._tx_for(d)
        if tx is not None:
            return tx.find(d, record_id)
        records, index = self._load(d).value
        pos = index.get(record_id)
        return None if pos is None else records[pos]

    def get(self, d: Collection[R], record_id: str) -> R:
        rec = self.find(d, record_id)
        if rec is None:
            raise NotFound(f"{d.model.__name__} {record_id} not found")
        return rec

    def read(self, d: Singleton[S]) -> S:
        tx = self._tx_for(d)
        if tx is not None:
            return tx.read(d)
        value = self._load(d).value
        return d.default() if value is None else value

    def entries(self, d: Log[E]) -> Sequence[E]:
        tx = self._tx_for(d)
        if tx is not None:
            return tx.entries(d)
        return self._load(d).value

    def check(self, d: Descriptor) -> list[str]:
        """Raise StoreCorrupt if the file is bad; return warnings (a torn log tail)."""
        cached = self._load(d)
        if isinstance(d, Log) and cached.torn:
            return [f"{d.relpath}: the last line is incomplete (a write torn by a crash); it is trimmed on the next write"]
        return []

    def _tx_for(self, d: Descriptor) -> "Transaction | None":
        tx = _current.get()
        return tx if tx is not None and d.module in tx.modules else None

    def _load(self, d: Descriptor, *, locked: bool = False) -> _Cached:
        if d.module not in self._opened:
            self._open(d.module)
        path = self.path(d)
        cached = self._cache.get(d.relpath)
        key = files.stat_key(path)
        if cached is not None and cached.key == key and not (locked and cached.torn):
            return cached
        snap = files.read_snapshot(path)
        if snap is None:
            empty: Any = ((), {}) if isinstance(d, Collection) else (() if isinstance(d, Log) else None)
            fresh = _Cached(None, empty)
        else:
            key, data = snap
            if isinstance(d, Collection):
                records, index = _parse_collection(d, data)
                fresh = _Cached(key, (records, index), frags=[None] * len(records))
            elif isinstance(d, Singleton):
                fresh = _Cached(key, _parse_singleton(d, data))
            else:
                entries, valid = _parse_log(d, data)
                fresh = _Cached(key, entries, size=valid, torn=valid != len(data))
                if locked and fresh.torn:
                    files.truncate(path, valid)  # the torn line was never acknowledged
                    fresh = _Cached(files.stat_key(path), entries, size=valid)
        self._cache[d.relpath] = fresh
        return fresh

    # ---------------------------------------------------------------- writes

    @contextlib.contextmanager
    def transaction(self, *modules: str) -> Iterator["Transaction"]:
        """Lock the modules (sorted, so two callers never deadlock), run the body on staged
        state, commit everything it changed at once. A body that raises writes nothing.

        Inside an open transaction, a transaction on modules it already holds joins it; any
        other module must be named up front, so the lock order stays sorted."""
        outer = _current.get()
        if outer is not None:
            missing = sorted(set(modules) - set(outer.modules))
            if missing:
                raise RuntimeError(
                    f"transaction on {missing} opened inside one on {list(outer.modules)}: "
                    f"open them together, db.transaction({', '.join(repr(m) for m in sorted({*outer.modules, *modules}))})"
                )
            yield outer
            return
        names = tuple(sorted(set(modules)))
        with self.locked(*names):
            tx = Transaction(self, names)
            token = _current.set(tx)
            try:
                yield tx
                tx._commit()
            finally:
                _current.reset(token)

    @contextlib.contextmanager
    def locked(self, *modules: str) -> Iterator[None]:
        """Hold the modules' locks (thread + file), with any interrupted commit rolled forward."""
        held: list[_Module] = []
        try:
            for name in sorted(set(modules)):
                mod = self._module(name)
                mod.thread_lock.acquire()
                held.append(mod)
                try:
                    mod.path.mkdir(parents=True, exist_ok=True)
                    if mod.file_lock is None:
                        mod.file_lock = FileLock(mod.path / ".lock", thread_local=False)
                    mod.file_lock.acquire()
                except BaseException:
                    held.pop().thread_lock.release()
                    raise
                self._recover(mod)
                self._opened.add(name)
            yield
        finally:
            for mod in reversed(held):
                assert mod.file_lock is not None
                mod.file_lock.release()
                mod.thread_lock.release()

    def _open(self, module: str) -> None:
        """The first read of a module in this process completes any commit a crash interrupted,
        so even a read never sees half of a transaction. Inside another module's transaction it
        is left for later: taking this lock there would break the sorted lock order."""
        if _current.get() is not None:
            return
        if (self.data_dir / module).is_dir():
            with self.locked(module):
                pass
        self._opened.add(module)

    def _module(self, name: str) -> _Module:
        with self._modules_lock:
            if name not in self._modules:
                if not name.isidentifier():
                    raise ValueError(f"bad module name {name!r}")
                self._modules[name] = _Module(name, self.data_dir / name)
            return self._modules[name]

    def _recover(self, mod: _Module) -> None:
        """Roll forward committed manifests in this folder; drop uncommitted ones and orphan temps."""
        names = os.listdir(mod.path)
        for name in sorted(n for n in names if n.startswith(files.MANIFEST_PREFIX)):
            path = mod.path / name
            try:
                manifest = orjson.loads(path.read_bytes())
                primary = manifest["primary"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                path.unlink()  # torn while being written: its writer died before committing
                continue
            if primary != mod.name and not (self.data_dir / primary / name).exists():
                path.unlink()  # the commit point was never reached
                continue
            self._apply(manifest, mod.name)
            others = [m for m in manifest["modules"] if m != mod.name and (self.data_dir / m / name).exists()]
            if mod.name != primary or not others:
                path.unlink()  # the primary copy stays until every other module applied its part
        for name in os.listdir(mod.path):
            if name.startswith(".") and name.endswith(files.TMP_SUFFIX):
                (mod.path / name).unlink()  # no committed manifest names it: a writer died before committing

    def _apply(self, manifest: dict[str, Any], module: str) -> None:
        """Apply this module's part of a commit. Each step is idempotent."""
        for rel_log, offset, text in manifest["append"]:
            if rel_log.split("/", 1)[0] != module:
                continue
            data = text.encode()
            path = self.data_dir / rel_log
            if not files.has_bytes_at(path, offset, data):
                files.write_at(path, offset, data)
        for rel_tmp, rel_target in manifest["replace"]:
            if rel_target.split("/", 1)[0] == module and (self.data_dir / rel_tmp).exists():
                os.replace(self.data_dir / rel_tmp, self.data_dir / rel_target)
        files.fsync_dir(self.data_dir / module)

    # ---------------------------------------------------------------- maintenance

    def declared(self) -> list[Descriptor]:
        """Every declared file plus the audit log of every module that declares one."""
        found = list(REGISTRY)
        for module in sorted({d.module for d in REGISTRY}):
            log = audit_log(module)
            if log not in found:
                found.append(log)
        return found


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

    def serialised(self, model: type[BaseModel]) -> list[bytes]:
        missing = [i for i, f in enumerate(self.frags) if f is None]
        if missing:
            dumped = _list_adapter(model).dump_python([self.records[i] for i in missing])
            for i, raw in zip(missing, dumped):
                self.frags[i] = files.array_item(raw)
        return self.frags  # type: ignore[return-value]


class Transaction:
    """Staged changes to the files of the locked modules; committed when the body returns."""

    def __init__(self, storage: Storage, modules: tuple[str, ...]):
        self.storage = storage
        self.modules = modules
        self.now = storage.now()
        self._records: dict[Collection, _Staged] = {}
        self._singletons: dict[Singleton, BaseModel | None] = {}
        self._appends: dict[Log, list[Entry]] = {}
        self._base: dict[Descriptor, _Cached] = {}

    # ---------------------------------------------------------------- staged reads

    def _held(self, d: Descriptor) -> None:
        if d.module not in self.modules:
            raise RuntimeError(f"{d.relpath} is not in this transaction's modules {list(self.modules)}")

    def _cached(self, d: Descriptor) -> _Cached:
        if d not in self._base:
            self._held(d)
            self._base[d] = self.storage._load(d, locked=True)
        return self._base[d]

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

    def entries(self, d: Log[E]) -> Sequence[E]:
        return (*self._cached(d).value, *self._appends.get(d, ()))  # type: ignore[return-value]

    # ---------------------------------------------------------------- staged writes

    def _staged(self, d: Collection) -> "_Staged":
        if d not in self._records:
            base = self._cached(d)
            records, index = base.value
            self._records[d] = _Staged(list(records), dict(index), list(base.frags))
        return self._records[d]

    def _validate(self, model: type[BaseModel], data: Mapping[str, Any]) -> Any:
        try:
            return model.model_validate(data)
        except ValidationError as e:
            err = e.errors()[0]
            raise InvalidField(("body", *err["loc"]), err["msg"], err["type"]) from None

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
        new = value if isinstance(value, BaseModel) else self._validate(d.model, value)
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

    # ---------------------------------------------------------------- commit

    def _commit(self) -> None:
        storage = self.storage
        txn = new_id("tx")
        replaces: list[tuple[Path, Path, Descriptor, _Cached]] = []
        appends: list[tuple[Log, Path, int, bytes, _Cached]] = []
        try:
            for d, staged in self._records.items():
                frags = staged.serialised(d.model)
                target = storage.path(d)
                tmp = files.write_temp(target, files.join_array(frags), txn, before_sync=_before_sync)
                replaces.append((tmp, target, d, _Cached(None, (tuple(staged.records), staged.index), frags=frags)))
            for d, value in self._singletons.items():
                target = storage.path(d)
                tmp = files.write_temp(target, files.dumps_pretty(value.model_dump() if value else None), txn, before_sync=_before_sync)
                replaces.append((tmp, target, d, _Cached(None, value)))
            for d, new_entries in self._appends.items():
                base = self._cached(d)
                data = b"".join(files.dumps_line(e.model_dump()) for e in new_entries)
                appends.append((d, storage.path(d), base.size, data, _Cached(None, (*base.value, *new_entries), size=base.size + len(data))))
        except OSError as e:
            for tmp, *_ in replaces:
                tmp.unlink(missing_ok=True)
            raise StoreUnavailable(f"could not write: {e}") from None
        if not replaces and not appends:
            return
        _fault("temps_written")

        involved = sorted({d.module for _, _, d, _ in replaces} | {d.module for d, *_ in appends})
        primary = involved[0]
        rel = lambda p: p.relative_to(storage.data_dir).as_posix()  # noqa: E731
        manifest = files.dumps_line({
            "txn": txn,
            "primary": primary,
            "modules": involved,
            "replace": [[rel(tmp), rel(target)] for tmp, target, _, _ in replaces],
            "append": [[rel(path), offset, data.decode()] for _, path, offset, data, _ in appends],
        })
        name = f"{files.MANIFEST_PREFIX}{txn}.json"
        for module in [*involved[1:], primary]:  # the primary copy last: it is the commit point
            files.write_new(storage.data_dir / module / name, manifest)
            files.fsync_dir(storage.data_dir / module)
            _fault(f"manifest_written:{module}")

        for _, path, offset, data, _ in appends:
            files.write_at(path, offset, data)
            _fault("log_appended")
        for tmp, target, _, _ in replaces:
            os.replace(tmp, target)
            _fault("file_replaced")
        for module in involved:
            files.fsync_dir(storage.data_dir / module)
        _fault("before_manifest_removal")
        for module in [*involved[1:], primary]:
            (storage.data_dir / module / name).unlink()

        for _, target, d, cached in replaces:
            cached.key = files.stat_key(target)
            storage._cache[d.relpath] = cached
        for d, path, _, _, cached in appends:
            cached.key = files.stat_key(path)
            storage._cache[d.relpath] = cached
