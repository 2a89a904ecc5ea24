"""Contact policy per (province, market), seeded on first use for the 13 provinces with market
ALL: Mon-Fri 09:00-20:00, Sat 10:00-18:00, no Sunday, SMS/CALL/EMAIL, min lead score 0.65.
A market row wins over ALL. Windows stay inside the CRTC telemarketing hours (weekdays
09:00-21:30, weekends 10:00-18:00): an upsert that leaves them is 422, and a wider window in a
hand-edited file is cut to them. `can_contact` judges `at` on the policy's clock and, given the
number dialled, on the clock of every place its area code may ring in (that province's ALL
policy): allowed only when every check allows. Refusals per check, first that applies:
policy_disabled, channel_not_allowed, lead_score_below_minimum (never: no next time),
outside_contact_window (next_allowed_at = the first instant every check allows, searched 8 days ahead)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from ..errors import Conflict, InvalidField
from ..fields import CA_PROVINCES
from ..storage import Storage
from . import store
from .schemas import (
    AREA_CODES, LEGAL_HOURS, LEGAL_HOURS_TEXT, ContactCheck, ContactWindow, MarketPolicy, MarketPolicyUpsert, Place, PlaceCheck,
    seed_row,
)

SEARCH_DAYS = 8
WINDOW = "outside_contact_window"
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_NANP = re.compile(r"^\+1(\d{3})\d{7}$")


def policies(db: Storage) -> list[MarketPolicy]:
    """The policies: the 13 seeded provinces (written with the first upsert) and any city rows."""
    return list(db.list(store.policies))


def _same_market(a: str, b: str) -> bool:
    return a.casefold() == b.casefold()


def effective(db: Storage, *, province: str, market: str = "ALL") -> MarketPolicy:
    if province not in CA_PROVINCES:
        raise InvalidField(("query", "province"), f"unknown province {province!r}; expected one of {' '.join(CA_PROVINCES)}")
    rows = [p for p in policies(db) if p.province == province]
    chosen = next((p for p in rows if _same_market(p.market, market)), None) or next((p for p in rows if p.market == "ALL"), None)
    if chosen is None:
        raise Conflict("no_policy", f"no contact policy for {province} (market {market} or ALL); upsert one", province=province, market=market)
    return chosen


def area_code(number: str | None) -> str | None:
    """The Canadian area code of an E.164 number (``+16045550189`` -> ``604``), else None."""
    match = _NANP.match(number or "")
    return match.group(1) if match and match.group(1) in AREA_CODES else None


def places(number: str | None) -> tuple[Place, ...]:
    """Every (province, zone) the number may ring in; empty when its area code is not Canadian."""
    code = area_code(number)
    return AREA_CODES[code] if code else ()


def outside_legal_hours(window: ContactWindow) -> list[int]:
    """The days (0=Mon) on which the window leaves the CRTC telemarketing hours."""
    return [d for d in window.days if not (LEGAL_HOURS[d][0] <= window.start and window.end <= LEGAL_HOURS[d][1])]


def legal_windows(windows: list[ContactWindow]) -> list[ContactWindow]:
    """The windows cut to the CRTC telemarketing hours (a hand-edited file may hold wider ones)."""
    cut = []
    for w in windows:
        for day in w.days:
            start, end = max(w.start, LEGAL_HOURS[day][0]), min(w.end, LEGAL_HOURS[day][1])
            if start < end:
                cut.append(ContactWindow(days=[day], start=start, end=end))
    return cut


def _require_legal(windows: list[ContactWindow] | None) -> None:
    for i, w in enumerate(windows or []):
        days = outside_legal_hours(w)
        if days:
            raise InvalidField(
                ("body", "contact_windows", i),
                f"{w.start}-{w.end} on {', '.join(DAY_NAMES[d] for d in days)} leaves {LEGAL_HOURS_TEXT}",
                "crtc_telemarketing_hours",
            )


def upsert_policy(db: Storage, data: MarketPolicyUpsert) -> MarketPolicy:
    _require_legal(data.contact_windows)
    sent = data.model_dump(exclude_unset=True, exclude={"province", "market"})
    sent = {k: v for k, v in sent.items() if v is not None}
    with db.transaction("market") as tx:
        existing = next((p for p in tx.list(store.policies) if p.province == data.province and _same_market(p.market, data.market)), None)
        if existing is not None:
            return tx.update(store.policies, existing, sent)
        return tx.add(store.policies, {**seed_row(data.province), "market": data.market, **sent})


def _start_instant(day: date, hhmm: str, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) at which the local wall clock reads `hhmm` or later on `day`.
    An ambiguous time (fall back) is its first occurrence; a time that does not exist (spring
    forward gap) opens when the gap ends, e.g. 02:30 on 2026-03-08 in Toronto is 03:00 EDT."""
    h, m = map(int, hhmm.split(":"))
    wall = datetime.combine(day, time(h, m))
    first = wall.replace(tzinfo=zone, fold=0).astimezone(timezone.utc)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    # In a gap: fold=1 reads the time with the later offset, an instant before the change; fold=0
    # an instant after it. Bisect (to the second) for the first instant whose wall time is >= `wall`.
    lo = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    hi = int(first.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, timezone.utc)


