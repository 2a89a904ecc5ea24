"""Holdings: what the operator owns, anywhere. Values are totalled per currency and never
converted (no exchange rates are kept here), so every total is keyed by currency."""

from __future__ import annotations

from collections import defaultdict

from ..storage import Storage, select
from . import store
from .schemas import Holding, HoldingCreate, HoldingsSummary, HoldingUpdate


def list_holdings(db: Storage, *, asset_type: str | None = None, jurisdiction: str | None = None, currency: str | None = None) -> list[Holding]:
    filters = {"asset_type": asset_type, "jurisdiction": jurisdiction, "currency": currency}
    return list(select(db.list(store.holdings), filters))


def get_holding(db: Storage, holding_id: str) -> Holding:
    return db.get(store.holdings, holding_id)


def create_holding(db: Storage, data: HoldingCreate) -> Holding:
    with db.transaction("holdings") as tx:
        return tx.add(store.holdings, data)


def update_holding(db: Storage, holding_id: str, data: HoldingUpdate, *, expected_version: int | None = None) -> Holding:
    with db.transaction("holdings") as tx:
        return tx.update(store.holdings, holding_id, data.model_dump(exclude_unset=True), expected_version=expected_version)


def summary(db: Storage) -> HoldingsSummary:
    by_currency: dict[str, float] = defaultdict(float)
    by_type: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    by_jurisdiction: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    records = db.list(store.holdings)
    for h in records:
        by_currency[h.currency] += h.value_estimate
        by_type[h.asset_type.value][h.currency] += h.value_estimate
        by_jurisdiction[h.jurisdiction][h.currency] += h.value_estimate
    return HoldingsSummary(
        count=len(records),
        by_currency=dict(by_currency),
        by_asset_type={k: dict(v) for k, v in by_type.items()},
        by_jurisdiction={k: dict(v) for k, v in by_jurisdiction.items()},
    )
