"""Every test gets its own data dir, a frozen clock and the app on them.

Building the app costs about a second (FastAPI prepares every route), so one app serves the
whole session and each test gets fresh state: its own settings, Storage and clock. Tests that
need other middleware settings (token, body limit) build their own with create_app."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", message=".*httpx.*", category=DeprecationWarning)

from fastapi.testclient import TestClient  # noqa: E402

from app.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.core_gov.storage import FrozenClock, Storage  # noqa: E402


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def clock() -> FrozenClock:
    # A Monday, 10:00 in Toronto: inside every seeded contact window.
    return FrozenClock("2026-01-05T15:00:00Z")


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir)


@pytest.fixture(scope="session")
def _shared_app(tmp_path_factory):
    return create_app(Settings(data_dir=tmp_path_factory.mktemp("unused") / "data"))


@pytest.fixture
def app(_shared_app, settings: Settings, clock: FrozenClock):
    _shared_app.state.settings = settings
    _shared_app.state.storage = Storage(settings.data_dir, clock, settings.zone)
    return _shared_app


@pytest.fixture
def db(app) -> Storage:
    return app.state.storage


@pytest.fixture
def client(app) -> TestClient:
    return TestClient(app, base_url="http://localhost")  # a loopback Host, as a local client sends
