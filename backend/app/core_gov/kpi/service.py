"""KPI events are appended to kpi/events.jsonl and never changed. An event's `at` defaults to now
and may be back-dated, never future-dated. Recording an event sends `recorded` (the metric): its
reactions (the regression tripwire, see core_gov/reactions.py) run after the commit.
The summary groups by metric and LOCAL day (VALHALLA_TZ): count, mean value, and success rate
over the events that carry `success`. A per-metric time-ordered index over the cached log is
extended with new lines only, so the tripwire's `latest` costs O(new events + its window)."""

from __future__ import annotations

import bisect
import threading
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Sequence

from ..errors import InvalidField
from ..signals import Signal
from ..storage import Storage
from . import store
from .schemas import KpiDay, KpiEvent

recorded = Signal("kpi.recorded")  # (metric): a KPI event of this metric was committed


def record(
    db: Storage, *, metric: str, domain: str, value: float = 1.0, success: bool | None = None,
    ref: str | None = None, at: datetime | None = None,
) -> KpiEvent:
    with db.transaction("kpi") as tx:
        if at is not None and at.tzinfo is None:
            raise InvalidField(("body", "at"), "an instant needs its UTC offset")
        if at is not None and at > tx.now:
            raise InvalidField(("body", "at"), f"{at.isoformat()} is in the future; a KPI event records what happened")
        event = tx.append(store.events, {"metric": metric, "domain": domain, "value": value, "success": success, "ref": ref, "at": at})
        recorded.send(tx, event.metric)
    return event


def events(
    db: Storage, *, metric: str | None = None, domain: str | None = None,
    since: datetime | None = None, until: datetime | None = None,
) -> list[KpiEvent]:
    """Matching events oldest first by `at` (ties in log order); since inclusive, until exclusive."""
    if metric is not None:
        with _lock:
            source: Sequence[KpiEvent] = list(_by_metric(db).get(metric, ()))
    else:
        source = db.entries(store.events)
    found = [
        e for e in source
        if (domain is None or e.domain == domain) and (since is None or e.at >= since) and (until is None or e.at < until)
    ]
    return found if metric is not None else _in_time_order(found)


def latest(db: Storage, *, metric: str, domain: str | None = None, limit: int) -> list[KpiEvent]:
    """The newest `limit` events of a metric (and domain), oldest first by `at`."""
    picked: list[KpiEvent] = []
    with _lock:
        for e in reversed(_by_metric(db).get(metric, ())):
            if len(picked) == limit:
                break
            if domain is None or e.domain == domain:
                picked.append(e)
    picked.reverse()
    return picked


@dataclass
class _Index:
    size: int = 0
    last: KpiEvent | None = None
    by_metric: dict[str, list[KpiEvent]] = field(default_factory=dict)


_lock = threading.Lock()
_indexes: "weakref.WeakKeyDictionary[Storage, _Index]" = weakref.WeakKeyDictionary()


def _by_metric(db: Storage) -> dict[str, list[KpiEvent]]:
    """Each metric's events ordered by `at` (ties in log order). Call with _lock held. The log only
    grows, so only lines past the indexed size are added; a log that is shorter or whose last
    indexed line is a different object (a hand edit re-parsed, a rolled-back write) is re-indexed."""
    entries = db.entries(store.events)
    index = _indexes.get(db)
    if index is None or len(entries) < index.size or (index.size and entries[index.size - 1] is not index.last):
        index = _indexes[db] = _Index()
    for e in entries[index.size:]:
        ordered = index.by_metric.setdefault(e.metric, [])
        if ordered and e.at < ordered[-1].at:
            bisect.insort_right(ordered, e, key=lambda x: x.at)  # back-dated: after equal times
        else:
            ordered.append(e)
    index.size = len(entries)
    index.last = entries[-1] if entries else None
    return index.by_metric


def _in_time_order(found: list[KpiEvent]) -> list[KpiEvent]:
    if any(found[i].at > found[i + 1].at for i in range(len(found) - 1)):
        found.sort(key=lambda e: e.at)  # back-dated events exist; stable, so ties keep log order
    return found


def summary(
    db: Storage, zone: tzinfo, *, metric: str | None = None, domain: str | None = None,
    since: datetime | None = None, until: datetime | None = None,
) -> list[KpiDay]:
    groups: dict[tuple[str, object], list[KpiEvent]] = defaultdict(list)
    for e in events(db, metric=metric, domain=domain, since=since, until=until):
        groups[(e.metric, e.at.astimezone(zone).date())].append(e)
    return [_day(m, d, evs) for (m, d), evs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1]))]


def _day(metric: str, day, evs: Sequence[KpiEvent]) -> KpiDay:
    flagged = [e.success for e in evs if e.success is not None]
    return KpiDay(
        metric=metric, day=day, count=len(evs),
        mean_value=sum(e.value for e in evs) / len(evs),
        success_events=len(flagged),
        success_rate=(sum(flagged) / len(flagged)) if flagged else None,
    )
