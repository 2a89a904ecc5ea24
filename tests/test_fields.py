"""Shared field types: every money-like input is a bounded Money/SignedMoney."""

from __future__ import annotations

import importlib
import re

import pytest
from app.core_gov.core_router import MODULES, module_name
from app.core_gov.fields import MAX_MONEY
from app.core_gov.storage import Input

# Field names that hold an amount of money.
MONEY_NAME = re.compile(r"price|amount|fee|cost|mao|offer|arv|repairs|pnl|loss|exposure|open_risk|buffer|rent|value_estimate")
NOT_MONEY = re.compile(r"pct|multiplier")  # a ratio named after an amount


def _numbers(schema: dict, defs: dict, path: str):
    """(path, schema) of every number in a JSON schema, through refs, unions, objects and arrays."""
    if "$ref" in schema:
        yield from _numbers(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, path)
        return
    if schema.get("type") == "number":
        yield path, schema
    for key in ("anyOf", "allOf", "oneOf"):
        for sub in schema.get(key, []):
            yield from _numbers(sub, defs, path)
    for name, sub in schema.get("properties", {}).items():
        yield from _numbers(sub, defs, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from _numbers(schema["items"], defs, f"{path}[]")


def money_inputs():
    for module in MODULES:
        name = module_name(module)
        try:
            schemas = importlib.import_module(f"app.core_gov.{name}.schemas")
        except ModuleNotFoundError:
            continue
        for model in vars(schemas).values():
            if isinstance(model, type) and issubclass(model, Input) and model.__module__ == schemas.__name__:
                schema = model.model_json_schema()
                for path, number in _numbers(schema, schema.get("$defs", {}), f"{name}.{model.__name__}"):
                    field = path.rsplit(".", 1)[-1]
                    if MONEY_NAME.search(field) and not NOT_MONEY.search(field):
                        yield path, number


def test_the_scan_finds_the_money_inputs():
    paths = [p for p, _ in money_inputs()]
    assert {"deals.DealCreate.asking_price", "risk.SettleInput.realized_pnl", "property.RepairRentInput.line_items[].cost"} <= set(paths)
    assert len(paths) > 40 and MAX_MONEY == 1e12


@pytest.mark.parametrize("path,number", list(money_inputs()), ids=[p for p, _ in money_inputs()])
def test_every_money_input_is_bounded_by_max_money(path, number):
    assert number.get("maximum") == MAX_MONEY, f"{path} is not Money/SignedMoney (no upper bound {MAX_MONEY:g})"
    assert number.get("minimum", number.get("exclusiveMinimum")) in (0, -MAX_MONEY), f"{path} has no lower bound"



# ---------------------------------------------------------------------------- phone numbers

from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from app.core_gov import fields  # noqa: E402

AREA_CODES = [  # Canadian ones, and US, Caribbean and special ones close to them
    "204", "226", "236", "249", "250", "263", "289", "306", "343", "354", "365", "367", "368", "382", "403", "416", "418", "428", "431",
    "437", "438", "450", "468", "474", "506", "514", "519", "548", "579", "581", "584", "587", "604", "613", "639", "647", "672", "683",
    "705", "709", "742", "753", "778", "780", "782", "807", "819", "825", "867", "873", "879", "902", "905", "942",
    "212", "268", "242", "441", "800", "833", "900", "600", "523", "524", "622", "633", "310", "555", "311", "911",
]
SEPARATOR = st.sampled_from(["", " ", "-", ".", "  ", "/", "\t", "\u00a0"])
DIGITS = st.text("0123456789", min_size=0, max_size=5)
SPELLED = st.tuples(
    st.sampled_from(["", " ", "+", "+1", "1", "+1 ", "1-", "1 ", "+ 1", "01", "+2", "(", "tel:", "x"]),
    st.sampled_from(["", "("]), st.one_of(st.sampled_from(AREA_CODES), st.text("0123456789", min_size=3, max_size=3)),
    st.sampled_from(["", ")", ") "]), SEPARATOR, st.text("0123456789", min_size=3, max_size=3), SEPARATOR,
    st.text("0123456789", min_size=4, max_size=4), st.one_of(st.just(""), SEPARATOR, DIGITS, st.sampled_from([" x12", " ext 5", " ", "#"])),
).map("".join)


CANADIAN_SHAPED = st.tuples(  # the fast path's own shapes: most are taken by it
    st.sampled_from(["", " ", "1", "+1", "+1 ", "1-", "1.", "1 "]), st.sampled_from(["", "("]), st.sampled_from(AREA_CODES),
    st.sampled_from(["", ")", ") "]), st.sampled_from(["", " ", "-", "."]), st.from_regex(r"[0-9]\d\d", fullmatch=True),
    st.sampled_from(["", " ", "-", "."]), st.text("0123456789", min_size=4, max_size=4), st.sampled_from(["", " ", "  "]),
).map("".join)


def _outcome(normalise, raw: str) -> str:
    try:
        return normalise(raw)
    except ValueError:
        return "refused"


@settings(max_examples=3000, deadline=None)
@given(st.one_of(CANADIAN_SHAPED, st.from_regex(fields._NANP_SHAPE, fullmatch=True), SPELLED, st.text(st.sampled_from("0123456789 +-.()x1"), max_size=20), st.text(max_size=20)))
@example("(416) 555-0199")
@example("+1 416 234 5678")
@example("4162345678")
@example("1-800-234-5678")
@example("+12125550100")
def test_phone_fast_path_accepts_and_refuses_exactly_what_phonenumbers_does(raw):
    assert _outcome(fields.normalize_phone, raw) == _outcome(lambda r: fields._parsed(r, "CA"), raw)


def test_a_canadian_number_in_a_common_spelling_takes_the_fast_path():
    assert [fields._canadian(r) for r in ("(416) 234-5678", "+1 416 234 5678", "416.234.5678", "14162345678")] == ["+14162345678"] * 4
    assert [fields._canadian(r) for r in ("+1 212 234 5678", "416 234 5678 x12", "416 123 4567")] == [None] * 3
    assert fields.normalize_phone("+1 212 234 5678") == "+12122345678"
