"""Property intelligence: properties, neighbourhood ratings, repairs and rent, comps and ARV."""

from .router import router

__all__ = ["router"]
