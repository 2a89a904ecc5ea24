"""The store core: the only code that touches data files, locks or orjson."""

from .clock import FrozenClock, SystemClock
from .collection import Columns, Records, per_segment, search, select
from .engine import Storage
from .ids import new_id
from .records import AuditEntry, BadText, Collection, Entry, Input, Log, QueryInstant, Record, Singleton, TextFile, UtcDatetime, audit_log, matches
from .transaction import Transaction, actor

__all__ = [
    "AuditEntry", "BadText", "Collection", "Columns", "Entry", "FrozenClock", "Input", "Log", "QueryInstant", "Record", "Records", "Singleton", "Storage",
    "SystemClock", "TextFile", "Transaction", "UtcDatetime", "actor", "audit_log", "matches", "new_id", "per_segment", "search", "select",
]
