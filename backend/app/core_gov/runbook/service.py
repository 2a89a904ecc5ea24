"""The pre-go-live runbook: each item is computed now from the owning module's service, never
from a hand-kept flag. Blockers (go-live cannot be enabled while one fails): kill switch clear,
GLOBAL risk policy enabled with max_daily_loss > 0, Heimdall and regression policies present,
no throttled domain, market windows for all 13 provinces, offer policies for every enabled
province, sender identity set, data files valid, data dir writable. Warnings: no backup within
7 days, unsnapshotted changes in the data dir, a DNCL copy (any area code) older than 25 days,
consents lapsing within 30 days or open drafts mark_sent would refuse for consent.
Enabling go-live is the runbook's: it runs the checklist and turns go-live on only when every
blocker is ok (else 412 runbook_blockers listing them, saying what is true of go-live now)."""

from __future__ import annotations

import re
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from ..comms import service as comms_service
from ..comms.schemas import Channel
from ..consent import service as consent_service
from ..consent.schemas import ConsentState
from ..errors import PreconditionFailed, StoreCorrupt
from ..fields import CA_PROVINCES
from ..golive import service as golive_service
from ..golive.schemas import GoLiveState
from ..heimdall import service as heimdall_service
from ..market import service as market_service
from ..offers import service as offers_service
from ..regression import service as regression_service
from ..risk import service as risk_service
from ..storage import Storage
from ..storage.archive import ARCHIVE_GLOB, default_backup_dir
from ..system import service as system_service
from .schemas import ConsentWatch, RefusedDraft, RunbookItem, RunbookStatus, Severity

BACKUP_MAX_AGE = timedelta(days=7)
DNCL_MAX_AGE = timedelta(days=25)
CONSENT_HORIZON = timedelta(days=30)
CONSENT_CODES = frozenset({"no_consent", "consent_expired"})
_ARCHIVE_STAMP = re.compile(r"^valhalla-(\d{8}T\d{12}Z)\.tar\.gz$")

Check = Callable[[Storage], tuple[bool, str]]


def _kill_switch(db: Storage) -> tuple[bool, str]:
    state = golive_service.state(db)
    if state.kill_switch:
        return False, golive_service.engaged_message(state)
    return True, "the kill switch is clear"


def _global_risk(db: Storage) -> tuple[bool, str]:
    policy = risk_service.find_policy(db, "GLOBAL")
    if policy is None:
        return False, "no GLOBAL risk policy: set one at POST /core/risk/policies/upsert"
    if not policy.enabled:
        return False, "the GLOBAL risk policy is disabled"
    if policy.max_daily_loss <= 0:
        return False, "the GLOBAL risk policy has no max_daily_loss (0 = no cap); set it above 0"
    return True, f"GLOBAL risk policy enabled, max_daily_loss {policy.max_daily_loss:g}"


def _heimdall(db: Storage) -> tuple[bool, str]:
    count = len(heimdall_service.policies(db))
    if not count:
        return False, "no Heimdall policy: set one at POST /core/heimdall/policies/upsert"
    return True, f"{count} Heimdall polic{'y' if count == 1 else 'ies'}"


def _regression_policies(db: Storage) -> tuple[bool, str]:
    count = len(regression_service.policies(db))
    if not count:
        return False, "no regression policy: set one at POST /core/regression/policies/upsert"
    return True, f"{count} regression polic{'y' if count == 1 else 'ies'}"


def _not_throttled(db: Storage) -> tuple[bool, str]:
    throttled = regression_service.throttled_domains(db)
    if throttled:
        return False, f"throttled by the regression tripwire: {', '.join(throttled)}; reset at POST /core/regression/reset"
    return True, "no domain is throttled"


def _market(db: Storage) -> tuple[bool, str]:
    windows = {p.province for p in market_service.policies(db) if p.market == "ALL" and p.contact_windows}
    missing = [p for p in CA_PROVINCES if p not in windows]
    if missing:
        return False, f"no province-wide (ALL) market policy with contact windows for: {' '.join(missing)}"
    return True, f"all {len(CA_PROVINCES)} provinces have contact windows"


