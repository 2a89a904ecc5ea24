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

