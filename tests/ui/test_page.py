"""GET /core/ui without a browser: an HTML page with a strict Content-Security-Policy that reads
only mounted JSON endpoints and holds no data of its own."""

from __future__ import annotations

import re

from app.core_gov.core_router import core_routes
from app.core_gov.ui import service
from app.main import create_app
from app.settings import Settings
from fastapi.testclient import TestClient


def csp(response) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))


def test_the_dashboard_answers_html_with_a_strict_csp_and_a_nonce(client):
    response = client.get("/core/ui")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = csp(response)
    nonce = re.fullmatch(r"'nonce-([A-Za-z0-9_-]{24})'", policy["script-src"]).group(1)
    assert policy == {
        "default-src": "'none'", "script-src": f"'nonce-{nonce}'", "style-src": f"'nonce-{nonce}'", "connect-src": "'self'",
        "img-src": "'self' data:", "base-uri": "'none'", "form-action": "'none'", "frame-ancestors": "'none'",
    }
    html = response.text
    assert re.findall(r"<script\b[^>]*>", html) == [f'<script nonce="{nonce}">']
    assert re.findall(r"<style\b[^>]*>", html) == [f'<style nonce="{nonce}">']
    assert " style=" not in html and "unsafe-inline" not in response.headers["content-security-policy"]
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", html), "the page loads nothing from another host"
    assert (response.headers["x-frame-options"], response.headers["cache-control"]) == ("DENY", "no-store")


def test_each_answer_gets_a_fresh_nonce(client):
    first, second = (csp(client.get("/core/ui"))["script-src"] for _ in range(2))
    assert first != second


def test_the_page_holds_no_data_so_a_corrupt_file_does_not_stop_it(client, data_dir):
    client.get("/core/deals/summary")
    (data_dir / "deals").mkdir(parents=True, exist_ok=True)
    (data_dir / "deals" / "deals.json").write_text("{not json")
    assert client.get("/core/deals/summary").status_code == 503
    response = client.get("/core/ui")
    assert response.status_code == 200 and 'data-testid="refresh"' in response.text


def _read_paths() -> set[str]:
    """Every /core path the page's script fetches (a string starting with it), ${...} parts as {param}."""
    found = re.findall(r"""["`](/core/(?:[A-Za-z0-9_/.-]|\$\{[^}]*\})*)""", service.page("test-nonce"))
    return {re.sub(r"\$\{[^}]*\}", "{param}", p) for p in found}


def test_every_endpoint_the_page_reads_is_a_mounted_get_route():
    routes = {re.sub(r"\{[^}]+\}", "{param}", path) for _, path, route in core_routes() if "GET" in route.methods}
    assert _read_paths() == {
        "/core/golive/state", "/core/runbook/status", "/core/regression/state", "/core/risk/snapshot", "/core/deals/summary",
        "/core/deals", "/core/dispo/assignments", "/core/deals/{param}/finalization", "/core/followups/due", "/core/followups/sla",
        "/core/followups/tasks", "/core/comms/suppressions", "/core/comms/suppressions/imports", "/core/buyers/liquidity/nodes",
        "/core/kpi/summary", "/core/deals/offers/evidence", "/core/runbook/consents",
    }
    assert _read_paths() <= routes


def test_the_hints_name_routes_that_exist():
    writes = {(m, re.sub(r"\{[^}]+\}", "{x}", path)) for _, path, route in core_routes() for m in route.methods}
    named = re.findall(r"(POST|PUT|PATCH|DELETE) (/core/(?:[a-z_/{}-]|\$\{[^}]*\})+)", service.page("test-nonce"))
    assert len(named) >= 10
    for method, path in named:  # a `${...}` part is filled in by the script
        assert (method, re.sub(r"\$?\{[^}]+\}", "{x}", path)) in writes, f"{method} {path}"


def test_with_a_token_the_page_itself_is_served_openly_and_the_data_is_not(data_dir):
    client = TestClient(create_app(Settings(data_dir=data_dir, token="s3cret-token-0123456789")), base_url="http://localhost")
    assert client.get("/core/golive/state").status_code == 401
    assert client.get("/core/ui").status_code == 200
