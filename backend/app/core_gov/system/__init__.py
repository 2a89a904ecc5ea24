"""System: health, readiness, status and packs, the route map and debug facts."""

from .router import router

__all__ = ["router"]
