"""Contact policy per (province, market), seeded on first use for the 13 provinces with market
ALL: Mon-Fri 09:00-20:00, Sat 10:00-18:00, no Sunday, SMS/CALL/EMAIL, min lead score 0.65.
A market row wins over ALL. `can_contact` converts `at` to the policy's zone; the windows are
local wall-clock times (start inclusive, end exclusive). Refusals, first that applies:
policy_disabled, channel_not_allowed, lead_score_below_minimum (never allowed: no next time),
outside_contact_window (next_allowed_at = the next window start, searched 8 days ahead)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from ..errors import Conflict, InvalidField
from ..fields import CA_PROVINCES
from ..storage import Storage
from . import store
from .schemas import ContactCheck, ContactWindow, MarketPolicy, MarketPolicyUpsert, seed_row

SEARCH_DAYS = 8


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


def upsert_policy(db: Storage, data: MarketPolicyUpsert) -> MarketPolicy:
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


def next_window_start(policy: MarketPolicy, at: datetime) -> datetime | None:
    """The UTC start of the first window at or after `at`, searching SEARCH_DAYS local days ahead."""
    zone = ZoneInfo(policy.timezone)
    at = at.astimezone(timezone.utc)  # compare instants, never wall times
    today = at.astimezone(zone).date()
    for offset in range(SEARCH_DAYS + 1):
        day = today + timedelta(days=offset)
        starts = [_start_instant(day, w.start, zone) for w in policy.contact_windows if day.weekday() in w.days]
        later = sorted(s for s in starts if s >= at)
        if later:
            return later[0]
    return None


def can_contact(
    db: Storage, *, province: str, channel: str, market: str = "ALL", at: datetime | None = None,
    lead_score: float | None = None,
) -> ContactCheck:
    policy = effective(db, province=province.strip().upper(), market=market)
    channel = channel.strip().upper()
    at = at or db.now()
    local = at.astimezone(ZoneInfo(policy.timezone))
    if not policy.enabled:
        return ContactCheck(allowed=False, reason="policy_disabled", local_time=local, next_allowed_at=None)
    if channel not in {c.value for c in policy.channels_allowed}:
        return ContactCheck(allowed=False, reason="channel_not_allowed", local_time=local, next_allowed_at=None)
    if lead_score is not None and lead_score < policy.min_lead_score:
        return ContactCheck(allowed=False, reason="lead_score_below_minimum", local_time=local, next_allowed_at=None)
    if not any(_inside(local, w) for w in policy.contact_windows):
        return ContactCheck(allowed=False, reason="outside_contact_window", local_time=local, next_allowed_at=next_window_start(policy, at))
    return ContactCheck(allowed=True, reason="ok", local_time=local, next_allowed_at=None)
