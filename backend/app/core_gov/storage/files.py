"""Durable file primitives: the only place that writes bytes to disk.

The recipe is python-atomicwrites': write a uniquely named temp file in the target's folder,
fsync it, keep the old file's mode, ``os.replace`` it over the target, fsync the folder.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Callable, Iterable, Iterator

import orjson
from filelock import FileLock

TMP_SUFFIX = ".tmp"
MANIFEST_PREFIX = ".commit-"
DUMP_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


def dumps_pretty(value: object) -> bytes:
    """2-space indent, UTF-8 without \\u escapes, trailing newline: small diffs under git."""
    return orjson.dumps(value, option=DUMP_OPTIONS | orjson.OPT_APPEND_NEWLINE)


def dumps_line(value: object) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS) + b"\n"


def array_item(value: object) -> bytes:
    """One element of a pretty JSON array, indented one level (JSON strings hold no raw newline)."""
    return b"  " + orjson.dumps(value, option=DUMP_OPTIONS).replace(b"\n", b"\n  ")


def join_array(items: list[bytes]) -> Iterator[bytes]:
    """The pieces of a pretty JSON array, made when written: a commit of many segments holds
    one joined segment at a time, not a second copy of everything."""
    if not items:
        yield b"[]\n"
        return
    yield b"[\n"
    yield b",\n".join(items)
    yield b"\n]\n"


def module_lock(folder: Path) -> FileLock:
    """The cross-process lock of a module folder (one per process and folder, not per thread)."""
    return FileLock(folder / ".lock", thread_local=False)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_mode(path: Path, default: int = 0o644) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return default


def write_temp(target: Path, data: bytes | Iterable[bytes], txn: str, before_sync: Callable[[], None] | None = None) -> Path:
    """Write ``data`` (bytes, or pieces in order) next to ``target`` under a unique name, with
    the target's mode, fsynced."""
    tmp = target.with_name(f".{target.name}.{txn}{TMP_SUFFIX}")
    mode = file_mode(target)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # O_CREAT's mode is masked by the umask
        for piece in [data] if isinstance(data, bytes) else data:
            _write_all(fd, piece)
        if before_sync is not None:
            before_sync()
        os.fsync(fd)
    finally:
        os.close(fd)
    return tmp


def write_at(path: Path, offset: int, data: bytes) -> None:
    """Write ``data`` at ``offset`` (cutting anything after it) and fsync: a log append."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.ftruncate(fd, offset)
        os.lseek(fd, offset, os.SEEK_SET)
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def truncate(path: Path, size: int) -> None:
    fd = os.open(path, os.O_RDWR)
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    finally:
        os.close(fd)


def has_bytes_at(path: Path, offset: int, data: bytes) -> bool:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(len(data)) == data
    except FileNotFoundError:
        return False


def write_new(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Create ``path`` (which must not exist) with ``data`` (bytes, or pieces in order), fsynced."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        for piece in [data] if isinstance(data, bytes) else data:
            _write_all(fd, piece)
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, txn: str) -> None:
    """A lone atomic replace, for files outside any module (VERSION.json)."""
    tmp = write_temp(path, data, txn)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def read_snapshot(path: Path) -> tuple[tuple[int, int, int], bytes] | None:
    """The file's stat key and exactly the bytes that key describes; None when missing."""
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            data = f.read(st.st_size)
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino), data


def read_span(path: Path, key: tuple[int, int, int], start: int, stop: int) -> bytes | None:
    """Bytes [start, stop) of the file while its stat key is ``key``; None once it changed."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        st = os.fstat(fd)
        if (st.st_mtime_ns, st.st_size, st.st_ino) != key:
            return None
        return os.pread(fd, stop - start, start)
    finally:
        os.close(fd)


def read_tail(path: Path, known: tuple[int, int] | None) -> tuple[tuple[int, int, int], int, bytes] | None:
    """A log's stat key and its bytes from an offset to the end: from ``known``'s size when
    ``known`` (inode, size) still describes a prefix of this file, else from the start of the
    last complete line (a partial line after it included)."""
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            key = (st.st_mtime_ns, st.st_size, st.st_ino)
            if known is not None and known[0] == st.st_ino and known[1] <= st.st_size:
                f.seek(known[1])
                return key, known[1], f.read(st.st_size - known[1])
            end = st.st_size
            while end > 0:
                start = max(0, end - 65536)
                f.seek(start)
                chunk = f.read(st.st_size - start)
                cut = chunk.rfind(b"\n", 0, max(0, chunk.rfind(b"\n")))
                if cut >= 0 or start == 0:
                    return key, start + cut + 1, chunk[cut + 1 :]
                end = start
    except FileNotFoundError:
        return None
    return key, 0, b""


def ends_with_newline(path: Path, size: int) -> bool:
    return has_bytes_at(path, size - 1, b"\n")


def count_lines(path: Path, start: int, stop: int) -> int:
    """Newlines in bytes [start, stop) of a file, read in chunks."""
    count = 0
    with open(path, "rb") as f:
        f.seek(start)
        left = stop - start
        while left > 0:
            chunk = f.read(min(left, 1 << 20))
            if not chunk:
                break
            count += chunk.count(b"\n")
            left -= len(chunk)
    return count


def lines_backwards(path: Path) -> Iterator[tuple[int, bytes]]:
    """The complete lines of a file from the last to the first, read in chunks from the end.
    Line numbers count from the end (-1 is the last line); what follows the last newline (a
    torn line) is left out."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return
    with f:
        pos = os.fstat(f.fileno()).st_size
        rest, started, number = b"", False, 0
        while pos > 0:
            size = min(65536, pos)
            pos -= size
            f.seek(pos)
            block = f.read(size) + rest
            if not started:
                cut = block.rfind(b"\n")
                if cut < 0:
                    rest = block  # still inside the torn tail
                    continue
                block, started = block[:cut], True
            parts = block.split(b"\n")
            rest = parts[0]
            for line in reversed(parts[1:]):
                if line.strip():
                    number -= 1
                    yield number, line
        if started and rest.strip():
            yield number - 1, rest


def stat_key(path: Path | str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
