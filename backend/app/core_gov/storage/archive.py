"""Backups an operator can trust: a tar.gz of the data dir taken under every module's lock, with
MANIFEST.json (sha256 per file) as its first member. Restore streams the archive into a staging
folder beside the data dir, checking each member before and while it is written (only the files
the manifest lists: VERSION.json and files in a declared folder; no dot name,
link, absolute or '..' path; every hash; bounded size and member count), then swaps it in; the
data dir keeps its git history and its mode."""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import os
import secrets
import shutil
import tarfile
import tempfile
import zlib
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Iterator

import orjson

from . import files
from .engine import Storage
from .records import REGISTRY
from .version import VERSION_FILE

log = logging.getLogger("valhalla")

MANIFEST = "MANIFEST.json"
ARCHIVE_GLOB = "valhalla-*.tar.gz"
MAX_MEMBERS = 100_000  # a data dir holds a few hundred files plus one per 1,000 records
MAX_RATIO = 100  # unpacked bytes per archive byte (the data compresses 5-20 times)
MIN_UNPACKED = 256 << 20  # any archive may unpack to this much
KEPT_ON_RESTORE = (".git", ".gitignore")  # the snapshot history stays with the data dir
_LEGACY = ".gitignore"  # older backups held it; restore keeps the data dir's own
_CHUNK = 1 << 20
_ONLY = "only VERSION.json and files in a declared folder are restored (no dot names, links, absolute or '..' paths)"
_paused: ContextVar[bool] = ContextVar("safety_backups_paused", default=False)


class ArchiveError(RuntimeError):
    pass


def _stamp(at: datetime) -> str:
    return at.strftime("%Y%m%dT%H%M%S%fZ")


def default_backup_dir(data_dir: Path) -> Path:
    return data_dir.resolve().parent / "backups"


def _folders() -> set[str]:
    """The folders declared files live in: each module's, and any a file's name adds (comms/dncl)."""
    return {d.relpath.rsplit("/", 1)[0] for d in REGISTRY}


def restorable(rel: str) -> bool:
    """VERSION.json, or a file in a declared folder whose name is not a dot name."""
    folder, _, name = rel.rpartition("/")
    if not folder:
        return rel == VERSION_FILE
    return folder in _folders() and bool(name) and not name.startswith(".")


