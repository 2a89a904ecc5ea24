"""Regression tripwire: throttles a domain or engages the kill switch when a KPI rate drops."""

from .router import router

__all__ = ["router"]
