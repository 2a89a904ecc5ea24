"""Daily risk caps per engine, per local day in the operator's zone (VALHALLA_TZ). 0 = no cap.
An engine is GLOBAL, WHOLESALE, DISPO, HOLDINGS or one with a policy (else 422 listing them).
A reserve is an execution action (the go-live guard first), then, under the risk lock in one
transaction: no GLOBAL policy -> denied no_global_policy; GLOBAL, then the engine's own policy
if it has one, deny when disabled, actions+1 > max_actions_per_day, exposure+amount >
max_daily_exposure, open+amount > max_open_risk, or realized loss >= max_daily_loss. A success
books both GLOBAL and the engine; a denial is committed as an event, then answered 409."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from ...settings import Settings
from ..errors import Conflict, InvalidField
from ..fields import total
from ..golive import service as golive_service
from ..governance import service as governance_service
from ..storage import Storage, Transaction, matches, select
from . import store
from .schemas import (
    CAPS, CapRemaining, CapValues, EngineSnapshot, ReleaseInput, Reservation, ReservationStatus,
    ReserveInput, RiskEvent, RiskEventKind, RiskPolicy, RiskPolicyUpsert, RiskSnapshot, SettleInput,
)

GLOBAL = "GLOBAL"
ENGINES = (GLOBAL, "WHOLESALE", "DISPO", "HOLDINGS")  # known without a policy of their own


def _zone(tz: ZoneInfo | None) -> ZoneInfo:
    # Routers pass settings.zone; a service calling from another module gets the configured zone.
    return tz or Settings.from_env().zone


def _valid(model: type[BaseModel], **fields: Any) -> Any:
    """Validate a service call's arguments like a request body (422 naming the field)."""
    try:
        return model.model_validate(fields)
    except ValidationError as e:
        err = e.errors()[0]
        raise InvalidField(("body", *err["loc"]), err["msg"], err["type"]) from None


def _money(value: float) -> float:
    return round(value, 2)


def _engines(engine: str) -> list[str]:
    return list(dict.fromkeys([GLOBAL, engine]))


# ------------------------------------------------------------------------------------- policies


def policies(db: Storage) -> list[RiskPolicy]:
    return list(db.list(store.policies))


def find_policy(db: Storage, engine: str) -> RiskPolicy | None:
    return next((p for p in db.list(store.policies) if p.engine == engine), None)


def _raised(old: RiskPolicy, new: RiskPolicy) -> dict[str, list[float | bool | None]]:
    """Caps the change loosens: a cap increased, a cap turned into 0 (no cap), or re-enabled."""
    raised: dict[str, list[float | bool | None]] = {}
    for cap in CAPS:
        before, after = getattr(old, cap), getattr(new, cap)
        if before > 0 and (after == 0 or after > before):
            raised[cap] = [before, after]
    if not old.enabled and new.enabled:
        raised["enabled"] = [False, True]
    return raised


def upsert_policy(db: Storage, data: RiskPolicyUpsert) -> RiskPolicy:
    """Create the engine's policy (unsent caps are 0 = no cap) or change only the fields sent.
    A cited decision must be approved; it is recorded on the policy (and is cleared by a change
    that cites none). Loosening GLOBAL is also logged as a policy_raised event."""
    if data.decision_id is not None:
        governance_service.require_approved(db, data.decision_id)
    changes = data.model_dump(exclude_unset=True, exclude={"engine", "decision_id"})
    with db.transaction("risk") as tx:
        old = next((p for p in tx.list(store.policies) if p.engine == data.engine), None)
        if old is None:
            return tx.add(store.policies, data.model_dump())
        if data.decision_id is None and all(getattr(old, k) == v for k, v in changes.items()):
            return old  # nothing to change: keep the decision the last change cited
        new = tx.update(store.policies, old, {**changes, "decision_id": data.decision_id})
        raised = _raised(old, new) if new.engine == GLOBAL else {}
        if raised:
            cited = f"decision {data.decision_id}" if data.decision_id else "no decision cited"
            tx.append(store.events, {
                "kind": RiskEventKind.policy_raised, "engine": GLOBAL, "raised": raised, "decision_id": data.decision_id,
                "message": f"GLOBAL loosened: {', '.join(raised)} ({cited})",
            })
        return new


# ------------------------------------------------------------------------------------- ledger


def _row_id(day: date, engine: str) -> str:
    return f"rl_{day:%Y%m%d}_{engine}"


def _book(tx: Transaction, day: date, engine: str, **delta: float) -> None:
    """Add to the (day, engine) ledger row, creating it on first use."""
    row = tx.find(store.ledger, _row_id(day, engine))
    values = {k: (getattr(row, k) if row else 0) + v for k, v in delta.items()}
    values = {k: int(v) if k == "actions" else _money(v) for k, v in values.items()}
    if row is None:
        tx.add(store.ledger, {"id": _row_id(day, engine), "day": day, "engine": engine, **values})
    else:
        tx.update(store.ledger, row, values)


