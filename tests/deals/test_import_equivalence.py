"""The import's fast path stores exactly what validating each row as a DealCreate and storing its
model_dump would: the same deals, byte for byte, and the same problems, for odd cells too
(blanks, spaces, quoted commas and line breaks, unicode, numbers with spaces, bad values, short
and long rows, a value repeated on many rows of a batch)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from app.core_gov import csvimport
from app.core_gov.deals import service, store
from app.core_gov.deals.schemas import DealCreate, expected_spread
from app.core_gov.storage import files

NUMBER = st.sampled_from(["", "5", " 5 ", "5 000", "1e3", "-5", "nan", "inf", "1e13", "0.5", "1,5", "lots", "1_000", "0x10", "٣", "  ", ".5", "1.", "+7"])
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)  # a NUL refuses the file
CELLS = {
    "seller_name": st.one_of(TEXT, st.sampled_from(["", "  ", "Zoë Côté", "a" * 201, "Roy, Jane"])),
    "seller_phone": st.sampled_from(["", "416-555-0199", "(604) 555-0142", "+1 212 555 0100", "12345", " 416 555 0199 ", "abc", "4165550199 x12"]),
    "seller_email": st.sampled_from(["", "Jane.Roy@Example.com", "not-an-email", " a@b.co ", "é@é.ca"]),
    "address": st.one_of(TEXT, st.sampled_from(["", "12 Elm Street", "12  elm st.", "1 Rue Québec", "4, King Ave W", "x" * 201])),
    "city": st.one_of(TEXT, st.sampled_from(["", "Hamilton", "HAMILTON", "Montréal", " Toronto "])),
    "province": st.sampled_from(["", "ON", "on", " qc ", "ZZ", "NY", "ca", "BC"]),
    "country": st.sampled_from(["", "CA", "US", "ca", "XX"]),
    "property_id": st.sampled_from(["", "", "", "pr_nope"]),
    "property_type": st.sampled_from(["", "sfr", "SFR", "condo", "castle", " duplex "]),
    "lead_source": st.one_of(TEXT, st.sampled_from(["", "probate list"])),
    "lead_score": NUMBER,
    "arv_estimate": NUMBER,
    "repairs_estimate": NUMBER,
    "asking_price": NUMBER,
    "mao": NUMBER,
    "offer_amount": NUMBER,
    "assignment_fee_target": NUMBER,
    "costs_estimate": NUMBER,
    "tags": st.sampled_from(["", "vacant;probate", "A|a", " ; ", "x" * 61, "Été;été", "vacant"]),
    "notes": st.one_of(TEXT, st.sampled_from(["", "two\nlines", 'say "hi", then go', "n" * 20_001])),
    "currency": st.sampled_from(["", "cad", "USD", "C4D", "dollars", " eur "]),
}


def one_by_one(db, header: list[str], row: list[str]) -> tuple[bytes | None, list[tuple[str, str]]]:
    """The reference: the row's cells validated as a DealCreate, its model_dump stored as a new lead."""
    values, problems = csvimport.cells(header, row)
    if values is None:
        return None, problems
    if "tags" in values:
        values["tags"] = re.split(r"[;|]", values["tags"])
    try:
        create = DealCreate.model_validate(values, strict=False)
    except ValidationError as e:
        return None, csvimport.problems(e)
    fields = create.model_dump()
    problem = service._place(db, fields)
    if problem:
        return None, [problem]
    deal = {**fields, "stage": "lead", "expected_spread": expected_spread(fields["assignment_fee_target"], fields["costs_estimate"]), "closed_at": None}
    return files.array_item({name: deal[name] for name in service.STORED}), []


def batched(db, header: list[str], rows: list[list[str]]) -> list[tuple[bytes | None, list[tuple[str, str]]]]:
    return [(files.array_item(deal) if deal is not None else None, problems) for deal, problems in service._deals(db, header, [list(r) for r in rows])]


@st.composite
def lead_lists(draw) -> tuple[list[str], list[list[str]]]:
    """A header (the required columns and some others, in any order) and rows of odd cells,
    some shorter or longer than the header, some repeating a row drawn before."""
    others = draw(st.lists(st.sampled_from([c for c in CELLS if c not in service.REQUIRED_COLUMNS]), unique=True))
    header = draw(st.permutations([*service.REQUIRED_COLUMNS, *others]))
    rows: list[list[str]] = []
    for _ in range(draw(st.integers(1, 12))):
        if rows and draw(st.booleans()):
            rows.append(list(draw(st.sampled_from(rows))))
            continue
        row = [draw(CELLS[c]) for c in header]
        width = draw(st.sampled_from([len(row)] * 6 + [len(row) - 1, len(row) + 1]))
        rows.append((row + [draw(st.sampled_from(["", " ", "extra"]))])[:width])
    return list(header), rows


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(lead_lists())
@example((["address", "city", "province"], [["1 A St", "Town", "ON"], ["", "Town", "ZZ"], ["2 B St", "Town", "ON", "extra"], ["3 C St", "Town"]]))
@example((["address", "city", "province", "asking_price"], [["1 A St", "Town", "ON", " 5 000 "], ["1 A St", "Town", "ON", "-5"], ["1 A St", "Town", "ON", "-5"]]))
def test_a_batch_of_rows_stores_what_a_dealcreate_of_each_row_would(db, lead_list):
    header, rows = lead_list
    assert batched(db, header, rows) == [one_by_one(db, header, row) for row in rows]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(lead_lists())
