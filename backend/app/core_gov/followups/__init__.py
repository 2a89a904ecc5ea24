"""Follow-up ladder: six SMS/call steps per lead inside the contact windows, the due batch, outcomes and SLA."""

from .router import router

__all__ = ["router"]
