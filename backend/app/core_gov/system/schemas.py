from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from ..storage import Input, UtcDatetime


class StatusMark(BaseModel):
    """What the operator last declared about the backend (``system/status.json``)."""

    backend_complete: bool = False
    notes: str | None = None
    version: str | None = None
    marked_by: str | None = None
    marked_at: UtcDatetime | None = None


class StatusMarkInput(Input):
    notes: str | None = None
    version: str | None = None


class Pack(BaseModel):
    id: str
    name: str
    installed: bool
    prefix: str
    routes: int


class Status(BaseModel):
    version: str
    backend_complete: bool
    packs: list[Pack]
    summary: "StatusSummary"
    notes: str | None
    marked_by: str | None
    marked_at: datetime | None
    started_at: datetime
    now: datetime


class StatusSummary(BaseModel):
    packs_installed: int
    backend_complete: bool
    data_ok: bool
    problems: list[str]


class Health(BaseModel):
    status: str
    version: str


class Ready(BaseModel):
    ready: bool
    data_dir: str
    writable: bool
    problems: list[str]
    warnings: list[str]


class RouteInfo(BaseModel):
    method: str
    path: str
    summary: str | None
    request_model: str | None
    response_model: str | None


class FileStat(BaseModel):
    path: str
    records: int | None
    bytes: int
    modified: datetime


class Debug(BaseModel):
    version: str
    started_at: datetime
    uptime_seconds: float
    data_dir: str
    files: list[FileStat]
    writes: dict[str, int]  # commits since start, and the transactions they carried
    settings: dict[str, object]
