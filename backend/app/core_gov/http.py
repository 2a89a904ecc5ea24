"""HTTP conventions written once: dependencies, paging, If-Match/ETag, error rendering, middleware."""

from __future__ import annotations

import functools
import hmac
import json
import logging
import re
import threading
from dataclasses import dataclass
from typing import Annotated, Any, Awaitable, Callable, Iterable, Iterator, Sequence, TypeVar
from urllib.parse import parse_qsl

import anyio
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
import pydantic_core
from fastapi.dependencies.models import Dependant
from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute, serialize_response
from fastapi.utils import is_body_allowed_for_status_code
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from pydantic import BaseModel, StringConstraints
from starlette.exceptions import HTTPException
from starlette.routing import Match, compile_path, get_name

from ..settings import Settings, host_name
from .errors import CoreError, InvalidField, PayloadTooLarge
from .storage import Input, Record, Records, Storage, actor

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


MAX_LIMIT = 1000


async def _page(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="At most this many records")] = 100,
    offset: Annotated[int, Query(ge=0, description="Skip this many records first")] = 0,
) -> PageParams:
    return PageParams(limit, offset)


Page = Annotated[PageParams, Depends(_page)]


def query_names(dependant: Dependant) -> set[str]:
    """The query parameters a route declares: its own and its dependencies' (limit, offset, ...)."""
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= query_names(sub)
    return names


# A route's endpoint -> the query parameters it declares (its own and its dependencies').
_KNOWN: dict[Callable[..., Any], frozenset[str]] = {}


async def refuse_unknown_query(request: Request) -> None:
    """A misspelt filter must not be ignored (it would answer every record): 422 naming it."""
    if not request.query_params:
        return
    route: APIRoute = request.scope["route"]
    known = _KNOWN.get(route.endpoint)
    if known is None:
        known = _KNOWN[route.endpoint] = frozenset(query_names(route.dependant))
    unknown = next((name for name in request.query_params if name not in known), None)
    if unknown is not None:
        takes = f"takes: {', '.join(sorted(known))}" if known else "takes no query parameters"
        raise InvalidField(("query", unknown), f"unknown query parameter {unknown!r}; {request.method} {request.url.path} {takes}", "unknown_query_parameter")


def paginate(response: Response, items: Sequence[T], page: PageParams) -> Any:
    """One page of a list, with the total before slicing in X-Total-Count. Stored records are
    answered with the JSON the store keeps for them (validated when read from disk), so a
    page makes no model and serialises nothing; other items are serialised by pydantic."""
    stop = page.offset + page.limit
    if isinstance(items, Records):
        parts = items.frags(page.offset, stop)
    else:
        parts = [pydantic_core.to_json(item, by_alias=True) for item in items[page.offset : stop]]
    headers = [(k, v) for k, v in response.headers.raw if k != b"content-length"]
    headers.append((b"x-total-count", str(len(items)).encode()))
    return JSONBytes(b"[" + b",".join(parts) + b"]", headers)


_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')


