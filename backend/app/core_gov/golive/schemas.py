from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

from ..http import NonBlank
from ..storage import Input, UtcDatetime

DecisionRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class GoLiveState(BaseModel):
    """``golive/state.json``. A missing file is a fresh install: disabled, kill switch clear.

    `reason`, `changed_by`, `changed_at` and `decision_id` describe the last change of either
    flag; `go_live_*` the last change of go-live and `kill_switch_*` the last change of the kill
    switch, so a later go-live toggle never hides why the switch was engaged. A file written
    before the per-flag fields reads with them empty, except that an engaged switch takes the
    last change's reason, who and when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    kill_switch: bool = False
    reason: str | None = None  # why the last change was made
    changed_by: str | None = None
    changed_at: UtcDatetime | None = None
    decision_id: str | None = None  # the governance decision cited by the last change, if any
    go_live_reason: str | None = None  # why go-live was last turned on or off
    go_live_changed_by: str | None = None
    go_live_changed_at: UtcDatetime | None = None
    kill_switch_reason: str | None = None  # why the kill switch was last engaged or released
    kill_switch_changed_by: str | None = None
    kill_switch_changed_at: UtcDatetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _before_per_flag_fields(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("kill_switch") and "kill_switch_reason" not in data:
            return {**data, "kill_switch_reason": data.get("reason"), "kill_switch_changed_by": data.get("changed_by"),
                    "kill_switch_changed_at": data.get("changed_at")}
        return data


class OptionalReason(Input):
    reason: NonBlank | None = None

    model_config = {"json_schema_extra": {"examples": [{"reason": "runbook clear; first week in ON only"}]}}


class KillSwitchRelease(Input):
    reason: NonBlank
    decision_id: DecisionRef | None = None

    model_config = {"json_schema_extra": {"examples": [{"reason": "complaint handled; windows re-checked", "decision_id": "gd_01jc9abcde0123456789"}]}}
