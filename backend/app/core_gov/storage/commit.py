"""The commit protocol: several files of several modules change together or not at all.

Writing a commit:

1. each replaced file is written to a unique temp file beside it and fsynced;
2. a commit manifest is written to every involved module's folder, the first module's copy
   last: once that copy exists the commit has happened. Its first line names the renames and
   the log appends (log, offset, length); the appended bytes follow it as they are, so they
   are serialised once, not escaped into JSON again;
3. the log bytes are written at their recorded offsets, the temp files are renamed over their
   targets, the folders are fsynced, and the manifests are removed.

Rolling forward (``recover``, by whoever next takes a module's lock, and once for every module
when a ``Storage`` is built): a committed manifest is applied again (renames whose temp file is
still there; log bytes written unless already there), an uncommitted one is dropped with its
temp files, and temp files no manifest names are deleted. Every step is idempotent, so a
SIGKILL at any point leaves each commit fully applied or absent.

A commit that replaces one file and appends only to logs in the same folder (a create or an
update with its audit line) needs no manifest: the temp file's own name is it. The name
carries each append (log, offset, length, hash of the bytes), so:

1. the temp file is written and fsynced, and the folder fsynced (the name, and a log created
   now, are durable);
2. the log bytes are written at their offsets and fsynced: once all of them are there, the
   commit has happened;
3. the temp file is renamed over its target (recovery redoes it, so it needs no fsync).

Recovery finds the temp file still there: if every append's bytes are at its offset, it
renames the temp file (roll forward); otherwise it deletes the temp file and takes out of each
log the append's bytes, whole (their hash matches) or cut short (the log ends before their
end), keeping any line after them (roll back). Three fsyncs, where the manifest takes five.
A single file with no append is a plain temp, fsync, rename, folder fsync: a temp file left
by a crash was never renamed and is deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from pathlib import Path
from typing import Callable, Iterable

import orjson

from ..errors import StoreUnavailable
from . import files
from .ids import new_id

# Crash-test hook: called with the name of each commit step. Tests set it in a subprocess to
# SIGKILL the process at that step; it is None in normal operation.
FAULT: Callable[[str], None] | None = None


def fault(step: str) -> None:
    if FAULT is not None:
        FAULT(step)


def _module_of(rel: str) -> str:
    return rel.split("/", 1)[0]


# The temp file of a one-file commit: ".<target>.<txn>~<append>,<append>.tmp", each append
# "<log>@<offset>+<length>-<hash>" (a log in the target's folder).
_ONE_FILE = re.compile(rf"^\.(?P<target>.+)\.(?P<txn>tx_[0-9a-z]+)~(?P<appends>.+){re.escape(files.TMP_SUFFIX)}$")
_APPEND = re.compile(r"^(?P<log>[\w.-]+)@(?P<offset>\d+)\+(?P<length>\d+)-(?P<digest>[0-9a-f]{16})$")
_MAX_NAME = 250  # bytes of a file name, with room to spare under the usual 255


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def _one_file_appends(rel: str, appends: list[tuple[str, int, bytes]]) -> str | None:
    """What the temp file's name carries for a commit of ``rel`` and ``appends`` without a
    manifest ("" for none), or None when the commit needs a manifest (a log in another folder,
    a name the temp's name cannot carry)."""
    folder, _, name = rel.rpartition("/")
    marks = []
    for path, offset, data in appends:
        log_folder, _, log = path.rpartition("/")
        mark = f"{log}@{offset}+{len(data)}-{_digest(data)}"
        if log_folder != folder or not _APPEND.match(mark):
            return None
        marks.append(mark)
    carried = ",".join(marks)
    return carried if len(f".{name}.tx_00000000000000000000~{carried}{files.TMP_SUFFIX}".encode()) <= _MAX_NAME else None


def write(data_dir: Path, replaces: list[tuple[str, Iterable[bytes]]], appends: list[tuple[str, int, bytes]]) -> None:
    """Commit: replace each (relpath, pieces) and append each (relpath, offset, bytes), all or
    nothing. Raises StoreUnavailable when the disk refuses (nothing happened before the commit
    point; after it, the next lock holder finishes the commit)."""
    if not replaces and not appends:
        return
    txn = new_id("tx")
    carried = _one_file_appends(replaces[0][0], appends) if len(replaces) == 1 else None
    if carried is not None:
        return _write_one_file(data_dir, txn, *replaces[0], appends, carried)
    temps: list[tuple[Path, Path]] = []
    try:
        for rel, pieces in replaces:
            target = data_dir / rel
            target.parent.mkdir(exist_ok=True)
            temps.append((files.write_temp(target, pieces, txn, before_sync=lambda: fault("temp_unsynced")), target))
    except OSError as e:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        raise StoreUnavailable(f"could not write: {e}") from None
    fault("temps_written")

    involved = sorted({_module_of(rel) for rel, _ in replaces} | {_module_of(rel) for rel, _, _ in appends})
    primary = involved[0]
    rel = lambda p: p.relative_to(data_dir).as_posix()  # noqa: E731
    header = files.dumps_line({
        "txn": txn,
        "primary": primary,
        "modules": involved,
        "replace": [[rel(tmp), rel(target)] for tmp, target in temps],
        "append": [[path, offset, len(data)] for path, offset, data in appends],
    })
    manifest = [header, *(data for _, _, data in appends)]
    name = f"{files.MANIFEST_PREFIX}{txn}"
    written: list[Path] = []
    try:
        for module in [*involved[1:], primary]:  # the primary copy last: it is the commit point
            written.append(data_dir / module / name)
            files.write_new(written[-1], manifest)
            files.fsync_dir(data_dir / module)
            fault(f"manifest_written:{module}")
    except OSError as e:  # before the commit point: undo, nothing happened
        for path in [*written, *(tmp for tmp, _ in temps)]:
            path.unlink(missing_ok=True)
        raise StoreUnavailable(f"could not write: {e}") from None

    try:
        for path, offset, data in appends:
            files.write_at(data_dir / path, offset, data)
            fault("log_appended")
        for tmp, target in temps:
            os.replace(tmp, target)
            fault("file_replaced")
        for folder in sorted({*(data_dir / m for m in involved), *(t.parent for _, t in temps)}):
            files.fsync_dir(folder)
        fault("before_manifest_removal")
        for module in [*involved[1:], primary]:
            (data_dir / module / name).unlink()
    except OSError as e:
        raise StoreUnavailable(f"the commit was recorded but not finished ({e}); it completes on the next write") from None


def _write_one_file(data_dir: Path, txn: str, rel: str, pieces: Iterable[bytes], appends: list[tuple[str, int, bytes]], carried: str) -> None:
    """Commit one replaced file and appends to logs in its folder, with no manifest (see the
    module docstring): the temp file's name records the appends."""
    target = data_dir / rel
    folder = target.parent
    name = f"{txn}~{carried}" if carried else txn
    try:
        try:
            tmp = files.write_temp(target, pieces, name, before_sync=lambda: fault("temp_unsynced"))
        except FileNotFoundError:  # the module's first file (raised by the open: no piece was taken yet)
            folder.mkdir(exist_ok=True)
            tmp = files.write_temp(target, pieces, name, before_sync=lambda: fault("temp_unsynced"))
    except OSError as e:
        raise StoreUnavailable(f"could not write: {e}") from None
    fault("temps_written")
    logs = [(data_dir / path, offset, data) for path, offset, data in appends]
    try:
        if logs:
            for path, offset, _ in logs:  # a new log's name is made durable with the temp file's
                if offset == 0:
                    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o644))
            files.fsync_dir(folder)
            for path, offset, data in logs:
                files.write_at(path, offset, data)
                fault("log_appended")
        os.replace(tmp, target)  # with logs, the commit happened above: recovery would redo this
        fault("file_replaced")
        if not logs:
            files.fsync_dir(folder)
    except OSError as e:
        if logs and all(_landed(path, offset, len(data), _digest(data)) for path, offset, data in logs):
            raise StoreUnavailable(f"the commit was recorded but not finished ({e}); it completes on the next write") from None
        with contextlib.suppress(OSError):  # undo; if this fails too, recovery rolls it back
            for path, offset, _ in logs:
                files.truncate(path, offset)
            tmp.unlink(missing_ok=True)
        raise StoreUnavailable(f"could not write: {e}") from None


