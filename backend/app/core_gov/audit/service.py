"""Reading the audit trail: every module's ``audit.jsonl`` merged by time (newest first unless
asked otherwise, so the first page is today's changes), and the internal
auditor (``scan``): read-only checks across modules, each finding naming its record.

The entries themselves are written by the store core inside the commit of the change they
describe, so there is no write path here.
"""

from __future__ import annotations

import heapq
import itertools
from datetime import datetime
from typing import Any, Iterator, Sequence

from ..comms import service as comms_service
from ..contracts import service as contracts_service
from ..deals import service as deals_service
from ..deals.schemas import Stage
from ..offers import service as offers_service
from ..pros import service as pros_service
from ..storage import AuditEntry, Log, Storage, matches
from . import store
from .schemas import Finding, ScanResult, Severity


def entries(
    db: Storage,
    *,
    module: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    newest_first: bool = True,
) -> Sequence[AuditEntry]:
    modules = sorted({d.module for d in db.declared()})
    if module is not None:
        modules = [m for m in modules if m == module]
    logs = [store.trail(m) for m in modules]
    if newest_first and entity_id is None and action is None and since is None and until is None:
        return _Latest(db, logs)  # the first page reads a page from the end of each log
    out = []
    for e in heapq.merge(*(db.newest_first(log) for log in logs), key=lambda e: e.at, reverse=True):
        if since is not None and e.at < since:
            continue
        if until is not None and e.at >= until:
            continue
        if matches(e, {"entity_id": entity_id, "action": action}):
            out.append(e)
    return out if newest_first else out[::-1]


class _Latest(Sequence[AuditEntry]):
    """The whole trail newest first, read from the end of each log only as far as a page needs;
    its length is the logs' line counts."""

    def __init__(self, db: Storage, logs: list[Log[AuditEntry]]):
        self.db, self.logs = db, logs

    def __len__(self) -> int:
        return sum(self.db.count(log) for log in self.logs)

    def __getitem__(self, i: int | slice) -> Any:
        if not isinstance(i, slice) or (i.step or 1) != 1 or (i.start or 0) < 0 or (i.stop is not None and i.stop < 0):
            return list(self)[i]
        merged = heapq.merge(*(self.db.newest_first(log) for log in self.logs), key=lambda e: e.at, reverse=True)
        return list(itertools.islice(merged, i.start or 0, i.stop))

    def __iter__(self) -> Iterator[AuditEntry]:
        return heapq.merge(*(self.db.newest_first(log) for log in self.logs), key=lambda e: e.at, reverse=True)


# ============================================================================ the internal auditor

SEVERITY_ORDER = {Severity.high: 0, Severity.medium: 1, Severity.low: 2}
CAP_TOLERANCE = 0.005  # money is rounded to the cent


def scan(db: Storage) -> ScanResult:
    """Read-only checks across modules, through their services; a clean data set has no findings.

    - comms `sent_outside_window` (medium): a send-log entry whose contact-window refusal was
      overridden (comms records `override_reason` only when the policy refused the send).
    - offers `offer_above_policy` (high): evidence whose recommended offer exceeds its cap:
      max_offer_pct_of_arv × arv (the stricter of the policy recorded in the evidence and the
      province/market policy now in force) and the asking price when one was given.
    - deals `deal_offer_above_policy` (high): a deal's offer_amount above max_offer_pct_of_arv ×
      ARV of the policy now in force (ARV of its latest issued evidence, else arv_estimate).
    - deals `deal_closed_without_contract` (high): a closed deal without a signed (signed, active
      or completed) purchase contract or without a signed assignment contract.
    - pros `retainer_over_hours` (medium): a retainer with overage_hours > 0.
    - pros `task_overdue` (low): a task neither done nor canceled whose due_at has passed.
    """
    now = db.now()
    found = [*_overrides(db), *_offers(db), *_closed_deals(db), *_retainers(db), *_overdue(db, now)]
    found.sort(key=lambda f: (SEVERITY_ORDER[f.severity], f.module, f.code, f.record_id))
    counts = {s.value: sum(1 for f in found if f.severity == s) for s in Severity}
    return ScanResult(scanned_at=now, counts=counts, findings=found)


