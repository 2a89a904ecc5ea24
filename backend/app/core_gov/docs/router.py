from __future__ import annotations

from fastapi import Response

from ..http import IfMatch, ModuleRouter, Page, StorageDep, etag, one, paginate, responses
from . import service
from .schemas import DocType, Document, DocumentCreate, DocumentUpdate, RouteRequest, RoutingStatus

router = ModuleRouter(prefix="/docs", tags=["docs"])


@router.post("", status_code=201, summary="Add a document's metadata to the vault", responses=responses())
def create_document(db: StorageDep, body: DocumentCreate) -> Document:
    return service.create_document(db, body)


@router.get("", summary="List documents", responses=responses())
async def list_documents(
    db: StorageDep, response: Response, page: Page,
    doc_type: DocType | None = None, entity_id: str | None = None, tag: str | None = None, routing_status: RoutingStatus | None = None,
) -> list[Document]:
    """`entity_id` lists the documents linked to that record (e.g. a deal id)."""
    found = service.list_documents(db, doc_type=doc_type, entity_id=entity_id, tag=tag, routing_status=routing_status)
    return paginate(response, found, page)


@router.get("/{document_id}", summary="Get a document", responses=responses(404))
async def get_document(db: StorageDep, document_id: str) -> Document:
    return one(service.get_document(db, document_id))


@router.patch("/{document_id}", summary="Change a document's metadata", responses=responses(404, 412))
def update_document(db: StorageDep, response: Response, document_id: str, body: DocumentUpdate, if_match: IfMatch = None) -> Document:
    return etag(response, service.update_document(db, document_id, body, expected_version=if_match))


@router.post("/{document_id}/route", summary="Record a routing step (sent → delivered → acknowledged)", responses=responses(404, 409))
def route_document(db: StorageDep, document_id: str, body: RouteRequest) -> Document:
    """Appends {to, channel, status, at, note} to the document's `routing` and sets its
    `routing_status`, which only moves forward (sent → delivered → acknowledged; a step may
    be skipped): a repeat or a step back is 409 `invalid_transition` with `allowed`."""
    return service.route_document(db, document_id, body)
