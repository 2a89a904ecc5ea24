"""Operator dashboard: one page at /core/ui that reads the JSON endpoints."""

from .router import router

__all__ = ["router"]
