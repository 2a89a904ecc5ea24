"""The operator's dashboard: one HTML page that holds no data of its own.

The page (ui/page.html: HTML, CSS and JavaScript in one file, no build step, nothing fetched from elsewhere)
reads the same JSON endpoints a curl user has, so there is no second source of truth. Each
answer gets a fresh nonce: the Content-Security-Policy runs only the page's own inline script and
style, and lets it fetch only from its own origin. A panel whose endpoint fails says which
file and why; the other panels keep working."""

from __future__ import annotations

import functools
import secrets
from importlib import resources

NONCE_MARK = "__CSP_NONCE__"


@functools.cache
def _template() -> str:
    return resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def content_security_policy(nonce: str) -> str:
    return "; ".join((
        "default-src 'none'",
        f"script-src 'nonce-{nonce}'",
        f"style-src 'nonce-{nonce}'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ))


def page(nonce: str) -> str:
    return _template().replace(NONCE_MARK, nonce)
