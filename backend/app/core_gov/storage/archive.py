"""Backups an operator can trust: a tar.gz of the data dir taken under every module's lock, with
a MANIFEST.json of sha256 per file; restore verifies every byte before it touches the data dir."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import tarfile
import tempfile
from datetime import datetime
from pathlib import Path, PurePosixPath

import orjson

from . import files
from .engine import Storage
from .records import REGISTRY

log = logging.getLogger("valhalla")

MANIFEST = "MANIFEST.json"
ARCHIVE_GLOB = "valhalla-*.tar.gz"
_SKIP = {".lock"}


class ArchiveError(RuntimeError):
    pass


def _stamp(at: datetime) -> str:
    return at.strftime("%Y%m%dT%H%M%S%fZ")


def default_backup_dir(data_dir: Path) -> Path:
    return data_dir.resolve().parent / "backups"


def _data_files(data_dir: Path) -> list[Path]:
    """Every file an operator would want back: skips locks, temp files, manifests and git's folder."""
    found = []
    for root, dirs, names in os.walk(data_dir):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(names):
            if name in _SKIP or name.endswith(files.TMP_SUFFIX) or name.startswith(files.MANIFEST_PREFIX):
                continue
            found.append(Path(root, name))
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


def backup_before(storage: Storage, change: str) -> Path | None:
    """A safety backup before a bulk change (an import, a restore, a migration). It takes every
    module's lock, so it must run before the change's transaction, never inside one. None when the
    data dir does not exist yet (nothing to lose)."""
    if not storage.data_dir.is_dir():
        return None
    archive = backup(storage)
    log.warning("before %s: backed up %s to %s", change, storage.data_dir, archive)
    return archive


def read_archive(archive: Path) -> tuple[dict[str, object], dict[str, bytes]]:
    """Open and check an archive: safe member names, regular files only, every hash matching."""
    try:
        tar = tarfile.open(archive, mode="r:gz")
    except (OSError, tarfile.TarError) as e:
        raise ArchiveError(f"{archive} is not a readable tar.gz archive: {e}") from None
    members: dict[str, bytes] = {}
    with tar:
        for m in tar.getmembers():
            name = PurePosixPath(m.name)
            if name.is_absolute() or ".." in name.parts or m.name.startswith(("/", "\\")):
                raise ArchiveError(f"{archive}: refused member {m.name!r}: absolute or '..' path")
            if m.isdir():
                continue
            if not m.isfile():
                raise ArchiveError(f"{archive}: refused member {m.name!r}: not a regular file (link or device)")
            extracted = tar.extractfile(m)
            members[name.as_posix()] = extracted.read() if extracted else b""
    if MANIFEST not in members:
        raise ArchiveError(f"{archive} has no {MANIFEST}: not a Valhalla backup")
    try:
        manifest = orjson.loads(members.pop(MANIFEST))
        hashes: dict[str, str] = manifest["files"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise ArchiveError(f"{archive}: {MANIFEST} is not valid") from None
    if set(hashes) != set(members):
        extra = sorted(set(members) - set(hashes))
        missing = sorted(set(hashes) - set(members))
        raise ArchiveError(f"{archive}: files do not match the manifest (unlisted: {extra}, missing: {missing})")
    for rel, data in members.items():
        if hashlib.sha256(data).hexdigest() != hashes[rel]:
            raise ArchiveError(f"{archive}: {rel} does not match its sha256 in {MANIFEST}")
    return manifest, members


def record_counts(data_dir: Path, members: dict[str, bytes] | None = None) -> dict[str, int]:
    """Records per module (array items, log lines) of a data dir or of archive members."""
    counts: dict[str, int] = {}
    if members is None:
        members = {p.relative_to(data_dir).as_posix(): p.read_bytes() for p in _data_files(data_dir)} if data_dir.is_dir() else {}
    for rel, data in members.items():
        module, _, name = rel.partition("/")
        if not name or name.startswith("audit."):
            continue
        try:
            if name.endswith(".jsonl"):
                n = data.count(b"\n")
            elif name.endswith(".json"):
                value = orjson.loads(data)
                n = len(value) if isinstance(value, list) else 1
            else:
                continue
        except orjson.JSONDecodeError:
            continue
        counts[module] = counts.get(module, 0) + n
    return dict(sorted(counts.items()))


def restore(storage: Storage, archive: Path) -> Path:
    """Swap the archive's data in; the replaced data dir is kept beside it. Returns its path."""
    _, members = read_archive(archive)
    data_dir = storage.data_dir.resolve()
    staging = Path(tempfile.mkdtemp(prefix=f".{data_dir.name}.restore-", dir=data_dir.parent))
    try:
        for rel, data in members.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            files.write_new(target, data)
        files.fsync_dir(staging)
        aside = data_dir.with_name(f"{data_dir.name}.replaced-{_stamp(storage.now())}")
        if data_dir.exists():
            with storage.locked(*module_names(data_dir)):
                os.replace(data_dir, aside)
        os.replace(staging, data_dir)
        files.fsync_dir(data_dir.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return aside


def declared_files() -> list[str]:
    return sorted({d.relpath for d in REGISTRY})
