"""Contract lifecycle: purchase, assignment, JV and retainer contracts from draft to signed to completed."""

from .router import router

__all__ = ["router"]
