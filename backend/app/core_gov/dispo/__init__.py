"""Dispositions: cash buyers with buy boxes, deal matching, and assignments to buyers."""

from .router import router

__all__ = ["router"]
