from __future__ import annotations

from enum import Enum

from pydantic import BaseModel

from ..storage import AuditEntry, UtcDatetime

__all__ = ["AuditAction", "AuditEntry", "Finding", "ScanResult", "Severity"]


class AuditAction(str, Enum):
    create = "create"
    update = "update"
    delete = "delete"
    transition = "transition"
    action = "action"


class Severity(str, Enum):
    high = "high"
    medium = "medium"
    low = "low"


class Finding(BaseModel):
    severity: Severity
    code: str
    module: str
    record_id: str
    message: str


class ScanResult(BaseModel):
    scanned_at: UtcDatetime
    counts: dict[str, int]  # findings per severity
    findings: list[Finding]
