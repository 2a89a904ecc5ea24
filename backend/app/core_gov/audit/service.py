"""Reading the audit trail: every module's ``audit.jsonl`` merged by time.

The entries themselves are written by the store core inside the commit of the change they
describe, so there is no write path here.
"""

from __future__ import annotations

import heapq
from datetime import datetime

from ..storage import AuditEntry, Storage, matches
from . import store


def entries(
    db: Storage,
    *,
    module: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditEntry]:
    modules = sorted({d.module for d in db.declared()})
    if module is not None:
        modules = [m for m in modules if m == module]
    logs = [db.entries(store.trail(m)) for m in modules]
    out = []
    for e in heapq.merge(*logs, key=lambda e: e.at):
        if since is not None and e.at < since:
            continue
        if until is not None and e.at >= until:
            continue
        if matches(e, {"entity_id": entity_id, "action": action}):
            out.append(e)
    return out
