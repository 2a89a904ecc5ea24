"""Reactions to committed facts, wired in one place. Each runs after the commit that announced
its fact is durable, as its own transaction; one that fails is logged and recorded in the audit
trail of the module that announced it, and never undoes that commit.

- A KPI event (``kpi.service.recorded``) runs the regression tripwire for its metric.
- The tripwire starting to fire a KILL_SWITCH policy (``regression.service.kill_switch_tripped``)
  engages go-live's kill switch (idempotent: the first reason stays).
"""

from __future__ import annotations

from .golive import service as golive_service
from .kpi import service as kpi_service
from .regression import service as regression_service
from .storage import Storage


def run_tripwire(db: Storage, metric: str) -> None:
    regression_service.evaluate(db, metric=metric)


def engage_kill_switch(db: Storage, reason: str) -> None:
    golive_service.engage_kill_switch(db, reason=reason)


def wire() -> None:
    """Connect every reaction (idempotent: the app and the demo seeder both call it)."""
    kpi_service.recorded.connect(run_tripwire)
    regression_service.kill_switch_tripped.connect(engage_kill_switch)
