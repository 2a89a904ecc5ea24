from __future__ import annotations

from enum import Enum

from pydantic import BaseModel

from ..storage import UtcDatetime


class Severity(str, Enum):
    blocker = "blocker"  # go-live cannot be enabled while it fails
    warning = "warning"  # shown, never blocks


class RunbookItem(BaseModel):
    key: str
    ok: bool
    severity: Severity
    detail: str


class RunbookStatus(BaseModel):
    items: list[RunbookItem]
    ok_to_enable_go_live: bool
    as_of: UtcDatetime
