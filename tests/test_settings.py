"""Settings come from VALHALLA_* variables; bad values name the variable and the value."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings, SettingsError


def test_defaults():
    s = Settings.from_env({})
    assert (s.data_dir, s.host, s.port, s.token, s.tz, s.max_body) == (Path("data"), "127.0.0.1", 8000, None, "America/Toronto", 1048576)


def test_values_are_read(tmp_path):
    s = Settings.from_env({
        "VALHALLA_DATA_DIR": str(tmp_path / "v"), "VALHALLA_PORT": "9000", "VALHALLA_TZ": "America/Regina",
        "VALHALLA_CORS_ORIGINS": "http://a, http://b", "VALHALLA_ALLOWED_HOSTS": "Valhalla.lan, 10.0.0.5",
    })
    assert (s.data_dir, s.port, s.tz, s.cors_origins) == (tmp_path / "v", 9000, "America/Regina", ("http://a", "http://b"))
    assert s.allowed_hosts == ("valhalla.lan", "10.0.0.5")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"VALHALLA_PORT": "abc"}, "VALHALLA_PORT='abc' is not a whole number"),
        ({"VALHALLA_PORT": "70000"}, "VALHALLA_PORT='70000' must be between 1 and 65535"),
        ({"VALHALLA_TZ": "Mars/Olympus"}, "VALHALLA_TZ='Mars/Olympus' is not an IANA time zone"),
        ({"VALHALLA_MAX_BODY": "-5"}, "VALHALLA_MAX_BODY='-5' must be between"),
        ({"VALHALLA_TOKEN": "short"}, "VALHALLA_TOKEN must be at least 16 characters"),
        ({"VALHALLA_TOKEN": " " * 16}, "VALHALLA_TOKEN is blank"),
        ({"VALHALLA_TOKEN": "\t" + " " * 20 + "\n"}, "VALHALLA_TOKEN is blank"),
        ({"VALHALLA_TOKEN": "  short-padded  \n"}, "VALHALLA_TOKEN must be at least 16 characters"),
        ({"VALHALLA_DATA_DIR": __file__}, f"VALHALLA_DATA_DIR={__file__!r}: {__file__} is not a directory"),
        ({"VALHALLA_DATA_DIR": __file__ + "/data"}, f"VALHALLA_DATA_DIR={__file__ + '/data'!r}: {__file__} is not a directory"),
        ({"VALHALLA_ALLOWED_HOSTS": "http://evil.example/"}, "VALHALLA_ALLOWED_HOSTS='http://evil.example/': 'http://evil.example/' is not a host name"),
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


def test_a_token_is_used_without_surrounding_spaces():
    assert Settings.from_env({"VALHALLA_TOKEN": "  s3cret-token-0123456789\n"}).token == "s3cret-token-0123456789"


def test_hosts_served_are_loopback_names_plus_the_configured_ones():
    loopback = {"localhost", "127.0.0.1", "[::1]"}
    assert Settings.from_env({}).hosts == loopback
    assert Settings.from_env({"VALHALLA_HOST": "::1"}).hosts == loopback
    lan = Settings.from_env({"VALHALLA_HOST": "192.168.1.5", "VALHALLA_TOKEN": "x" * 20, "VALHALLA_ALLOWED_HOSTS": "valhalla.lan"})
    assert lan.hosts == loopback | {"192.168.1.5", "valhalla.lan"}
    assert Settings.from_env({"VALHALLA_HOST": "fd00::5", "VALHALLA_TOKEN": "x" * 20}).hosts == loopback | {"[fd00::5]"}
