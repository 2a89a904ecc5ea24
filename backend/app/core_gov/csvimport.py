"""Reading an imported text file (a lead list, a National DNCL download) as it arrives, in chunks
of any size, with one set of messages. A file is refused whole (422 naming the first problem,
nothing imported) when it is not UTF-8 (the line and byte named), holds a NUL byte, is empty, or
has more than 1 % invalid rows. Lines are numbered as a text editor does (a line ends with
"\\n", "\\r\\n" or "\\r"; the first, a header if there is one, is line 1); a leading byte order
mark is dropped. An answer lists the first 100 invalid rows by line, and counts them all."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from typing import IO, Annotated, Any, Callable, Iterable, Iterator, Sequence

import pydantic_core
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from .errors import InvalidField

SHOWN = 100  # invalid rows an answer lists; its count covers every row
MAX_INVALID = 0.01  # a file with a larger share of invalid rows is refused whole
_BOM = b"\xef\xbb\xbf"

# A row's fields, or its problems as (field, message).
Parsed = tuple[dict[str, Any] | None, list[tuple[str, str]]]


class InvalidRow(BaseModel):
    row: int = Field(description="The file line number (the first line, a header if there is one, is line 1)")
    field: str
    message: str


def refused(why: str) -> InvalidField:
    """The 422 that refuses a file whole."""
    return InvalidField(("body",), f"{why}; nothing was imported")


def empty(expected: str) -> InvalidField:
    return refused(f"the file is empty: expected {expected}")


def _breaks(data: bytes) -> int:
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


class Lines:
    """Cuts a file fed in chunks into blocks of whole lines (bytes, checked UTF-8, without a
    byte order mark); ``line`` is the number of the next block's first line, ``digest`` the
    sha256 of every byte fed."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.line = 1
        self._rest = b""
        self._started = False

    def feed(self, chunk: bytes) -> bytes:
        self.digest.update(chunk)
        data = self._rest + chunk if self._rest else chunk
        if not self._started:
            if len(data) < len(_BOM) and _BOM.startswith(data):
                self._rest = data  # perhaps a byte order mark cut between chunks
                return b""
            data = data.removeprefix(_BOM)
            self._started = True
        cut = max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1)) + 1  # a last "\r" may precede a "\n"
        self._rest = data[cut:]
        return self._checked(data[:cut])

    def finish(self) -> bytes:
        """The last line (it may have no line ending)."""
        data, self._rest = self._rest, b""
        return self._checked(data.removeprefix(_BOM) if not self._started else data)

    def text(self, chunks: Iterable[bytes]) -> Iterator[str]:
        """Each line of a file read in chunks, as text with its ending (as the csv module reads lines)."""
        for chunk in chunks:
            yield from io.StringIO(self.feed(chunk).decode("utf-8"), newline="")
        yield from io.StringIO(self.finish().decode("utf-8"), newline="")

    def _checked(self, block: bytes) -> bytes:
        nul = block.find(b"\x00")
        if nul >= 0:
            raise refused(f"line {self.line + _breaks(block[:nul])} holds a NUL byte: this is not a text file")
        try:
            block.decode("utf-8")
        except UnicodeDecodeError as e:
            line_start = max(block.rfind(b"\n", 0, e.start), block.rfind(b"\r", 0, e.start)) + 1
            raise refused(
                f"the file is not UTF-8 text: line {self.line + _breaks(block[:e.start])}, byte {e.start - line_start + 1} "
                f"(0x{block[e.start]:02x}): {e.reason}; save it as UTF-8 ('CSV UTF-8' in a spreadsheet)"
            ) from None
        self.line += _breaks(block)
        return block


@dataclass
class Tally:
    """The data rows of a file and its invalid ones: each counted, the first SHOWN listed."""

    rows: int = 0
    invalid: list[InvalidRow] = field(default_factory=list)
    invalid_count: int = 0

    def add_invalid(self, row: int, problems: Iterable[tuple[str, str]]) -> None:
        """One invalid row, with its problems as (field, message)."""
        self.invalid_count += 1
        if self.invalid_count <= SHOWN:
            self.invalid += [InvalidRow(row=row, field=f, message=m) for f, m in problems]

    def check(self) -> None:
        """422 when more than MAX_INVALID of the rows are invalid, naming the first problems."""
        if self.invalid_count > MAX_INVALID * self.rows:
            first = "; ".join(f"line {p.row} {p.field}: {p.message}" for p in self.invalid[:5])
            raise InvalidField(("body",), (
                f"{self.invalid_count} of {self.rows} rows are invalid (more than {MAX_INVALID:.0%}); nothing was imported. "
                f"First problems: {first}"
            ))


# ---------------------------------------------------------------------------- CSV files


