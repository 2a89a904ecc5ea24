"""A collection segment backed by its file: made from the file or from its sidecar, its records
read back from the file when they were let go (``Seg.release``), and its ids, record positions
and validity kept in a sidecar (``sidecar``) for the next start.

Only full segments (``Collection.segment_size`` records) keep sidecars: they are rewritten only
when one of their records changes, while the last segment changes with every create.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import threading
import time
from array import array
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel

from ..errors import StoreUnavailable
from . import files, formats, sidecar
from .collection import Resident
from .formats import Seg
from .transaction import Part

# Bytes of segment files whose records stay in memory, across all collections (the others keep
# their ids and indexes, and read their records from the file when asked).
RESIDENT_BYTES = 256 << 20

Key = tuple[int, int, int]
# Segments made without their collection's summary sidecar before it is written again.
SUMMARY_AFTER = 16
# Seconds between two sidecars kept for one segment by commits (``_keep_soon``).
KEEP_EVERY = 1.0


# What differs between two processes in a core schema's text: addresses, and the ids in refs.
_PER_PROCESS = re.compile(r" at 0x[0-9a-f]+|:[0-9]{6,}(?=')")


@functools.cache
def _schema(model: type[BaseModel]) -> str | None:
    """A fingerprint of what a model accepts: its pydantic core schema (what validation runs:
    fields, types, constraints, validators by name), read as text in a third of a millisecond.
    Records validated under another one (after an upgrade, say) are validated again."""
    core = getattr(model, "__pydantic_core_schema__", None)
    if not isinstance(core, dict):  # a model not built: its records are validated after each start
        return None
    return hashlib.sha256(_PER_PROCESS.sub("", str(core)).encode()).hexdigest()[:16]


class SegmentFiles:
    """The segments of one data dir, as backed by their files. ``forget`` drops a file's cache
    entry, so that the next read reads it afresh."""

    def __init__(self, data_dir: Path, forget: Callable[[Part], None], monotonic: Callable[[], float] = time.monotonic):
        self.data_dir = data_dir
        self._monotonic = monotonic
        self.resident = Resident(RESIDENT_BYTES)
        self._forget = forget
        # Per collection, the heads of its full segments as summed up in one sidecar (``summarize``):
        # number -> (mtime, size, inode, count, lowest id, highest id, valid), and how many
        # segments were made since without it.
        self._heads: dict[Any, dict[int, list[Any]]] = {}
        self._unsummed: dict[Any, int] = {}
        # Full segments whose sidecar was kept lately: rel -> (when the next may be, what is
        # waiting to be kept then).
        self._kept: dict[str, tuple[float, tuple[Part, Seg] | None]] = {}
        self._kept_lock = threading.Lock()

    def from_sidecar(self, part: Part, key: Key) -> Seg | None:
        """The segment as its sidecar describes the file with this stat key, without reading the
        file: its count, lowest and highest id, and whether all its records were validated (by
        this version of the model) when the sidecar was kept; its ids and where each record
        starts are read from the sidecar when first needed. None when there is no such sidecar."""
        head = self._summed(part, key)
        if head is None:
            self._unsummed[part.d] = self._unsummed.get(part.d, 0) + 1
            saved = sidecar.read(self.data_dir, part.relpath, "ids", key)
            try:
                head = [saved["n"], saved["lo"], saved["hi"], saved.get("valid")]  # type: ignore[index]
            except (TypeError, KeyError, AttributeError):
                return None
        count, low, high, valid = head
        if not (type(count) is int and count > 0 and type(low) is str and type(high) is str):
            return None
        schema = _schema(part.d.model)  # type: ignore[attr-defined]
        checked = schema is not None and valid == schema
        return self._back(part, key, Seg.later(part.number, part.relpath, count, (low, high), checked, lambda seg: self._unpack(part, key, seg)))

    def _summed(self, part: Part, key: Key) -> list[Any] | None:
        """[count, lowest id, highest id, valid] of the segment as of ``key``, from its
        collection's summary sidecar; None when the summary has no such entry."""
        heads = self._heads.get(part.d)
        if heads is None:
            rows = sidecar.read(self.data_dir, part.d.relpath, "heads", sidecar.FOLDER_KEY)
            try:
                heads = {row[0]: row[1:] for row in rows if type(row) is list and len(row) == 8}  # type: ignore[union-attr]
            except TypeError:
                heads = {}
            self._heads[part.d] = heads
        entry = heads.get(part.number)
        return entry[3:] if entry is not None and entry[0] == key[0] and entry[1] == key[1] and entry[2] == key[2] else None

    def summarize(self, d: Any, segs: list[Seg]) -> None:
        """Sum the heads of a collection's full segments up in one sidecar, once enough of them
        were made without it: a restart then opens one file, not one per segment."""
        if self._unsummed.get(d, 0) < SUMMARY_AFTER:
            return
        schema = _schema(d.model)
        rows = []
        for seg in segs:
            if seg.source is not None:
                low, high = seg._bounds if seg._ids is None and seg._bounds is not None else (min(seg.ids), max(seg.ids))
                rows.append([seg.number, *seg.source[1], len(seg), low, high, schema if seg.unchecked is None else None])
        sidecar.write(self.data_dir, d.relpath, "heads", sidecar.FOLDER_KEY, rows)
        self._heads[d] = {row[0]: row[1:] for row in rows}
        self._unsummed[d] = 0

    def _unpack(self, part: Part, key: Key, seg: Seg) -> tuple[list[str], "array[int] | None"]:
        """The ids and record positions of a segment made from its sidecar's head: from the
        sidecar's body when it agrees with the head, else from the file itself (still under
        that key: a file changed since fails this read, and the next one reads it afresh)."""
        body = sidecar.read(self.data_dir, part.relpath, "ids", key, body=True)
        try:
            ids, spans = body["ids"], array("q", body["spans"])  # type: ignore[index]
        except (TypeError, KeyError, OverflowError):
            ids = spans = None
        if (isinstance(ids, list) and len(ids) == len(seg) and set(map(type, ids)) <= {str} and spans is not None and len(spans) == len(ids) + 1
                and spans[-1] == key[1] - 1 and (min(ids), max(ids)) == seg._bounds):
            return ids, spans
        snap = files.read_snapshot(self.data_dir / part.relpath)
        fresh = None if snap is None or snap[0] != key else formats.parse_segment(part.d, part.relpath, part.number, snap[1])  # type: ignore[arg-type]
        if fresh is None or len(fresh) != len(seg) or (min(fresh.ids), max(fresh.ids)) != seg._bounds:
            self._forget(part)
            sidecar.drop(self.data_dir, part.relpath, "ids")
            raise StoreUnavailable(f"{part.relpath} changed while it was being read; try again")
        seg._frags, seg.unchecked = fresh.frags, fresh.unchecked  # a sidecar that disagrees with its file vouches for nothing
        self._keep(part, self._back(part, key, fresh))
        return fresh.ids, fresh.spans

    def known(self, part: Part, key: Key) -> bool:
        """Whether the file was read whole under this stat key before (its sidecar was kept)."""
        return self._summed(part, key) is not None or sidecar.matches(self.data_dir, part.relpath, "ids", key)

    def summarized(self, d: Any) -> bool:
        """Whether the collection's segment heads were summed up (it has enough full segments)."""
        return bool(self._heads.get(d)) or os.path.exists(sidecar.location(self.data_dir, d.relpath, "heads"))

    def parsed(self, part: Part, key: Key, data: bytes) -> Seg:
        """The segment read from the file's bytes (``data``, as of ``key``)."""
        self._unsummed[part.d] = self._unsummed.get(part.d, 0) + 1
        seg = self._back(part, key, formats.parse_segment(part.d, part.relpath, part.number, data))  # type: ignore[arg-type]
        self.resident.touch(seg, key[1])
        self._keep(part, seg)
        return seg

    def written(self, part: Part, key: Key, seg: Seg) -> None:
        """The segment a commit just wrote (its file is its records joined, all valid)."""
        if seg.spans is None:
            seg.spans = formats.spans_of(seg.frags)
        self._back(part, key, seg)
        if seg.resident:
            self.resident.touch(seg, key[1])
        self._keep_soon(part, seg)

    def _keep_soon(self, part: Part, seg: Seg) -> None:
        """Keep a segment a commit wrote, at most once per ``KEEP_EVERY`` seconds: a segment
        changed by many commits in a row (patches under load) is kept once a second, not once
        per commit. What waits is kept by the next commit after its time; if the process ends
        first, the next start reads that segment's file instead."""
        now = self._monotonic()
        with self._kept_lock:
            kept = self._kept
            waiting = [] if seg.rel in kept else [(part, seg)]
            kept[seg.rel] = (now + KEEP_EVERY, None) if waiting else (kept[seg.rel][0], (part, seg))
            for rel, (due, pending) in list(kept.items()):
                if due <= now:
                    if pending is None:
                        del kept[rel]
                    else:
                        waiting.append(pending)
                        kept[rel] = (now + KEEP_EVERY, None)
        for part, seg in waiting:
            self._keep(part, seg)

    def verified(self, part: Part, seg: Seg) -> None:
        """Every record of the segment was just validated (``valhalla verify``)."""
        if seg.unchecked is not None:
            seg.unchecked = None
            self._keep(part, seg)

    def _back(self, part: Part, key: Key, seg: Seg) -> Seg:
        """Let the segment read its records from its file when it does not hold them; a full
        one (rewritten only when changed) also keeps its ids and indexes in sidecars."""
        seg.reread = lambda seg: self._reread(part, key, seg)
        seg.read_span = lambda start, stop: files.read_span(os.path.join(self.data_dir, part.relpath), key, start, stop)
        seg.source = (self.data_dir, key) if len(seg) >= part.d.segment_size else None  # type: ignore[attr-defined]
        return seg

    def _keep(self, part: Part, seg: Seg) -> None:
        """Keep a full segment's ids and record positions for the next start, and that its
        records are all valid once they are (a segment this store wrote, or one `verify` read
        through): its first write after a restart then validates none of them again."""
        if seg.source is not None and seg.spans is not None:
            valid = _schema(part.d.model) if seg.unchecked is None else None  # type: ignore[attr-defined]
            head = {"n": len(seg), "lo": min(seg.ids), "hi": max(seg.ids), "valid": valid}
            sidecar.write(self.data_dir, seg.rel, "ids", seg.source[1], head, {"ids": seg.ids, "spans": seg.spans.tolist()})

    def _reread(self, part: Part, key: Key, seg: Seg) -> list[bytes]:
        """A segment's records, read again from its file. The file may have changed since the
        segment was made (another process, a hand edit): the same records in place are used
        as they are now, with the indexes made before dropped; any other change fails this
        read (503, try again) and the next one reads the file afresh."""
        snap = files.read_snapshot(self.data_dir / part.relpath)
        if snap is not None and snap[0] == key and seg.spans is not None:
            frags = formats.cut_as(snap[1], seg.spans, seg.ids)  # the file as it was: cut where the records start
            if frags is not None:
                self.resident.touch(seg, key[1])
                return frags
        fresh = None if snap is None else formats.parse_segment(part.d, part.relpath, part.number, snap[1])  # type: ignore[arg-type]
        if fresh is None or fresh.ids != seg.ids:
            self._forget(part)
            sidecar.drop(self.data_dir, part.relpath, "ids")
            raise StoreUnavailable(f"{part.relpath} changed while it was being read; try again")
        assert snap is not None
        if snap[0] != key:
            self._forget(part)
            seg.derived, seg.models, seg.unchecked, seg.source, seg.spans = {}, None, fresh.unchecked, None, None
        self.resident.touch(seg, snap[0][1])
        return fresh.frags