def _data_files(data_dir: Path) -> list[Path]:
    """Every file a backup holds: what restore accepts (no locks, temp files, commit manifests or git)."""
    found = []
    for root, dirs, names in os.walk(data_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = Path(root, name)
            if restorable(path.relative_to(data_dir).as_posix()):
                found.append(path)
            elif not name.startswith("."):
                log.warning("not backed up: %s is not a declared module's file", path)
    return found


def module_names(data_dir: Path) -> list[str]:
    if not data_dir.is_dir():
        return []
    return sorted(p.name for p in data_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def backup(storage: Storage, out: Path | None = None, keep: int | None = None) -> Path:
    """Write a consistent archive of the data dir; with ``keep``, prune older archives in its folder."""
    data_dir = storage.data_dir
    if not data_dir.is_dir():
        raise ArchiveError(f"{data_dir} does not exist: nothing to back up")
    now = storage.now()
    if out is None:
        out = default_backup_dir(data_dir) / f"valhalla-{_stamp(now)}.tar.gz"
    out.parent.mkdir(parents=True, exist_ok=True)
    with storage.locked(*module_names(data_dir)):
        manifest: dict[str, object] = {"created_at": now.isoformat().replace("+00:00", "Z"), "files": {}}
        blobs: list[tuple[str, bytes, float]] = []
        for path in _data_files(data_dir):
            data = path.read_bytes()
            rel = path.relative_to(data_dir).as_posix()
            manifest["files"][rel] = hashlib.sha256(data).hexdigest()  # type: ignore[index]
            blobs.append((rel, data, path.stat().st_mtime))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for rel, data, mtime in [(MANIFEST, files.dumps_pretty(manifest), now.timestamp()), *blobs]:
            info = tarfile.TarInfo(rel)
            info.size, info.mtime, info.mode = len(data), int(mtime), 0o644
            tar.addfile(info, io.BytesIO(data))
    files.write_atomic(out, buf.getvalue(), _stamp(now))
    if keep is not None:
        for old in sorted(out.parent.glob(ARCHIVE_GLOB))[:-keep] if keep > 0 else []:
            old.unlink()
    return out


@contextmanager
def safety_backups_paused() -> Iterator[None]:
    """For seed-demo, whose clock runs in the past over a data dir that was just backed up (or
    held nothing): its bulk changes take no backup of their own, which the runbook would count."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


def backup_before(storage: Storage, change: str) -> Path | None:
    """A safety backup before a bulk change (an import, a restore, a migration). It takes every
    module's lock, so it must run before the change's transaction, never inside one. None when the
    data dir does not exist yet (nothing to lose) or safety backups are paused."""
    if _paused.get() or not storage.data_dir.is_dir():
        return None
    archive = backup(storage)
    log.warning("before %s: backed up %s to %s", change, storage.data_dir, archive)
    return archive


class _Capped:
    """The unpacked stream of an archive, refused once it passes ``cap`` bytes."""

    def __init__(self, raw: BinaryIO, cap: int, refusal: str):
        self.raw, self.left, self.refusal = raw, cap, refusal

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(self.left + 1 if size < 0 else min(size, self.left + 1))
        self.left -= len(data)
        if self.left < 0:
            raise ArchiveError(self.refusal)
        return data


def _copy(src: BinaryIO, target: Path) -> str:
    """Write ``src`` to the new file ``target`` in chunks, fsynced; its sha256."""
    digest = hashlib.sha256()
    with open(target, "xb") as out:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


def _read_manifest(archive: Path, tar: tarfile.TarFile, m: tarfile.TarInfo) -> tuple[dict[str, object], dict[str, str]]:
    if m.name != MANIFEST or not m.isfile():
        raise ArchiveError(f"{archive}: its first member is not {MANIFEST}: not a Valhalla backup")
    try:
        if m.size > 64 * MAX_MEMBERS + _CHUNK:
            raise ValueError
        manifest = orjson.loads(tar.extractfile(m).read())  # type: ignore[union-attr]
        hashes = {str(k): str(v) for k, v in manifest["files"].items() if k != _LEGACY}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ArchiveError(f"{archive}: {MANIFEST} is not valid") from None
    for rel in hashes:
        if not restorable(rel):
            raise ArchiveError(f"{archive}: refused member {rel!r}: {_ONLY}")
    return manifest, hashes


def _refusal(m: tarfile.TarInfo, hashes: dict[str, str], done: set[str]) -> str | None:
    if not restorable(m.name):
        return _ONLY
    if not m.isfile():
        return "not a regular file (a link or device)"
    if m.name not in hashes:
        return f"not listed in {MANIFEST}"
    if m.name in done:
        return "it appears twice"
    return None


def unpack(archive: Path, into: Path) -> dict[str, object]:
    """Stream a backup into the empty folder ``into``, checking each member before it is written
    and its sha256 while it is; refuses more than MAX_MEMBERS members, or more unpacked bytes than
    MAX_RATIO times the archive (MIN_UNPACKED at least). Returns the manifest."""
    cap = max(MIN_UNPACKED, MAX_RATIO * archive.stat().st_size)
    bomb = f"{archive}: unpacks to more than {cap} bytes ({MAX_RATIO} times its size): refused as a decompression bomb"
    manifest: dict[str, object] | None = None
    hashes: dict[str, str] = {}
    done: set[str] = set()
    unpacked = 0  # the members' sizes (a sparse member's can exceed its bytes in the stream)
    try:
        with gzip.open(archive) as raw, tarfile.open(fileobj=_Capped(raw, cap, bomb), mode="r|") as tar:  # type: ignore[arg-type]
            for count, m in enumerate(tar, 1):
                if count > MAX_MEMBERS:
                    raise ArchiveError(f"{archive}: more than {MAX_MEMBERS} members: refused (a Valhalla backup holds one file per 1,000 records and a few hundred more)")
                if manifest is None:
                    manifest, hashes = _read_manifest(archive, tar, m)
                    continue
                if m.name == _LEGACY or (m.isdir() and m.name in _folders()):
                    continue
                if why := _refusal(m, hashes, done):
                    raise ArchiveError(f"{archive}: refused member {m.name!r}: {why}")
                unpacked += m.size
                if unpacked > cap:
                    raise ArchiveError(bomb)
                target = into / m.name
                target.parent.mkdir(parents=True, exist_ok=True)
                if _copy(tar.extractfile(m), target) != hashes[m.name]:  # type: ignore[arg-type]
                    raise ArchiveError(f"{archive}: {m.name} does not match its sha256 in {MANIFEST}")
                done.add(m.name)
    except (tarfile.TarError, gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise ArchiveError(f"{archive} is not a readable tar.gz archive: {e}") from None
    if manifest is None:
        raise ArchiveError(f"{archive} has no {MANIFEST}: not a Valhalla backup")
    if missing := sorted(set(hashes) - done):
        raise ArchiveError(f"{archive}: files listed in {MANIFEST} are missing: {missing}")
    for folder in {into, *(p.parent for p in into.glob("*/*"))}:
        files.fsync_dir(folder)
    return manifest


def read_archive(archive: Path) -> tuple[dict[str, object], dict[str, bytes]]:
    """A small archive checked as `unpack` does and read into memory (for tests and tools)."""
    with tempfile.TemporaryDirectory() as tmp:
        manifest = unpack(archive, Path(tmp))
        return manifest, {p.relative_to(tmp).as_posix(): p.read_bytes() for p in sorted(Path(tmp).rglob("*")) if p.is_file()}


def _records(path: Path) -> int:
    """Log lines, or the items of a JSON array counted on the store's layout (each opens a line at a
    two-space indent), in chunks; a single-object file is 1."""
    pattern = b"\n" if path.suffix == ".jsonl" else b"\n  {"
    count, tail = 0, b""
    with open(path, "rb") as f:
        if pattern != b"\n" and f.read(1) != b"[":
            return 1
        while chunk := f.read(_CHUNK):
            chunk = tail + chunk
            count += chunk.count(pattern)
            tail = chunk[max(0, len(chunk) - len(pattern) + 1):]
    return count


def record_counts(data_dir: Path) -> dict[str, int]:
    """Records per module (array items, log lines, single objects; audit trails left out)."""
    counts: dict[str, int] = {}
    for path in sorted(data_dir.glob("*/*.json*")) if data_dir.is_dir() else []:
        rel = path.relative_to(data_dir).as_posix()
        if restorable(rel) and not path.name.startswith("audit.") and path.suffix in (".json", ".jsonl"):
            counts[path.parent.name] = counts.get(path.parent.name, 0) + _records(path)
    return counts


@contextmanager
def staged(storage: Storage, archive: Path) -> Iterator[tuple[dict[str, object], Path]]:
    """The archive checked and unpacked into a new folder beside the data dir (the data dir is not
    touched); the folder is removed on exit unless `swap_in` moved it into place."""
    data_dir = storage.data_dir.resolve()
    staging = data_dir.with_name(f".{data_dir.name}.restore-{secrets.token_hex(4)}")
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    staging.mkdir()
    try:
        yield unpack(archive, staging), staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def swap_in(storage: Storage, staging: Path) -> Path | None:
    """Swap a staged archive in under every module's lock. The data dir keeps its mode and its
    snapshot history (KEPT_ON_RESTORE); the rest of the replaced data is kept beside it as
    ``<data dir>.replaced-<time>``, whose path is returned (None when there was no data dir)."""
    data_dir = storage.data_dir.resolve()
    if not data_dir.exists():
        os.replace(staging, data_dir)
        files.fsync_dir(data_dir.parent)
        return None
    aside = data_dir.with_name(f"{data_dir.name}.replaced-{_stamp(storage.now())}")
    with storage.locked(*module_names(data_dir)):
        staging.chmod(data_dir.stat().st_mode & 0o7777)
        os.replace(data_dir, aside)
        for name in KEPT_ON_RESTORE:
            if os.path.lexists(aside / name):
                os.replace(aside / name, staging / name)
        os.replace(staging, data_dir)
    files.fsync_dir(data_dir.parent)
    return aside


def declared_files() -> list[str]:
    return sorted({d.relpath for d in REGISTRY})
