"""Partners and joint ventures: partners, their links to deals with profit splits, and dashboards."""

from .router import router

__all__ = ["router"]
