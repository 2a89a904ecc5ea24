"""Professional services: vetted lawyers, inspectors and other pros, their signals, scorecards, retainers, handoffs and tasks."""

from .router import router

__all__ = ["router"]