def _offers(db: Storage) -> tuple[bool, str]:
    enabled = [p.province for p in market_service.policies(db) if p.market == "ALL" and p.enabled]
    covered = {p.province for p in offers_service.policies(db)}
    missing = [p for p in CA_PROVINCES if p in enabled and p not in covered]
    if missing:
        return False, f"no offer policy for enabled province(s): {' '.join(missing)}"
    return True, f"offer policies cover all {len(set(enabled))} enabled provinces"


def _sender(db: Storage) -> tuple[bool, str]:
    if comms_service.sender_identity(db) is None:
        return False, "no sender identity (CASL): set it at PUT /core/comms/identity"
    return True, "sender identity configured"


def _data_files(db: Storage) -> tuple[bool, str]:
    ready = system_service.readiness(db)
    problems = [p for p in ready.problems if not p.endswith("is not writable")]
    if problems:
        return False, "; ".join(problems)
    torn = f" ({len(ready.warnings)} torn log tail(s), trimmed on the next write)" if ready.warnings else ""
    return True, "every data file parses and validates" + torn


def _writable(db: Storage) -> tuple[bool, str]:
    if not system_service.readiness(db).writable:
        return False, f"{db.data_dir} is not writable"
    return True, f"{db.data_dir} is writable"


def _archive_time(path: Path) -> datetime:
    m = _ARCHIVE_STAMP.match(path.name)
    if m:
        return datetime.strptime(m.group(1), "%Y%m%dT%H%M%S%fZ").replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)


def _backup(db: Storage) -> tuple[bool, str]:
    folder = default_backup_dir(db.data_dir)
    archives = sorted(folder.glob(ARCHIVE_GLOB), key=_archive_time) if folder.is_dir() else []
    if not archives:
        return False, f"no backup in {folder}: run `valhalla backup`"
    taken = _archive_time(archives[-1])
    age = db.now() - taken
    detail = f"newest backup {archives[-1].name}, taken {taken:%Y-%m-%d %H:%M}Z ({age.days} day(s) ago)"
    if age > BACKUP_MAX_AGE:
        return False, f"{detail}: older than {BACKUP_MAX_AGE.days} days; run `valhalla backup`"
    return True, detail


def _snapshot(db: Storage) -> tuple[bool, str]:
    if not (db.data_dir / ".git").exists():
        return False, "the data dir was never snapshotted: run `valhalla snapshot`"
    try:
        out = subprocess.run(
            ["git", "-C", str(db.data_dir), "status", "--porcelain"], check=True, text=True, capture_output=True, timeout=10,
        ).stdout
    except FileNotFoundError:
        return False, "git is not installed, so snapshots cannot be checked"
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        return False, f"git status failed in {db.data_dir}: {(getattr(e, 'stderr', None) or str(e)).strip()}"
    changed = [line for line in out.splitlines() if line.strip()]
    if changed:
        return False, f"{len(changed)} path(s) changed since the last snapshot: run `valhalla snapshot`"
    return True, "the data dir matches its last snapshot"


def _dncl(db: Storage) -> tuple[bool, str]:
    copies = comms_service.dncl_copies(db)
    if not copies:
        return False, "no DNCL list was ever imported (calls are refused until the called area code's copy is)"
    ages = {area: db.now() - datetime.combine(c.list_date, datetime.min.time(), timezone.utc) for area, c in copies.items()}
    old = [f"{area} (list of {copies[area].list_date}, {age.days} days ago)" for area, age in ages.items() if age > DNCL_MAX_AGE]
    if old:
        return False, f"DNCL copies over {DNCL_MAX_AGE.days} days old: {', '.join(old)}; re-import them"
    return True, f"{len(copies)} DNCL cop{'y' if len(copies) == 1 else 'ies'} ({', '.join(copies)}), the oldest {max(ages.values()).days} day(s) old"


def consent_watch(db: Storage) -> ConsentWatch:
    """Valid consents lapsing within 30 days, and open drafts mark_sent would refuse now for want
    of a CASL consent or a DNCL exemption (comms' send permission, the same decision)."""
    now = db.now()
    until = now + CONSENT_HORIZON
    refused = []
    for d in comms_service.list_drafts(db):
        if d.status.value not in ("draft", "ready"):
            continue
        why, _ = comms_service.send_refusal(db, Channel(d.channel), d.to, now)
        if why is not None and (why.code in CONSENT_CODES or "exemption" in why.context):
            refused.append(RefusedDraft(draft_id=d.id, channel=d.channel.value, to=d.to, status=d.status.value, code=why.code, message=why.detail["message"]))
    return ConsentWatch(
        as_of=now, expiring_before=until, refused_drafts=refused,
        expiring=list(consent_service.list_consents(db, state=ConsentState.valid, expiring_before=until)),
    )


