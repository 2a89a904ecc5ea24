"""Communications, in topic files behind this service: the CASL sender identity (identity.py), the
internal do-not-contact list and its retention (suppressions.py), the National DNCL (dncl.py),
drafts and the send log (drafts.py), and here the inbound log. Contacts are normalised (phone
E.164, email lower-case) before every comparison. What an inbound reply does (opt-out, ladder
responded) is the replies process's rule; this module stores the message and its outcome."""

from __future__ import annotations

from datetime import datetime

from ..storage import Storage
from . import store
from .dncl import DnclReader, dncl_copies, dncl_status, import_dncl, list_dncl_imports
from .drafts import create_draft, get_draft, list_drafts, list_sendlog, mark_sent, update_draft
from .identity import delete_identity, get_identity, sender_identity, set_identity
from .permission import send_refusal
from .schemas import InboundMessage
from .suppressions import (
    add_suppression, check, contact_value, create_suppression, delete_suppression, find_suppression, get_suppression,
    is_suppressed, list_suppressions, suppress, suppressed_values,
)

__all__ = [
    "DnclReader", "add_suppression", "check", "create_draft", "create_suppression", "delete_identity", "delete_suppression",
    "dncl_copies", "dncl_status", "find_suppression", "get_draft", "get_identity", "get_suppression", "import_dncl",
    "is_suppressed", "list_dncl_imports", "list_drafts", "list_inbound", "list_sendlog", "list_suppressions", "log_inbound",
    "mark_sent", "send_refusal", "sender_identity", "set_identity", "suppress", "suppressed_values", "update_draft",
]


def log_inbound(db: Storage, record: dict) -> InboundMessage:
    """Store an inbound message with what was done about it (replies.service.receive decides that)."""
    with db.transaction("comms") as tx:
        return tx.append(store.inbound, record, audit="action")


def list_inbound(db: Storage, *, sender: str | None = None, since: datetime | None = None) -> list[InboundMessage]:
    value = contact_value(sender, ("query", "from")) if sender is not None else None
    return [e for e in db.entries(store.inbound) if (value is None or e.from_ == value) and (since is None or e.received_at >= since)]
