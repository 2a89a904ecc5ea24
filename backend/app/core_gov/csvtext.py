"""Reading a CSV import sent in chunks of any size: UTF-8 text lines, rows by file line number
(the header is line 1), the header against a module's columns, and the rule that a file that is
empty, not text, or has more than 1 % invalid rows is refused whole (422, nothing written).
Good rows are spooled to a temporary file, so memory does not grow with the file."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterable, Iterator, Sequence

import pydantic_core
from pydantic import BaseModel, Field, ValidationError

from .errors import InvalidField

SHOWN = 100  # invalid rows an answer lists; the counts cover every row
MAX_INVALID = 0.01  # a file with a larger share of invalid rows is refused whole

# A row's fields, or its problems as (field, message).
Parsed = tuple[dict[str, Any] | None, list[tuple[str, str]]]


class InvalidRow(BaseModel):
    row: int = Field(description="The file line number (the header is line 1)")
    field: str
    message: str


def _not_utf8(e: UnicodeDecodeError, lines_before: int) -> InvalidField:
    line = lines_before + e.object[: e.start].count(b"\n") + 1
    return InvalidField(("body",), f"the file is not UTF-8 text (byte 0x{e.object[e.start]:02x} on line {line}); save it as 'CSV UTF-8'; nothing was imported")


def lines(chunks: Iterable[bytes], digest: Any) -> Iterator[str]:
    """The text lines of a UTF-8 file read in chunks of any size, endings kept (as csv wants
    them; a "\r\n" split between two chunks is one ending). 422 at a byte that is not UTF-8 or NUL."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    rest, newlines = "", 0
    for chunk in chunks:
        digest.update(chunk)
        if b"\x00" in chunk:
            line = newlines + chunk[: chunk.index(b"\x00")].count(b"\n") + 1
            raise InvalidField(("body",), f"line {line} holds a NUL byte: this is not a text CSV file; nothing was imported")
        try:
            text = rest + decoder.decode(chunk)
        except UnicodeDecodeError as e:
            raise _not_utf8(e, newlines) from None
        newlines += chunk.count(b"\n")
        cut = max(text.rfind("\n"), text.rfind("\r", 0, len(text) - 1)) + 1  # a last "\r" may precede a "\n"
        yield from io.StringIO(text[:cut], newline="")
        rest = text[cut:]
    try:
        rest += decoder.decode(b"", final=True)
    except UnicodeDecodeError as e:
        raise _not_utf8(e, newlines) from None
    yield from io.StringIO(rest, newline="")


def rows(text: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """(file line number, cells) of each CSV row that has a cell that is not blank."""
    reader = csv.reader(text, strict=True)  # a stray or unclosed quote is an error, not a swallowed file
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise InvalidField(("body",), f"line {line} is not valid CSV: {e}; nothing was imported") from None
        if any(c.strip() for c in row):
            yield line, row


def header(line: int, row: list[str], required: Sequence[str], allowed: Sequence[str]) -> list[str]:
    """The column names (lower case, spaces as `_`); 422 naming unknown, missing or repeated ones."""
    names = [c.strip().lower().replace(" ", "_") for c in row]
    unknown = [n for n in names if n not in allowed]
    missing = [n for n in required if n not in names]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if unknown or missing or doubled:
        problems = [f"unknown column(s) {', '.join(repr(n) for n in unknown)}"] if unknown else []
        problems += [f"missing required column(s) {', '.join(missing)}"] if missing else []
        problems += [f"repeated column(s) {', '.join(doubled)}"] if doubled else []
        raise InvalidField(("body",), f"line {line} is not a valid header: {'; '.join(problems)}. Required: {', '.join(required)}; allowed: {', '.join(allowed)}")
    return names


def cells(names: list[str], row: list[str]) -> tuple[dict[str, str] | None, list[tuple[str, str]]]:
    """A row's non-blank cells by column (stripped), or the problem of a row longer than the header."""
    if len(row) > len(names) and any(c.strip() for c in row[len(names):]):
        return None, [("(row)", f"{len(row)} fields; the header has {len(names)}")]
    return {k: v.strip() for k, v in zip(names, row) if v.strip()}, []


def problems(e: ValidationError) -> list[tuple[str, str]]:
    """A validation error as (field, message) pairs."""
    return [(str(err["loc"][0]) if err["loc"] else "(row)", err["msg"].removeprefix("Value error, ")) for err in e.errors()]


@dataclass
class Checked:
    """What reading a file found; its good rows are in the spool, one a line: `row<TAB>fields as JSON`."""

    sha256: str = ""
    rows: int = 0  # data rows: not blank, not the header
    invalid: list[InvalidRow] = field(default_factory=list)  # the problems of the first SHOWN invalid rows
    invalid_count: int = 0


def check(
    chunks: Iterable[bytes], spool: IO[bytes], *, required: Sequence[str], allowed: Sequence[str],
    parse: Callable[[dict[str, str]], Parsed],
) -> Checked:
    """Read the file, spool the rows ``parse`` accepts, and refuse it (422) when it is empty or
    not text, or more than MAX_INVALID of its rows are invalid."""
    digest = hashlib.sha256()
    found_rows = rows(lines(chunks, digest))
    first = next(found_rows, None)
    if first is None:
        raise InvalidField(("body",), f"the file is empty: expected a header row (required columns: {', '.join(required)})")
    names = header(*first, required, allowed)
    found = Checked()
    for line, row in found_rows:
        found.rows += 1
        values, bad = cells(names, row)
        fields, bad = parse(values) if values is not None else (None, bad)
        if fields is not None:
            spool.write(b"%d\t%s\n" % (line, pydantic_core.to_json(fields)))
            continue
        found.invalid_count += 1
        if found.invalid_count <= SHOWN:
            found.invalid += [InvalidRow(row=line, field=f, message=m) for f, m in bad]
    found.sha256 = digest.hexdigest()
    if found.invalid_count > MAX_INVALID * found.rows:
        first_problems = "; ".join(f"line {p.row} {p.field}: {p.message}" for p in found.invalid[:5])
        raise InvalidField(("body",), (
            f"{found.invalid_count} of {found.rows} rows are invalid (more than {MAX_INVALID:.0%}); nothing was imported. "
            f"First problems: {first_problems}"
        ))
    return found


def spooled(spool: IO[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(file line number, fields) of each good row ``check`` spooled."""
    spool.seek(0)
    for raw in spool:
        line, data = raw.split(b"\t", 1)
        yield int(line), pydantic_core.from_json(data)