def test_a_csv_file_spools_each_good_row_with_its_line_and_lists_each_bad_one(db, lead_list):
    header, rows = lead_list
    filler = [[{"address": f"{i} Filler Road", "city": "Padtown", "province": "ON"}.get(c, "") for c in header] for i in range(100 * len(rows))]
    out = io.StringIO(newline="")
    csv.writer(out).writerows([header, *rows, *filler])  # quotes the commas, quotes and line breaks; the good filler keeps the bad rows within 1 %
    text = out.getvalue()
    lines = list(csvimport.rows(io.StringIO(text, newline="")))[1:]
    expected = [(line, *one_by_one(db, header, row)) for line, row in lines]
    spool = io.BytesIO()
    checked = service._check(db, [text.encode()], spool)
    assert list(zip(checked.lines, service._items(spool, checked))) == [(line, item) for line, item, _ in expected if item is not None]
    assert [(p.row, p.field, p.message) for p in checked.invalid] == [(line, f, m) for line, item, problems in expected if item is None for f, m in problems]
    assert (checked.rows, checked.invalid_count) == (len(lines), sum(1 for _, item, _ in expected if item is None))


def test_a_column_repeated_on_every_row_is_validated_once_a_batch(monkeypatch):
    calls: list[object] = []
    columns = csvimport.Columns(DealCreate, exclude=("stage",))
    adapter, required, default = columns.fields["province"]

    class Counting:
        def validate_python(self, values):
            calls.append(list(values))
            return adapter.validate_python(values)

    columns.fields["province"] = (Counting(), required, default)
    values, problems = columns(["address", "city", "province"], [[f"{i} A St", "Town", p] for i, p in enumerate(["on", "ON", "on", "ZZ", "ON", "ZZ"])])
    assert values["province"] == ["ON", "ON", "ON", csvimport._BAD, "ON", csvimport._BAD]
    assert problems == {3: [("province", "unknown region 'ZZ'; expected a Canadian province/territory or a US state code")], 5: [("province", "unknown region 'ZZ'; expected a Canadian province/territory or a US state code")]}
    assert calls == [["on", "ON", "ZZ"], ["on", "ON"]]  # the distinct cells, then the valid ones again for their values


def test_columns_refuses_a_model_with_validators_of_its_own_and_a_column_it_has_no_field_for():
    from pydantic import field_validator

    class Checked(DealCreate):
        @field_validator("city")
        @classmethod
        def _no_x(cls, value: str) -> str:
            return value

    with pytest.raises(TypeError, match="validate its rows with the model"):
        csvimport.Columns(Checked)
    with pytest.raises(ValueError, match=r"no field \['stage'\]; check the header first"):
        csvimport.Columns(DealCreate, exclude=("stage",))(["address", "city", "province", "stage"], [["1 A St", "Town", "ON", "lead"]])


def test_add_many_stores_a_serialised_row_as_it_stores_the_same_row_given_as_fields(db, data_dir):
    good = {name: None for name in service.STORED} | {"address": "1 A St", "city": "Town", "province": "ON", "country": "CA", "costs_estimate": 0.0, "stage": "lead", "tags": ["a"], "currency": "CAD"}
    with db.transaction("deals") as tx:
        ids = tx.add_many(store.deals, [good, files.array_item({**good, "address": "2 A St"})])
    stored = (data_dir / "deals" / "deals.json").read_bytes()
    first, second = stored.split(b"\n  },\n")
    assert second.replace(ids[1].encode(), b"ID").replace(b"2 A St", b"1 A St") == (first.replace(ids[0].encode(), b"ID") + b"\n  }").removeprefix(b"[\n") + b"\n]\n"
    assert [d.address for d in db.list(store.deals)] == ["1 A St", "2 A St"]
    with pytest.raises(ValueError, match="add_many: the row is not a Deal as stored"):
        with db.transaction("deals") as tx:
            tx.add_many(store.deals, [files.array_item({**good, "costs_estimate": 0})])  # 0 is stored as 0.0


def address_key_by_regex(address: str, city: str) -> str:
    """address_key as first written: whitespace runs split by a regular expression."""
    words = re.split(r"\s+", re.sub(r"[^\w\s]", " ", address).casefold().strip())
    town = re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", city).casefold()).strip()
    return " ".join([service._ABBREV.get(w, w) for w in words]) + "|" + town


@settings(max_examples=2000, deadline=None)
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",))), st.text(st.characters(codec="utf-8", exclude_categories=("Cs",))))
@example(" 12\u00a0 Elm\x1cStreet.\u2003W ", "St.\u3000Catharines\x1f")
@example("", "")
def test_address_key_is_what_it_was(address, city):
    assert service.address_key(address, city) == address_key_by_regex(address, city)
