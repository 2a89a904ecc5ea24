"""Holdings: what the operator owns, anywhere. Values are totalled per currency and never
converted (no exchange rates are kept here), so every total is keyed by currency."""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

from ..fields import totals_by_currency
from ..storage import Storage, select
from . import store
from .schemas import Holding, HoldingCreate, HoldingsSummary, HoldingUpdate


def list_holdings(db: Storage, *, asset_type: str | None = None, jurisdiction: str | None = None, currency: str | None = None) -> Sequence[Holding]:
    filters = {"asset_type": asset_type, "jurisdiction": jurisdiction, "currency": currency}
    return select(db.list(store.holdings), filters)


def get_holding(db: Storage, holding_id: str) -> Holding:
    return db.get(store.holdings, holding_id)


def create_holding(db: Storage, data: HoldingCreate) -> Holding:
    with db.transaction("holdings") as tx:
        return tx.add(store.holdings, data)


def update_holding(db: Storage, holding_id: str, data: HoldingUpdate, *, expected_version: int | None = None) -> Holding:
    with db.transaction("holdings") as tx:
        return tx.update(store.holdings, holding_id, data.model_dump(exclude_unset=True), expected_version=expected_version)


def _value(h: Holding) -> float:
    return h.value_estimate


def summary(db: Storage) -> HoldingsSummary:
    records = db.list(store.holdings)
    groups: dict[str, dict[str, list[Holding]]] = {"type": defaultdict(list), "jurisdiction": defaultdict(list)}
    for h in records:
        groups["type"][h.asset_type.value].append(h)
        groups["jurisdiction"][h.jurisdiction].append(h)
    return HoldingsSummary(
        count=len(records),
        by_currency=totals_by_currency(records, _value, "holdings value"),
        by_asset_type={k: totals_by_currency(v, _value, f"{k} value") for k, v in groups["type"].items()},
        by_jurisdiction={k: totals_by_currency(v, _value, f"{k} value") for k, v in groups["jurisdiction"].items()},
    )
