"""Consent: CASL consent for email, SMS and DMs, DNCL exemptions for calls, with proof and expiry."""

from .router import router

__all__ = ["router"]
