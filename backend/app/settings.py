"""Settings, read once from the environment (``VALHALLA_*``). Bad values fail at startup,
naming the variable and the value; unsafe combinations are refused."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class SettingsError(ValueError):
    pass


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    tz: str = "America/Toronto"
    max_body: int = 1024 * 1024
    cors_origins: tuple[str, ...] = field(default=())

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(f"VALHALLA_{name}")
            return value if value not in (None, "") else None

        def integer(name: str, default: int, low: int, high: int) -> int:
            raw = get(name)
            if raw is None:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise SettingsError(f"VALHALLA_{name}={raw!r} is not a whole number") from None
            if not low <= value <= high:
                raise SettingsError(f"VALHALLA_{name}={raw!r} must be between {low} and {high}")
            return value

        tz = get("TZ") or cls.tz
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(f"VALHALLA_TZ={tz!r} is not an IANA time zone (e.g. America/Toronto)") from None
        token = get("TOKEN")
        if token is not None and len(token) < 16:
            raise SettingsError("VALHALLA_TOKEN must be at least 16 characters")
        origins = tuple(o.strip() for o in (get("CORS_ORIGINS") or "").split(",") if o.strip())
        return cls(
            data_dir=Path(get("DATA_DIR") or cls.data_dir),
            host=get("HOST") or cls.host,
            port=integer("PORT", cls.port, 1, 65535),
            token=token,
            tz=tz,
            max_body=integer("MAX_BODY", cls.max_body, 1024, 1024**3),
            cors_origins=origins,
        )

    def check_serve(self) -> None:
        """Refuse to expose the service beyond this machine without a token."""
        if not _is_loopback(self.host) and not self.token:
            raise SettingsError(
                f"VALHALLA_HOST={self.host!r} is not a loopback address; set VALHALLA_TOKEN to serve beyond this machine"
            )
