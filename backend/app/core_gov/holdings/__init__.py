"""Global holdings: properties, notes, interests and other assets, totalled per currency."""

from .router import router

__all__ = ["router"]
