"""Contracts: kind, parties, amount, the deal they belong to (checked when given) and a status
that moves only along TRANSITIONS (409 `invalid_transition` naming the allowed next states).
Entering `signed` stamps `signed_at` (now, unless the same PATCH gives the real signing time).
Once signed, the terms (deal, parties, amount, currency) are fixed: changing them is 409
`contract_signed`. `completed`, `terminated` and `expired` are final."""

from __future__ import annotations

from typing import Any, Sequence

from ..deals import service as deals_service
from ..errors import Conflict, InvalidField, require_start, require_transition
from ..storage import Storage, select
from . import store
from .schemas import STARTS, Contract, ContractCreate, ContractStatus, ContractUpdate

S = ContractStatus
TRANSITIONS: dict[ContractStatus, tuple[ContractStatus, ...]] = {
    S.draft: (S.sent, S.signed, S.terminated),
    S.sent: (S.draft, S.signed, S.expired, S.terminated),
    S.signed: (S.active, S.completed, S.terminated, S.expired),
    S.active: (S.completed, S.terminated, S.expired),
    S.completed: (),
    S.terminated: (),
    S.expired: (),
}
UNSIGNED = (S.draft, S.sent)
SIGNED = (S.signed, S.active, S.completed)  # signed and not undone (terminated/expired)
TERMS = ("deal_id", "parties", "amount", "currency")


def list_contracts(db: Storage, *, deal_id: str | None = None, kind: str | None = None, status: str | None = None) -> Sequence[Contract]:
    return select(db.list(store.contracts), {"deal_id": deal_id, "kind": kind, "status": status})


def get_contract(db: Storage, contract_id: str) -> Contract:
    return db.get(store.contracts, contract_id)


def create_contract(db: Storage, data: ContractCreate) -> Contract:
    status = require_start("contract", STARTS, data.status)
    if data.deal_id is not None:
        deals_service.require_deal(db, data.deal_id, field="deal_id")
    with db.transaction("contracts") as tx:
        return tx.add(store.contracts, {**data.model_dump(), "status": status})


def update_contract(db: Storage, contract_id: str, data: ContractUpdate, *, expected_version: int | None = None) -> Contract:
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if changes.get("deal_id") is not None:
        deals_service.require_deal(db, changes["deal_id"], field="deal_id")
    with db.transaction("contracts") as tx:
        old = tx.get(store.contracts, contract_id)
        status = ContractStatus(changes.get("status", old.status))
        require_transition("contract", TRANSITIONS, old.status, status)
        if old.status not in UNSIGNED:
            before = old.model_dump()
            changed = [k for k in TERMS if k in changes and changes[k] != before[k]]
            if changed:
                raise Conflict("contract_signed", f"a {old.status.value} contract's terms are fixed: {', '.join(changed)} cannot change", fields=changed)
        if status in UNSIGNED and "signed_at" in changes:
            raise InvalidField(("body", "signed_at"), "signed_at is set when the contract is signed (send it with status signed)")
        if status == S.signed and old.status != S.signed:
            changes.setdefault("signed_at", tx.now)
        audit = "transition" if status != old.status else "update"
        return tx.update(store.contracts, old, changes, expected_version=expected_version, audit=audit)
