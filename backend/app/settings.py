"""Settings, read once from the environment (``VALHALLA_*``). Bad values fail at startup,
naming the variable and the value; unsafe combinations are refused."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class SettingsError(ValueError):
    pass


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
_HOST_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")


def host_name(host: str) -> str | None:
    """``host`` as a Host header names it (lower case, IPv6 in brackets), or None if it is none."""
    host = host.strip().lower()
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host if _HOST_NAME.match(host) else None
    return f"[{ip}]" if ip.version == 6 else str(ip)


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
    max_import: int = 1024**3  # a CSV import's body, streamed (VALHALLA_MAX_BODY does not apply)
    cors_origins: tuple[str, ...] = field(default=())
    allowed_hosts: tuple[str, ...] = field(default=())
    import_backups: int = 3  # safety backups kept per set of modules an import changes

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def hosts(self) -> frozenset[str]:
        """The names a request's Host header may carry (any port): loopback, the bind address and
        VALHALLA_ALLOWED_HOSTS. Any other name is refused, so a DNS-rebinding page cannot read."""
        return LOOPBACK_HOSTS | {h for h in (host_name(self.host), *self.allowed_hosts) if h}

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
        if token is not None:
            token = token.strip()
            if not token:
                raise SettingsError("VALHALLA_TOKEN is blank (only spaces); set a token of 16 or more characters, or unset it")
            if len(token) < 16:
                raise SettingsError("VALHALLA_TOKEN must be at least 16 characters")
        origins = tuple(o.strip() for o in (get("CORS_ORIGINS") or "").split(",") if o.strip())
        hosts = []
        for raw in (get("ALLOWED_HOSTS") or "").split(","):
            if raw.strip():
                name = host_name(raw)
                if name is None:
                    raise SettingsError(f"VALHALLA_ALLOWED_HOSTS={get('ALLOWED_HOSTS')!r}: {raw.strip()!r} is not a host name")
                hosts.append(name)
        data_dir = Path(get("DATA_DIR") or cls.data_dir)
        existing = next(p for p in (data_dir, *data_dir.parents) if p.exists())
        if not existing.is_dir():
            raise SettingsError(f"VALHALLA_DATA_DIR={str(data_dir)!r}: {existing} is not a directory")
        return cls(
            data_dir=data_dir,
            host=get("HOST") or cls.host,
            port=integer("PORT", cls.port, 1, 65535),
            token=token,
            tz=tz,
            max_body=integer("MAX_BODY", cls.max_body, 1024, 1024**3),
            max_import=integer("MAX_IMPORT", cls.max_import, 1024, 1024**4),
            cors_origins=origins,
            allowed_hosts=tuple(hosts),
            import_backups=integer("IMPORT_BACKUPS", cls.import_backups, 1, 1000),
        )

    def check_serve(self) -> None:
        """Refuse to expose the service beyond this machine without a token."""
        if not _is_loopback(self.host) and not self.token:
            raise SettingsError(
                f"VALHALLA_HOST={self.host!r} is not a loopback address; set VALHALLA_TOKEN to serve beyond this machine"
            )
