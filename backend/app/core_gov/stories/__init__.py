"""Stories: story templates with {placeholders}, rendering, and numbered episodes."""

from .router import router

__all__ = ["router"]
