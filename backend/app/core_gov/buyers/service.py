"""Buyer liquidity: how readily buyers answer and buy, per province x market x property type,
over the last 90 days of feedback. Each rate is smoothed toward 0.5 by 5 pseudo-events
((k + 2.5) / (n + 5)), so one event cannot make a market hot; score = 100 x (0.4 response +
0.4 close + 0.2 min(active buyers / 10, 1)), one decimal; hot >= 70, warm >= 50, else cold.
Markets compare case-insensitively ("Hamilton" and "hamilton" are one node)."""

from __future__ import annotations

from datetime import timedelta
from typing import Iterable

from ..kpi import service as kpi_service
from ..storage import Storage
from . import store
from .schemas import Feedback, FeedbackCreate, FeedbackEvent, Label, LiquidityScore

WINDOW = timedelta(days=90)
PSEUDO_EVENTS = 5


def record_feedback(db: Storage, data: FeedbackCreate) -> Feedback:
    with db.transaction("buyers") as tx:
        entry = tx.append(store.feedback, data)
    kpi_service.record(
        db, metric="buyer_feedback", domain="buyers", value=1.0,
        success=entry.event in (FeedbackEvent.responded, FeedbackEvent.bought), ref=entry.id, at=entry.at,
    )
    return entry


def list_feedback(db: Storage, *, buyer_id: str | None = None, province: str | None = None, since=None) -> list[Feedback]:
    return [
        f for f in db.entries(store.feedback)
        if (buyer_id is None or f.buyer_id == buyer_id)
        and (province is None or f.province == province)
        and (since is None or f.at >= since)
    ]


def _smoothed(k: int, n: int) -> float:
    return (k + PSEUDO_EVENTS / 2) / (n + PSEUDO_EVENTS)


def _label(score: float) -> Label:
    return Label.hot if score >= 70 else Label.warm if score >= 50 else Label.cold


def _score(province: str, market: str, property_type: str, events: Iterable[Feedback]) -> LiquidityScore:
    events = list(events)
    n = len(events)
    responses = sum(1 for e in events if e.event is not FeedbackEvent.no_response)
    bought = sum(1 for e in events if e.event is FeedbackEvent.bought)
    active = len({e.buyer_id for e in events if e.event is not FeedbackEvent.no_response})
    response_rate = _smoothed(responses, n)
    close_rate = _smoothed(bought, n)
    score = round(100 * (0.4 * response_rate + 0.4 * close_rate + 0.2 * min(active / 10, 1)), 1)
    return LiquidityScore(
        province=province, market=market, property_type=property_type, events=n, responses=responses,
        bought=bought, active_buyers=active, response_rate=round(response_rate, 4),
        close_rate=round(close_rate, 4), score=score, label=_label(score),
    )


def _recent(db: Storage) -> list[Feedback]:
    since = db.now() - WINDOW
    return [f for f in db.entries(store.feedback) if f.at >= since]


def score(db: Storage, *, province: str, market: str, property_type: str) -> LiquidityScore:
    province = province.strip().upper()
    key = market.strip().casefold()
    events = [
        f for f in _recent(db)
        if f.province == province and f.market.casefold() == key and f.property_type.value == property_type
    ]
    return _score(province, market.strip(), property_type, events)


def nodes(db: Storage, *, province: str | None = None, label: str | None = None) -> list[LiquidityScore]:
    """Every node with feedback in the window, best score first (then province, market, type)."""
    groups: dict[tuple[str, str, str], list[Feedback]] = {}
    shown: dict[tuple[str, str, str], str] = {}
    for f in _recent(db):
        if province is not None and f.province != province:
            continue
        key = (f.province, f.market.casefold(), f.property_type.value)
        groups.setdefault(key, []).append(f)
        shown[key] = f.market  # the newest spelling
    found = [_score(p, shown[(p, m, t)], t, evs) for (p, m, t), evs in groups.items()]
    found = [s for s in found if label is None or s.label.value == label]
    return sorted(found, key=lambda s: (-s.score, s.province, s.market.casefold(), s.property_type.value))
