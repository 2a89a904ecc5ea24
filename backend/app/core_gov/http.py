"""HTTP conventions written once: dependencies, paging, If-Match/ETag, error rendering, middleware."""

from __future__ import annotations

import hmac
import json
import logging
import re
from dataclasses import dataclass
from typing import Annotated, Any, Sequence, TypeVar

from fastapi import Depends, FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, StringConstraints

from ..settings import Settings
from .errors import CoreError, InvalidField, PayloadTooLarge
from .storage import Input, Storage, actor

log = logging.getLogger("valhalla")
T = TypeVar("T")


# The dependencies below do no I/O, so they are async: FastAPI runs a plain-def dependency in the
# threadpool, and that hop per dependency would cost more than reading a cached record.


async def get_storage(request: Request) -> Storage:
    return request.app.state.storage


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


StorageDep = Annotated[Storage, Depends(get_storage)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

# A reason an operator gives for an action: required, not blank.
NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
ReasonQuery = Annotated[str, Query(min_length=1, max_length=2000, pattern=r"\S", description="Why (recorded in the audit trail)")]


class ReasonBody(Input):
    reason: NonBlank


@dataclass(frozen=True)
class PageParams:
    limit: int = 100
    offset: int = 0


async def _page(
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many records")] = 100,
    offset: Annotated[int, Query(ge=0, description="Skip this many records first")] = 0,
) -> PageParams:
    return PageParams(limit, offset)


Page = Annotated[PageParams, Depends(_page)]


def paginate(response: Response, items: Sequence[T], page: PageParams) -> list[T]:
    """Slice a filtered list and report the total before slicing in X-Total-Count."""
    response.headers["X-Total-Count"] = str(len(items))
    return list(items[page.offset : page.offset + page.limit])


_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')


async def _if_match(if_match: Annotated[str | None, Header(description='The record\'s ETag ("<version>"); 412 if it changed')] = None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    m = _ETAG.match(if_match)
    if not m:
        raise InvalidField(("header", "if-match"), f"expected an ETag like \"3\", got {if_match!r}")
    return int(m.group(1))


IfMatch = Annotated[int | None, Depends(_if_match)]


def etag(response: Response, record: T) -> T:
    response.headers["ETag"] = f'"{record.version}"'  # type: ignore[attr-defined]
    return record


class Problem(BaseModel):
    detail: Any


_DESCRIPTIONS = {
    401: "Missing or wrong bearer token",
    404: "No such record",
    409: "Refused by a rule: detail.code names it",
    412: "If-Match does not match the record's version",
    413: "Body over VALHALLA_MAX_BODY",
    422: "Invalid input: detail names the field",
    423: "Execution halted: go_live_disabled or kill_switch_engaged",
    503: "A data file is corrupt or the disk refused the write: detail names the file",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Document a route's error responses (404/409/... always plus 422 and 503)."""
    return {code: {"model": Problem, "description": _DESCRIPTIONS[code]} for code in sorted({*codes, 422, 503})}


# ------------------------------------------------------------------------------ error handlers


def add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CoreError)
    def _core_error(request: Request, exc: CoreError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "value_error")}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(Exception)
    def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": {"code": "internal_error", "message": "unexpected error; see the server log"}}, status_code=500)


# ------------------------------------------------------------------------------ middleware

OPEN_PATHS = ("/core/health", "/core/ui")
_ACTOR = re.compile(r"^[\w .@:+-]{1,64}$")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


class CoreMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware task hop): body limit, bearer token, actor, headers."""

    def __init__(self, app: Any, settings: Settings):
        self.app = app
        self.max_body = settings.max_body
        self.token = settings.token.encode() if settings.token else None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        path: str = scope["path"]

        # /core/health (liveness) and /core/ui (a page with no data in it; its requests carry
        # the token) are open; everything else under /core needs the bearer token.
        if self.token and path.startswith("/core") and path.rstrip("/") not in OPEN_PATHS:
            given = headers.get(b"authorization", b"")
            if not (given.startswith(b"Bearer ") and hmac.compare_digest(given[7:].strip(), self.token)):
                return await _reply(send, 401, "missing or wrong bearer token (Authorization: Bearer <VALHALLA_TOKEN>)", [(b"www-authenticate", b"Bearer")])

        raw_actor = headers.get(b"x-actor")
        who = "operator"
        if raw_actor is not None:
            who = raw_actor.decode("latin-1").strip()
            if not _ACTOR.match(who):
                return await _reply(send, 422, [{"loc": ["header", "x-actor"], "msg": "1-64 letters, digits, spaces or . @ : + - _", "type": "value_error"}])

        declared = headers.get(b"content-length")

        # Streamed bodies: a route named in STREAMED_BODIES reads its own body in chunks, up to its own limit.
        streamed = STREAMED_BODIES.get(path)
        if streamed is not None:
            if declared is not None and (not declared.isdigit() or int(declared) > streamed):
                return await _reply(send, 413, f"body over the limit of {streamed} bytes for {path}")
            declared, receive = None, _capped(receive, streamed)

        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            return await _reply(send, 413, f"body over the limit of {self.max_body} bytes (VALHALLA_MAX_BODY)")
        body = bytearray()
        more = streamed is None
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body:
                return await _reply(send, 413, f"body over the limit of {self.max_body} bytes (VALHALLA_MAX_BODY)")

        replayed = streamed is not None

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *((k, v) for k, v in SECURITY_HEADERS if k not in present)]
            await send(message)

        token = actor.set(who)
        try:
            await self.app(scope, replay, send_with_headers)
        finally:
            actor.reset(token)


# path -> the most bytes its route reads with request.stream() (the route registers itself here).
STREAMED_BODIES: dict[str, int] = {}


def _capped(receive: Any, limit: int) -> Any:
    """receive, refusing (413 from the route reading it) a body that grows over ``limit``."""
    seen = 0

    async def capped() -> dict:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise PayloadTooLarge(f"body over the limit of {limit} bytes")
        return message

    return capped


async def _reply(send: Any, status: int, detail: Any, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *SECURITY_HEADERS, *(extra or [])],
    })
    await send({"type": "http.response.body", "body": body})