def _landed(path: Path, offset: int, length: int, digest: str) -> bool:
    """Whether the bytes an append recorded in a temp file's name are at its offset."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read(length)
    except FileNotFoundError:
        return False
    return len(data) == length and _digest(data) == digest


def _settle_one_file(folder: Path, temp: re.Match[str]) -> None:
    """Finish or undo the one-file commit whose temp file is still there (its writer died)."""
    logs = []
    for mark in temp["appends"].split(","):
        a = _APPEND.match(mark)
        if a is None:
            return  # not a one-file commit's temp file: deleted with the other orphans
        logs.append((folder / a["log"], int(a["offset"]), int(a["length"]), a["digest"]))
    if all(_landed(*log) for log in logs):
        os.replace(folder / temp[0], folder / temp["target"])  # the commit happened: roll forward
    else:
        for path, offset, length, digest in logs:  # it did not: cut out what of it was appended
            size = path.stat().st_size if path.exists() else 0
            if size > offset and (size <= offset + length or _landed(path, offset, length, digest)):
                with open(path, "rb") as f:
                    f.seek(offset + length)
                    rest = f.read()  # lines appended after it (by hand) stay
                files.write_at(path, offset, rest)
        (folder / temp[0]).unlink()
    files.fsync_dir(folder)


def recover(data_dir: Path, module: str) -> list[str]:
    """Roll forward committed manifests in this module's folder; drop uncommitted ones and
    orphan temp files. Call with the module's lock held. Returns the folder's names after."""
    folder = data_dir / module
    listed = sorted(os.listdir(folder))
    left = any(n.startswith(".") and (n.startswith(files.MANIFEST_PREFIX) or n.endswith(files.TMP_SUFFIX)) for n in listed)
    if not left and not any("." not in n and os.path.isdir(folder / n) for n in listed):  # data files all have a suffix
        return listed  # nothing a crash could have left (the usual case: one listing)
    for name in (n for n in listed if n.startswith(files.MANIFEST_PREFIX)):
        path = folder / name
        try:
            raw = path.read_bytes()
            cut = raw.index(b"\n") + 1
            manifest = orjson.loads(raw[:cut])
            primary = manifest["primary"]
            if cut + sum(length for *_, length in manifest["append"]) != len(raw):
                raise ValueError("short")
        except (ValueError, orjson.JSONDecodeError, KeyError, TypeError):
            path.unlink()  # torn while being written: its writer died before committing
            continue
        if primary != module and not (data_dir / primary / name).exists():
            path.unlink()  # the commit point was never reached
            continue
        _apply(data_dir, manifest, raw[cut:], module)
        others = [m for m in manifest["modules"] if m != module and (data_dir / m / name).exists()]
        if module != primary or not others:
            path.unlink()  # the primary copy stays until every other module applied its part
    for temp in filter(None, map(_ONE_FILE.match, listed)):  # no manifest renames these
        _settle_one_file(folder, temp)
    for root, _, names in os.walk(folder):
        for name in names:
            if name.startswith(".") and name.endswith(files.TMP_SUFFIX):
                os.unlink(os.path.join(root, name))  # no committed manifest names it: its writer died before committing
    return sorted(os.listdir(folder))


def _apply(data_dir: Path, manifest: dict, appended: bytes, module: str) -> None:
    """Apply this module's part of a committed manifest. Each step is idempotent."""
    at = 0
    for rel_log, offset, length in manifest["append"]:
        data, at = appended[at : at + length], at + length
        path = data_dir / rel_log
        if _module_of(rel_log) == module and not files.has_bytes_at(path, offset, data):
            files.write_at(path, offset, data)
    folders = {data_dir / module}
    for rel_tmp, rel_target in manifest["replace"]:
        if _module_of(rel_target) == module and (data_dir / rel_tmp).exists():
            os.replace(data_dir / rel_tmp, data_dir / rel_target)
            folders.add((data_dir / rel_target).parent)
    for folder in sorted(folders):
        files.fsync_dir(folder)
