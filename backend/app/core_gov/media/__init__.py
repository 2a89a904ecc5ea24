"""Media: channels, content (draft, scheduled, published) and an append-only publish log."""

from .router import router

__all__ = ["router"]
