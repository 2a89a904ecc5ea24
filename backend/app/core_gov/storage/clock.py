"""The one clock. Everything that needs "now" asks the Storage's clock, so tests can freeze it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FrozenClock:
    """A clock that only moves when told to. Used by tests and by the benchmark's fixtures."""

    def __init__(self, at: datetime | str = "2026-01-05T15:00:00Z"):
        self.set(at)

    def set(self, at: datetime | str) -> None:
        if isinstance(at, str):
            at = datetime.fromisoformat(at.replace("Z", "+00:00"))
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = at.astimezone(timezone.utc)

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def now(self) -> datetime:
        return self._now


Clock = SystemClock | FrozenClock
