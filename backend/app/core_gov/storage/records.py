"""Record base models and the file descriptors modules declare in their ``store.py``.

A descriptor only names a file and the model of what it holds; all I/O lives in the engine.
Every descriptor registers itself, so ``valhalla verify`` and ``/core/ready`` can walk them all.
"""

from __future__ import annotations

import re
import types
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Annotated, Any, Callable, Generic, Sequence, TypeVar, Union, get_args, get_origin

from pydantic import AfterValidator, BeforeValidator, AwareDatetime, BaseModel, ConfigDict, GetCoreSchemaHandler, ValidationInfo, field_validator
from pydantic_core import CoreSchema, PydanticCustomError, core_schema


def _to_utc(value: datetime) -> datetime:
    if not 1900 <= value.year <= 2999:  # also keeps astimezone() from overflowing (a 500)
        raise ValueError(f"{value.isoformat()} is out of range (years 1900-2999)")
    return value.astimezone(timezone.utc)


# An instant: input must carry an offset (a naive time is ambiguous across 6 time zones);
# stored and answered in UTC with a trailing Z. Years 1900-2999.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]

_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def _not_a_number(value: Any) -> Any:
    if isinstance(value, (int, float)) or (isinstance(value, str) and _NUMBER.match(value)):
        raise ValueError("expected ISO 8601 text (e.g. 2026-01-05 or 2026-01-05T15:00:00Z), not a number")
    return value


# An instant given in a query string: ISO 8601 text, never an epoch number ("0.5" is not 1970).
QueryInstant = Annotated[AwareDatetime, BeforeValidator(_not_a_number), AfterValidator(_to_utc)]


def admits_none(annotation: Any) -> bool:
    """Whether a field's type takes None (`X | None`, `Optional[X]`, `Any`)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return admits_none(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(admits_none(arg) for arg in get_args(annotation))
    return annotation in (None, type(None), Any)


class Input(BaseModel):
    """Base for request bodies: unknown fields are refused (422), never silently dropped, and
    types are strict: `false` is no 0, `0` no false, `"5"` no 5 (a JSON int is a float), and an
    instant or a date is ISO 8601 text, never an epoch number read as 1970. They still come as
    JSON strings, so the model is not strict as a whole: FastAPI validates the parsed body as
    Python, where strict would refuse a string for an instant, a date or a choice.

    A field may be left out but not sent as null unless its type admits None: in an update,
    `name: Name = None` keeps the name when left out and refuses null (422 naming the field),
    while `notes: Text | None = None` clears the notes on null."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            field = cls.model_fields[info.field_name]  # type: ignore[index]
            if not field.is_required() and not admits_none(field.annotation):
                raise PydanticCustomError("not_null", "{field} cannot be null: leave it out instead", {"field": info.field_name})
        return value

    @classmethod
    def __get_pydantic_core_schema__(cls, source: type[BaseModel], handler: GetCoreSchemaHandler) -> CoreSchema:
        # A built model's schema is already strict: reused, as pydantic reuses any model's (a route,
        # built on first use, asks for its body's schema; remaking it cost each build about 0.5 ms).
        built = cls.__dict__.get("__pydantic_core_schema__")
        if source is cls and isinstance(built, dict):
            return built  # type: ignore[return-value]

        def strict(node: Any) -> None:
            if isinstance(node, list):
                for value in node:
                    strict(value)
            elif isinstance(node, dict):
                kind = node.get("type")
                if kind in ("int", "float", "bool"):
                    node["strict"] = True
                elif kind in ("datetime", "date"):
                    inner = dict(node)
                    node.clear()
                    node.update(core_schema.no_info_before_validator_function(_not_a_number, inner))
                    return
                for key, value in node.items():
                    if key != "metadata":
                        strict(value)

        schema = deepcopy(handler(source))  # a nested model's own schema stays as it is
        strict(schema)
        return schema


class Record(BaseModel):
    """A stored record. Frozen, so a cached record can never be changed behind the store's back.

    Unknown fields in a stored file are refused (503 naming the field) rather than dropped on
    the next write, which would lose what the operator typed by hand.
    """

    # Defaults are validated like any value, so a float field's default of 2500 is stored and
    # answered as 2500.0, as the same value sent by a client is.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    id: str
    created_at: UtcDatetime
    updated_at: UtcDatetime
    version: int = 1


class Entry(BaseModel):
    """A line of an append-only log."""

    # Defaults are validated like any value, so a float field's default of 2500 is stored and
    # answered as 2500.0, as the same value sent by a client is.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    id: str
    at: UtcDatetime


