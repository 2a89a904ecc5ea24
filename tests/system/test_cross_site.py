"""A web page the operator visits cannot drive or read the service: a foreign Host (DNS
rebinding) is refused, a foreign Origin cannot change state, and every body must arrive with the
content type its route declares, which a cross-site form or `text/plain` fetch cannot send."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings

HOLDING = {"name": "x", "asset_type": "note", "jurisdiction": "ON"}
CSV = "address,city,province\n1 Main St,Toronto,ON\n"


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST:1"])
def test_loopback_host_names_are_served(client, host):
    assert client.get("/core/holdings", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "", "[::2]:8000"])
def test_a_foreign_host_is_refused_so_a_rebinding_page_reads_nothing(client, host):
    r = client.get("/core/holdings", headers={"Host": host})
    assert r.status_code == 400 and r.json()["detail"]["code"] == "host_not_allowed"
    assert "VALHALLA_ALLOWED_HOSTS" in r.json()["detail"]["message"]
    assert client.get("/docs", headers={"Host": host}).status_code == 400


def test_beyond_loopback_the_configured_hosts_are_served(data_dir, clock):
    settings = Settings(data_dir=data_dir, host="192.168.1.5", token="s3cret-token-0123456789", allowed_hosts=("valhalla.lan",))
    client = TestClient(create_app(settings, clock=clock), base_url="http://192.168.1.5:8000")
    assert client.get("/core/health").status_code == 200
    assert client.get("/core/health", headers={"Host": "valhalla.lan"}).status_code == 200
    assert client.get("/core/health", headers={"Host": "10.0.0.9:8000"}).json()["detail"]["code"] == "host_not_allowed"


@pytest.mark.parametrize("origin", ["http://evil.example", "http://localhost:9999", "null", "https://localhost"])
def test_a_foreign_origin_cannot_change_state(client, data_dir, origin):
    r = client.post("/core/holdings", json=HOLDING, headers={"Origin": origin})
    assert r.status_code == 403 and r.json()["detail"]["code"] == "foreign_origin"
    bodiless = client.post("/core/golive/disable", headers={"Origin": origin})
    assert bodiless.status_code == 403 and bodiless.json()["detail"]["code"] == "foreign_origin"
    assert not data_dir.exists()
    assert client.get("/core/holdings", headers={"Origin": origin}).status_code == 200  # the browser keeps it from the page


def test_same_origin_and_configured_origins_may_change_state(data_dir, clock):
    client = TestClient(create_app(Settings(data_dir=data_dir, cors_origins=("http://tools.example",)), clock=clock), base_url="http://localhost:8000")
    assert client.post("/core/holdings", json=HOLDING, headers={"Origin": "http://localhost:8000"}).status_code == 201
    assert client.post("/core/holdings", json=HOLDING, headers={"Origin": "http://tools.example"}).status_code == 201
    assert client.post("/core/holdings", json=HOLDING).status_code == 201  # curl sends no Origin


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/csv"])
def test_a_json_body_needs_content_type_application_json(client, data_dir, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    r = client.post("/core/holdings", content=b'{"name": "x", "asset_type": "note", "jurisdiction": "ON"}', headers=headers)
    assert r.status_code == 415
    detail = r.json()["detail"]
    assert detail["code"] == "unsupported_media_type" and detail["expected"] == "application/json"
    assert "Content-Type: application/json" in detail["message"]
    assert not data_dir.exists()


def test_json_with_a_charset_is_json(client):
    r = client.post("/core/holdings", content=b'{"name": "x", "asset_type": "note", "jurisdiction": "ON"}', headers={"Content-Type": "Application/JSON; charset=utf-8"})
    assert r.status_code == 201


@pytest.mark.parametrize("path", ["/core/deals/import", "/core/comms/suppressions/import?list_date=2026-01-05"])
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/json", None])
def test_a_csv_import_needs_content_type_text_csv(client, data_dir, path, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    r = client.post(path, content=CSV.encode(), headers=headers)
    assert r.status_code == 415
    assert r.json()["detail"]["expected"] == "text/csv" and "Content-Type: text/csv" in r.json()["detail"]["message"]
    assert not data_dir.exists()
    assert client.post("/core/deals/import", content=CSV.encode(), headers={"Content-Type": "text/csv; charset=utf-8"}).status_code == 201


@pytest.mark.parametrize("path", ["/core/deals/import", "/core/comms/suppressions/import?list_date=2026-01-05", "/core/holdings"])
def test_a_route_that_needs_a_body_refuses_a_bodiless_request(client, data_dir, path):
    r = client.post(path)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body"] and r.json()["detail"][0]["type"] == "missing"
    assert "Content-Type: " in r.json()["detail"][0]["msg"]
    assert not data_dir.exists()


def test_an_optional_body_may_be_left_out(client):
    assert client.post("/core/golive/disable").status_code == 200
    assert client.post("/core/golive/disable", json={"reason": "end of day"}).status_code == 200


def test_a_body_on_a_route_that_takes_none_must_still_be_json(client, data_dir):
    r = client.post("/core/audit/scan", content=b"x=1", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415 and r.json()["detail"]["expected"] == "application/json"
    assert client.post("/core/audit/scan", json={}).status_code == 200
