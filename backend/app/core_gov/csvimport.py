"""Reading an imported text file (a lead list, a National DNCL download) as it arrives, in chunks
of any size, with one set of messages. A file is refused whole (422 naming the first problem,
nothing imported) when it is not UTF-8 (the line and byte named), holds a NUL byte, is empty, or
has more than 1 % invalid rows. Lines are numbered as a text editor does (a line ends with
"\\n", "\\r\\n" or "\\r"; the first, a header if there is one, is line 1); a leading byte order
mark is dropped. An answer lists the first 100 invalid rows by line, and counts them all."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from pydantic import BaseModel, Field

from .errors import InvalidField

SHOWN = 100  # invalid rows an answer lists; its count covers every row
MAX_INVALID = 0.01  # a file with a larger share of invalid rows is refused whole
_BOM = b"\xef\xbb\xbf"


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