class AuditEntry(Entry):
    actor: str
    module: str
    entity: str
    entity_id: str
    action: str  # create | update | delete | transition | action
    changes: dict[str, list[Any]] = {}


R = TypeVar("R", bound=Record)
E = TypeVar("E", bound=Entry)
S = TypeVar("S", bound=BaseModel)
T = TypeVar("T")

REGISTRY: list["Descriptor"] = []


@dataclass(frozen=True, eq=False)
class Descriptor:
    module: str
    name: str

    @property
    def filename(self) -> str:
        raise NotImplementedError

    @property
    def relpath(self) -> str:
        return f"{self.module}/{self.filename}"

    def __post_init__(self) -> None:
        for other in REGISTRY:
            if other.relpath == self.relpath:
                raise ValueError(f"{self.relpath} is declared twice")
        REGISTRY.append(self)


@dataclass(frozen=True, eq=False)
class Collection(Descriptor, Generic[R]):
    """A JSON array of records in creation order (``<module>/<name>.json``)."""

    model: type[R] = Record  # type: ignore[assignment]
    id_prefix: str = "rec"
    # Rows (each with its own fixed id) that a missing file reads as, so defaults are visible
    # before anything is written; the first change writes them together with itself.
    seed: Callable[[], list[dict[str, Any]]] | None = None
    # Records per segment file (see collection.py): a write rewrites one segment.
    segment_size: int = 1000

    @property
    def filename(self) -> str:
        return f"{self.name}.json"


@dataclass(frozen=True, eq=False)
class Singleton(Descriptor, Generic[S]):
    """One JSON object (``<module>/<name>.json``); a missing file reads as ``default()``."""

    model: type[S] = BaseModel  # type: ignore[assignment]
    default: Callable[[], S | None] = field(default=lambda: None)

    @property
    def filename(self) -> str:
        return f"{self.name}.json"

    def empty(self) -> None:
        return None


@dataclass(frozen=True, eq=False)
class Log(Descriptor, Generic[E]):
    """An append-only JSONL file (``<module>/<name>.jsonl``): one object per line."""

    model: type[E] = Entry  # type: ignore[assignment]
    id_prefix: str = "ev"

    @property
    def filename(self) -> str:
        return f"{self.name}.jsonl"

    def empty(self) -> tuple[E, ...]:
        return ()


class BadText(ValueError):
    """Raised by a TextFile's ``parse``: where the file is wrong and why (a 503 naming both)."""

    def __init__(self, position: str, message: str):
        super().__init__(f"{position}: {message}")
        self.position = position
        self.message = message


@dataclass(frozen=True, eq=False)
class TextFile(Descriptor, Generic[T]):
    """A plain text file (``<module>/<name>.txt``, ``name`` may hold a folder) for bulk data that
    records would make slow and large, such as a sorted list of numbers. ``parse`` turns the
    bytes into the value reads answer (the bytes themselves are not kept) and raises BadText on
    a bad file; a missing file reads as ``parse(b"")``. Written whole with ``tx.replace_text``,
    inside the same all-or-nothing commit as the transaction's other changes."""

    parse: Callable[[bytes], T] = field(default=lambda data: data)  # type: ignore[assignment,return-value]
    # How the parsed value is kept in ``.cache/`` for the next start, if it is: (pack, unpack),
    # where unpack(packed bytes, size of the text file) is the value, or None when they do not
    # fit that file (then the file is parsed).
    packed: tuple[Callable[[T], bytes], Callable[[bytes, int], T | None]] | None = None

    @property
    def filename(self) -> str:
        return f"{self.name}.txt"


_AUDIT_LOGS: dict[str, Log[AuditEntry]] = {}


def audit_log(module: str) -> Log[AuditEntry]:
    """Each module's audit trail lives in its own folder, so it shares the module's lock and commit."""
    if module not in _AUDIT_LOGS:
        _AUDIT_LOGS[module] = Log(module, "audit", AuditEntry, id_prefix="au")
    return _AUDIT_LOGS[module]


def matches(record: BaseModel, filters: dict[str, Any]) -> bool:
    """Field filters as lists take them: equal, or contained when the field is a list."""
    for name, wanted in filters.items():
        if wanted is None:
            continue
        value = getattr(record, name)
        if isinstance(value, (list, tuple, set)):
            if wanted not in value:
                return False
        elif value != wanted:
            return False
    return True
