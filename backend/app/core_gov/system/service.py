"""System facts derived from what is actually mounted and on disk, never from a hand-kept list.

A pack is a mounted module: installed when its router serves live routes under /core. Its name
is the first line of the module's docstring. Readiness = every declared file parses and
validates, and the data dir is writable.
"""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Iterable

from ...settings import Settings
from ..errors import NotFound, StoreCorrupt
from ..storage import Storage, actor
from ..storage.archive import _data_files
from . import store
from .schemas import Debug, FileStat, Pack, Ready, StatusMark


Routes = list[tuple[str, str, object]]  # (module, full path, route), from core_router.core_routes()


def packs(modules: Iterable[ModuleType], routes: Routes) -> list[Pack]:
    counts: dict[str, int] = defaultdict(int)
    for module, _, _ in routes:
        counts[module] += 1
    out = []
    for module in modules:
        name = module.__name__.rsplit(".", 1)[-1]
        doc = (module.__doc__ or name).strip().splitlines()[0]
        prefix = "/core" + module.router.prefix
        out.append(Pack(id=name, name=doc, installed=counts[name] > 0, prefix=prefix, routes=counts[name]))
    return out


def pack(modules: Iterable[ModuleType], routes: Routes, pack_id: str) -> Pack:
    for p in packs(modules, routes):
        if p.id.lower() == pack_id.strip().lower():
            return p
    raise NotFound(f"no pack {pack_id!r}; see GET /core/system/packs")


def mark(db: Storage, *, complete: bool, notes: str | None, version: str | None) -> StatusMark:
    with db.transaction("system") as tx:
        return tx.write(
            store.status,
            StatusMark(backend_complete=complete, notes=notes, version=version, marked_by=actor.get(), marked_at=tx.now),
            audit="action",
        )


def status_mark(db: Storage) -> StatusMark:
    return db.read(store.status)


def _writable(path: Path) -> bool:
    probe = path
    while not probe.exists():
        probe = probe.parent
    return os.access(probe, os.W_OK | os.X_OK)


def readiness(db: Storage) -> Ready:
    problems, warnings = [], []
    for d in db.declared():
        try:
            warnings += db.check(d)
        except StoreCorrupt as e:
            problems.append(str(e))
    writable = _writable(db.data_dir)
    if not writable:
        problems.append(f"{db.data_dir} is not writable")
    return Ready(ready=not problems, data_dir=str(db.data_dir.resolve()), writable=writable, problems=problems, warnings=warnings)


def debug(db: Storage, settings: Settings, version: str, started_at: datetime) -> Debug:
    stats = []
    by_path = {d.relpath: d for d in db.declared()}
    data_dir = db.data_dir
    for path in _data_files(data_dir) if data_dir.is_dir() else []:
        rel = path.relative_to(data_dir).as_posix()
        st = path.stat()
        records = None
        if rel in by_path:
            try:
                d = by_path[rel]
                records = db.count(d)
            except StoreCorrupt:
                records = None
        stats.append(FileStat(path=rel, records=records, bytes=st.st_size, modified=datetime.fromtimestamp(st.st_mtime, timezone.utc)))
    now = datetime.now(timezone.utc)
    return Debug(
        version=version,
        started_at=started_at,
        uptime_seconds=round((now - started_at).total_seconds(), 3),
        data_dir=str(data_dir.resolve()),
        files=stats,
        writes=dict(db.stats),
        settings={
            "data_dir": str(settings.data_dir), "host": settings.host, "port": settings.port, "tz": settings.tz,
            "max_body": settings.max_body, "cors_origins": list(settings.cors_origins),
            "token": "set" if settings.token else None,
        },
    )
