from __future__ import annotations

from fastapi import Response

from ..http import IfMatch, ModuleRouter, Page, StorageDep, etag, one, paginate, responses
from . import service
from .schemas import Contract, ContractCreate, ContractKind, ContractStatus, ContractUpdate

router = ModuleRouter(prefix="/contracts", tags=["contracts"])


@router.post("", status_code=201, summary="Draft a contract (deal_id, when given, must exist)", responses=responses())
def create_contract(db: StorageDep, body: ContractCreate) -> Contract:
    return service.create_contract(db, body)


@router.get("", summary="List contracts", responses=responses())
async def list_contracts(
    db: StorageDep, response: Response, page: Page,
    deal_id: str | None = None, kind: ContractKind | None = None, status: ContractStatus | None = None,
) -> list[Contract]:
    return paginate(response, service.list_contracts(db, deal_id=deal_id, kind=kind, status=status), page)


@router.get("/{contract_id}", summary="Get a contract", responses=responses(404))
async def get_contract(db: StorageDep, contract_id: str) -> Contract:
    return one(service.get_contract(db, contract_id))


@router.patch("/{contract_id}", summary="Change a contract or move its status", responses=responses(404, 409, 412))
def update_contract(db: StorageDep, response: Response, contract_id: str, body: ContractUpdate, if_match: IfMatch = None) -> Contract:
    """Status moves: draft → sent | signed | terminated; sent → draft | signed | expired |
    terminated; signed → active | completed | terminated | expired; active → completed |
    terminated | expired; completed, terminated and expired are final. Anything else is 409
    `invalid_transition` with `allowed`. Entering `signed` sets `signed_at` (now unless given).
    A signed contract's deal, parties, amount and currency are fixed (409 `contract_signed`)."""
    return etag(response, service.update_contract(db, contract_id, body, expected_version=if_match))
