"""Throwaway modules declared only for the store-core tests (module names start with t_)."""

from __future__ import annotations

from pydantic import BaseModel

from app.core_gov.storage import Collection, Entry, Log, Record, Singleton


class Note(Record):
    title: str
    body: str = ""
    count: int = 0
    tags: list[str] = []


class Counter(BaseModel):
    value: int = 0


class Event(Entry):
    kind: str
    n: int = 0


notes = Collection("t_notes", "notes", Note, id_prefix="nt")
events = Log("t_notes", "events", Event, id_prefix="ev")
counter = Singleton("t_notes", "counter", Counter, default=Counter)
others = Collection("t_other", "items", Note, id_prefix="ot")