def _consents(db: Storage) -> tuple[bool, str]:
    watch = consent_watch(db)
    if not (watch.expiring or watch.refused_drafts):
        return True, "no consent lapses within 30 days; no open draft lacks a consent"
    return False, (
        f"{len(watch.expiring)} consent(s) lapse within 30 days, {len(watch.refused_drafts)} open draft(s) would be refused "
        "for consent: GET /core/runbook/consents"
    )


CHECKS: tuple[tuple[str, Severity, Check], ...] = (
    ("kill_switch_clear", Severity.blocker, _kill_switch),
    ("global_risk_policy", Severity.blocker, _global_risk),
    ("heimdall_policies", Severity.blocker, _heimdall),
    ("regression_policies", Severity.blocker, _regression_policies),
    ("no_throttled_domain", Severity.blocker, _not_throttled),
    ("market_policies", Severity.blocker, _market),
    ("offer_policies", Severity.blocker, _offers),
    ("sender_identity", Severity.blocker, _sender),
    ("data_files_valid", Severity.blocker, _data_files),
    ("data_dir_writable", Severity.blocker, _writable),
    ("backup_recent", Severity.warning, _backup),
    ("snapshot_clean", Severity.warning, _snapshot),
    ("dncl_fresh", Severity.warning, _dncl),
    ("consents", Severity.warning, _consents),
)


def _run(db: Storage, check: Check) -> tuple[bool, str]:
    try:
        return check(db)
    except StoreCorrupt as e:  # the runbook is where a broken file should show, not a 503
        return False, f"cannot check: {e}"


def status(db: Storage) -> RunbookStatus:
    items = [RunbookItem(key=key, severity=severity, ok=ok, detail=detail) for key, severity, check in CHECKS for ok, detail in [_run(db, check)]]
    return RunbookStatus(
        items=items,
        ok_to_enable_go_live=all(i.ok for i in items if i.severity is Severity.blocker),
        as_of=db.now(),
    )


def markdown(db: Storage) -> str:
    result = status(db)
    failing = [i for i in result.items if i.severity is Severity.blocker and not i.ok]
    verdict = "**ready**: go-live can be enabled" if result.ok_to_enable_go_live else f"**not ready**: {len(failing)} blocker(s) failing"
    lines = ["# Go-live runbook", "", f"As of {result.as_of:%Y-%m-%d %H:%M:%S}Z: {verdict}.", ""]
    for item in result.items:
        lines.append(f"- [{'x' if item.ok else ' '}] **{item.key}** ({item.severity.value}): {item.detail}")
    return "\n".join(lines) + "\n"


def _enable_refused(current: GoLiveState, blockers: list[dict]) -> PreconditionFailed:
    if not current.enabled:
        head = "go-live stays off"
    elif current.kill_switch:
        head = f"go-live is already on, but every execution action answers 423: {golive_service.engaged_message(current)}"
    else:
        head = "go-live is already on and stays on, but the runbook fails"
    keys = ", ".join(b["key"] for b in blockers)
    return PreconditionFailed("runbook_blockers", f"{head}: {len(blockers)} runbook blocker(s): {keys}", blockers=blockers, enabled=current.enabled)


def enable(db: Storage, *, reason: str | None = None) -> GoLiveState:
    blockers = [item for item in status(db).items if item.severity is Severity.blocker and not item.ok]
    if blockers:
        raise _enable_refused(golive_service.state(db), [b.model_dump(mode="json") for b in blockers])
    with db.transaction("golive"):
        current = golive_service.state(db)
        if current.kill_switch:  # engaged since the runbook ran
            detail = golive_service.engaged_message(current)
            raise _enable_refused(current, [{"key": "kill_switch_clear", "ok": False, "severity": "blocker", "detail": detail}])
        return golive_service.turn_on(db, reason=reason or "runbook clear")
