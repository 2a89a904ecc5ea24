"""What a restart would otherwise re-read from every segment file, kept beside the data under
``.cache/``: a segment's ids, and its filter and search indexes, each saved with the stat key
(mtime, size, inode) of the file it was made from. A sidecar is used only while that key still
matches, so a hand edit, a restore or a copy of the data dir simply makes it unused.

Nothing here is the record of anything: a sidecar may be deleted at any time, is not fsynced
(a torn one does not parse, or does not match, and is made again) and is not backed up. The
folder ignores itself under git.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import orjson

FOLDER = ".cache"
log = logging.getLogger("valhalla.sidecar")


# The key of a sidecar that sums up a folder of files rather than one file: each of its
# entries carries the key of the file it describes.
FOLDER_KEY = (0, 0, 0)


def location(data_dir: Path, rel: str, kind: str) -> str:
    return os.path.join(data_dir, FOLDER, f"{rel}.{kind}")  # a string: a thousand of these at a start


# A sidecar is two lines: the stat key of the file it was made from, then the value; or three,
# the value then being a small head read without the larger body after it.


def read(data_dir: Path, rel: str, kind: str, key: tuple[int, int, int], *, body: bool = False) -> Any:
    """The value saved for the file ``rel`` as of ``key`` (with ``body``: the third line); None
    when absent, stale or unreadable."""
    try:
        with open(location(data_dir, rel, kind), "rb") as f:
            if orjson.loads(f.readline()) != list(key):
                return None
            value = f.readline()
            return orjson.loads(f.read() if body else value)
    except (OSError, orjson.JSONDecodeError):
        return None


def read_packed(data_dir: Path, rel: str, kind: str, key: tuple[int, int, int]) -> bytes | None:
    """The bytes saved after the key line for the file ``rel`` as of ``key`` (``write_packed``)."""
    try:
        with open(location(data_dir, rel, kind), "rb") as f:
            return f.read() if orjson.loads(f.readline()) == list(key) else None
    except (OSError, orjson.JSONDecodeError):
        return None


def write_packed(data_dir: Path, rel: str, kind: str, key: tuple[int, int, int], data: bytes) -> None:
    """Save ``data`` as it is (not JSON) for the file ``rel`` as of ``key``."""
    _save(data_dir, rel, kind, orjson.dumps(list(key)) + b"\n" + data)


def matches(data_dir: Path, rel: str, kind: str, key: tuple[int, int, int]) -> bool:
    """Whether a sidecar was kept for the file ``rel`` as of ``key`` (its first line only)."""
    try:
        with open(location(data_dir, rel, kind), "rb") as f:
            return orjson.loads(f.readline()) == list(key)
    except (OSError, orjson.JSONDecodeError):
        return False


def write(data_dir: Path, rel: str, kind: str, key: tuple[int, int, int], value: Any, body: Any = None) -> None:
    """Save ``value`` (and ``body`` after it, if given) for the file ``rel`` as of ``key``; a
    failure is logged, never raised (a read must not fail because its cache could not be kept)."""
    try:
        data = b"\n".join([orjson.dumps(list(key)), orjson.dumps(value), *([orjson.dumps(body)] if body is not None else [])])
    except TypeError as e:
        log.warning("could not keep the %s sidecar of %s: %s", kind, rel, e)
        return
    _save(data_dir, rel, kind, data)


def _save(data_dir: Path, rel: str, kind: str, data: bytes) -> None:
    path = Path(location(data_dir, rel, kind))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True, exist_ok=True)
            ignore = data_dir / FOLDER / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# Made again from the data files when missing or stale.\n*\n")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as e:
        log.warning("could not keep the %s sidecar of %s: %s", kind, rel, e)
        tmp.unlink(missing_ok=True)


def drop(data_dir: Path, rel: str, kind: str) -> None:
    Path(location(data_dir, rel, kind)).unlink(missing_ok=True)
