"""The tripwire. A policy per metric compares its rate over the newest `window_events` events
(of its domain, when it names one) with the `baseline_events` before them; rate = success
fraction when the events carry `success`, else mean value. It is enforced only when both hold at
least `min_events`, and fires when (baseline - recent) / baseline >= max_drop. Its action runs
when it starts firing (not on every event while it keeps firing): THROTTLE marks the domain
throttled until `reset`; KILL_SWITCH sends `kill_switch_tripped`, whose reaction engages go-live's
kill switch after the commit (core_gov/reactions.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from ..errors import Conflict, InvalidField
from ..kpi import service as kpi_service
from ..kpi.schemas import KpiEvent
from ..signals import Signal
from ..storage import Storage
from . import store
from .schemas import Action, Evaluation, RegressionPolicy, RegressionPolicyUpsert, RegressionState, ResetNote, Throttle

kill_switch_tripped = Signal("regression.kill_switch_tripped")  # (reason): a KILL_SWITCH policy started firing


def policies(db: Storage) -> list[RegressionPolicy]:
    return list(db.list(store.policies))


def state(db: Storage) -> RegressionState:
    return db.read(store.state)


def is_throttled(db: Storage, domain: str) -> bool:
    return domain in db.read(store.state).throttled


def throttled_domains(db: Storage) -> list[str]:
    return sorted(db.read(store.state).throttled)


def require_not_throttled(db: Storage, domain: str) -> None:
    throttle = db.read(store.state).throttled.get(domain)
    if throttle is not None:
        raise Conflict(
            "throttled",
            f"domain {domain} is throttled by the regression tripwire ({throttle.reason}); "
            "POST /core/regression/reset with a reason to lift it",
            domain=domain, metric=throttle.metric, since=throttle.since.isoformat(),
        )


def upsert_policy(db: Storage, data: RegressionPolicyUpsert) -> RegressionPolicy:
    if data.action is Action.THROTTLE and data.domain is None:
        raise InvalidField(("body", "domain"), "a THROTTLE policy names the domain to throttle")
    if data.min_events > min(data.window_events, data.baseline_events):
        raise InvalidField(("body", "min_events"), "must not exceed window_events or baseline_events, or the policy is never enforced")
    with db.transaction("regression") as tx:
        existing = next((p for p in tx.list(store.policies) if p.metric == data.metric), None)
        if existing is None:
            return tx.add(store.policies, data)
        return tx.update(store.policies, existing, data.model_dump())


def reset(db: Storage, *, domain: str, reason: str) -> RegressionState:
    """Lift a throttle. A domain that no policy names and that is not throttled is 422."""
    with db.transaction("regression") as tx:
        current = tx.read(store.state)
        if domain not in current.throttled:
            if not any(p.domain == domain for p in tx.list(store.policies)):
                raise InvalidField(("body", "domain"), f"no regression policy names domain {domain!r} and it is not throttled")
            return current
        throttled = {d: t for d, t in current.throttled.items() if d != domain}
        notes = {**current.last_reset, domain: ResetNote(at=tx.now, reason=reason)}
        return tx.write(store.state, current.model_copy(update={"throttled": throttled, "last_reset": notes}), audit="transition")


def evaluate(db: Storage, *, metric: str | None = None) -> list[Evaluation]:
    """Evaluate the policies of one metric (or all), store each verdict, act on the ones that start firing."""
    wanted = [p for p in db.list(store.policies) if metric is None or p.metric == metric]
    if not wanted:
        return []
    with db.transaction("regression") as tx:
        current = tx.read(store.state)
        evaluations = dict(current.evaluations)
        throttled = dict(current.throttled)
        results: list[Evaluation] = []
        engage: list[Evaluation] = []
        for policy in (p for p in tx.list(store.policies) if metric is None or p.metric == metric):
            # Only the newest window + baseline events, from kpi's incremental per-metric index.
            found = kpi_service.latest(db, metric=policy.metric, domain=policy.domain, limit=policy.window_events + policy.baseline_events)
            verdict = _judge(policy, found, tx.now)
            previous = evaluations.get(policy.metric)
            starts_firing = verdict.fired and not (previous is not None and previous.fired)
            if starts_firing and policy.action is Action.THROTTLE and policy.domain is not None and policy.domain not in throttled:
                throttled[policy.domain] = Throttle(domain=policy.domain, metric=policy.metric, since=tx.now, reason=verdict.detail)
            if starts_firing and policy.action is Action.KILL_SWITCH:
                engage.append(verdict)
            evaluations[policy.metric] = verdict
            results.append(verdict)
        changed_throttles = throttled != current.throttled
        tx.write(
            store.state, current.model_copy(update={"evaluations": evaluations, "throttled": throttled}),
            audit="transition" if changed_throttles else "update",
        )
        if engage:
            kill_switch_tripped.send(tx, "; ".join(f"regression tripwire: {v.detail}" for v in engage))
    return results


def _rate(events: Sequence[KpiEvent], kind: str) -> float | None:
    if kind == "success_rate":
        flagged = [e.success for e in events if e.success is not None]
        return sum(flagged) / len(flagged) if flagged else None
    return sum(e.value for e in events) / len(events) if events else None


def _judge(policy: RegressionPolicy, found: Sequence[KpiEvent], now: datetime) -> Evaluation:
    recent = found[-policy.window_events:]
    baseline = found[: len(found) - len(recent)][-policy.baseline_events:]
    kind = "success_rate" if any(e.success is not None for e in (*baseline, *recent)) else "mean_value"
    recent_rate, baseline_rate = _rate(recent, kind), _rate(baseline, kind)
    drop = None
    if recent_rate is not None and baseline_rate is not None and baseline_rate > 0:
        drop = round((baseline_rate - recent_rate) / baseline_rate, 6)
    scope = policy.metric + (f" in {policy.domain}" if policy.domain else "")
    enforced = False
    if not policy.enabled:
        detail = "not enforced: the policy is disabled"
    elif len(recent) < policy.min_events or len(baseline) < policy.min_events:
        detail = (
            f"not enforced: too few events of {scope}: {len(recent)} recent and {len(baseline)} baseline, "
            f"each needs at least {policy.min_events}"
        )
    elif recent_rate is None or baseline_rate is None:
        detail = "not enforced: one window's events carry no success flag while the other's do"
    elif drop is None:
        detail = f"not enforced: the baseline rate is {baseline_rate:g}, so a drop cannot be measured"
    else:
        enforced = True
        detail = (
            f"{scope} fell from {baseline_rate:.3f} to {recent_rate:.3f} (drop {drop:.1%} >= {policy.max_drop:.0%})"
            if drop >= policy.max_drop else f"holding: {scope} drop {drop:.1%} is under {policy.max_drop:.0%}"
        )
    return Evaluation(
        metric=policy.metric, domain=policy.domain, action=policy.action, evaluated_at=now, rate_kind=kind,
        recent_events=len(recent), baseline_events=len(baseline), recent_rate=recent_rate, baseline_rate=baseline_rate,
        drop=drop, max_drop=policy.max_drop, enforced=enforced, fired=enforced and drop is not None and drop >= policy.max_drop,
        detail=detail,
    )
