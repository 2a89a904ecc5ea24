"""GET one answers the store's record as JSON with its ETag, without FastAPI's response-model
validation and serialisation, and /docs still describes the body."""

from __future__ import annotations

import fastapi.routing
import orjson


def test_get_one_answers_the_record_and_its_etag_without_response_model_serialisation(client, monkeypatch):
    created = client.post("/core/holdings", json={"name": "Rental", "asset_type": "property", "jurisdiction": "ON", "value_estimate": 485000})
    assert created.status_code == 201

    def refuse(**_):
        raise AssertionError("GET one went through FastAPI's response serialisation")

    monkeypatch.setattr(fastapi.routing, "serialize_response", refuse)
    r = client.get(f"/core/holdings/{created.json()['id']}")
    assert r.status_code == 200 and r.headers["etag"] == '"1"' and r.headers["content-type"] == "application/json"
    assert r.json() == created.json() and r.json()["value_estimate"] == 485000.0
    assert r.headers["x-content-type-options"] == "nosniff"  # the middleware's headers as on any answer
    missing = client.get("/core/holdings/hld_missing")
    assert missing.status_code == 404 and "etag" not in missing.headers


def test_patch_keeps_its_status_body_and_etag(client):
    h = client.post("/core/holdings", json={"name": "Rental", "asset_type": "property", "jurisdiction": "ON"}).json()
    r = client.patch(f"/core/holdings/{h['id']}", json={"name": "Renamed"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.headers["etag"] == '"2"' and r.json()["name"] == "Renamed" and r.json()["version"] == 2


def test_a_hand_edit_is_seen_by_the_next_get_one(client, data_dir):
    h = client.post("/core/holdings", json={"name": "Rental", "asset_type": "property", "jurisdiction": "ON"}).json()
    assert client.get(f"/core/holdings/{h['id']}").headers["etag"] == '"1"'
    path = data_dir / "holdings" / "holdings.json"
    rows = orjson.loads(path.read_bytes())
    rows[0].update(name="Edited by hand", version=7)
    path.write_bytes(orjson.dumps(rows, option=orjson.OPT_INDENT_2))
    r = client.get(f"/core/holdings/{h['id']}")
    assert r.json()["name"] == "Edited by hand" and r.headers["etag"] == '"7"'


def test_docs_describe_the_body_of_every_get_one(app):
    spec = app.openapi()
    gets = {path: ops["get"] for path, ops in spec["paths"].items() if path.endswith("_id}") and "get" in ops}
    assert "/core/holdings/{holding_id}" in gets and len(gets) >= 25
    for path, op in gets.items():
        schema = op["responses"]["200"]["content"]["application/json"]["schema"]
        assert "$ref" in schema, path
    holding = spec["paths"]["/core/holdings/{holding_id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert holding == {"$ref": "#/components/schemas/Holding"}
