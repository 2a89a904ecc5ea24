"""Document vault: metadata for contracts, IDs, invoices, titles and photos, and where each was routed."""

from .router import router

__all__ = ["router"]
