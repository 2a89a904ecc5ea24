"""Market contact policy: per-province local contact windows, channels and lead-score floor."""

from .router import router

__all__ = ["router"]
