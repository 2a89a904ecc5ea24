"""Throwaway modules declared only for the store-core tests (module names start with t_)."""

from __future__ import annotations

from pydantic import BaseModel

from app.core_gov.storage import BadText, Collection, Entry, Log, Record, Singleton, TextFile


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


def parse_numbers(data: bytes) -> tuple[int, ...]:
    """One integer a line, ascending (the shape of a DNCL copy)."""
    numbers: list[int] = []
    for lineno, line in enumerate(data.splitlines(), start=1):
        if not line.isdigit() or (numbers and int(line) <= numbers[-1]):
            raise BadText(f"line {lineno}", f"expected an integer above the previous one, got {line[:20]!r}")
        numbers.append(int(line))
    return tuple(numbers)


numbers = TextFile("t_notes", "lists/numbers", parse=parse_numbers)
small = Collection("t_seg", "items", Note, id_prefix="sg", segment_size=5)