def _overrides(db: Storage) -> list[Finding]:
    return [
        Finding(
            severity=Severity.medium, code="sent_outside_window", module="comms", record_id=e.id,
            message=f"{_v(e.channel)} to {e.to} ({e.province}) sent at local time {e.local_time} although the contact policy refused it; override: {e.override_reason}",
        )
        for e in comms_service.list_sendlog(db) if e.override_reason
    ]


def _policy_for(policies: list[Any], province: str, market: str | None) -> Any | None:
    def pick(m: str) -> Any | None:
        return next((p for p in policies if p.province == province and p.market.casefold() == m.casefold()), None)
    return (pick(market) if market else None) or pick("ALL")


def _offers(db: Storage) -> list[Finding]:
    evidence = offers_service.list_evidence(db)
    offered = [d for d in deals_service.list_deals(db) if d.offer_amount is not None]
    if not evidence and not offered:
        return []  # reading the policies would seed them: a scan writes nothing
    policies = list(offers_service.policies(db))
    out = []
    for ev in evidence:
        current = _policy_for(policies, ev.province, ev.market)
        pct = min(ev.policy.max_offer_pct_of_arv, current.max_offer_pct_of_arv if current else ev.policy.max_offer_pct_of_arv)
        caps = {f"{pct:g} x ARV {ev.arv:g}": pct * ev.arv}
        if ev.asking_price is not None:
            caps["the asking price"] = ev.asking_price
        name, cap = min(caps.items(), key=lambda kv: kv[1])
        if ev.recommended_offer > cap + CAP_TOLERANCE:
            out.append(Finding(
                severity=Severity.high, code="offer_above_policy", module="offers", record_id=ev.id,
                message=f"recommended offer {ev.recommended_offer:,.2f} is above the cap {cap:,.2f} ({name})"
                + (" and was issued" if ev.issued_at else ""),
            ))
    issued = {ev.deal_id: ev for ev in evidence if ev.deal_id and ev.issued_at}  # the latest per deal
    for deal in offered:
        policy = _policy_for(policies, deal.province, deal.city)
        basis = issued.get(deal.id)
        arv = basis.arv if basis else deal.arv_estimate
        if policy is None or arv is None:
            continue
        cap = policy.max_offer_pct_of_arv * arv
        if deal.offer_amount > cap + CAP_TOLERANCE:
            out.append(Finding(
                severity=Severity.high, code="deal_offer_above_policy", module="deals", record_id=deal.id,
                message=f"offer {deal.offer_amount:,.2f} is above the {deal.province} policy cap {cap:,.2f} "
                f"({policy.max_offer_pct_of_arv:g} x ARV {arv:g})",
            ))
    return out


def _closed_deals(db: Storage) -> list[Finding]:
    out = []
    for deal in deals_service.list_deals(db, stage=Stage.closed):
        signed = {_v(c.kind) for c in contracts_service.list_contracts(db, deal_id=deal.id) if c.status in contracts_service.SIGNED}
        missing = [k for k in ("purchase", "assignment") if k not in signed]
        if missing:
            out.append(Finding(
                severity=Severity.high, code="deal_closed_without_contract", module="deals", record_id=deal.id,
                message=f"deal at {deal.address} is closed without a signed {' or '.join(missing)} contract",
            ))
    return out


def _retainers(db: Storage) -> list[Finding]:
    return [
        Finding(
            severity=Severity.medium, code="retainer_over_hours", module="pros", record_id=r.id,
            message=f"{r.hours_used:g} h used of {r.hours_included:g} h included: {r.overage_hours:g} h over",
        )
        for r in pros_service.list_retainers(db) if r.overage_hours > 0
    ]


def _overdue(db: Storage, now: datetime) -> list[Finding]:
    return [
        Finding(
            severity=Severity.low, code="task_overdue", module="pros", record_id=t.id,
            message=f"task '{t.title}' ({_v(t.status)}) for {t.pro_id} was due {t.due_at:%Y-%m-%dT%H:%M:%SZ}",
        )
        for t in pros_service.overdue_tasks(db, as_of=now) if t.due_at is not None
    ]


def _v(value: Any) -> str:
    return str(getattr(value, "value", value))
