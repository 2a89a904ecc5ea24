"""KPI events: an append-only log of business metrics, summarised per local day."""

from .router import router

__all__ = ["router"]
