"""What the service answers at its edges: malformed JSON, methods a path lacks, lax types, long
echoed values, the root paths and the offline API reference."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("body", "position", "says"),
    [
        (b'{"name": "x",}', 13, "line 1 column 14 (char 13)"),
        (b'{\n  "name": x\n}', 12, "line 2 column 11 (char 12)"),
        (b'{"name": "caf\xe9"}', 13, "not UTF-8"),
        (b"[" * 100_000, None, "nested too deeply"),
    ],
)
def test_malformed_json_is_422_saying_what_and_where(client, data_dir, body, position, says):
    r = client.post("/core/holdings", content=body, headers=JSON)
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["type"] == "json_invalid" and error["loc"] == (["body", position] if position is not None else ["body"])
    assert error["msg"].startswith("invalid JSON") and says in error["msg"], error["msg"]
    assert not data_dir.exists()


def test_405_lists_every_method_of_the_path(client):
    r = client.put("/core/holdings")
    assert r.status_code == 405 and r.json() == {"detail": "Method Not Allowed"}
    assert r.headers["allow"] == "GET, POST"
    assert client.post("/core/holdings/hd_x").headers["allow"] == "GET, PATCH"
    assert client.delete("/core/health").headers["allow"] == "GET"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/core/heimdall/recommend", {"domain": "offers", "confidence": False}, "confidence"),
        ("/core/heimdall/recommend", {"domain": "offers", "confidence": "0.9"}, "confidence"),
        ("/core/risk/policies/upsert", {"engine": "GLOBAL", "enabled": 0}, "enabled"),
        ("/core/risk/policies/upsert", {"engine": "GLOBAL", "enabled": "yes"}, "enabled"),
        ("/core/risk/policies/upsert", {"engine": "GLOBAL", "max_actions_per_day": True}, "max_actions_per_day"),
        ("/core/risk/policies/upsert", {"engine": "GLOBAL", "max_actions_per_day": "5"}, "max_actions_per_day"),
        ("/core/holdings", {"name": "x", "asset_type": "note", "jurisdiction": "ON", "acquired_at": 1767225600}, "acquired_at"),
        ("/core/kpi/events", {"domain": "deals", "metric": "m", "value": 1, "at": 0.5}, "at"),
        ("/core/kpi/events", {"domain": "deals", "metric": "m", "value": 1, "at": "1767225600"}, "at"),
    ],
)
def test_body_types_are_strict(client, data_dir, path, body, field):
    r = client.post(path, json=body)
    assert r.status_code == 422, r.text
    assert ["body", field] in [e["loc"][:2] for e in r.json()["detail"]]
    assert not data_dir.exists()


def test_strict_bodies_still_take_json_strings_for_instants_dates_and_choices(client):
    r = client.post("/core/holdings", json={"name": "x", "asset_type": "note", "jurisdiction": "ON", "acquired_at": "2025-06-30", "value_estimate": 5})
    assert r.status_code == 201 and r.json()["value_estimate"] == 5.0 and r.json()["asset_type"] == "note"
    assert client.post("/core/risk/policies/upsert", json={"engine": "GLOBAL", "enabled": False, "max_actions_per_day": 5}).status_code == 200


def test_the_200_of_an_existing_suppression_is_documented(client):
    post = client.get("/openapi.json").json()["paths"]["/core/comms/suppressions"]["post"]
    assert {"200", "201"} <= post["responses"].keys()
    assert post["responses"]["200"]["content"]["application/json"]["schema"] == post["responses"]["201"]["content"]["application/json"]["schema"]
    body = {"value": "416-555-0101", "reason": "opt_out"}
    assert client.post("/core/comms/suppressions", json=body).status_code == 201
    assert client.post("/core/comms/suppressions", json=body).status_code == 200


def test_long_values_are_not_echoed_in_full(client):
    r = client.post("/core/deals", json={"address": "1 Main St", "city": "Toronto", "province": "ON", "property_id": "p" * 900_000})
    assert r.status_code == 422 and len(r.content) < 1000
    assert r.json()["detail"][0]["msg"] == "no property " + "p" * 200 + "…"
    key = client.post("/core/holdings", json={"name": "x", "asset_type": "note", "jurisdiction": "ON", "k" * 5000: 1})
    assert key.status_code == 422 and len(key.content) < 1000


def test_validation_messages_carry_no_pydantic_prefix(client):
    r = client.post("/core/deals", json={"address": "1 Main St", "city": "Toronto", "province": "ZZ"})
    [error] = r.json()["detail"]
    assert error["loc"] == ["body", "province"] and error["msg"].startswith("unknown region 'ZZ'")


@pytest.mark.parametrize("path", ["/", "/core", "/core/"])
def test_the_root_paths_point_to_the_dashboard_and_the_docs(data_dir, clock, path):
    client = TestClient(create_app(Settings(data_dir=data_dir, token="s3cret-token-0123456789"), clock=clock), base_url="http://localhost")
    r = client.get(path)
    assert r.status_code == 200
    links = r.json()["links"]
    assert {links["dashboard"], links["docs"], links["redoc"], links["openapi"]} == {"/core/ui", "/docs", "/redoc", "/openapi.json"}
    for link in links.values():
        assert client.get(link).status_code in (200, 401)  # the rest of /core needs the token


@pytest.mark.parametrize(("page", "assets"), [("/docs", 4), ("/redoc", 3)])
def test_the_api_reference_loads_nothing_from_the_internet(client, page, assets):
    html = client.get(page).text
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    urls = re.findall(r"""(?:src|href|spec-url)=["']([^"']+)["']|url: '([^']+)'""", html)
    urls = [a or b for a, b in urls]
    assert len(urls) == assets and all(u.startswith("/") for u in urls), urls
    for url in urls:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("path", ["/core/audit?until=0.5", "/core/audit?since=1700000000", "/core/kpi/events?since=12"])
def test_an_instant_in_a_query_is_iso_8601_text_never_an_epoch_number(client, path):
    r = client.get(path)
    assert r.status_code == 422 and "ISO 8601" in r.json()["detail"][0]["msg"]


def test_an_iso_instant_in_a_query_is_accepted(client):
    assert client.get("/core/audit?until=2026-01-05T15:00:00Z").status_code == 200