def _open_risk(reservations: Sequence[Reservation], engine: str) -> float:
    return total(((r.id, r.amount) for r in reservations if r.status is ReservationStatus.open and engine in (GLOBAL, r.engine)), f"{engine} open risk")


def _used(src: Storage | Transaction, day: date, engine: str) -> CapValues:
    """Today's usage of one engine: from the ledger row, open risk from the open reservations."""
    row = src.find(store.ledger, _row_id(day, engine))
    return CapValues(
        max_actions_per_day=row.actions if row else 0,
        max_daily_exposure=row.exposure if row else 0,
        max_open_risk=_open_risk(src.list(store.reservations), engine),
        max_daily_loss=row.realized_loss if row else 0,
    )


# ------------------------------------------------------------------------------------- reserve


@dataclass
class _Denial:
    code: str
    message: str
    policy: str  # GLOBAL or the engine: whose policy refused
    used: float | None = None
    cap: float | None = None


def _check(policy: RiskPolicy, used: CapValues, amount: float) -> _Denial | None:
    name = policy.engine
    if not policy.enabled:
        return _Denial("policy_disabled", f"the {name} risk policy is disabled", name)
    tests = (
        ("max_actions_per_day", used.max_actions_per_day + 1, "actions today + 1"),
        ("max_daily_exposure", _money(used.max_daily_exposure + amount), "exposure today + amount"),
        ("max_open_risk", _money(used.max_open_risk + amount), "open risk + amount"),
    )
    for cap_name, total, what in tests:
        cap = getattr(policy, cap_name)
        if cap > 0 and total > cap:
            return _Denial(cap_name, f"{name} {cap_name}: {what} = {total:g} exceeds the cap {cap:g}", name, getattr(used, cap_name), cap)
    if policy.max_daily_loss > 0 and used.max_daily_loss >= policy.max_daily_loss:
        return _Denial(
            "max_daily_loss", f"{name} realized loss today {used.max_daily_loss:g} has reached max_daily_loss {policy.max_daily_loss:g}",
            name, used.max_daily_loss, policy.max_daily_loss,
        )
    return None


def _first_denial(tx: Transaction, day: date, engine: str, amount: float) -> _Denial | None:
    by_engine = {p.engine: p for p in tx.list(store.policies)}
    if GLOBAL not in by_engine:
        return _Denial("no_global_policy", "there is no GLOBAL risk policy, so every reserve is denied: set one at POST /core/risk/policies/upsert", GLOBAL)
    for name in _engines(engine):
        denial = _check(by_engine[name], _used(tx, day, name), amount) if name in by_engine else None
        if denial is not None:
            return denial
    return None


def _require_known_engine(db: Storage, engine: str) -> None:
    """A misspelt engine would pass on GLOBAL's caps alone: refuse what is neither named nor given a policy."""
    known = sorted({*ENGINES, *(p.engine for p in db.list(store.policies))})
    if engine not in known:
        raise InvalidField(("body", "engine"), f"no risk engine {engine}: the known engines are {', '.join(known)} (an engine is known once it has a policy)")


def reserve(db: Storage, *, engine: str, amount: float, ref: str | None = None, tz: ZoneInfo | None = None) -> Reservation:
    """Book `amount` against GLOBAL and `engine` for today, or refuse (409, the cap as code) and
    record the denial. Call it outside your own transaction: a denial must commit its event."""
    golive_service.require_execution_allowed(db)
    req: ReserveInput = _valid(ReserveInput, engine=engine, amount=amount, ref=ref)
    _require_known_engine(db, req.engine)
    zone = _zone(tz)
    with db.transaction("risk") as tx:
        day = tx.now.astimezone(zone).date()
        denial = _first_denial(tx, day, req.engine, req.amount)
        event = {"engine": req.engine, "day": day, "amount": req.amount, "ref": req.ref}
        if denial is not None:
            tx.append(store.events, {
                **event, "kind": RiskEventKind.denied, "code": denial.code, "message": denial.message,
                "policy": denial.policy, "used": denial.used, "cap": denial.cap,
            })
        else:
            for name in _engines(req.engine):
                _book(tx, day, name, actions=1, exposure=req.amount)
            reservation = tx.add(store.reservations, {"engine": req.engine, "amount": req.amount, "ref": req.ref, "day": day})
            tx.append(store.events, {**event, "kind": RiskEventKind.reserved, "reservation_id": reservation.id})
    if denial is not None:
        raise Conflict(
            denial.code, denial.message,
            engine=req.engine, policy=denial.policy, used=denial.used, cap=denial.cap, amount=req.amount, day=day.isoformat(),
        )
    return reservation


