"""The store engine: cached reads, locked group-committed transactions, recovery.

Reads stat the file and reuse what was parsed while (mtime_ns, size, inode) is unchanged, so a
hand edit or another process's write is seen on the next request. Writes happen only inside
``with db.transaction(module) as tx:``; the body works on staged copies and, when it returns,
its changes join the module's open batch, written by one commit (``commit.py``) shared by
every transaction that queued meanwhile.
"""

from __future__ import annotations

import bisect
import contextlib
import contextvars
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from ..errors import NotFound, StoreCorrupt, StoreUnavailable
from . import commit, files, formats, sidecar
from .clock import Clock, SystemClock
from .collection import Records, Warm, segment_filename, segment_numbers
from .formats import NOT_READ, Seg
from .segments import SegmentFiles
from .records import REGISTRY, Collection, Descriptor, Entry, Log, Record, Singleton, TextFile, audit_log
from .transaction import Batch, Changes, Loaded, Part, Transaction, actor

__all__ = ["Storage", "Transaction", "actor"]

R = TypeVar("R", bound=Record)
E = TypeVar("E", bound=Entry)
S = TypeVar("S", bound=BaseModel)
T = TypeVar("T")

_current: contextvars.ContextVar["Transaction | None"] = contextvars.ContextVar("transaction", default=None)

# Validated models kept in memory, in records across all collections (the rest are re-made
# from their bytes when read). Small data sets stay whole; large ones keep what is in use.
WARM_RECORDS = 20_000

# Collections with more segments than this stat their older segments at most once a sweep.
ALWAYS_STATTED = 16
SWEEP_SECONDS = 1.0


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
    file_lock: Any = None
    file_held: bool = False
    listed: bool = False  # the folder listing was taken under the file lock, held since
    fresh_views: set = field(default_factory=set)  # collections whose reads' view was checked under the lock held since
    batch: Batch | None = None
    inflight: Batch | None = None


