"""Communications hub: drafts, send log, do-not-contact list, National DNCL, CASL sender identity, inbound replies."""

from .router import router

__all__ = ["router"]
