"""Replies: inbound messages, follow-up outcomes and the one opt-out rule."""

from .router import router
