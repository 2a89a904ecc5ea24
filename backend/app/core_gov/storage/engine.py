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
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo
from typing import Any, Callable, Iterator, Sequence, TypeVar

import orjson
from filelock import FileLock
from pydantic import BaseModel, ValidationError

from ..errors import NotFound, StoreCorrupt, StoreUnavailable
from . import files
from .clock import Clock, SystemClock
from .ids import new_id
from .records import REGISTRY, BadText, Collection, Descriptor, Entry, Log, Record, Singleton, TextFile, audit_log
from .transaction import Batch, Changes, Transaction, actor, serialised

__all__ = ["Storage", "Transaction", "actor"]

R = TypeVar("R", bound=Record)
E = TypeVar("E", bound=Entry)
S = TypeVar("S", bound=BaseModel)
T = TypeVar("T")

_current: contextvars.ContextVar["Transaction | None"] = contextvars.ContextVar("transaction", default=None)

# Crash-test hook: called with the name of each commit step. Tests set it in a subprocess to
# SIGKILL the process at that step; it is None in normal operation.
FAULT: Callable[[str], None] | None = None

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


def _decode_error(data: bytes, e: orjson.JSONDecodeError, first_line: int = 1) -> tuple[str, str]:
    """Where and why JSON did not parse. orjson reports invalid UTF-8 at the start of the
    document, so that case is located by decoding."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as bad:
        line = data.count(b"\n", 0, bad.start) + first_line
        column = bad.start - data.rfind(b"\n", 0, bad.start)
        return f"line {line} column {column}", f"invalid UTF-8 byte 0x{data[bad.start]:02x}"
    return f"line {e.lineno + first_line - 1} column {e.colno}", e.msg


def _parse_json(rel: str, data: bytes) -> Any:
    if not data.strip():
        raise StoreCorrupt(rel, "byte 0", "the file is empty; a missing file is read as empty, a zero-byte one is not")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise StoreCorrupt(rel, *_decode_error(data, e)) from None


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


def _parse_text(d: TextFile, data: bytes) -> Any:
    try:
        return d.parse(data)
    except BadText as e:
        raise StoreCorrupt(d.relpath, e.position, e.message) from None


def _parse_line(d: Log, line: bytes, lineno: int) -> Entry:
    try:
        raw = orjson.loads(line)
    except orjson.JSONDecodeError as e:
        raise StoreCorrupt(d.relpath, *_decode_error(line, e, lineno)) from None
    try:
        return d.model.model_validate(raw)
    except ValidationError as e:
        where, msg = _validation_position(None, raw, e)
        raise StoreCorrupt(d.relpath, f"line {lineno}, {where}", msg) from None


def _whole_tail(d: Log, tail: bytes) -> bool:
    """Whether a final line without its newline is a whole entry (appended by hand, kept) rather
    than a write torn by a crash (never acknowledged, trimmed)."""
    try:
        _parse_line(d, tail, 0)
    except StoreCorrupt:
        return False
    return True


def _parse_log(d: Log, data: bytes) -> tuple[tuple[Entry, ...], int]:
    """Entries and the length of the lines that count: complete lines, plus a final line
    without its newline when it is a whole entry. A torn final line is left out here and
    trimmed under the lock."""
    valid = data.rfind(b"\n") + 1
    entries = [_parse_line(d, line, lineno) for lineno, line in enumerate(data[:valid].split(b"\n")[:-1], start=1)]
    tail = data[valid:]
    if tail.strip() and _whole_tail(d, tail):
        entries.append(_parse_line(d, tail, len(entries) + 1))
        valid = len(data)
    return tuple(entries), valid


# --------------------------------------------------------------------------------------------
# The cache: one entry per file, valid while the file's stat key is unchanged.


@dataclass
class _Cached:
    key: tuple[int, int, int] | None
    value: Any  # collection: (records, index); singleton: model | None; log: entries
    size: int = 0  # logs: bytes of complete lines
    torn: bool = False  # logs: the file ends in a partial line
    open_end: bool = False  # logs: a whole last line written without its newline
    frags: list[bytes | None] = field(default_factory=list)  # collection: each record serialised, None until needed


@dataclass
class _Module:
    """One module folder's locks and commit state.

    thread_lock: held while a transaction body runs (bodies of one module run one at a time).
    commit_lock: held by the one thread writing a batch to disk.
    file_lock: the cross-process lock, held while a batch is open or being written.
    batch: transactions whose bodies ran and that wait for the next commit.
    inflight: the batch being written now (the open batch is layered on top of it).
    """

    name: str
    path: Path
    thread_lock: threading.Lock = field(default_factory=threading.Lock)
    commit_lock: threading.Lock = field(default_factory=threading.Lock)
    file_lock: FileLock | None = None
    file_held: bool = False
    batch: Batch | None = None
    inflight: Batch | None = None


class Storage:
    """All state and I/O for one data dir. One per app (``app.state.storage``); one per test."""

    def __init__(self, data_dir: Path | str, clock: Clock | None = None, zone: ZoneInfo | None = None):
        self.data_dir = Path(data_dir)
        self.clock = clock or SystemClock()
        self.zone = zone or ZoneInfo("America/Toronto")  # the operator's day boundary (VALHALLA_TZ)
        self._cache: dict[str, _Cached] = {}
        self._modules: dict[str, _Module] = {}
        self._modules_lock = threading.Lock()
        self._opened: set[str] = set()
        # Since start: durable writes, and the transactions they carried (group commit shares one).
        self.stats = {"commits": 0, "transactions": 0}

    def now(self):
        return self.clock.now()

    def today(self):
        """The operator's local date now (daily caps and KPI days turn over at local midnight)."""
        return self.clock.now().astimezone(self.zone).date()

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

    def text(self, d: TextFile[T]) -> T:
        """A text file's parsed value."""
        tx = self._tx_for(d)
        if tx is not None:
            return tx.text(d)
        return self._load(d).value

    def entries(self, d: Log[E]) -> Sequence[E]:
        tx = self._tx_for(d)
        if tx is not None:
            return tx.entries(d)
        return self._load(d).value

    def count(self, d: Descriptor) -> int:
        """Records in a file: a log's complete lines are counted without parsing them."""
        if isinstance(d, Collection):
            return len(self.list(d))
        if isinstance(d, Singleton):
            return int(self.path(d).exists())
        cached = self._cache.get(d.relpath)
        if cached is not None and cached.value is not None and cached.key == files.stat_key(self.path(d)):
            return len(cached.value)
        snap = files.read_snapshot(self.path(d))
        return 0 if snap is None else snap[1].count(b"\n")

    def check(self, d: Descriptor) -> list[str]:
        """Raise StoreCorrupt if the file is bad; return warnings (a torn log tail)."""
        cached = self._load(d)
        if isinstance(d, Log) and cached.torn:
            return [f"{d.relpath}: the last line is incomplete (a write torn by a crash); it is trimmed on the next write"]
        return []

    def _tx_for(self, d: Descriptor) -> "Transaction | None":
        tx = _current.get()
        return tx if tx is not None and d.module in tx.modules else None

    def _load(self, d: Descriptor, *, locked: bool = False, parse: bool = True) -> _Cached:
        """The file's cached state, re-read when its stat key changed. Under the lock a torn log
        tail is trimmed. With parse=False a log is not parsed (an append needs only its length)."""
        if d.module not in self._opened:
            self._open(d.module)
        path = self.path(d)
        cached = self._cache.get(d.relpath)
        key = files.stat_key(path)
        if cached is not None and cached.key == key and not (locked and (cached.torn or cached.open_end)) and (cached.value is not None or not parse):
            return cached
        if isinstance(d, Log) and not parse:
            return self._log_extent(d, locked)
        snap = files.read_snapshot(path)
        if snap is None:
            empty: Any = ((), {}) if isinstance(d, Collection) else (() if isinstance(d, Log) else None)
            fresh = _Cached(None, _parse_text(d, b"") if isinstance(d, TextFile) else empty)
            if isinstance(d, Collection) and d.seed is not None:
                now = self.now()
                seeded = tuple(d.model.model_validate({**row, "created_at": now, "updated_at": now, "version": 1}) for row in d.seed())
                fresh = _Cached(None, (seeded, {r.id: i for i, r in enumerate(seeded)}), frags=[None] * len(seeded))
        else:
            key, data = snap
            if isinstance(d, Collection):
                records, index = _parse_collection(d, data)
                fresh = _Cached(key, (records, index), frags=[None] * len(records))
            elif isinstance(d, Singleton):
                fresh = _Cached(key, _parse_singleton(d, data))
            elif isinstance(d, TextFile):
                fresh = _Cached(key, _parse_text(d, data))
            else:
                entries, valid = _parse_log(d, data)
                fresh = self._log_end(path, key, entries, valid, len(data), locked)
        self._cache[d.relpath] = fresh
        return fresh

    def _log_extent(self, d: Log, locked: bool) -> _Cached:
        """A log's length without parsing it, for an append. The lines this process has not seen
        (or, at first sight, the last line) are checked, so an append never lands after a bad
        line; a bad line further up is found by reads and `valhalla verify`."""
        path = self.path(d)
        prev = self._cache.get(d.relpath)
        known = (prev.key[2], prev.size) if prev is not None and prev.key is not None else None
        tail = files.read_tail(path, known)
        if tail is None:
            fresh = _Cached(None, None)  # absent: nothing parsed, nothing kept
        else:
            key, start, data = tail
            valid = start + data.rfind(b"\n") + 1
            try:
                for line in data[: valid - start].split(b"\n")[:-1]:
                    _parse_line(d, line, 0)
            except StoreCorrupt:
                _parse_log(d, files.read_snapshot(path)[1])  # type: ignore[index]  # names the line
                raise
            if data[valid - start :].strip() and _whole_tail(d, data[valid - start :]):
                valid = key[1]
            fresh = self._log_end(path, key, None, valid, key[1], locked)
        self._cache[d.relpath] = fresh
        return fresh

    def _log_end(self, path: Path, key: tuple[int, int, int], entries: Any, valid: int, size: int, locked: bool) -> _Cached:
        """Under the lock, settle a log's end before appending: a torn final line is trimmed (it
        was never acknowledged), a whole one written by hand without its newline gets one."""
        open_end = valid == size > 0 and not files.ends_with_newline(path, size)
        if not locked or (valid == size and not open_end):
            return _Cached(key, entries, size=valid, torn=valid != size, open_end=open_end)
        if valid < size:
            files.truncate(path, valid)
        else:
            files.write_at(path, size, b"\n")
            valid += 1
        return _Cached(files.stat_key(path), entries, size=valid)

    # ---------------------------------------------------------------- writes

    @contextlib.contextmanager
    def transaction(self, *modules: str) -> Iterator[Transaction]:
        """Run the body on staged state and commit everything it changed at once; a body that
        raises writes nothing. The caller continues only once the change is durable.

        Transactions on one module are group-committed: while one batch is being written,
        the next bodies run (one at a time, each on the state the previous left) and are
        written together by the next commit. A transaction naming several modules locks them
        in sorted order and commits alone.

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
        if len(names) != 1:
            with self.locked(*names):
                tx = Transaction(self, names, base=lambda d, parse: self._load(d, locked=True, parse=parse))
                token = _current.set(tx)
                try:
                    yield tx
                    changes = tx.changes()
                finally:
                    _current.reset(token)
                if changes:
                    self._write(changes)
                    self.stats["transactions"] += 1
            return

        mod = self._module(names[0])
        with mod.thread_lock:
            self._hold_file_lock(mod)
            tx = Transaction(self, names, base=lambda d, parse: self._view(mod, d, parse))
            token = _current.set(tx)
            try:
                yield tx
                changes = tx.changes()
            except BaseException:
                self._release_if_idle(mod)
                raise
            finally:
                _current.reset(token)
            if changes or mod.batch is not None:  # a read-only body may have seen the open batch
                batch = mod.batch = mod.batch or Batch()
                batch.changes.merge(changes)
                batch.members += 1
            else:
                batch = None
                inflight = mod.inflight  # it may have read state that is not durable yet
                self._release_if_idle(mod)
        if batch is not None:
            self._await_commit(mod, batch)
        elif inflight is not None:
            inflight.done.wait()

    def _view(self, mod: _Module, d: Descriptor, parse: bool) -> _Cached:
        """The newest state of a file: the open batch's, else the in-flight batch's, else disk."""
        pending = [b for b in (mod.inflight, mod.batch) if b is not None and d in b.changes.views]
        if not pending:
            return self._load(d, locked=True, parse=parse)
        newest = pending[-1].changes.views[d]
        if newest.value is not None or not parse:
            return newest
        # A log whose entries were never parsed: the committed prefix from disk (not the bytes
        # the in-flight batch may be writing now), then the entries still pending.
        snap = files.read_snapshot(self.path(d))
        committed = snap[1][: pending[0].changes.log_base[d]] if snap else b""
        entries = list(_parse_log(d, committed)[0])  # type: ignore[arg-type]
        for batch in pending:
            entries += batch.changes.log_entries[d]
        return _Cached(None, tuple(entries), size=newest.size)

    def _await_commit(self, mod: _Module, batch: Batch) -> None:
        """Return once the batch holding this transaction is durable; the first waiter to get
        the commit lock writes whatever batch is open, so one fsync serves every member."""
        while not batch.done.is_set():
            with mod.commit_lock:
                if batch.done.is_set():
                    break
                with mod.thread_lock:
                    todo, mod.batch, mod.inflight = mod.batch, None, mod.batch
                assert todo is not None
                self._commit_batch(mod, todo)
        if batch.error is not None:
            raise StoreUnavailable(batch.error)

    def _commit_batch(self, mod: _Module, todo: Batch) -> None:
        try:
            if todo.error is None:
                self._write(todo.changes)
                self.stats["transactions"] += todo.members
        except BaseException as e:  # whatever it was, no member of the batch may be acknowledged
            todo.error = f"could not write {mod.name}: {e!r}; nothing in this group was acknowledged"
            if not isinstance(e, Exception):
                raise
        finally:
            with mod.thread_lock:
                if todo.error is not None and mod.batch is not None:
                    # The open batch was built on the failed one: it cannot be written either.
                    mod.batch.error = todo.error
                    mod.batch.done.set()
                    mod.batch = None
                mod.inflight = None
                todo.done.set()
                self._release_if_idle(mod)

    def _hold_file_lock(self, mod: _Module) -> None:
        """Take the cross-process lock if this process does not hold it (thread_lock held)."""
        if mod.file_held:
            return
        mod.path.mkdir(parents=True, exist_ok=True)
        if mod.file_lock is None:
            mod.file_lock = FileLock(mod.path / ".lock", thread_local=False)
        mod.file_lock.acquire()
        mod.file_held = True
        try:
            self._recover(mod)
        except BaseException:
            self._release_if_idle(mod)
            raise
        self._opened.add(mod.name)

    def _release_if_idle(self, mod: _Module) -> None:
        """Let other processes in once nothing is open or being written (thread_lock held)."""
        if mod.file_held and mod.batch is None and mod.inflight is None:
            assert mod.file_lock is not None
            mod.file_lock.release()
            mod.file_held = False

    @contextlib.contextmanager
    def locked(self, *modules: str) -> Iterator[None]:
        """Hold the modules exclusively (no body running, no batch pending, the file lock held),
        with any interrupted commit rolled forward. For backups, snapshots and multi-module
        transactions."""
        if _current.get() is not None:
            raise RuntimeError("locked() inside a transaction would wait on the transaction's own locks: call it before the transaction")
        held: list[_Module] = []
        try:
            for name in sorted(set(modules)):
                mod = self._module(name)
                mod.commit_lock.acquire()
                mod.thread_lock.acquire()
                held.append(mod)
                # Write pending batches before taking over. While one is written the thread lock
                # is free, so another body may open the next batch: look again until none is left.
                while mod.batch is not None:
                    todo, mod.batch, mod.inflight = mod.batch, None, mod.batch
                    mod.thread_lock.release()
                    self._commit_batch(mod, todo)
                    mod.thread_lock.acquire()
                self._hold_file_lock(mod)
            yield
        finally:
            for mod in reversed(held):
                self._release_if_idle(mod)
                mod.thread_lock.release()
                mod.commit_lock.release()

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
        for folder, _, names in os.walk(mod.path):
            for name in names:
                if name.startswith(".") and name.endswith(files.TMP_SUFFIX):
                    os.unlink(os.path.join(folder, name))  # no committed manifest names it: a writer died before committing

    def _apply(self, manifest: dict[str, Any], module: str) -> None:
        """Apply this module's part of a commit. Each step is idempotent."""
        for rel_log, offset, text in manifest["append"]:
            if rel_log.split("/", 1)[0] != module:
                continue
            data = text.encode()
            path = self.data_dir / rel_log
            if not files.has_bytes_at(path, offset, data):
                files.write_at(path, offset, data)
        folders = {self.data_dir / module}
        for rel_tmp, rel_target in manifest["replace"]:
            if rel_target.split("/", 1)[0] == module and (self.data_dir / rel_tmp).exists():
                os.replace(self.data_dir / rel_tmp, self.data_dir / rel_target)
                folders.add((self.data_dir / rel_target).parent)
        for folder in sorted(folders):
            files.fsync_dir(folder)

    # ---------------------------------------------------------------- maintenance

    def declared(self) -> list[Descriptor]:
        """Every declared file plus the audit log of every module that declares one."""
        found = list(REGISTRY)
        for module in sorted({d.module for d in REGISTRY}):
            log = audit_log(module)
            if log not in found:
                found.append(log)
        return found

    # ---------------------------------------------------------------- the durable write

    def _write(self, changes: Changes) -> None:
        """Commit changes with the manifest protocol of the module docstring."""
        self.stats["commits"] += 1
        storage = self
        txn = new_id("tx")
        replaces: list[tuple[Path, Path, Descriptor, _Cached]] = []
        appends: list[tuple[Log, Path, int, bytes, _Cached]] = []
        try:
            for d, view in changes.views.items():
                target = storage.path(d)
                if isinstance(d, Collection):
                    data = files.join_array(serialised(d.model, view.value[0], view.frags))
                elif isinstance(d, Singleton):
                    data = files.dumps_pretty(view.value.model_dump() if view.value is not None else None)
                elif isinstance(d, TextFile):
                    target.parent.mkdir(exist_ok=True)
                    data = changes.texts[d]
                else:
                    appends.append((d, target, changes.log_base[d], b"".join(changes.log_data[d]), view))
                    continue
                replaces.append((files.write_temp(target, data, txn, before_sync=_before_sync), target, d, view))
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
        written: list[Path] = []
        try:
            for module in [*involved[1:], primary]:  # the primary copy last: it is the commit point
                written.append(storage.data_dir / module / name)
                files.write_new(written[-1], manifest)
                files.fsync_dir(storage.data_dir / module)
                _fault(f"manifest_written:{module}")
        except OSError as e:  # before the commit point: undo, nothing happened
            for path in [*written, *(tmp for tmp, *_ in replaces)]:
                path.unlink(missing_ok=True)
            raise StoreUnavailable(f"could not write: {e}") from None

        try:
            for _, path, offset, data, _ in appends:
                files.write_at(path, offset, data)
                _fault("log_appended")
            for tmp, target, _, _ in replaces:
                os.replace(tmp, target)
                _fault("file_replaced")
            for folder in sorted({*(storage.data_dir / m for m in involved), *(t.parent for _, t, _, _ in replaces)}):
                files.fsync_dir(folder)
            _fault("before_manifest_removal")
            for module in [*involved[1:], primary]:
                (storage.data_dir / module / name).unlink()
        except OSError as e:
            raise StoreUnavailable(f"the commit was recorded but not finished ({e}); it completes on the next write") from None

        for _, target, d, view in replaces:
            storage._cache[d.relpath] = _Cached(files.stat_key(target), view.value, frags=view.frags)
        for d, path, _, _, view in appends:
            storage._cache[d.relpath] = _Cached(files.stat_key(path), view.value, size=view.size)