def _open_reservation(tx: Transaction, reservation_id: str, verb: str) -> Reservation:
    res = tx.find(store.reservations, reservation_id)
    if res is None:
        raise InvalidField(("body", "reservation_id"), f"no reservation {reservation_id}")
    if res.status is not ReservationStatus.open:
        raise Conflict(
            "invalid_transition", f"reservation {reservation_id} is already {res.status.value}; only an open reservation can be {verb}",
            current=res.status.value,
        )
    return res


def settle(db: Storage, *, reservation_id: str, realized_pnl: float, tz: ZoneInfo | None = None) -> Reservation:
    """Close an open reservation: its amount leaves open risk; a loss (negative pnl) is booked
    into today's realized loss for GLOBAL and the engine. Not an execution action."""
    req: SettleInput = _valid(SettleInput, reservation_id=reservation_id, realized_pnl=realized_pnl)
    zone = _zone(tz)
    with db.transaction("risk") as tx:
        res = _open_reservation(tx, req.reservation_id, "settled")
        day = tx.now.astimezone(zone).date()
        loss = _money(max(0.0, -req.realized_pnl))
        if loss > 0:
            for name in _engines(res.engine):
                _book(tx, day, name, realized_loss=loss)
        res = tx.update(store.reservations, res, audit="transition", status=ReservationStatus.settled, realized_pnl=req.realized_pnl, closed_at=tx.now)
        tx.append(store.events, {
            "kind": RiskEventKind.settled, "engine": res.engine, "day": day, "amount": res.amount, "ref": res.ref,
            "reservation_id": res.id, "realized_pnl": req.realized_pnl,
        })
        return res


def release(db: Storage, *, reservation_id: str, reason: str) -> Reservation:
    """Free an open reservation without a loss (the action it was for did not happen): its
    action and exposure are given back on the day it was booked."""
    req: ReleaseInput = _valid(ReleaseInput, reservation_id=reservation_id, reason=reason)
    with db.transaction("risk") as tx:
        res = _open_reservation(tx, req.reservation_id, "released")
        for name in _engines(res.engine):
            _book(tx, res.day, name, actions=-1, exposure=-res.amount)
        res = tx.update(store.reservations, res, audit="transition", status=ReservationStatus.released, reason=req.reason, closed_at=tx.now)
        tx.append(store.events, {
            "kind": RiskEventKind.released, "engine": res.engine, "day": res.day, "amount": res.amount, "ref": res.ref,
            "reservation_id": res.id, "message": req.reason,
        })
        return res


# ------------------------------------------------------------------------------------- reads


def get_reservation(db: Storage, reservation_id: str) -> Reservation:
    return db.get(store.reservations, reservation_id)


def list_reservations(db: Storage, *, engine: str | None = None, status: str | None = None) -> Sequence[Reservation]:
    return select(db.list(store.reservations), {"engine": engine, "status": status})


def events(db: Storage, *, engine: str | None = None, kind: str | None = None, since: datetime | None = None) -> list[RiskEvent]:
    return [e for e in db.entries(store.events) if matches(e, {"engine": engine, "kind": kind}) and (since is None or e.at >= since)]


def _remaining(caps: CapValues, used: CapValues) -> CapRemaining:
    return CapRemaining(**{
        cap: (max(0, getattr(caps, cap) - getattr(used, cap)) if cap == "max_actions_per_day" else _money(max(0.0, getattr(caps, cap) - getattr(used, cap))))
        if getattr(caps, cap) > 0 else None
        for cap in CAPS
    })


def snapshot(db: Storage, *, tz: ZoneInfo | None = None) -> RiskSnapshot:
    zone = _zone(tz)
    now = db.now()
    day = now.astimezone(zone).date()
    by_engine = {p.engine: p for p in db.list(store.policies)}
    names = set(by_engine) | {r.engine for r in db.list(store.ledger) if r.day == day}
    names |= {r.engine for r in db.list(store.reservations) if r.status is ReservationStatus.open}
    out = []
    for name in sorted(names, key=lambda n: (n != GLOBAL, n)):
        policy = by_engine.get(name)
        caps = CapValues(**{cap: getattr(policy, cap) for cap in CAPS}) if policy else CapValues()
        used = _used(db, day, name)
        out.append(EngineSnapshot(
            engine=name, has_policy=policy is not None, enabled=policy.enabled if policy else False,
            caps=caps, used=used, remaining=_remaining(caps, used),
        ))
    return RiskSnapshot(day=day, zone=zone.key, as_of=now, engines=out)
