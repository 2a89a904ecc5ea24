from __future__ import annotations

from enum import Enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator

from ..fields import Name, Tags, Text
from ..storage import Input, Record, UtcDatetime

FilePath = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class DocType(str, Enum):
    contract = "contract"
    id = "id"
    invoice = "invoice"
    receipt = "receipt"
    title = "title"
    inspection = "inspection"
    photo = "photo"
    other = "other"


class RoutingStatus(str, Enum):
    sent = "sent"
    delivered = "delivered"
    acknowledged = "acknowledged"


def _links(value: list[str]) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in value if v.strip()))


class DocumentCreate(Input):
    title: Name
    doc_type: DocType
    file_path: FilePath
    entity_ids: list[Name] = []
    tags: Tags = []
    notes: Text | None = None

    _links = field_validator("entity_ids")(staticmethod(_links))

    model_config = {"json_schema_extra": {"examples": [{
        "title": "Title search 12 Elm St", "doc_type": "title", "file_path": "vault/deals/12-elm/title-search.pdf",
        "entity_ids": ["dl_01J0EXAMPLE"], "tags": ["closing"], "notes": "From the title company",
    }]}}


class DocumentUpdate(Input):
    title: Name = None
    doc_type: DocType = None
    file_path: FilePath = None
    entity_ids: list[Name] = None
    tags: Tags = None
    notes: Text | None = None

    _links = field_validator("entity_ids")(staticmethod(_links))


class RouteRequest(Input):
    to: Name
    channel: Name
    status: RoutingStatus = RoutingStatus.sent
    note: Text | None = None

    model_config = {"json_schema_extra": {"examples": [{
        "to": "closing@titleco.example", "channel": "email", "status": "sent", "note": "Signed APS attached",
    }]}}


class RoutingEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    to: str
    channel: str
    status: RoutingStatus
    at: UtcDatetime
    note: Text | None = None


class Document(Record):
    title: str
    doc_type: DocType
    file_path: str
    entity_ids: list[str] = []
    tags: list[str] = []
    notes: Text | None = None
    routing_status: RoutingStatus | None = None  # null until first routed
    routing: list[RoutingEntry] = []
