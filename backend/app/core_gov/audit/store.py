"""The audit trail is written by the store core: one ``audit.jsonl`` in each module's folder."""

from ..storage import audit_log

trail = audit_log
