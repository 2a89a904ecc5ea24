from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from ..http import NonBlank
from ..storage import Input, UtcDatetime

DecisionRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class GoLiveState(BaseModel):
    """``golive/state.json``. A missing file is a fresh install: disabled, kill switch clear."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    kill_switch: bool = False
    reason: str | None = None  # why the last change was made
    changed_by: str | None = None
    changed_at: UtcDatetime | None = None
    decision_id: str | None = None  # the governance decision cited by the last change, if any


class OptionalReason(Input):
    reason: NonBlank | None = None

    model_config = {"json_schema_extra": {"examples": [{"reason": "runbook clear; first week in ON only"}]}}


class KillSwitchRelease(Input):
    reason: NonBlank
    decision_id: DecisionRef | None = None

    model_config = {"json_schema_extra": {"examples": [{"reason": "complaint handled; windows re-checked", "decision_id": "gd_01jc9abcde0123456789"}]}}
