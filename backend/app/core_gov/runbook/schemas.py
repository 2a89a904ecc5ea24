from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Field

from ..consent.schemas import ConsentView

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


class RefusedDraft(BaseModel):
    draft_id: str
    channel: str
    to: str | None
    status: str
    code: str = Field(description="no_consent, consent_expired, or suppressed (list dncl: no valid DNCL exemption)")
    message: str


class ConsentWatch(BaseModel):
    """What consent will refuse soon, or refuses already."""

    as_of: UtcDatetime
    expiring_before: UtcDatetime
    expiring: list[ConsentView] = Field(description="Valid consents whose CASL consent or DNCL exemption lapses within 30 days")
    refused_drafts: list[RefusedDraft] = Field(description="Open (draft/ready) drafts mark_sent would refuse now for want of a consent or exemption")
