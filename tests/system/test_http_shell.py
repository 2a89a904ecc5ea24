"""The app shell: token, body limit, security headers, actor, errors as JSON, corrupt files."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings

TOKEN = "s3cret-token-0123456789"


def test_token_guards_every_core_route_but_health(data_dir, clock):
    client = TestClient(create_app(Settings(data_dir=data_dir, token=TOKEN), clock=clock), base_url="http://localhost")
    assert client.get("/core/health").status_code == 200
    denied = client.get("/core/holdings")
    assert denied.status_code == 401 and denied.headers["www-authenticate"] == "Bearer"
    assert "bearer token" in denied.json()["detail"]
    assert client.get("/core/holdings", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/core/holdings", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_body_over_the_limit_is_413_and_writes_nothing(data_dir, clock):
    client = TestClient(create_app(Settings(data_dir=data_dir, max_body=2048), clock=clock), base_url="http://localhost")
    r = client.post("/core/holdings", json={"name": "x" * 5000, "asset_type": "note", "jurisdiction": "ON"})
    assert r.status_code == 413 and "VALHALLA_MAX_BODY" in r.json()["detail"]
    assert not (data_dir / "holdings").exists()


def test_security_headers_on_every_answer(client):
    for r in (client.get("/core/health"), client.get("/core/holdings/nope"), client.get("/nowhere")):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"


def test_actor_header_is_recorded_in_the_audit_trail(client):
    client.post("/core/holdings", json={"name": "x", "asset_type": "note", "jurisdiction": "ON"}, headers={"X-Actor": "alice"})
    client.post("/core/holdings", json={"name": "y", "asset_type": "note", "jurisdiction": "ON"})
    assert [e["actor"] for e in client.get("/core/audit", params={"order": "asc", "module": "holdings"}).json()] == ["alice", "operator"]


def test_bad_actor_header_is_422(client):
    r = client.get("/core/health", headers={"X-Actor": "x" * 100})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["header", "x-actor"]


def test_unknown_route_and_method_answer_json(client):
    assert client.get("/core/nowhere").json() == {"detail": "Not Found"}
    assert client.delete("/core/health").status_code == 405


def test_malformed_json_body_is_422_not_500(client):
    r = client.post("/core/holdings", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][0] == "body"


def test_bad_if_match_is_422(client):
    h = client.post("/core/holdings", json={"name": "x", "asset_type": "note", "jurisdiction": "ON"}).json()
    r = client.patch(f"/core/holdings/{h['id']}", json={"name": "y"}, headers={"If-Match": "yesterday"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["header", "if-match"]


def test_corrupt_module_file_is_503_naming_it_while_others_keep_working(client, data_dir):
    client.post("/core/holdings", json={"name": "x", "asset_type": "note", "jurisdiction": "ON"})
    path = data_dir / "holdings" / "holdings.json"
    broken = path.read_bytes()[:40]
    path.write_bytes(broken)
    r = client.get("/core/holdings")
    assert r.status_code == 503
    assert r.json()["detail"]["file"] == "holdings/holdings.json" and r.json()["detail"]["position"].startswith("line ")
    w = client.post("/core/holdings", json={"name": "y", "asset_type": "note", "jurisdiction": "ON"})
    assert w.status_code == 503 and path.read_bytes() == broken
    assert client.post("/core/system/status/complete", json={}).status_code == 200  # another module
    ready = client.get("/core/ready")
    assert ready.status_code == 503 and any("holdings/holdings.json" in p for p in ready.json()["problems"])


def test_list_paging_is_validated(client):
    assert client.get("/core/holdings", params={"limit": 0}).status_code == 422
    assert client.get("/core/holdings", params={"offset": -1}).status_code == 422


def test_packs_are_derived_from_mounted_modules(client):
    packs = {p["id"]: p for p in client.get("/core/system/packs").json()}
    assert packs["holdings"]["installed"] and packs["holdings"]["prefix"] == "/core/holdings"
    assert packs["holdings"]["name"].startswith("Global holdings")
    assert client.get("/core/system/packs/HOLDINGS").json()["id"] == "holdings"
    assert client.get("/core/system/packs/nope").status_code == 404


@pytest.mark.parametrize("path", ["/core/system/status", "/core/system/status/summary", "/core/system/debug", "/core/system/routes"])
def test_system_views_answer(client, path):
    assert client.get(path).status_code == 200


def test_debug_never_shows_the_token(data_dir, clock):
    client = TestClient(create_app(Settings(data_dir=data_dir, token=TOKEN), clock=clock), base_url="http://localhost")
    r = client.get("/core/system/debug", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.json()["settings"]["token"] == "set" and TOKEN not in r.text