async def _if_match(if_match: Annotated[str | None, Header(description='The record\'s ETag ("<version>"); 412 if it changed')] = None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    m = _ETAG.match(if_match)
    if not m:
        raise InvalidField(("header", "if-match"), f"expected an ETag like \"3\", got {if_match!r}")
    return int(m.group(1))


IfMatch = Annotated[int | None, Depends(_if_match)]


def one(record: Record) -> Any:
    """GET one: the record as JSON with its ETag ("<version>"), serialised straight from the
    store's cached model. FastAPI neither validates nor re-serialises it; the route's return
    annotation still describes the body in /docs."""
    return JSONBytes(_json_of(record), [(b"etag", b'"%d"' % record.version)])


class JSONBytes(Response):
    """A JSON body already serialised, with its own headers (lower-case names): made without
    Starlette's pass over the headers, which cost a GET one more than serialising the record."""

    media_type = "application/json"

    def __init__(self, body: bytes, headers: list[tuple[bytes, bytes]], status_code: int = 200):  # noqa: D107
        self.body, self.status_code, self.background = body, status_code, None
        self.raw_headers = [(b"content-length", b"%d" % len(body)), (b"content-type", b"application/json"), *headers]


# The JSON of the records answered lately, by the record object: a stored record is frozen and a
# change makes a new object, so an entry is never stale (the record is kept with it, so its id()
# is not reused while it is here).
_ANSWERED: dict[int, tuple[Record, bytes]] = {}
ANSWERED_KEPT = 4096


def _json_of(record: Record) -> bytes:
    kept = _ANSWERED.get(id(record))
    if kept is not None and kept[0] is record:
        return kept[1]
    body = pydantic_core.to_json(record, by_alias=True)
    if len(_ANSWERED) >= ANSWERED_KEPT:
        _ANSWERED.pop(next(iter(_ANSWERED), None), None)  # the oldest
    _ANSWERED[id(record)] = (record, body)
    return body


def etag(response: Response, record: T) -> T:
    """POST / PATCH: the ETag of the record answered (FastAPI serialises it, with the route's
    status code)."""
    response.headers["ETag"] = f'"{record.version}"'  # type: ignore[attr-defined]
    return record


# ------------------------------------------------------------------------------ lean routes
# FastAPI solves a route's dependencies anew on every request (reading each declared parameter
# through several layers), and runs a plain-def route's answer through a second threadpool hop
# to validate it: together more than a cached read, and a good part of a write besides its
# commit. The usual routes are served without that, by the rules below; any request they do not
# cover (a filter, a bad page or body, a header to check) is handed to FastAPI as it was.


def path_start(path: str) -> str:
    """A path's first two segments ('/core/holdings' of '/core/holdings/hld_1'), or all of a shorter one."""
    return "/".join(path.split("/", 3)[:3])


def by_start(items: Sequence[T], templates: Sequence[str | None]) -> tuple[dict[str, list[T]], list[T]]:
    """Items (routes, body rules) by the start every path their template matches begins with
    (``path_start``), each list in the given order and holding as well, in place, the items
    whose template does not spell its start out (a parameter in it, or None: a mount); those
    are also returned alone, for a path whose start no template has."""
    def start(template: str | None) -> str | None:
        key = path_start(template) if template is not None else None
        return key if key is not None and "{" not in key and (key.count("/") == 2 or key == template) else None

    keys = [start(t) for t in templates]
    always = [item for item, key in zip(items, keys) if key is None]
    return {key: [i for i, k in zip(items, keys) if k in (None, key)] for key in set(keys) - {None}}, always


_DIGITS = re.compile(r"^[0-9]{1,9}$")
_PAGE_QUERY = frozenset({"limit", "offset"})
Handler = Callable[[dict, Any, Any], Awaitable[None]]


def lean_handler(route: APIRoute) -> Handler | None:
    """The lean handler of a GET one, a list, or a JSON create or change; None for the others."""
    d = route.dependant
    if (d.cookie_params or d.request_param_name or d.http_connection_param_name or d.background_tasks_param_name
            or d.security_scopes_param_name or d.websocket_param_name
            or any(p.field_info.annotation is not str or p.field_info.metadata for p in d.path_params)):
        return None
    return _lean_read(route) or _lean_write(route)


class Arguments:
    """The arguments every lean route takes the same way (storage, path ids, the Response), read
    from the route once: ``arguments(scope)`` -> (values by parameter name, the Response or None)."""

    def __init__(self, route: APIRoute, names: dict[Callable[..., Any], str | None]):
        d = route.dependant
        self.path = [(p.name, p.alias) for p in d.path_params]
        self.storage, self.response = names.get(get_storage), d.response_param_name

    def __call__(self, scope: dict) -> tuple[dict[str, Any], Response | None]:
        given = scope["path_params"]
        values: dict[str, Any] = {name: given[alias] for name, alias in self.path}
        if self.storage:
            values[self.storage] = scope["app"].state.storage
        response = None
        if self.response:
            values[self.response] = response = Response()
            del response.headers["content-length"]
            response.status_code = None  # type: ignore[assignment]  (as FastAPI's: the route's status unless the endpoint sets one)
        return values, response


def _lean_read(route: APIRoute) -> "LeanRead | None":
    """A GET one or list (an async read whose path ends in `_id}`, or that takes `Page`): the
    endpoint answers the Response `one()` or `paginate()` made. FastAPI answers a request with
    any query parameter but `limit` and `offset` as plain numbers in range."""
    d = route.dependant
    names = {sub.call: sub.name for sub in d.dependencies}
    if (route.methods - {"HEAD"} != {"GET"} or not d.is_coroutine_callable or not (_page in names or route.path.endswith("_id}"))
            or not names.keys() <= {get_storage, _page, refuse_unknown_query} or d.header_params or d.body_params
            or any(p.field_info.is_required() or p.default is not None for p in d.query_params)):
        return None
    return LeanRead(route, names)


class LeanRead:
    """The lean handler of a read route. ``answer(scope)`` is the endpoint's Response, or None
    for a request FastAPI must answer; it sends nothing, so a caller may answer the request
    another way when it raises (``CoreMiddleware`` serves reads ahead of FastAPI's stack)."""

    def __init__(self, route: APIRoute, names: dict[Callable[..., Any], str | None]):
        self.route, self.arguments, self.page_name = route, Arguments(route, names), names.get(_page)
        self.unset = {p.name: None for p in route.dependant.query_params}

    async def answer(self, scope: dict) -> Response | None:
        page = PageParams()
        if scope["query_string"]:
            given = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            asked = dict(given)
            if (not self.page_name or len(asked) < len(given) or not asked.keys() <= _PAGE_QUERY or not all(map(_DIGITS.match, asked.values()))
                    or not 1 <= int(asked.get("limit", page.limit)) <= MAX_LIMIT):
                return None
            page = PageParams(int(asked.get("limit", page.limit)), int(asked.get("offset", page.offset)))
        values, _ = self.arguments(scope)
        values.update(self.unset)
        if self.page_name:
            values[self.page_name] = page
        answer = await self.route.dependant.call(**values)  # type: ignore[misc]
        if not isinstance(answer, Response):
            raise TypeError(f"GET {self.route.path} answers one(...) or paginate(...), not {type(answer).__name__}")
        return answer

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        answer = await self.answer(scope)
        await (answer or self.route.handle)(scope, receive, send)


def _lean_write(route: APIRoute) -> Handler | None:
    """A plain-def POST or PATCH of one JSON body (a pydantic model) answering a model: the body
    is read and validated as FastAPI does, the endpoint runs in the threadpool, and its answer
    is validated and serialised in the event loop (one threadpool hop, not two). FastAPI answers
    a request with a query string, or whose body it would refuse (it is handed the same bytes)."""
    d = route.dependant
    names = {sub.call: sub.name for sub in d.dependencies}
    body = d.body_params[0] if len(d.body_params) == 1 else None
    if (route.methods not in ({"POST"}, {"PATCH"}) or d.is_coroutine_callable or d.is_gen_callable or body is None
            or getattr(route, "_embed_body_fields", True) or not isinstance(body.field_info.annotation, type) or not issubclass(body.field_info.annotation, BaseModel)
            or getattr(body.field_info, "media_type", "application/json") != "application/json" or route.path in STREAMED_BODIES
            or not names.keys() <= {get_storage, _if_match, refuse_unknown_query} or d.header_params or d.query_params
            or route.response_field is None or not isinstance(route.response_class, DefaultPlaceholder)
            or route.response_model_include is not None or route.response_model_exclude is not None or not route.response_model_by_alias
            or route.response_model_exclude_unset or route.response_model_exclude_defaults or route.response_model_exclude_none):
        return None
    arguments = Arguments(route, names)

    async def handle(scope: dict, receive: Any, send: Any) -> None:
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        raw, replayed = b"".join(chunks), False

        async def replay() -> dict:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": raw, "more_body": False}

        json_sent = Headers(scope=scope).get("content-type", "").split(";")[0].strip().lower() == "application/json"
        try:
            data = json.loads(raw) if raw and json_sent and not scope["query_string"] else None
        except (ValueError, RecursionError):
            data = None
        value, errors = body.validate(data, {}, loc=("body",)) if data is not None else (None, True)
        if errors:
            return await route.handle(scope, replay, send)
        values, response = arguments(scope)
        values[body.name] = value
        if names.get(_if_match):
            values[names[_if_match]] = await _if_match(Headers(scope=scope).get("if-match"))  # type: ignore[index]
        answer = await run_in_threadpool(d.call, **values)  # type: ignore[arg-type]
        if not isinstance(answer, Response):
            content = await serialize_response(field=route.response_field, response_content=answer, is_coroutine=True, dump_json=True)
            status = (response and response.status_code) or route.status_code or 200
            answer = Response(content, media_type="application/json", status_code=status)
            if not is_body_allowed_for_status_code(status):
                answer.body = b""
            answer.headers.raw.extend(response.headers.raw if response else [])
        await answer(scope, receive, send)

    return handle


class LazyRoute(APIRoute):
    """An APIRoute built when first used: what matching a request needs (path, methods, name)
    at once, the rest (dependencies, body and response fields: most of the time the service
    takes to start) when a request, the OpenAPI document or anything else first asks for it.
    A build runs once, under a lock (a plain-def route may ask from the threadpool)."""

    _building = threading.RLock()

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:  # noqa: D107  (APIRoute's own)
        self._pending = (path, endpoint, kwargs)
        self.path, self.endpoint = path, endpoint
        self.name = get_name(endpoint) if kwargs.get("name") is None else kwargs["name"]
        self.path_regex, self.path_format, self.param_convertors = compile_path(path)
        self.methods = {method.upper() for method in kwargs.get("methods") or ["GET"]}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy and pickle probe for these
            raise AttributeError(name)
        with LazyRoute._building:
            pending = self.__dict__.pop("_pending", None)
            if pending is not None:
                path, endpoint, kwargs = pending
                try:
                    APIRoute.__init__(self, path, endpoint, **kwargs)
                except BaseException:
                    self._pending = pending
                    raise
        if name in self.__dict__:
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


class ModuleRouter(APIRouter):
    """A module's routes, declared with the usual decorators and built once, as ``LazyRoute``s
    when the app mounts them (``core_router.include_core``). FastAPI builds a route again at
    every include, so an APIRouter would build each twice: once at import and once mounted.
    ``routes`` still makes the module's own copies on first use (tests read them)."""

    def __init__(self, *, prefix: str = "", tags: list[str] | None = None) -> None:
        self.declared: list[tuple[str, Callable[..., Any], dict[str, Any]]] = []
        self._made, self._making = 0, False
        super().__init__(prefix=prefix, tags=list(tags or []))

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:  # type: ignore[override]
        self.declared.append((path, endpoint, kwargs))

    @property  # type: ignore[override]
    def routes(self) -> list[Any]:
        if not self._making:
            self._making = True
            try:
                while self._made < len(self.declared):
                    path, endpoint, kwargs = self.declared[self._made]
                    self._made += 1
                    super().add_api_route(path, endpoint, **kwargs)
            finally:
                self._making = False
        return self._routes

    @routes.setter
    def routes(self, value: list[Any]) -> None:
        self._routes = value

    def mount_on(self, app: FastAPI, prefix: str, dependencies: Sequence[Any]) -> list[APIRoute]:
        """Mount this module's routes on the app under ``prefix`` (as ``include_router`` would,
        with ``dependencies`` first), each built when first used; returns them."""
        built = []
        for path, endpoint, kwargs in self.declared:
            app.router.add_api_route(prefix + self.prefix + path, endpoint, route_class_override=LazyRoute, **{
                **kwargs, "tags": [*self.tags, *(kwargs.get("tags") or [])], "dependencies": [*dependencies, *(kwargs.get("dependencies") or [])],
            })
            built.append(app.router.routes[-1])
        return built


class Problem(BaseModel):
    detail: Any


_DESCRIPTIONS = {
    401: "Missing or wrong bearer token",
    404: "No such record",
    409: "Refused by a rule: detail.code names it",
    412: "If-Match does not match the record's version",
    413: "Body over VALHALLA_MAX_BODY, or a streamed CSV import over its limit (VALHALLA_MAX_IMPORT)",
    422: "Invalid input: detail names the field",
    423: "Execution halted: go_live_disabled or kill_switch_engaged",
    503: "A data file is corrupt or the disk refused the write: detail names the file",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Document a route's error responses (404/409/... always plus 422 and 503)."""
    return {code: {"model": Problem, "description": _DESCRIPTIONS[code]} for code in sorted({*codes, 422, 503})}


# ------------------------------------------------------------------------------ error handlers


ECHO = 200  # characters of a sent value an error message repeats


def capped(detail: Any) -> Any:
    """An error detail with every long run of sent text cut to ECHO characters and an ellipsis."""
    if isinstance(detail, str):
        detail = re.sub(rf"\S{{{ECHO}}}\S+", lambda m: m.group()[:ECHO] + "…", detail)
        return detail if len(detail) <= 4 * ECHO else detail[: 4 * ECHO] + "…"
    if isinstance(detail, list):
        return [capped(v) for v in detail]
    if isinstance(detail, dict):
        return {k: capped(v) for k, v in detail.items()}
    return detail


def _error(status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": capped(detail)}, status_code=status, headers=headers)


def _invalid_json(loc: list, why: str) -> JSONResponse:
    return _error(422, [{"loc": loc, "msg": f"invalid JSON: {why}", "type": "json_invalid"}])


def _allowed_methods(request: Request) -> str:
    """Every method some route answers on this path (a 405's Allow header)."""
    found = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            found.append(method)
    return ", ".join(found)


def add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CoreError)
    def _core_error(request: Request, exc: CoreError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return _error(exc.status_code, exc.detail, headers)

    @app.exception_handler(RequestValidationError)
    def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for e in exc.errors():
            loc, msg = list(e.get("loc", ())), e.get("msg", "")
            if e.get("type") == "json_invalid":  # FastAPI's "JSON decode error": say what and where
                return _invalid_json(loc, str(json.JSONDecodeError(e["ctx"]["error"], exc.body, loc[-1])))
            errors.append({"loc": loc, "msg": msg.removeprefix("Value error, "), "type": e.get("type", "value_error")})
        return _error(422, errors)

    @app.exception_handler(HTTPException)
    def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        # FastAPI answers a JSON body it cannot decode (not UTF-8, nested too deeply) with a bare 400.
        cause = exc.__cause__
        if isinstance(cause, UnicodeDecodeError):
            return _invalid_json(["body", cause.start], f"not UTF-8 (byte {cause.object[cause.start]:#04x} at byte {cause.start})")
        if isinstance(cause, RecursionError):
            return _invalid_json(["body"], "nested too deeply")
        headers = {**(exc.headers or {}), "Allow": _allowed_methods(request)} if exc.status_code == 405 else exc.headers
        return _error(exc.status_code, exc.detail, headers)

    @app.exception_handler(Exception)
    def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": {"code": "internal_error", "message": "unexpected error; see the server log"}}, status_code=500)


# ------------------------------------------------------------------------------ middleware

OPEN_PATHS = ("/core", "/core/health", "/core/ui")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_ACTOR = re.compile(r"^[\w .@:+-]{1,64}$")
_PORT = re.compile(r":\d*$")
_KIND = {"application/json": "JSON", "text/csv": "CSV text"}
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]
_SECURITY_NAMES = frozenset(k for k, _ in SECURITY_HEADERS)


class BodyRule:
    """The body a route takes: its media type (None: no body; any body sent must then be JSON),
    and whether it is required; read from the route when first asked (``LazyRoute``)."""

    def __init__(self, path: str, route: APIRoute):
        self.methods, self.path, self.route = frozenset(route.methods), compile_path(path)[0], route

    @functools.cached_property
    def media_type(self) -> str | None:
        body = self.route.body_field
        return body.field_info.media_type if body else None  # type: ignore[attr-defined]

    @functools.cached_property
    def required(self) -> bool:
        body = self.route.body_field
        return bool(body and body.field_info.is_required())


def _secured(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """An answer's headers with the security headers it does not set itself."""
    headers = list(headers)
    present = {k for k, _ in headers} & _SECURITY_NAMES  # ASGI header names are lower case
    return headers + ([(k, v) for k, v in SECURITY_HEADERS if k not in present] if present else SECURITY_HEADERS)


class CoreMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware task hop): Host, bearer token, Origin, actor, body limit,
    body media type, security headers. ``routes`` are (full path, route) of every API route."""

    def __init__(self, app: Any, settings: Settings, routes: Iterable[tuple[str, APIRoute]] = (), router: Any = None):
        self.app = app
        # GET requests are answered here, ahead of FastAPI's stack, when the router's routing
        # answers them (``IndexedRouting.read``: GET one and pages, cached reads): the exception
        # handling, routing and send wrappers of that stack cost a GET one more than the read itself.
        # The middlewares added before this one (CORS) do not see them: a request with an Origin
        # header goes through the stack.
        self.router = router
        self.max_body = settings.max_body
        self.max_import = settings.max_import
        self.token = settings.token.encode() if settings.token else None
        self.hosts = settings.hosts
        self.served: dict[bytes, str] = {}  # Host headers served, as sent -> as text in lower case
        self.origins = frozenset(o.rstrip("/").lower() for o in settings.cors_origins)
        routes = list(routes)
        self.rules, self.any_rules = by_start([BodyRule(path, route) for path, route in routes], [path for path, _ in routes])

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        refusal = self._refusal(scope, headers)
        if refusal:
            return await _reply(send, *refusal)
        reads = getattr(self.router and self.router.middleware_stack, "read", None)
        if (reads is not None and scope["method"] == "GET" and headers.get(b"content-length", b"0") == b"0"
                and b"transfer-encoding" not in headers and b"origin" not in headers):  # a browser's cross-site read: CORS answers it
            answer = await reads(scope)
            if answer is not None:
                await send({"type": "http.response.start", "status": answer.status_code, "headers": _secured(answer.raw_headers)})
                return await send({"type": "http.response.body", "body": answer.body})
        # A route named in STREAMED_BODIES reads its own body in chunks, up to its own limit.
        streamed = self._stream_limit(scope["path"])
        if streamed is not None:
            receive = _capped(receive, *streamed)
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
        refusal = self._body_refusal(scope, headers, body if streamed is None else None)
        if refusal:
            return await _reply(send, *refusal)

        replayed = streamed is not None

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _secured(message.get("headers", []))
            await send(message)

        token = actor.set(headers.get(b"x-actor", b"operator").decode("latin-1").strip())
        try:
            await self.app(scope, replay, send_with_headers)
        finally:
            actor.reset(token)

    def _refusal(self, scope: dict, headers: dict[bytes, bytes]) -> tuple | None:
        """Why the request is refused before its body is read (status, detail[, headers]), if it is."""
        path: str = scope["path"]
        # Only the names this service is reached by: a DNS-rebinding page (its own name resolving
        # to 127.0.0.1) sends its own name, so it can neither read nor write.
        raw_host = headers.get(b"host", b"")
        if raw_host in self.served:
            host = self.served[raw_host]
        else:
            host = raw_host.decode("latin-1").lower()
            if not self._served(raw_host, host):
                return 400, {"code": "host_not_allowed", "message": (
                    f"Host {host!r} is not served here: use {' or '.join(sorted(self.hosts))} (add a name with VALHALLA_ALLOWED_HOSTS)")}

        # /core/health (liveness), /core/ui (a page with no data in it; its requests carry the
        # token) and the /core index are open; everything else under /core needs the bearer token.
        if self.token and path.startswith("/core") and path.rstrip("/") not in OPEN_PATHS:
            given = headers.get(b"authorization", b"")
            if not (given.startswith(b"Bearer ") and hmac.compare_digest(given[7:].strip(), self.token)):
                return 401, "missing or wrong bearer token (Authorization: Bearer <VALHALLA_TOKEN>)", [(b"www-authenticate", b"Bearer")]

        # A browser names the page behind every cross-site write in Origin (curl sends none).
        origin = headers.get(b"origin")
        if origin is not None and scope["method"] not in SAFE_METHODS:
            page = origin.decode("latin-1").lower().rstrip("/")
            if page != f"{scope['scheme']}://{host}" and page not in self.origins:
                return 403, {"code": "foreign_origin", "message": f"a page at {page!r} may not change anything here (allow it with VALHALLA_CORS_ORIGINS)"}

        raw_actor = headers.get(b"x-actor")
        if raw_actor is not None and not _ACTOR.match(raw_actor.decode("latin-1").strip()):
            return 422, [{"loc": ["header", "x-actor"], "msg": "1-64 letters, digits, spaces or . @ : + - _", "type": "value_error"}]

        declared = headers.get(b"content-length")
        if declared is not None and declared != b"0":
            limit, too_large = self._stream_limit(path) or (self.max_body, f"body over the limit of {self.max_body} bytes (VALHALLA_MAX_BODY)")
            if not declared.isdigit() or int(declared) > limit:
                return 413, too_large
        return None

    def _served(self, raw: bytes, host: str) -> bool:
        """Whether a Host header (``raw``, and as text in lower case) names this service; the
        names served are kept as sent (a client sends the same one on every request)."""
        if host_name(_PORT.sub("", host)) not in self.hosts:
            return False
        if len(self.served) < 64:
            self.served[raw] = host
        return True

    def _stream_limit(self, path: str) -> tuple[int, str] | None:
        """(the most bytes, the 413 message) of a route that streams its body; None for the others."""
        if path not in STREAMED_BODIES:
            return None
        own = STREAMED_BODIES[path]
        limit = own or self.max_import
        return limit, f"body over the limit of {limit} bytes " + (f"for {path}" if own else "(VALHALLA_MAX_IMPORT)")

    def _body_refusal(self, scope: dict, headers: dict[bytes, bytes], body: bytearray | None) -> tuple | None:
        """Every body in the media type its route declares (JSON where it declares none): a
        cross-site form or text/plain fetch cannot send application/json or text/csv without the
        browser asking first (CORS). A required body may not be left out. A streamed body
        (``None``: its route reads it) is judged by its content type alone."""
        method, path = scope["method"], scope["path"]
        streamed = body is None
        if streamed:  # not read here: judged by its headers (an empty CSV is its route's to refuse)
            length, chunked = headers.get(b"content-length"), b"transfer-encoding" in headers
            bodiless = b"content-type" not in headers and not chunked and length in (None, b"0")
            body = bytearray(b"" if bodiless else b"-")
        if not body and method in SAFE_METHODS:
            return None
        rule = next((r for r in self.rules.get(path_start(path), self.any_rules) if method in r.methods and r.path.match(path)), None)
        if rule is None:  # no such route: 404 or 405 from the router
            return None
        expected = "text/csv" if path in STREAMED_BODIES else rule.media_type or "application/json"
        wanted = f"{_KIND.get(expected, expected)} sent with Content-Type: {expected}"
        sent = headers.get(b"content-type", b"").split(b";")[0].strip().lower().decode("latin-1")
        if body and sent != expected:
            got = f"Content-Type: {sent}" if sent else "no Content-Type"
            return 415, {"code": "unsupported_media_type", "expected": expected, "message": f"the body must be {wanted} (got {got})"}
        if not body and (rule.required or streamed):
            return 422, [{"loc": ["body"], "msg": f"the body is empty: it must be {wanted}", "type": "missing"}]
        return None


# path -> the most bytes its route reads with ``body_chunks`` (None: VALHALLA_MAX_IMPORT, 1 GiB by
# default); the route registers itself here. Streamed bodies are CSV imports: sent as text/csv.
STREAMED_BODIES: dict[str, int | None] = {}


def body_chunks(request: Request) -> Iterator[bytes]:
    """The request body chunk by chunk as it arrives, for a plain-def route (it runs in a worker thread)."""
    stream = request.stream()
    while True:
        try:
            yield anyio.from_thread.run(stream.__anext__)
        except StopAsyncIteration:
            return


def _capped(receive: Any, limit: int, too_large: str) -> Any:
    """receive, refusing (413 from the route reading it) a body that grows over ``limit``."""
    seen = 0

    async def capped() -> dict:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise PayloadTooLarge(too_large)
        return message

    return capped


async def _reply(send: Any, status: int, detail: Any, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": capped(detail)}).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *SECURITY_HEADERS, *(extra or [])],
    })
    await send({"type": "http.response.body", "body": body})
