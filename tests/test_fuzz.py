"""Schemathesis over the app's own OpenAPI: no generated request, however odd, gets a 5xx.

It covers every route that exists, so each module is fuzzed as soon as it is mounted. A bounded
number of examples per operation keeps the suite fast."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from app.main import create_app
from app.settings import Settings

warnings.filterwarnings("ignore")

APP = create_app(Settings(data_dir=Path(tempfile.mkdtemp(prefix="valhalla-fuzz-")) / "data", allowed_hosts=("testserver",)))  # its client's Host
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_error(case):
    response = case.call()
    assert response.status_code < 500, f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}"
