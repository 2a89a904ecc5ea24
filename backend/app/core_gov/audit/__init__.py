"""Audit trail: every create, update, delete and state change, merged across modules."""

from .router import router

__all__ = ["router"]
