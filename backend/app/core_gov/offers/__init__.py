"""Offer strategy: bounded offers per province policy, evidence and issuing."""

from .router import router

__all__ = ["router"]
