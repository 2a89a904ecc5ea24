"""Buyer liquidity: buyer feedback scored per province, market and property type."""

from .router import router

__all__ = ["router"]
