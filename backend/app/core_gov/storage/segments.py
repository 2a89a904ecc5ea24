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
from array import array
from pathlib import Path
from typing import Callable

import orjson
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


@functools.cache
def _schema(model: type[BaseModel]) -> str | None:
    """A fingerprint of what a model accepts: records validated under another one are validated
    again (after an upgrade, say)."""
    try:
        return hashlib.sha256(orjson.dumps(model.model_json_schema(), option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    except Exception:  # a model without a JSON schema: its records are validated after each start
        return None


class SegmentFiles:
    """The segments of one data dir, as backed by their files. ``forget`` drops a file's cache
    entry, so that the next read reads it afresh."""

    def __init__(self, data_dir: Path, forget: Callable[[Part], None]):
        self.data_dir = data_dir
        self.resident = Resident(RESIDENT_BYTES)
        self._forget = forget

    def from_sidecar(self, part: Part, key: Key) -> Seg | None:
        """The segment as its sidecar describes the file with this stat key, without reading the
        file: its ids, where each record starts, and whether all were validated (by this version
        of the model) when the sidecar was kept. None when there is no such sidecar."""
        saved = sidecar.read(self.data_dir, part.relpath, "ids", key)
        try:
            ids, spans = saved["ids"], array("q", saved["spans"])  # type: ignore[index]
        except (TypeError, KeyError, OverflowError):
            return None
        if not (isinstance(ids, list) and set(map(type, ids)) <= {str} and len(spans) == len(ids) + 1 and spans[-1] == key[1] - 1):
            return None
        schema = _schema(part.d.model)  # type: ignore[attr-defined]
        seg = Seg(part.number, part.relpath, ids, None, checked=schema is not None and saved.get("valid") == schema)
        seg.spans = spans
        return self._back(part, key, seg)

    def known(self, part: Part, key: Key) -> bool:
        """Whether the file was read whole under this stat key before (its sidecar was kept)."""
        return sidecar.matches(self.data_dir, part.relpath, "ids", key)

    def parsed(self, part: Part, key: Key, data: bytes) -> Seg:
        """The segment read from the file's bytes (``data``, as of ``key``)."""
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
            sidecar.write(self.data_dir, seg.rel, "ids", seg.source[1], {"ids": seg.ids, "valid": valid, "spans": seg.spans.tolist()})

    def _reread(self, part: Part, key: Key, seg: Seg) -> list[bytes]:
        """A segment's records, read again from its file. The file may have changed since the
        segment was made (another process, a hand edit): the same records in place are used
        as they are now, with the indexes made before dropped; any other change fails this
        read (503, try again) and the next one reads the file afresh."""
        snap = files.read_snapshot(self.data_dir / part.relpath)
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
