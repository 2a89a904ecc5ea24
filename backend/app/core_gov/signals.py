"""Signals: a committed fact a module announces without knowing who reacts to it.

A module declares ``recorded = Signal("kpi.recorded")`` and, inside its transaction, calls
``recorded.send(tx, ...)``: each reaction connected to it (``core_gov/reactions.py`` connects
them, once) is queued with ``tx.after_commit`` and runs after the commit is durable, as its own
transaction. So a writer never names the modules its reactions write.
"""

from __future__ import annotations

from typing import Any, Callable

from .storage import Transaction


class Signal:
    def __init__(self, name: str):
        self.name = name
        self.reactions: list[Callable[..., Any]] = []

    def connect(self, reaction: Callable[..., Any]) -> Callable[..., Any]:
        """Call ``reaction(db, *args)`` after each commit that sends this signal (once per distinct args)."""
        if reaction not in self.reactions:
            self.reactions.append(reaction)
        return reaction

    def send(self, tx: Transaction, *args: Any) -> None:
        for reaction in self.reactions:
            tx.after_commit(reaction, tx.storage, *args)
