"""Closing: a deal's closing checklist and its finalization, with its assignment."""

from .router import router
