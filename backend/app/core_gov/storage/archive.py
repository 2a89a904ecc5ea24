"""Backups an operator can trust: a tar.gz of the data dir (or of some modules' folders, before a
bulk change to them) with MANIFEST.json (sha256 per file; ``modules`` when partial) as its first
member. The files are pinned under the modules' locks (hard-linked, or copied across file
systems: the store replaces a file whole or appends to it) and streamed into the archive after,
so writers wait only for the pinning and no file is held in memory. Safety backups before an
import keep the newest VALHALLA_IMPORT_BACKUPS per set of modules. Restore streams the archive
into a staging folder beside the data dir, checking each member before and while it is written
(only the files the manifest lists: VERSION.json and files in a declared folder, of its modules
when partial; no dot name, link, absolute or '..' path; every hash; bounded size and member
count), then swaps it in (a partial archive: only its modules' folders); the data dir keeps its
git history and its mode."""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import os
import re
import secrets
import shutil
import tarfile
import tempfile
import zlib
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Iterator, Sequence

import orjson

from ...settings import Settings
from . import files
from .engine import Storage
from .records import REGISTRY
from .version import VERSION_FILE, read_version

log = logging.getLogger("valhalla")

MANIFEST = "MANIFEST.json"
ARCHIVE_GLOB = "valhalla-*Z.tar.gz"  # the archives of the whole data dir (a partial one ends in its modules)
_NAME = re.compile(r"^valhalla-\d{8}T\d{12}Z(?:-(?P<modules>[a-z0-9_+]+))?\.tar\.gz$")
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


def archive_name(at: datetime, modules: Sequence[str] | None = None) -> str:
    """valhalla-<time>.tar.gz for the data dir, valhalla-<time>-<module>[+<module>...].tar.gz for some modules."""
    return f"valhalla-{_stamp(at)}{'-' + '+'.join(sorted(modules)) if modules else ''}.tar.gz"


def prune(folder: Path, keep: int, modules: Sequence[str] | None = None) -> None:
    """Delete all but the newest ``keep`` archives in ``folder`` of the same modules (None: of the
    data dir); other files are left alone."""
    kind = "+".join(sorted(modules)) if modules else None
    same = sorted(p for p in folder.glob("valhalla-*.tar.gz") if (m := _NAME.match(p.name)) and m["modules"] == kind)
    for old in same[:-keep]:
        old.unlink()


def _folders() -> set[str]:
    """The folders declared files live in: each module's, and any a file's name adds (comms/dncl)."""
    return {d.relpath.rsplit("/", 1)[0] for d in REGISTRY}


def _modules() -> set[str]:
    return {folder.split("/", 1)[0] for folder in _folders()}


def restorable(rel: str) -> bool:
    """VERSION.json, or a file in a declared folder whose name is not a dot name."""
    folder, _, name = rel.rpartition("/")
    if not folder:
        return rel == VERSION_FILE
    return folder in _folders() and bool(name) and not name.startswith(".")


def _data_files(data_dir: Path, modules: Sequence[str] | None = None) -> list[Path]:
    """Every file a backup holds: what restore accepts (no locks, temp files, commit manifests or
    git); with ``modules``, VERSION.json and those modules' files."""
    found = [data_dir / VERSION_FILE] if modules and (data_dir / VERSION_FILE).is_file() else []
    for top in [data_dir / m for m in sorted(modules)] if modules else [data_dir]:
        for root, dirs, names in os.walk(top):
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


@contextmanager
def _pinned(storage: Storage, modules: Sequence[str] | None) -> Iterator[list[tuple[str, Path, int, float]]]:
    """(path in the archive, pinned copy, size, mtime) of each file a backup holds, taken under
    the modules' locks: each is hard-linked (copied when the link fails, across file systems)
    into a folder beside the data dir. The store replaces a file whole (a new inode) or appends
    to it, so the first ``size`` bytes of a pin stay as they were once the locks are released."""
    data_dir = storage.data_dir.resolve()
    pins = data_dir.with_name(f".{data_dir.name}.backup-{secrets.token_hex(4)}")
    pins.mkdir()
    try:
        pinned = []
        with storage.locked(*(modules or module_names(data_dir))):
            for path in _data_files(data_dir, modules):
                rel = path.relative_to(data_dir).as_posix()
                pin = pins / rel
                pin.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(path, pin)
                except OSError:
                    shutil.copyfile(path, pin)
                st = pin.stat()
                pinned.append((rel, pin, st.st_size, st.st_mtime))
        yield pinned
    finally:
        shutil.rmtree(pins, ignore_errors=True)


class _Hashed:
    """The first ``size`` bytes of a file, hashed as they are read."""

    def __init__(self, f: BinaryIO, size: int):
        self.f, self.left, self.digest = f, size, hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(self.left if n < 0 else min(n, self.left))
        self.left -= len(data)
        self.digest.update(data)
        return data


def _sha256(path: Path, size: int) -> str:
    with open(path, "rb") as f:
        src = _Hashed(f, size)
        while src.read(_CHUNK):
            pass
    return src.digest.hexdigest()


def _write_tar(out: Path, manifest: dict[str, object], pinned: list[tuple[str, Path, int, float]], mtime: float) -> None:
    """The archive written to a temp file beside ``out``, each member streamed and checked
    against its manifest hash, fsynced, then moved into place."""
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")
    hashes: dict[str, str] = manifest["files"]  # type: ignore[assignment]
    head = files.dumps_pretty(manifest)
    try:
        with open(tmp, "xb") as f:
            with tarfile.open(fileobj=f, mode="w:gz", compresslevel=6) as tar:
                for rel, path, size, when in [(MANIFEST, None, len(head), mtime), *pinned]:
                    info = tarfile.TarInfo(rel)
                    info.size, info.mtime, info.mode = size, int(when), 0o644
                    if path is None:
                        tar.addfile(info, io.BytesIO(head))
                        continue
                    with open(path, "rb") as src:
                        member = _Hashed(src, size)
                        tar.addfile(info, member)  # type: ignore[arg-type]
                    if member.digest.hexdigest() != hashes[rel]:
                        raise ArchiveError(f"{rel} changed while it was backed up: run the backup again")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    files.fsync_dir(out.parent)