def rows(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """(file line number, cells) of each CSV row that has a cell that is not blank."""
    reader = csv.reader(lines, strict=True)  # a stray or unclosed quote is an error, not a swallowed file
    line = 1  # where the next row starts
    try:
        for row in reader:
            if "".join(row).strip():
                yield line, row
            line = reader.line_num + 1
    except csv.Error as e:
        raise refused(f"line {line} is not valid CSV: {e}") from None


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
    return {k: v for k, cell in zip(names, row) if (v := cell.strip())}, []


_BAD = object()  # a cell that is not a valid value


class Columns:
    """Validates a batch of a CSV file's rows column by column, as ``model.model_validate(cells,
    strict=False)`` validates each row's non-blank cells (stripped; see ``cells``): the same
    field types, constraints, defaults and messages, at a fraction of the cost. Each column's
    distinct cells are validated once a batch, by one TypeAdapter call of the field's type (a
    province or a currency repeated on every row costs one check), and no model is made.
    ``prepare`` turns a column's cell into the value its field takes (tags cut at ";").
    For an input whose only validator is storage.Input's null check (a cell is never None)."""

    def __init__(self, model: type[BaseModel], *, exclude: Sequence[str] = (), prepare: dict[str, Callable[[str], Any]] | None = None):
        decorators = model.__pydantic_decorators__
        own = [*decorators.model_validators, *(n for n in decorators.field_validators if n != "_not_null")]
        config = set(model.model_config) - {"extra", "json_schema_extra", "title"}
        if own or config or any(f.alias or f.validation_alias for f in model.model_fields.values()):
            raise TypeError(f"csvimport.Columns: {model.__name__} has validators, settings or aliases of its own ({own or config}); validate its rows with the model")
        self.fields = {
            name: (TypeAdapter(list[Annotated[(f.annotation, *f.metadata)] if f.metadata else f.annotation]), f.is_required(), f.get_default(call_default_factory=True))
            for name, f in model.model_fields.items() if name not in exclude
        }
        self.prepare = prepare or {}

    def __call__(self, names: list[str], rows: list[list[str]]) -> tuple[dict[str, list[Any]], dict[int, list[tuple[str, str]]]]:
        """Each field's value on each row (its default where the cell is blank or the column
        missing, _BAD where the cell is invalid), and the invalid rows (their index: their
        problems as (field, message), in the model's field order). ``rows`` are padded to the
        header's width."""
        width = len(names)
        if not set(names) <= self.fields.keys():
            raise ValueError(f"csvimport.Columns: no field {sorted(set(names) - self.fields.keys())}; check the header first (header())")
        problems: dict[int, list[tuple[str, str]]] = {}
        if any(len(row) != width for row in rows):
            for i, row in enumerate(rows):
                if len(row) > width and any(c.strip() for c in row[width:]):
                    problems[i] = [("(row)", f"{len(row)} fields; the header has {width}")]
                rows[i] = (row + [""] * width)[:width]
        wide = set(problems)  # a row too wide has that problem only
        given = dict(zip(names, zip(*rows))) if rows else {}
        values: dict[str, list[Any]] = {}
        for name, (adapter, required, default) in self.fields.items():
            if name not in given and not required:
                values[name] = [default] * len(rows)
                continue
            cells = list(map(str.strip, given.get(name, ("",) * len(rows))))
            distinct = dict.fromkeys(cells)
            blank = distinct.pop("", 0) is None
            found, bad = self._distinct(name, adapter, list(distinct))
            found[""] = _BAD if required else default
            if required and blank:
                bad[""] = [(name, "Field required")]
            values[name] = list(map(found.__getitem__, cells))
            if bad:
                for i, cell in enumerate(cells):
                    if cell in bad and i not in wide:
                        problems.setdefault(i, []).extend(bad[cell])
        return values, problems

    def _distinct(self, name: str, adapter: TypeAdapter[Any], cells: list[str]) -> tuple[dict[str, Any], dict[str, list[tuple[str, str]]]]:
        """The value of each valid cell, and the problems of the others."""
        prepare = self.prepare.get(name)
        try:
            return dict(zip(cells, adapter.validate_python(list(map(prepare, cells)) if prepare else cells))), {}
        except ValidationError as e:
            bad: dict[str, list[tuple[str, str]]] = {}
            for err in e.errors():
                bad.setdefault(cells[err["loc"][0]], []).append((name, err["msg"].removeprefix("Value error, ")))  # type: ignore[index]
        found, _ = self._distinct(name, adapter, [c for c in cells if c not in bad])
        return found | dict.fromkeys(bad, _BAD), bad


def problems(e: ValidationError) -> list[tuple[str, str]]:
    """A validation error as (field, message) pairs."""
    return [(str(err["loc"][0]) if err["loc"] else "(row)", err["msg"].removeprefix("Value error, ")) for err in e.errors()]


@dataclass
class Checked(Tally):
    """What reading a CSV file found; its good rows are in the spool, one a line: `row<TAB>fields as JSON`."""

    sha256: str = ""


def check(
    chunks: Iterable[bytes], spool: IO[bytes], *, required: Sequence[str], allowed: Sequence[str],
    parse: Callable[[dict[str, str]], Parsed],
) -> Checked:
    """Read a CSV file, spool the rows ``parse`` accepts, and refuse the file (422) when it is
    empty or not text, or more than MAX_INVALID of its rows are invalid."""
    text = Lines()
    found_rows = rows(text.text(chunks))
    first = next(found_rows, None)
    if first is None:
        raise empty(f"a header row naming the columns (required: {', '.join(required)})")
    names = header(*first, required, allowed)
    found = Checked()
    for line, row in found_rows:
        found.rows += 1
        values, bad = cells(names, row)
        fields, bad = parse(values) if values is not None else (None, bad)
        if fields is not None:
            spool.write(b"%d\t%s\n" % (line, pydantic_core.to_json(fields)))
        else:
            found.add_invalid(line, bad)
    found.sha256 = text.digest.hexdigest()
    found.check()
    return found


def spooled(spool: IO[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(file line number, fields) of each good row ``check`` spooled."""
    spool.seek(0)
    for raw in spool:
        line, data = raw.split(b"\t", 1)
        yield int(line), pydantic_core.from_json(data)
