"""Risk: daily caps per engine (loss, exposure, open risk, actions), reserved and settled under one lock."""

from .router import router

__all__ = ["router"]
