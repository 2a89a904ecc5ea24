from __future__ import annotations

from fastapi import Response

from ..http import ModuleRouter, Page, SettingsDep, StorageDep, one, paginate, responses
from ..storage import QueryInstant
from . import service
from .schemas import (
    ReleaseInput, Reservation, ReservationStatus, ReserveInput, RiskEvent, RiskEventKind, RiskPolicy, RiskPolicyUpsert,
    RiskSnapshot, SettleInput,
)

router = ModuleRouter(prefix="/risk", tags=["risk"])


@router.get("/policies", summary="Risk policies, one per engine", responses=responses())
async def list_policies(db: StorageDep, response: Response, page: Page) -> list[RiskPolicy]:
    return paginate(response, service.policies(db), page)


@router.post("/policies/upsert", summary="Create or change an engine's caps (0 = no cap)", responses=responses(409))
def upsert_policy(db: StorageDep, body: RiskPolicyUpsert) -> RiskPolicy:
    """Creates the engine's policy (unsent caps are 0 = no cap) or changes only the fields sent.
    A governance decision is NOT required, even to raise a GLOBAL cap; when `decision_id` is
    given it must be approved (unknown 422, not approved 409 `decision_not_approved`) and is
    recorded on the policy. Loosening GLOBAL (a cap raised, a cap set to 0, re-enabled) is also
    logged as a `policy_raised` risk event naming the decision, if any."""
    return service.upsert_policy(db, body)


@router.post("/reserve", status_code=201, summary="Reserve an amount against today's caps (execution action)", responses=responses(409, 423))
def reserve(db: StorageDep, settings: SettingsDep, body: ReserveInput) -> Reservation:
    """423 while go-live is off or the kill switch is engaged. The engine must be GLOBAL,
    WHOLESALE, DISPO, HOLDINGS or one with a policy (else 422 listing the known engines, so a
    misspelt one is not reserved on GLOBAL's caps alone). Then checks GLOBAL, then the
    engine's own policy (if it has one): disabled, `max_actions_per_day`, `max_daily_exposure`,
    `max_open_risk`, `max_daily_loss`, in that order; a denial is 409 with the cap as
    `detail.code` and `policy`, `used`, `cap`, `amount` (no GLOBAL policy: `no_global_policy`),
    and is recorded in the risk events. Days are local to VALHALLA_TZ."""
    return service.reserve(db, engine=body.engine, amount=body.amount, ref=body.ref, tz=settings.zone)


@router.post("/settle", summary="Settle an open reservation with its realized P&L (a loss counts toward today's loss cap)", responses=responses(409))
def settle(db: StorageDep, settings: SettingsDep, body: SettleInput) -> Reservation:
    """Its amount leaves open risk; a negative `realized_pnl` is booked as today's realized loss
    for GLOBAL and the engine. Settling a closed reservation is 409 `invalid_transition`."""
    return service.settle(db, reservation_id=body.reservation_id, realized_pnl=body.realized_pnl, tz=settings.zone)


@router.post("/release", summary="Release an open reservation without a loss (reason required)", responses=responses(409))
def release(db: StorageDep, body: ReleaseInput) -> Reservation:
    """For an action refused after it reserved: the action and exposure are given back on the day
    it was booked. A closed reservation is 409 `invalid_transition`."""
    return service.release(db, reservation_id=body.reservation_id, reason=body.reason)


@router.get("/snapshot", summary="Today per engine: caps, used and remaining (null = no cap)", responses=responses())
async def snapshot(db: StorageDep, settings: SettingsDep) -> RiskSnapshot:
    return service.snapshot(db, tz=settings.zone)


@router.get("/events", summary="Risk events: reserves, denials, settlements, releases, GLOBAL raises", responses=responses())
async def list_events(
    db: StorageDep, response: Response, page: Page,
    engine: str | None = None, kind: RiskEventKind | None = None, since: QueryInstant | None = None,
) -> list[RiskEvent]:
    found = service.events(db, engine=engine.strip().upper() if engine else None, kind=kind, since=since)
    return paginate(response, found, page)


@router.get("/reservations", summary="List reservations (filter by engine, status)", responses=responses())
async def list_reservations(
    db: StorageDep, response: Response, page: Page, engine: str | None = None, status: ReservationStatus | None = None,
) -> list[Reservation]:
    return paginate(response, service.list_reservations(db, engine=engine.strip().upper() if engine else None, status=status), page)


@router.get("/reservations/{reservation_id}", summary="Get a reservation", responses=responses(404))
async def get_reservation(db: StorageDep, reservation_id: str) -> Reservation:
    return one(service.get_reservation(db, reservation_id))
