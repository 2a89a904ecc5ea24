"""The app shell: token, body limit, security headers, actor, errors as JSON, corrupt files, the system views."""

from __future__ import annotations

from collections import Counter

from fastapi.testclient import TestClient

from app import __version__
from app.core_gov.core_router import MODULES, core_routes, module_name
from app.main import create_app
from app.settings import Settings

TOKEN = "s3cret-token-0123456789"
NOW = "2026-01-05T15:00:00Z"  # the conftest clock
HOLDING = {"name": "x", "asset_type": "note", "jurisdiction": "ON"}


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


def test_status_shows_the_version_every_pack_and_the_operators_mark(client):
    client.post("/core/holdings", json=HOLDING)
    client.post("/core/system/status/complete", json={"notes": "ready"}, headers={"X-Actor": "alice"})
    status = client.get("/core/system/status").json()
    routes = Counter(module for module, _, _ in core_routes())
    assert (status["version"], status["now"]) == (__version__, NOW)
    assert (status["backend_complete"], status["notes"], status["marked_by"], status["marked_at"]) == (True, "ready", "alice", NOW)
    assert [(p["id"], p["installed"], p["routes"]) for p in status["packs"]] == [(module_name(m), True, routes[module_name(m)]) for m in MODULES]
    assert next(p for p in status["packs"] if p["id"] == "holdings") == {
        "id": "holdings", "name": "Global holdings: properties, notes, interests and other assets, totalled per currency.",
        "installed": True, "prefix": "/core/holdings", "routes": routes["holdings"],
    }
    assert status["summary"] == {"packs_installed": len(MODULES), "backend_complete": True, "data_ok": True, "problems": []}
    assert client.get("/core/system/status/summary").json() == status["summary"]


def test_the_status_summary_names_a_corrupt_file(client, data_dir):
    client.post("/core/holdings", json=HOLDING)
    (data_dir / "holdings" / "holdings.json").write_bytes(b"[{")
    summary = client.get("/core/system/status/summary").json()
    assert (summary["data_ok"], summary["backend_complete"]) == (False, False)
    assert [p.split(": ")[:2] for p in summary["problems"]] == [["holdings/holdings.json", "line 1 column 3"]]


def test_debug_lists_each_data_file_its_records_the_writes_and_the_settings(client, data_dir):
    for name in ("a", "b"):
        client.post("/core/holdings", json={**HOLDING, "name": name})
    debug = client.get("/core/system/debug").json()
    assert (debug["version"], debug["data_dir"]) == (__version__, str(data_dir.resolve()))
    assert [(f["path"], f["records"], f["bytes"]) for f in debug["files"]] == [
        (path, 2, (data_dir / path).stat().st_size) for path in ("holdings/audit.jsonl", "holdings/holdings.json")
    ]
    assert debug["writes"] == {"commits": 2, "transactions": 2}
    assert debug["settings"] == {
        "data_dir": str(data_dir), "host": "127.0.0.1", "port": 8000, "tz": "America/Toronto", "max_body": 1048576, "cors_origins": [], "token": None,
    }


def test_the_route_map_lists_every_route_by_module_with_its_models(client):
    grouped = client.get("/core/system/routes").json()
    listed = [(module, r["method"], r["path"]) for module, infos in grouped.items() for r in infos]
    assert listed == [(module, method, path) for module, path, route in core_routes() for method in sorted(route.methods)]
    assert {"method": "PATCH", "path": "/core/holdings/{holding_id}", "summary": "Change a holding (send If-Match to refuse a stale edit)",
            "request_model": "HoldingUpdate", "response_model": "Holding"} in grouped["holdings"]


def test_debug_never_shows_the_token(data_dir, clock):
    client = TestClient(create_app(Settings(data_dir=data_dir, token=TOKEN), clock=clock), base_url="http://localhost")
    r = client.get("/core/system/debug", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.json()["settings"]["token"] == "set" and TOKEN not in r.text