def _inside(local: datetime, window: ContactWindow) -> bool:
    wall = local.strftime("%H:%M:%S")
    return local.weekday() in window.days and window.start + ":00" <= wall < (window.end + ":00")


def next_window_start(windows: list[ContactWindow], zone: ZoneInfo, at: datetime) -> datetime | None:
    """The UTC start of the first window at or after `at`, searching SEARCH_DAYS local days ahead."""
    at = at.astimezone(timezone.utc)  # compare instants, never wall times
    today = at.astimezone(zone).date()
    for offset in range(SEARCH_DAYS + 1):
        day = today + timedelta(days=offset)
        starts = [_start_instant(day, w.start, zone) for w in windows if day.weekday() in w.days]
        later = sorted(s for s in starts if s >= at)
        if later:
            return later[0]
    return None


def _open(windows: list[ContactWindow], zone: ZoneInfo, at: datetime) -> bool:
    local = at.astimezone(zone)
    return any(_inside(local, w) for w in windows)


def _next_allowed(clocks: list[tuple[list[ContactWindow], ZoneInfo]], at: datetime) -> datetime | None:
    """The first instant at or after `at` inside a window on every clock: jump to the latest next
    window start among the clocks that are shut, until none is (None past SEARCH_DAYS)."""
    horizon = at + timedelta(days=SEARCH_DAYS)
    candidate = at
    for _ in range(100):
        starts = [next_window_start(windows, zone, candidate) for windows, zone in clocks if not _open(windows, zone, candidate)]
        if not starts:
            return candidate
        if None in starts or max(starts) > horizon or max(starts) <= candidate:
            return None
        candidate = max(starts)
    return None


def _judge(policy: MarketPolicy, windows: list[ContactWindow], zone: ZoneInfo, channel: str, at: datetime, lead_score: float | None) -> str:
    if not policy.enabled:
        return "policy_disabled"
    if channel not in {c.value for c in policy.channels_allowed}:
        return "channel_not_allowed"
    if lead_score is not None and lead_score < policy.min_lead_score:
        return "lead_score_below_minimum"
    return "ok" if _open(windows, zone, at) else WINDOW


def can_contact(
    db: Storage, *, province: str, channel: str, market: str = "ALL", at: datetime | None = None,
    lead_score: float | None = None, to: str | None = None,
) -> ContactCheck:
    """`to` (E.164) adds a check for each place its Canadian area code may ring in."""
    policy = effective(db, province=province.strip().upper(), market=market)
    channel = channel.strip().upper()
    at = at or db.now()
    plan = [("province", policy, policy.timezone, None)]
    code = area_code(to)
    plan += [("number", effective(db, province=p), zone, code) for p, zone in places(to)]
    checks, clocks = [], []
    for source, rules, zone_name, area in plan:
        zone, windows = ZoneInfo(zone_name), legal_windows(rules.contact_windows)
        reason = _judge(rules, windows, zone, channel, at, lead_score)
        checks.append(PlaceCheck(
            source=source, province=rules.province, market=rules.market, timezone=zone_name, area_code=area,
            allowed=reason == "ok", reason=reason, local_time=at.astimezone(zone),
        ))
        clocks.append((windows, zone))
    refusals = [c for c in checks if not c.allowed]
    local = checks[0].local_time
    if not refusals:
        return ContactCheck(allowed=True, reason="ok", local_time=local, next_allowed_at=None, checks=checks)
    refused = next((c for c in refusals if c.reason != WINDOW), refusals[0])
    next_at = _next_allowed(clocks, at) if refused.reason == WINDOW else None
    return ContactCheck(allowed=False, reason=refused.reason, local_time=local, next_allowed_at=next_at, refused_by=refused, checks=checks)


def describe(check: PlaceCheck) -> str:
    """Which check refused, in words: "the number's area code 604 (BC, 08:30 America/Vancouver)"."""
    where = f"{check.province}, {check.local_time:%a %H:%M} {check.timezone}"
    return f"the number's area code {check.area_code} ({where})" if check.source == "number" else f"{check.province} {check.market} ({where})"