class Storage:
    """All state and I/O for one data dir. One per app (``app.state.storage``); one per test."""

    def __init__(self, data_dir: Path | str, clock: Clock | None = None, zone: ZoneInfo | None = None):
        self.data_dir = Path(data_dir)
        self.clock = clock or SystemClock()
        self.zone = zone or ZoneInfo("America/Toronto")  # the operator's day boundary (VALHALLA_TZ)
        self._cache: dict[Part, Loaded] = {}
        self._listings: dict[str, tuple[Any, list[str]]] = {}
        self._folders: dict[str, str] = {}  # module -> its folder's path
        self._views: dict[Collection, Records] = {}
        self._derived: dict[tuple[Collection, Callable[..., Any]], tuple[Records, Any]] = {}
        self._swept: dict[Collection, tuple[Any, float]] = {}  # folder key and time of the last stat of every segment
        self._monotonic = time.monotonic
        self._seeds: dict[Collection, Seg] = {}
        self._segment_parts: dict[Collection, tuple[list[int], list[tuple[Part, str]]]] = {}
        self._numbers_seen: dict[Collection, tuple[list[str], list[int]]] = {}  # per folder listing
        self._line_counts: dict[Log, tuple[int, int, int]] = {}  # inode, size counted, complete lines
        self._modules: dict[str, _Module] = {}
        self._modules_lock = threading.Lock()
        self.warm = Warm(WARM_RECORDS)
        self.segments = SegmentFiles(self.data_dir, lambda part: self._cache.pop(part, None), lambda: self._monotonic())
        self.resident = self.segments.resident
        # Since start: durable writes, and the transactions they carried (group commit shares one).
        self.stats = {"commits": 0, "transactions": 0}
        self._roll_forward_interrupted_commits()

    def now(self):
        return self.clock.now()

    def today(self):
        """The operator's local date now (daily caps and KPI days turn over at local midnight)."""
        return self.clock.now().astimezone(self.zone).date()

    def path(self, d: Descriptor) -> Path:
        """The file of a singleton, log or text file; a collection's first segment."""
        return self.data_dir / d.module / d.filename

    def paths(self, d: Descriptor) -> list[Path]:
        """Every file holding ``d`` now (a collection's segments in order)."""
        if isinstance(d, Collection):
            return [self.data_dir / d.module / segment_filename(d, n) for n in self._numbers(d)]
        return [self.path(d)] if self.path(d).exists() else []

    # ---------------------------------------------------------------- reads (lock-free)

    def list(self, d: Collection[R]) -> Records[R]:
        tx = self._tx_for(d)
        if tx is not None:
            return tx.list(d)
        return self._records(d)

    def derived(self, d: Collection[R], make: Callable[[Records[R]], T]) -> T:
        """A value made from a whole collection (an index by some field, a sorted queue), kept
        until the collection changes; inside a transaction, made from the staged records."""
        records = self.list(d)
        if self._tx_for(d) is not None:
            return make(records)
        key = (d, make)
        hit = self._derived.get(key)
        if hit is None or hit[0] is not records:
            hit = self._derived[key] = (records, make(records))
        return hit[1]

    def find(self, d: Collection[R], record_id: str) -> R | None:
        """The record, or None. Outside a transaction, a record the reads' view holds is answered
        once the folder and the file of its own segment are statted, not every segment's: that
        file unchanged, the record is as the view holds it (a lookup of another id, or of one
        not held, reads the collection as ``list`` does)."""
        view = self._views.get(d)
        if view is not None and self._tx_for(d) is None:
            where = view.where(record_id)
            if where is not None:
                parts = self._parts(d)
                if len(parts) == len(view.segs):
                    part, path = parts[where[0]]
                    cached = self._cache.get(part)
                    if cached is not None and cached.value is view.segs[where[0]] and cached.key == files.stat_key(path):
                        return view.at(*where)
        return self.list(d).find(record_id)

    def get(self, d: Collection[R], record_id: str) -> R:
        rec = self.find(d, record_id)
        if rec is None:
            raise NotFound(f"{d.model.__name__} {record_id} not found")
        return rec

    def raw(self, d: Collection, record_id: str) -> bytes:
        """A record's stored JSON, without making a model (for answering reads)."""
        found = self.list(d).locate(record_id)
        if found is None:
            raise NotFound(f"{d.model.__name__} {record_id} not found")
        seg, pos = found
        return seg.check(d.model, pos, pos + 1)[0]

    def read(self, d: Singleton[S]) -> S:
        tx = self._tx_for(d)
        if tx is not None:
            return tx.read(d)
        value = self._load(Part(d)).value
        return d.default() if value is None else value

    def text(self, d: TextFile[T]) -> T:
        """A text file's parsed value."""
        tx = self._tx_for(d)
        if tx is not None:
            return tx.text(d)
        return self._load(Part(d)).value

    def entries(self, d: Log[E]) -> Sequence[E]:
        tx = self._tx_for(d)
        if tx is not None:
            return tx.entries(d)
        return self._load(Part(d)).value

    def count(self, d: Descriptor) -> int:
        """Records in a file: a log's complete lines are counted without parsing them, and only
        the lines appended since the last count are read."""
        if isinstance(d, Collection):
            return len(self.list(d))
        if isinstance(d, (Singleton, TextFile)):
            return int(self.path(d).exists())
        key = files.stat_key(self.path(d))
        if key is None:
            return 0
        known = self._line_counts.get(d)
        start, count = (known[1], known[2]) if known is not None and known[0] == key[2] and known[1] <= key[1] else (0, 0)
        count += files.count_lines(self.path(d), start, key[1])
        self._line_counts[d] = (key[2], key[1], count)
        return count

    def newest_first(self, d: Log[E]) -> Iterator[E]:
        """A log's entries from the last to the first, parsed as they are read from the end of
        the file and never kept: the first page of a long history costs a page."""
        for lineno, line in files.lines_backwards(self.path(d)):
            yield formats.parse_line(d, line, lineno)

    def check(self, d: Descriptor, *, deep: bool = False) -> list[str]:
        """Raise StoreCorrupt if a file is bad; return warnings (a torn log tail). Shallow (for
        /core/ready): every file parses, records are indexed, a log's last line is whole; its
        history is not held. Deep (for `valhalla verify`): every record and log line validated."""
        if isinstance(d, Collection):
            if not deep:  # a segment read before under its current stat needs no second look
                for part, path in self._parts(d):
                    key = files.stat_key(path)
                    cached = self._cache.get(part)
                    if not ((cached is not None and cached.key == key) or (key is not None and self.segments.known(part, key))):
                        self._load(part)
                return []
            for seg in self._records(d).segs:  # every record, even those a sidecar says were valid (a disk can rot)
                Seg(seg.number, seg.rel, seg.ids, seg.frags, None, checked=False).check(d.model)
                self.segments.verified(Part(d, seg.number), seg)
            return []
        if isinstance(d, Log):
            if deep:
                snap = files.read_snapshot(self.path(d))
                valid = formats.parse_log(d, snap[1])[1] if snap else 0
                torn = snap is not None and valid != len(snap[1])
            else:
                torn = self._load(Part(d), parse=False).torn
            return [f"{d.relpath}: the last line is incomplete (a write torn by a crash); it is trimmed on the next write"] if torn else []
        if deep and isinstance(d, TextFile):  # the file itself, whatever `.cache/` keeps of it
            snap = files.read_snapshot(self.path(d))
            formats.parse_text(d, snap[1] if snap else b"")
        self._load(Part(d))
        return []

    def _tx_for(self, d: Descriptor) -> "Transaction | None":
        tx = _current.get()
        return tx if tx is not None and d.module in tx.modules else None

    # ---------------------------------------------------------------- the cache

    def _records(self, d: Collection[R]) -> Records[R]:
        """The collection as on disk now, reusing every segment whose file did not change.

        Each segment file is statted on every read, except in a collection of more than
        ``ALWAYS_STATTED`` segments: there the folder and the last segment are statted every
        time (every write of this store, from any process, replaces a file and so changes the
        folder) and the other segments at most once per ``SWEEP_SECONDS``, so that a page of a
        million records does not stat a thousand files. A hand edit saved in place into an
        older segment of such a collection is seen within that interval."""
        parts = self._parts(d)
        view = self._views.get(d)
        swept = None
        if len(parts) > ALWAYS_STATTED:
            folder = self._listings.get(d.module, (None,))[0]
            swept, last = (folder, self._monotonic()), self._swept.get(d)
            if (view is not None and len(view.segs) == len(parts) and last is not None and last[0] == folder
                    and folder is not None and swept[1] - last[1] < SWEEP_SECONDS):
                part, path = parts[-1]
                cached = self._cache.get(part)
                if cached is not None and cached.value is view.segs[-1] and cached.key == files.stat_key(path):
                    return view  # type: ignore[return-value]
        segs, loaded, cache = [], False, self._cache
        for part, path in parts:
            cached, key = cache.get(part), files.stat_key(path)
            if cached is None or cached.key != key:
                cached, loaded = self._load(part, seen=(path, key)), True
            segs.append(cached.value)
        if loaded:
            self.segments.summarize(d, segs)
        if swept is not None:
            self._swept[d] = swept
        if not segs and d.seed is not None:
            if d not in self._seeds:
                self._seeds[d] = formats.seed_segment(d, Part(d).relpath, self.now())
            segs = [self._seeds[d]]
        if view is None or view.segs != tuple(segs):  # a Seg equals only itself
            view = self._views[d] = Records(d.model, segs, self.warm)
        return view  # type: ignore[return-value]

    def _parts(self, d: Collection) -> list[tuple[Part, str]]:
        """Each segment's Part and path, made again only when the segment numbers change."""
        numbers = self._numbers(d)
        known = self._segment_parts.get(d)
        if known is None or known[0] != numbers:
            folder = str(self.data_dir / d.module)
            known = self._segment_parts[d] = (numbers, [(Part(d, n), os.path.join(folder, segment_filename(d, n))) for n in numbers])
        return known[1]

    def _numbers(self, d: Collection, *, fresh: bool = False) -> list[int]:
        """Segment numbers on disk, from the folder listing (re-read when the folder changed)."""
        folder = self._folders.get(d.module)
        if folder is None:
            folder = self._folders[d.module] = os.path.join(self.data_dir, d.module)  # a string: this runs on every read
        key = files.stat_key(folder)
        cached = self._listings.get(d.module)
        if fresh or cached is None or cached[0] != key:
            names = os.listdir(folder) if key is not None else []
            cached = self._listings[d.module] = (key, names)
        known = self._numbers_seen.get(d)
        if known is None or known[0] is not cached[1]:
            known = self._numbers_seen[d] = (cached[1], segment_numbers(d, cached[1]))
        return known[1]

    def _load(self, part: Part, *, locked: bool = False, parse: bool = True, seen: tuple[str, Any] | None = None) -> Loaded:
        """The file's cached state, re-read when its stat key changed. Under the lock a log's
        end is settled first. With parse=False a log is not parsed (an append needs its length).
        ``seen``: the file's path and stat key, just taken by the caller."""
        path, key = seen if seen is not None else (self.data_dir / part.relpath, None)
        cached = self._cache.get(part)
        if seen is None:
            key = files.stat_key(path)
        if cached is not None and cached.key == key and not (locked and cached.unsettled) and (cached.value is not NOT_READ or not parse):
            return cached
        d = part.d
        if isinstance(d, Log) and not parse:
            fresh = self._log_extent(d, path, cached, locked)
        elif isinstance(d, Collection) and key is not None and (seg := self.segments.from_sidecar(part, key)) is not None:
            fresh = Loaded(key, seg)
        elif isinstance(d, TextFile) and d.packed is not None and key is not None and (value := self._unpacked(d, key)) is not None:
            fresh = Loaded(key, value)
        else:
            snap = files.read_snapshot(path)
            if snap is None:
                empty = Seg(part.number, part.relpath, [], [], []) if isinstance(d, Collection) else formats.parse_text(d, b"") if isinstance(d, TextFile) else d.empty()
                fresh = Loaded(None, empty)
            else:
                key, data = snap
                if isinstance(d, Collection):
                    fresh = Loaded(key, self.segments.parsed(part, key, data))
                elif isinstance(d, Singleton):
                    fresh = Loaded(key, formats.parse_singleton(d, data))
                elif isinstance(d, TextFile):
                    fresh = Loaded(key, formats.parse_text(d, data))
                    self._pack(d, key, fresh.value)
                else:
                    entries, valid = formats.parse_log(d, data)
                    fresh = self._log_end(path, key, entries, valid, len(data), locked)
        self._cache[part] = fresh
        return fresh

    def _unpacked(self, d: TextFile, key: tuple[int, int, int]) -> Any:
        """A text file's value as kept in ``.cache/`` for its file as of ``key`` (``TextFile.packed``:
        2M DNCL numbers parse in a third of a second, unpack in a few milliseconds); None when
        not kept, or when it does not fit the file."""
        packed = sidecar.read_packed(self.data_dir, d.relpath, "packed", key)
        return None if packed is None else d.packed[1](packed, key[1])  # type: ignore[index]

    def _pack(self, d: TextFile, key: tuple[int, int, int] | None, value: Any) -> None:
        if d.packed is not None and key is not None:
            sidecar.write_packed(self.data_dir, d.relpath, "packed", key, d.packed[0](value))

    def _log_extent(self, d: Log, path: Path, prev: Loaded | None, locked: bool) -> Loaded:
        """A log's length without parsing it, for an append. The lines this process has not seen
        (or, at first sight, the last line) are checked, so an append never lands after a bad
        line; a bad line further up is found by reads and `valhalla verify`."""
        known = (prev.key[2], prev.size) if prev is not None and prev.key is not None else None
        tail = files.read_tail(path, known)
        if tail is None:
            return Loaded(None, NOT_READ)  # absent: nothing parsed, nothing kept
        key, start, data = tail
        valid = start + data.rfind(b"\n") + 1
        try:
            formats.check_lines(d, data[: valid - start])
        except StoreCorrupt:
            formats.parse_log(d, files.read_snapshot(path)[1])  # type: ignore[index]  # names the line
            raise
        rest = data[valid - start :]
        if rest.strip() and formats.whole_tail(d, rest):
            valid = key[1]
        return self._log_end(path, key, NOT_READ, valid, key[1], locked)

    def _log_end(self, path: Path, key: tuple[int, int, int], entries: Any, valid: int, size: int, locked: bool) -> Loaded:
        """Under the lock, settle a log's end before appending: a torn final line is trimmed (it
        was never acknowledged), a whole one written by hand without its newline gets one."""
        open_end = valid == size > 0 and not files.ends_with_newline(path, size)
        if not locked or (valid == size and not open_end):
            return Loaded(key, entries, size=valid, torn=valid != size, open_end=open_end)
        if valid < size:
            files.truncate(path, valid)
        else:
            files.write_at(path, size, b"\n")
            valid += 1
        return Loaded(files.stat_key(path), entries, size=valid)

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
                tx = Transaction(self, names, lambda part, parse: self._load(part, locked=True, parse=parse), lambda d: self._staging(None, d))
                token = _current.set(tx)
                try:
                    yield tx
                    changes = tx.changes()
                finally:
                    _current.reset(token)
                if changes:
                    self._write(changes)
                    self.stats["transactions"] += 1
            tx.run_after_commit()
            return

        mod = self._module(names[0])
        with mod.thread_lock:
            self._hold_file_lock(mod)
            tx = Transaction(self, names, lambda part, parse: self._view(mod, part, parse), lambda d: self._staging(mod, d))
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
        tx.run_after_commit()

    def _pending(self, mod: _Module) -> list[Batch]:
        return [b for b in (mod.inflight, mod.batch) if b is not None]

    def _staging(self, mod: _Module | None, d: Collection) -> list[Seg]:
        """The segments a transaction starts from: those of batches not yet durable, else those
        the reads see (``_records``, not statted one by one); the transaction re-reads under
        the lock each segment it reads a record from or changes. The folder is listed afresh
        unless listed under the lock held since, so a segment another process added is never
        missed. Under a lock held since the last commit the reads' view is current as it is
        (no stat: a commit in flight changes the folder, and its segments are the batch's)."""
        held, view, seen_numbers = self._module(d.module), self._views.get(d), self._numbers_seen.get(d)
        if d in held.fresh_views and view is not None and seen_numbers is not None and seen_numbers[0] is self._listings.get(d.module, (None, None))[1]:
            listed, segs = seen_numbers[1], view.segs
        else:
            listed = self._numbers(d, fresh=not held.listed)
            segs = self._records(d).segs if listed else ()
            if held.listed:
                held.fresh_views.add(d)  # checked under the lock: only this process's commits change it now
        newest: dict[int, Seg] = {}
        for batch in self._pending(mod) if mod is not None else ():
            for part, staged in batch.changes.views.items():
                if part.d is d:
                    newest[part.number] = staged.value
        if len(segs) == len(listed) and (not segs or (segs[0].number, segs[-1].number) == (listed[0], listed[-1])):
            out = list(segs)  # the reads' segments are those listed (the usual case, a thousand at 1M)
            for number in sorted(newest):  # a pending batch's: the last segment or a new one, near the end
                i = len(out) - 1
                while i >= 0 and out[i].number > number:
                    i -= 1
                if i >= 0 and out[i].number == number:
                    out[i] = newest[number]
                else:
                    out.insert(i + 1, newest[number])
            return out
        seen = {seg.number: seg for seg in segs}
        return [newest.get(n) or seen.get(n) or self._load(Part(d, n), locked=True).value for n in sorted({*listed, *newest})]

    def _view(self, mod: _Module, part: Part, parse: bool) -> Loaded:
        """The newest state of a file: the open batch's, else the in-flight batch's, else disk."""
        pending = [b for b in self._pending(mod) if part in b.changes.views]
        if not pending:
            return self._load(part, locked=True, parse=parse)
        newest = pending[-1].changes.views[part]
        if newest.value is not NOT_READ or not parse:
            return newest
        # A log whose entries were never parsed: the committed prefix from disk (not the bytes
        # the in-flight batch may be writing now), then the entries still pending.
        snap = files.read_snapshot(self.data_dir / part.relpath)
        committed = snap[1][: pending[0].changes.log_base[part.d]] if snap else b""
        entries = list(formats.parse_log(part.d, committed)[0])  # type: ignore[arg-type]
        for batch in pending:
            entries += batch.changes.log_entries[part.d]
        return Loaded(None, tuple(entries), size=newest.size)

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
                if todo.error is not None:
                    self._forget(mod.name)  # the cache may hold what the failed commit staged
                    if mod.batch is not None:
                        # The open batch was built on the failed one: it cannot be written either.
                        mod.batch.error = todo.error
                        mod.batch.done.set()
                        mod.batch = None
                mod.inflight = None
                todo.done.set()
                self._release_if_idle(mod)

    def _forget(self, module: str) -> None:
        for part in [p for p in self._cache if p.d.module == module]:
            del self._cache[part]
        self._listings.pop(module, None)
        self._module(module).fresh_views = set()

    def _hold_file_lock(self, mod: _Module) -> None:
        """Take the cross-process lock if this process does not hold it (thread_lock held)."""
        if mod.file_held:
            return
        mod.path.mkdir(parents=True, exist_ok=True)
        if mod.file_lock is None:
            mod.file_lock = files.module_lock(mod.path)
        mod.file_lock.acquire()
        mod.file_held = True
        try:
            names = commit.recover(self.data_dir, mod.name)
        except BaseException:
            self._release_if_idle(mod)
            raise
        # While the lock is held only this process changes the folder, and each of its commits
        # updates the listing: transactions need not list it again.
        before = self._listings.get(mod.name)
        if before is not None and before[1] == names:
            names = before[1]  # unchanged since this process last listed it: what was made from it stands
        self._listings[mod.name] = (files.stat_key(mod.path), names)
        mod.listed = True
        mod.fresh_views = set()

    def _release_if_idle(self, mod: _Module) -> None:
        """Let other processes in once nothing is open or being written (thread_lock held)."""
        if mod.file_held and mod.batch is None and mod.inflight is None:
            mod.file_lock.release()
            mod.file_held = mod.listed = False
            mod.fresh_views = set()

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

    def _roll_forward_interrupted_commits(self) -> None:
        """Finish, once at start, every commit a crash interrupted, so no read (even one inside
        another module's transaction) sees half of one. Only folders holding a manifest or a
        temp file need the lock."""
        if not self.data_dir.is_dir():
            return
        for _ in range(2):  # a primary's manifest stays until the other modules applied theirs
            for name in sorted(os.listdir(self.data_dir)):
                folder = self.data_dir / name
                if folder.is_dir() and name.isidentifier() and any(
                    n.startswith(files.MANIFEST_PREFIX) or n.endswith(files.TMP_SUFFIX) for _, _, ns in os.walk(folder) for n in ns
                ):
                    with self.locked(name):
                        pass

    def _module(self, name: str) -> _Module:
        with self._modules_lock:
            if name not in self._modules:
                if not name.isidentifier():
                    raise ValueError(f"bad module name {name!r}")
                self._modules[name] = _Module(name, self.data_dir / name)
            return self._modules[name]

    # ---------------------------------------------------------------- maintenance

    def prepare(self) -> None:
        """At start, before the first request: the view of each collection large enough to sum
        its segments up (``SegmentFiles.summarize``), read from that one file (30 ms at a million
        records), so that the first request after a restart costs what any other does."""
        for d in REGISTRY:
            if isinstance(d, Collection) and self.segments.summarized(d):
                self._records(d)

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
        """Commit changes (``commit.write``), then let the cache hold what was written."""
        self.stats["commits"] += 1
        replaces = [(part.relpath, changes.pieces[part]) for part in changes.views if part in changes.pieces]
        appends = [(Part(d).relpath, changes.log_base[d], b"".join(changes.log_data[d])) for d in changes.log_base]
        commit.write(self.data_dir, replaces, appends)
        for part, view in changes.views.items():
            key = files.stat_key(self.data_dir / part.relpath)
            self._cache[part] = Loaded(key, view.value, size=view.size)
            if isinstance(view.value, Seg) and key is not None:
                self.warm.touch(view.value)
                self.segments.written(part, key, view.value)
            elif isinstance(part.d, TextFile):
                self._pack(part.d, key, view.value)
        for d in {p.d for p in changes.views if isinstance(p.d, Collection)}:
            view = self._views.get(d)
            if view is not None:  # the reads' view, with the segments just written
                by_number = {seg.number: seg for seg in view.segs}
                by_number.update((p.number, v.value) for p, v in changes.views.items() if p.d is d)
                self._views[d] = Records(d.model, [by_number[n] for n in sorted(by_number)], self.warm)
        written: dict[str, list[str]] = {}
        for part in changes.views:
            written.setdefault(part.d.module, []).append(part.relpath.split("/", 1)[1])
        for module, names in written.items():
            self._relist_after_own_write(module, names)

    def _relist_after_own_write(self, module: str, written: list[str]) -> None:
        """After a commit, under the module's lock: the folder changed only by this commit, so
        collections swept before it stay swept (their files not written are as they were), and
        a listing taken under the lock gains the files written rather than being taken again."""
        before, names = self._listings.pop(module, (None, None))
        folder = self.data_dir / module
        if self._module(module).listed and names is not None:
            known = set(names)
            added = sorted({n for n in written if n not in known and "/" not in n})
            old, names = names, list(names)
            for name in added:
                bisect.insort(names, name)  # kept sorted, as recovery lists it
            for d, (seen, numbers) in list(self._numbers_seen.items()):
                if seen is old:  # its segment numbers, plus any segment just created
                    self._numbers_seen[d] = (names, sorted({*numbers, *segment_numbers(d, added)}) if added else numbers)
        else:
            names = sorted(os.listdir(folder))
        key = files.stat_key(folder)
        self._listings[module] = (key, names)
        for d, (swept, at) in list(self._swept.items()):
            if d.module == module and swept == before and before is not None:
                self._swept[d] = (key, at)
