"""Settings come from VALHALLA_* variables; bad values name the variable and the value."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings, SettingsError


def test_defaults():
    s = Settings.from_env({})
    assert (s.data_dir, s.host, s.port, s.token, s.tz, s.max_body) == (Path("data"), "127.0.0.1", 8000, None, "America/Toronto", 1048576)


def test_values_are_read():
    s = Settings.from_env({"VALHALLA_DATA_DIR": "/srv/v", "VALHALLA_PORT": "9000", "VALHALLA_TZ": "America/Regina", "VALHALLA_CORS_ORIGINS": "http://a, http://b"})
    assert (s.data_dir, s.port, s.tz, s.cors_origins) == (Path("/srv/v"), 9000, "America/Regina", ("http://a", "http://b"))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"VALHALLA_PORT": "abc"}, "VALHALLA_PORT='abc' is not a whole number"),
        ({"VALHALLA_PORT": "70000"}, "VALHALLA_PORT='70000' must be between 1 and 65535"),
        ({"VALHALLA_TZ": "Mars/Olympus"}, "VALHALLA_TZ='Mars/Olympus' is not an IANA time zone"),
        ({"VALHALLA_MAX_BODY": "-5"}, "VALHALLA_MAX_BODY='-5' must be between"),
        ({"VALHALLA_TOKEN": "short"}, "VALHALLA_TOKEN must be at least 16 characters"),
    ],
)
def test_bad_values_name_variable_and_value(env, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        Settings.from_env(env)


def test_serving_beyond_loopback_needs_a_token():
    Settings.from_env({"VALHALLA_HOST": "localhost"}).check_serve()
    Settings.from_env({"VALHALLA_HOST": "::1"}).check_serve()
    with pytest.raises(SettingsError, match="VALHALLA_HOST='0.0.0.0' is not a loopback address"):
        Settings.from_env({"VALHALLA_HOST": "0.0.0.0"}).check_serve()
    Settings.from_env({"VALHALLA_HOST": "0.0.0.0", "VALHALLA_TOKEN": "x" * 20}).check_serve()