def backup(storage: Storage, out: Path | None = None, keep: int | None = None, *, modules: Sequence[str] | None = None) -> Path:
    """Write a consistent archive of the data dir, or of ``modules`` (their folders and
    VERSION.json); with ``keep``, prune older archives of the same kind in its folder."""
    data_dir = storage.data_dir
    if not data_dir.is_dir():
        raise ArchiveError(f"{data_dir} does not exist: nothing to back up")
    if modules and (unknown := set(modules) - _modules()):
        raise ValueError(f"not declared modules: {sorted(unknown)}")
    now = storage.now()
    if out is None:
        out = default_backup_dir(data_dir) / archive_name(now, modules)
    out.parent.mkdir(parents=True, exist_ok=True)
    with _pinned(storage, modules) as pinned:
        manifest: dict[str, object] = {"created_at": now.isoformat().replace("+00:00", "Z")}
        if modules:
            manifest["modules"] = sorted(modules)
        manifest["files"] = {rel: _sha256(path, size) for rel, path, size, _ in pinned}
        _write_tar(out, manifest, pinned, now.timestamp())
    if keep is not None:
        prune(out.parent, keep, modules)
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


def backup_before(storage: Storage, change: str, *, modules: Sequence[str]) -> Path | None:
    """A safety backup of ``modules`` (every module the bulk change can write) before a bulk
    change such as an import; the newest VALHALLA_IMPORT_BACKUPS archives of the same modules are
    kept. It takes the modules' locks, so it must run before the change's transaction, never
    inside one. None when none of the modules has a folder yet (nothing to lose) or safety backups
    are paused. (A restore or a migration backs up the whole data dir with `backup`.)"""
    if _paused.get() or not any((storage.data_dir / m).is_dir() for m in modules):
        return None
    archive = backup(storage, keep=Settings.from_env().import_backups, modules=modules)
    log.warning("before %s: backed up %s to %s", change, ", ".join(str(storage.data_dir / m) for m in sorted(modules)), archive)
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
        modules = partial_modules(manifest)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ArchiveError(f"{archive}: {MANIFEST} is not valid") from None
    for rel in hashes:
        if not restorable(rel):
            raise ArchiveError(f"{archive}: refused member {rel!r}: {_ONLY}")
        if modules and rel != VERSION_FILE and rel.split("/", 1)[0] not in modules:
            raise ArchiveError(f"{archive}: refused member {rel!r}: a backup of {', '.join(modules)} holds only their files")
    return manifest, hashes


def partial_modules(manifest: dict[str, object]) -> list[str] | None:
    """The modules a partial backup holds (declared ones, else ValueError); None for the data dir."""
    modules = manifest.get("modules")
    if modules is None:
        return None
    if not isinstance(modules, list) or not modules or not set(modules) <= _modules():
        raise ValueError(f"modules {modules!r}")
    return sorted(modules)


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
    touched; a partial archive must be of the data dir's format); the folder is removed on exit
    unless `swap_in` moved it into place."""
    data_dir = storage.data_dir.resolve()
    staging = data_dir.with_name(f".{data_dir.name}.restore-{secrets.token_hex(4)}")
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    staging.mkdir()
    try:
        manifest = unpack(archive, staging)
        modules = partial_modules(manifest)
        ours, theirs = read_version(data_dir), read_version(staging)
        if modules and None not in (ours, theirs) and ours != theirs:
            raise ArchiveError(f"{archive} is a backup of {', '.join(modules)} in data format {theirs}, and {data_dir} holds format {ours}: "
                               "restore a full backup instead")
        yield manifest, staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def swap_in(storage: Storage, staging: Path, modules: Sequence[str] | None = None) -> Path | None:
    """Swap a staged archive in under every module's lock. The data dir keeps its mode and its
    snapshot history (KEPT_ON_RESTORE); the rest of the replaced data is kept beside it as
    ``<data dir>.replaced-<time>``, whose path is returned (None when there was no data dir).
    A partial archive (``modules``) replaces only those modules' folders, and only in a data dir
    of its data format (VERSION.json); the replaced folders are kept the same way."""
    if modules:
        return _swap_modules(storage, staging, modules)
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


def _swap_modules(storage: Storage, staging: Path, modules: Sequence[str]) -> Path:
    data_dir = storage.data_dir.resolve()
    ours, theirs = read_version(data_dir), read_version(staging)
    data_dir.mkdir(parents=True, exist_ok=True)
    aside = data_dir.with_name(f"{data_dir.name}.replaced-{_stamp(storage.now())}")
    with storage.locked(*modules):  # each module's folder exists from here on
        aside.mkdir()
        if ours is None and theirs is not None:
            os.replace(staging / VERSION_FILE, data_dir / VERSION_FILE)
        for module in modules:
            current, restored = data_dir / module, staging / module
            if restored.exists():
                restored.chmod(current.stat().st_mode & 0o7777)
            os.replace(current, aside / module)
            if restored.exists():
                os.replace(restored, current)
    files.fsync_dir(data_dir)
    files.fsync_dir(data_dir.parent)
    return aside


def declared_files() -> list[str]:
    return sorted({d.relpath for d in REGISTRY})
