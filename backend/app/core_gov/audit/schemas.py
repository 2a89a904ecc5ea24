from __future__ import annotations

from enum import Enum

from ..storage import AuditEntry

__all__ = ["AuditAction", "AuditEntry"]


class AuditAction(str, Enum):
    create = "create"
    update = "update"
    delete = "delete"
    transition = "transition"
    action = "action"
