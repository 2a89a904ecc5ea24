"""Every test gets its own data dir, a frozen clock and an app built on them."""

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


@pytest.fixture
def app(settings: Settings, clock: FrozenClock):
    return create_app(settings, clock=clock)


@pytest.fixture
def db(app) -> Storage:
    return app.state.storage


@pytest.fixture
def client(app) -> TestClient:
    return TestClient(app)
