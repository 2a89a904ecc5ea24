"""The one reader of imported text files (deals CSV, National DNCL): one set of messages."""

from __future__ import annotations

import io

import pytest

from app.core_gov import csvimport
from app.core_gov.comms import service as comms_service
from app.core_gov.deals import service as deals_service
from app.core_gov.errors import InvalidField


def read(body: bytes, size: int) -> tuple[list[str], int]:
    reader = csvimport.Lines()
    return list(reader.text(body[i : i + size] for i in range(0, len(body), size))), reader.line


@pytest.mark.parametrize("size", [1, 2, 3, 5, 64, 1 << 16])
def test_lines_in_chunks_of_any_size_drop_a_bom_and_keep_endings(size):
    body = "\ufeffa,b\r\nc,é\rd\n\ne".encode()
    assert read(body, size) == (["a,b\r\n", "c,é\r", "d\n", "\n", "e"], 5)


def refusal(reader_feed, body: bytes) -> str:
    with pytest.raises(InvalidField) as e:
        reader_feed(body)
    return e.value.detail[0]["msg"]


def deals_import(body: bytes) -> None:
    deals_service._check(None, [body[i : i + 7] for i in range(0, len(body), 7)], io.BytesIO())  # type: ignore[arg-type]


def dncl_import(body: bytes) -> None:
    reader = comms_service.DnclReader()
    for i in range(0, len(body), 7):
        reader.feed(body[i : i + 7])
    reader.finish()


@pytest.mark.parametrize("feed, header", [(deals_import, b"address,city,province\n"), (dncl_import, b"phone\n")], ids=["deals", "dncl"])
def test_the_deals_and_dncl_imports_refuse_a_file_with_the_same_messages(feed, header):
    assert refusal(feed, header + b"4165550100\r\n41\xe9\n") == (
        "the file is not UTF-8 text: line 3, byte 3 (0xe9): invalid continuation byte; save it as UTF-8 ('CSV UTF-8' in a spreadsheet); "
        "nothing was imported"
    )
    assert refusal(feed, header + b"4165550100\n\x00\n") == "line 3 holds a NUL byte: this is not a text file; nothing was imported"
    assert refusal(feed, b"\xef\xbb\xbf").startswith("the file is empty: expected ")
    assert refusal(feed, b"\xef\xbb").startswith("the file is not UTF-8 text: line 1, byte 1 (0xef): unexpected end of data")


def test_a_tally_lists_the_first_100_invalid_rows_counts_all_and_refuses_over_1_percent():
    tally = csvimport.Tally(rows=10_100)
    for row in range(2, 103):
        tally.add_invalid(row, [("phone", "bad"), ("city", "blank")])
    assert (tally.invalid_count, len(tally.invalid), tally.invalid[-1]) == (101, 200, csvimport.InvalidRow(row=101, field="city", message="blank"))
    tally.check()  # 101 of 10,100: 1 %, accepted
    tally.add_invalid(103, [("phone", "bad")])
    with pytest.raises(InvalidField) as e:
        tally.check()
    assert e.value.detail[0]["msg"].startswith("102 of 10100 rows are invalid (more than 1%); nothing was imported. First problems: line 2 phone: bad; line 2 city: blank")
