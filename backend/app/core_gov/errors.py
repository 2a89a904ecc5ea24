"""The one error family. Services raise these; one handler renders them as JSON.

Each class carries its HTTP status, so routers never catch and never build responses.
Rule refusals (409) and execution refusals (423) share one shape:
``{"detail": {"code": ..., "message": ..., **context}}``.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence


class CoreError(Exception):
    status_code = 500

    def __init__(self, detail: Any):
        super().__init__(detail if isinstance(detail, str) else repr(detail))
        self.detail = detail


class NotFound(CoreError):
    status_code = 404


class _Refusal(CoreError):
    """A refusal with a machine-readable reason code and free-form context."""

    def __init__(self, code: str, message: str, **context: Any):
        super().__init__({"code": code, "message": message, **context})
        self.code = code
        self.context = context


class Conflict(_Refusal):
    status_code = 409


class Locked(_Refusal):
    status_code = 423


class PreconditionFailed(_Refusal):
    status_code = 412


class PayloadTooLarge(CoreError):
    status_code = 413


class Unauthorized(CoreError):
    status_code = 401


class InvalidField(CoreError):
    """A rule about one input field; rendered in FastAPI's own 422 shape."""

    status_code = 422

    def __init__(self, loc: tuple[str | int, ...] | list[str | int], msg: str, type_: str = "value_error"):
        super().__init__([{"loc": list(loc), "msg": msg, "type": type_}])


class StoreCorrupt(CoreError):
    """A data file that does not parse or validate. Never read as empty, never overwritten."""

    status_code = 503

    def __init__(self, file: str, position: str, message: str):
        super().__init__({"code": "store_corrupt", "file": file, "position": position, "message": message})
        self.file = file
        self.position = position
        self.message = message

    def __str__(self) -> str:
        return f"{self.file}: {self.position}: {self.message}"


class StoreUnavailable(CoreError):
    """The disk refused a write (full, read-only, permissions). Nothing was acknowledged."""

    status_code = 503

    def __init__(self, message: str):
        super().__init__({"code": "store_unavailable", "message": message})


def require_transition(what: str, moves: Mapping[Any, Iterable[Any]], current: Any, new: Any) -> str:
    """Check a status change against a state machine's table of allowed moves.

    Returns the audit action: "update" when the status stays, "transition" when the table allows
    the move. Anything else is 409 invalid_transition naming the states it may move to."""
    if new == current:
        return "update"
    allowed = [s.value for s in moves[current]]
    if new not in moves[current]:
        raise Conflict(
            "invalid_transition",
            f"the {what} is {current.value}: it can move to {', '.join(allowed) or 'nothing (it is final)'}, not to {new.value}",
            current=current.value, requested=new.value, allowed=allowed,
        )
    return "transition"


def require_start(what: str, starts: Sequence[Any], requested: Any | None) -> Any:
    """The state a new record starts in: the one a create names, if the machine may start there
    (`starts`, the first is the default); any other is 409 invalid_transition naming them."""
    if requested is None:
        return starts[0]
    if requested not in starts:
        allowed = [s.value for s in starts]
        raise Conflict(
            "invalid_transition", f"a new {what} starts as {' or '.join(allowed)}, not {requested.value}: create it, then move it",
            current=None, requested=requested.value, allowed=allowed,
        )
    return requested
