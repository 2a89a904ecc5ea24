"""Go-live: the prime law. Execution is off until the runbook is clear, and the kill switch stops it."""

from .router import router

__all__ = ["router"]
