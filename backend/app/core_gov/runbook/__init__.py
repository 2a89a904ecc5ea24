"""Runbook: the pre-go-live checklist across the control plane, data and comms (blockers and warnings)."""

from .router import router

__all__ = ["router"]
