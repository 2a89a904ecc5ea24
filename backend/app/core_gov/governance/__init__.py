"""Governance: decisions proposed, approved or rejected, cited by kill-switch releases and risk-cap raises."""

from .router import router

__all__ = ["router"]
