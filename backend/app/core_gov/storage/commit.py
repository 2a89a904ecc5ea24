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
"""

from __future__ import annotations

import os
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


def write(data_dir: Path, replaces: list[tuple[str, Iterable[bytes]]], appends: list[tuple[str, int, bytes]]) -> None:
    """Commit: replace each (relpath, pieces) and append each (relpath, offset, bytes), all or
    nothing. Raises StoreUnavailable when the disk refuses (nothing happened before the commit
    point; after it, the next lock holder finishes the commit)."""
    if not replaces and not appends:
        return
    txn = new_id("tx")
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


def recover(data_dir: Path, module: str) -> None:
    """Roll forward committed manifests in this module's folder; drop uncommitted ones and
    orphan temp files. Call with the module's lock held."""
    folder = data_dir / module
    for name in sorted(n for n in os.listdir(folder) if n.startswith(files.MANIFEST_PREFIX)):
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
    for root, _, names in os.walk(folder):
        for name in names:
            if name.startswith(".") and name.endswith(files.TMP_SUFFIX):
                os.unlink(os.path.join(root, name))  # no committed manifest names it: its writer died before committing


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
