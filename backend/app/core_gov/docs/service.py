"""Documents: metadata only (the file stays where `file_path` says). `entity_ids` link a
document to any record (a deal, a contract, a professional) and are not checked, since a link
may point at any module. Routing appends an entry {to, channel, status, at}; the document's
`routing_status` only moves forward, sent → delivered → acknowledged (a step may be skipped,
never repeated or undone: 409 `invalid_transition`)."""

from __future__ import annotations

from typing import Sequence

from ..errors import Conflict
from ..storage import Storage, select
from . import store
from .schemas import Document, DocumentCreate, DocumentUpdate, RouteRequest, RoutingStatus

ORDER = (RoutingStatus.sent, RoutingStatus.delivered, RoutingStatus.acknowledged)


def list_documents(
    db: Storage, *, doc_type: str | None = None, entity_id: str | None = None, tag: str | None = None, routing_status: str | None = None,
) -> Sequence[Document]:
    filters = {"doc_type": doc_type, "entity_ids": entity_id, "tags": tag.strip().lower() if tag else None, "routing_status": routing_status}
    return select(db.list(store.documents), filters)


def documents_for(db: Storage, *, entity_id: str, doc_type: str | None = None) -> list[Document]:
    """Documents linked to this record (e.g. a deal id), with their routing status."""
    return list_documents(db, entity_id=entity_id, doc_type=doc_type)


def get_document(db: Storage, document_id: str) -> Document:
    return db.get(store.documents, document_id)


def create_document(db: Storage, data: DocumentCreate) -> Document:
    with db.transaction("docs") as tx:
        return tx.add(store.documents, data)


def update_document(db: Storage, document_id: str, data: DocumentUpdate, *, expected_version: int | None = None) -> Document:
    with db.transaction("docs") as tx:
        return tx.update(store.documents, document_id, data.model_dump(exclude_unset=True), expected_version=expected_version)


def route_document(db: Storage, document_id: str, data: RouteRequest) -> Document:
    with db.transaction("docs") as tx:
        doc = tx.get(store.documents, document_id)
        current = doc.routing_status
        rank = -1 if current is None else ORDER.index(current)
        if ORDER.index(data.status) <= rank:
            allowed = [s.value for s in ORDER[rank + 1:]]
            raise Conflict(
                "invalid_transition",
                f"routing only moves forward (sent → delivered → acknowledged): {current.value} cannot become {data.status.value}",
                current=current.value, requested=data.status.value, allowed=allowed,
            )
        entry = {**data.model_dump(), "at": tx.now}
        return tx.update(store.documents, doc, routing_status=data.status, routing=[*doc.model_dump()["routing"], entry], audit="action")
