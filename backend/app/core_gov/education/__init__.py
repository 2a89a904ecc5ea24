"""Education: courses, ordered lessons, learner enrollments and progress."""

from .router import router

__all__ = ["router"]
