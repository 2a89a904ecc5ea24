"""Deal pipeline: leads and deals, stage machine, activities, CSV import, finalization."""

from .router import router

__all__ = ["router"]
