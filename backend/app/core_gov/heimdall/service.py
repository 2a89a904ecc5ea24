"""Heimdall gates AI recommendations per domain. Sandbox trials count over a ROLLING window of
the policy's window_days ending now. A recommendation is stored with the first failing gate, in
order: prod_disabled, confidence_below_threshold, insufficient_sandbox_trials,
success_rate_below_threshold, else gate_pass (thresholds inclusive). Promote needs the window's
trials and success rate to pass (409 naming the failing gate); prod_enabled changes only there
and in demote. A domain without a policy is 409 `no_policy` on recommend/promote, 422 on trials."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, tzinfo
from typing import Sequence

from ..errors import Conflict, InvalidField
from ..storage import Storage
from . import store
from .schemas import DayScore, HeimdallPolicy, HeimdallPolicyUpsert, Recommendation, RecommendCreate, Scorecard, Trial, TrialCreate


def policies(db: Storage) -> list[HeimdallPolicy]:
    return list(db.list(store.policies))


def find_policy(db: Storage, domain: str) -> HeimdallPolicy | None:
    return next((p for p in db.list(store.policies) if p.domain == domain), None)


def _require_policy(db: Storage, domain: str) -> HeimdallPolicy:
    policy = find_policy(db, domain)
    if policy is None:
        raise Conflict("no_policy", f"no Heimdall policy for domain {domain}; POST /core/heimdall/policies/upsert first", domain=domain)
    return policy


def upsert_policy(db: Storage, data: HeimdallPolicyUpsert) -> HeimdallPolicy:
    fields = data.model_dump(exclude={"prod_enabled"})
    with db.transaction("heimdall") as tx:
        existing = next((p for p in tx.list(store.policies) if p.domain == data.domain), None)
        if existing is None:
            return tx.add(store.policies, {**fields, "prod_enabled": False})
        return tx.update(store.policies, existing, fields)


def add_trial(db: Storage, data: TrialCreate) -> Trial:
    if find_policy(db, data.domain) is None:
        raise InvalidField(("body", "domain"), f"no Heimdall policy for domain {data.domain!r}; upsert one first")
    with db.transaction("heimdall") as tx:
        return tx.append(store.trials, data)


def list_trials(db: Storage, *, domain: str | None = None) -> list[Trial]:
    return [t for t in db.entries(store.trials) if domain is None or t.domain == domain]


def _window(db: Storage, policy: HeimdallPolicy, now: datetime) -> list[Trial]:
    start = now - timedelta(days=policy.window_days)
    return [t for t in db.entries(store.trials) if t.domain == policy.domain and start < t.at <= now]


def _rate(trials: Sequence[Trial]) -> float | None:
    return sum(t.success for t in trials) / len(trials) if trials else None


def _failing_trial_gate(policy: HeimdallPolicy, trials: Sequence[Trial]) -> str | None:
    if len(trials) < policy.min_sandbox_trials:
        return "insufficient_sandbox_trials"
    rate = _rate(trials)
    if (rate if rate is not None else 0.0) < policy.min_success_rate:
        return "success_rate_below_threshold"
    return None


def recommend(db: Storage, data: RecommendCreate) -> Recommendation:
    with db.transaction("heimdall") as tx:
        policy = _require_policy(db, data.domain)
        trials = _window(db, policy, tx.now)
        gate = (
            "prod_disabled" if not policy.prod_enabled
            else "confidence_below_threshold" if data.confidence < policy.min_confidence
            else _failing_trial_gate(policy, trials) or "gate_pass"
        )
        return tx.add(store.recommendations, {
            **data.model_dump(), "prod_eligible": gate == "gate_pass", "gate_reason": gate,
            "window_trials": len(trials), "window_success_rate": _rate(trials),
        })


def list_recommendations(db: Storage, *, domain: str | None = None, gate_reason: str | None = None, prod_eligible: bool | None = None) -> list[Recommendation]:
    return [
        r for r in db.list(store.recommendations)
        if (domain is None or r.domain == domain) and (gate_reason is None or r.gate_reason == gate_reason)
        and (prod_eligible is None or r.prod_eligible == prod_eligible)
    ]


def promote(db: Storage, *, domain: str) -> HeimdallPolicy:
    with db.transaction("heimdall") as tx:
        policy = _require_policy(db, domain)  # inside the transaction: reads its staged state
        trials = _window(db, policy, tx.now)
        gate = _failing_trial_gate(policy, trials)
        if gate is not None:
            raise Conflict(
                gate, f"{domain} cannot go to production: {len(trials)} trials in the last {policy.window_days} days "
                f"(needs {policy.min_sandbox_trials}), success rate {_rate(trials)} (needs {policy.min_success_rate})",
                domain=domain, trials=len(trials), success_rate=_rate(trials),
                min_sandbox_trials=policy.min_sandbox_trials, min_success_rate=policy.min_success_rate,
            )
        return tx.update(store.policies, policy, {"prod_enabled": True}, audit="transition")


def demote(db: Storage, *, domain: str) -> HeimdallPolicy:
    with db.transaction("heimdall") as tx:
        policy = _require_policy(db, domain)  # inside the transaction: reads its staged state
        return tx.update(store.policies, policy, {"prod_enabled": False}, audit="transition")


def scorecard(db: Storage, zone: tzinfo, *, domain: str | None = None) -> list[Scorecard]:
    """One card per domain with a policy or with trials; each over its own rolling window."""
    now = db.now()
    known = {p.domain: p for p in db.list(store.policies)}
    by_domain: dict[str, list[Trial]] = defaultdict(list)
    for t in db.entries(store.trials):
        by_domain[t.domain].append(t)
    names = sorted({*known, *by_domain} if domain is None else {domain})
    cards = []
    for name in names:
        policy = known.get(name)
        days = policy.window_days if policy else 30
        start = now - timedelta(days=days)
        inside = [t for t in by_domain.get(name, ()) if start < t.at <= now]
        daily: dict = defaultdict(list)
        for t in inside:
            daily[t.at.astimezone(zone).date()].append(t)
        cards.append(Scorecard(
            domain=name, window_days=days, window_start=start, window_end=now, trials=len(inside),
            successes=sum(t.success for t in inside), success_rate=_rate(inside),
            mean_confidence=sum(t.confidence for t in inside) / len(inside) if inside else None,
            prod_enabled=bool(policy and policy.prod_enabled), has_policy=policy is not None,
            daily=[
                DayScore(day=d, trials=len(ts), successes=sum(t.success for t in ts), success_rate=_rate(ts) or 0.0,
                         mean_confidence=sum(t.confidence for t in ts) / len(ts))
                for d, ts in sorted(daily.items())
            ],
        ))
    return cards
