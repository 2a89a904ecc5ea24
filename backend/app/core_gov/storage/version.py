"""The data format version (``<data dir>/VERSION.json``) and the migrations between versions.

A breaking change to a file's shape bumps FORMAT_VERSION and registers a migration from the
old version in the owning module. Migrations run at start, after an automatic backup.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import orjson

from . import files
from .ids import new_id

FORMAT_VERSION = 2
VERSION_FILE = "VERSION.json"

# from_version -> function that upgrades a data dir from that version to the next one.
MIGRATIONS: dict[int, Callable[[Path], None]] = {}


class DataVersionError(RuntimeError):
    pass


def migration(from_version: int) -> Callable[[Callable[[Path], None]], Callable[[Path], None]]:
    def register(fn: Callable[[Path], None]) -> Callable[[Path], None]:
        MIGRATIONS[from_version] = fn
        return fn

    return register


def read_version(data_dir: Path) -> int | None:
    path = data_dir / VERSION_FILE
    try:
        raw = orjson.loads(path.read_bytes())
        return int(raw["format"])
    except FileNotFoundError:
        return None
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise DataVersionError(f"{path} is not valid: expected {{\"format\": <integer>}}") from None


def write_version(data_dir: Path, version: int) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    files.write_atomic(data_dir / VERSION_FILE, files.dumps_pretty({"format": version}), new_id("v"))


def ensure_format(data_dir: Path, backup: Callable[[], Path], target: int = FORMAT_VERSION) -> list[str]:
    """Bring the data dir to ``target``: stamp a new one, refuse a newer one, migrate an older one
    (after ``backup()``). Returns what was done, for the log."""
    current = read_version(data_dir)
    if current is None:
        write_version(data_dir, target)
        return [f"stamped {data_dir / VERSION_FILE} with format {target}"]
    if current > target:
        raise DataVersionError(
            f"{data_dir} holds data format {current}, newer than this program's {target}; "
            "upgrade Valhalla Core (or restore an older backup) before serving it"
        )
    done: list[str] = []
    if current < target:
        archive = backup()
        done.append(f"backed up {data_dir} to {archive} before migrating")
        for version in range(current, target):
            if version not in MIGRATIONS:
                raise DataVersionError(f"no migration from data format {version} to {version + 1}")
            MIGRATIONS[version](data_dir)
            write_version(data_dir, version + 1)
            done.append(f"migrated data format {version} -> {version + 1}")
    return done
