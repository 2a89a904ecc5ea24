"""Rules every PATCH route shares, checked on every one of them (on the demo data set):

- a field the stored record never holds as null may be left out but not sent as null: 422 naming
  the field, with one message, and nothing changes;
- If-Match is the record's version: of two clients that read the same version, the second to
  write gets 412 `version_mismatch` and changes nothing."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from app import demo
from app.core_gov.core_router import core_routes
from app.core_gov.storage import FrozenClock, Storage
from app.core_gov.storage.records import admits_none

NOW = "2026-01-05T15:00:00Z"  # the conftest clock
PATCHES = [(path, route) for _, path, route in core_routes() if "PATCH" in route.methods]
# Record fields never null whose null in a PATCH still means something: derive it again.
NULL_DERIVES = {("/core/deals/{deal_id}", "country"), ("/core/property/properties/{property_id}", "country")}
# The field each route's edits change, when it has none of the usual free-text fields.
EDITED = ("notes", "title", "name", "subject", "text", "address")
EDITS = {"/core/education/enrollments/{enrollment_id}": ({"status": "withdrawn"}, {})}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("demo") / "data"
    demo.seed(Storage(data, FrozenClock(NOW)))
    return data


@pytest.fixture
def demo_dir(seeded, data_dir) -> Path:
    shutil.copytree(seeded, data_dir)
    return data_dir


def files(data_dir: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file()}


def listed(client, path: str) -> list[dict]:
    """The collection behind a PATCH route, as its list route answers it (not every collection
    has a GET for one record)."""
    return client.get(re.sub(r"/\{[^}]+\}$", "", path), params={"limit": 1000}).json()


def first_record(client, path: str) -> tuple[str, dict]:
    """A record of the collection behind a PATCH route, and its URL."""
    records = listed(client, path)
    assert records, f"the demo data set holds no record for {path}"
    return re.sub(r"\{[^}]+\}$", records[0]["id"], path), records[0]


def current(client, path: str, record: dict) -> dict:
    return next(r for r in listed(client, path) if r["id"] == record["id"])


def edits(path: str, route) -> tuple[dict, dict]:
    """Two different valid changes to a record, as two clients would send them."""
    if path in EDITS:
        return EDITS[path]
    name = next(n for n in EDITED if n in route.body_field.field_info.annotation.model_fields)
    return {name: "first edit"}, {name: "second edit"}


@pytest.mark.parametrize("path,route", PATCHES, ids=[path for path, _ in PATCHES])
def test_null_for_a_field_the_record_never_holds_as_null_is_422_naming_it(demo_dir, client, path, route):
    stored = route.response_model.model_fields
    body = route.body_field.field_info.annotation.model_fields
    never_null = [n for n in body if n in stored and not admits_none(stored[n].annotation) and (path, n) not in NULL_DERIVES]
    assert never_null
    url, record = first_record(client, path)
    before = files(demo_dir)
    for name in never_null:
        assert not admits_none(body[name].annotation), f"{path}: {name} is never null when stored; type it `{name}: X = None`"
        r = client.patch(url, json={name: None}, headers={"If-Match": f'"{record["version"]}"'})
        assert r.status_code == 422, (name, r.text)
        assert r.json()["detail"] == [{"loc": ["body", name], "msg": f"{name} cannot be null: leave it out instead", "type": "not_null"}]
    assert current(client, path, record) == record
    assert files(demo_dir) == before


@pytest.mark.parametrize("path", sorted(path for path, _ in NULL_DERIVES))
def test_a_null_country_is_derived_again_from_the_region(demo_dir, client, path):
    url, record = first_record(client, path)
    r = client.patch(url, json={"country": None})
    assert r.status_code == 200 and r.json()["country"] == record["country"] == "CA"


@pytest.mark.parametrize("path,route", PATCHES, ids=[path for path, _ in PATCHES])
def test_a_stale_if_match_is_412_and_changes_nothing(demo_dir, client, path, route):
    url, record = first_record(client, path)
    first, second = edits(path, route)
    read = f'"{record["version"]}"'
    won = client.patch(url, json=first, headers={"If-Match": read})
    assert won.status_code == 200, won.text
    assert won.json()["version"] == record["version"] + 1 and won.headers["etag"] == f'"{record["version"] + 1}"'
    assert won.json() | first == won.json()
    before = files(demo_dir)
    lost = client.patch(url, json=second, headers={"If-Match": read})
    assert lost.status_code == 412 and lost.json()["detail"]["code"] == "version_mismatch"
    assert lost.json()["detail"]["current_version"] == record["version"] + 1
    assert current(client, path, record) == won.json()
    assert files(demo_dir) == before


def test_a_create_refuses_null_for_a_field_it_defaults_with_the_same_message(client, data_dir):
    r = client.post("/core/holdings", json={"name": "x", "asset_type": "note", "jurisdiction": "ON", "currency": None, "notes": None})
    assert r.status_code == 422
    assert r.json()["detail"] == [{"loc": ["body", "currency"], "msg": "currency cannot be null: leave it out instead", "type": "not_null"}]
    assert not (data_dir / "holdings").exists()
