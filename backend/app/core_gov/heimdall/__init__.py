"""Heimdall: AI confidence gates per domain, sandbox trials, promotion to production."""

from .router import router

__all__ = ["router"]
