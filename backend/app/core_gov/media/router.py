from __future__ import annotations

from fastapi import Response

from ..http import IfMatch, ModuleRouter, Page, StorageDep, etag, one, paginate, responses
from . import service
from .schemas import (
    Channel, ChannelCreate, ChannelUpdate, Content, ContentCreate, ContentStatus, ContentUpdate, PublishEntry, Published, PublishInput,
)

router = ModuleRouter(prefix="/media", tags=["media"])


# ------------------------------------------------------------------------------ channels


@router.post("/channels", status_code=201, summary="Add a channel", responses=responses())
def create_channel(db: StorageDep, body: ChannelCreate) -> Channel:
    return service.create_channel(db, body)


@router.get("/channels", summary="List channels", responses=responses())
async def list_channels(db: StorageDep, response: Response, page: Page, platform: str | None = None) -> list[Channel]:
    return paginate(response, service.list_channels(db, platform=platform), page)


@router.get("/channels/{channel_id}", summary="Get a channel", responses=responses(404))
async def get_channel(db: StorageDep, channel_id: str) -> Channel:
    return one(service.get_channel(db, channel_id))


@router.patch("/channels/{channel_id}", summary="Change a channel (If-Match)", responses=responses(404, 412))
def update_channel(db: StorageDep, response: Response, channel_id: str, body: ChannelUpdate, if_match: IfMatch = None) -> Channel:
    return etag(response, service.update_channel(db, channel_id, body, expected_version=if_match))


# ------------------------------------------------------------------------------ content


@router.post("/content", status_code=201, summary="Add content", responses=responses())
def create_content(db: StorageDep, body: ContentCreate) -> Content:
    """A body or a url is required (422 on `body`); `scheduled` needs `scheduled_for` (422).
    Status starts `draft` or `scheduled`; `published` comes only from the publish action."""
    return service.create_content(db, body)


@router.get("/content", summary="List content", responses=responses())
async def list_content(db: StorageDep, response: Response, page: Page, status: ContentStatus | None = None, tag: str | None = None) -> list[Content]:
    return paginate(response, service.list_content(db, status=status, tag=tag), page)


@router.get("/content/{content_id}", summary="Get content", responses=responses(404))
async def get_content(db: StorageDep, content_id: str) -> Content:
    return one(service.get_content(db, content_id))


@router.patch("/content/{content_id}", summary="Change content or move it draft <-> scheduled (If-Match)", responses=responses(404, 409, 412))
def update_content(db: StorageDep, response: Response, content_id: str, body: ContentUpdate, if_match: IfMatch = None) -> Content:
    """The result must still have a body or a url (422), and `scheduled_for` when scheduled.
    Published content stays published: changing its status is 409 `invalid_transition`."""
    return etag(response, service.update_content(db, content_id, body, expected_version=if_match))


@router.post("/content/{content_id}/publish", status_code=201, summary="Publish content to a channel (stores a publish-log entry)", responses=responses(404, 409))
def publish_content(db: StorageDep, content_id: str, body: PublishInput) -> Published:
    """Appends an entry to the publish log (media/publish_log.jsonl) and sets the content
    `published`. Ready = a non-blank body or url, status draft or scheduled (or published, for a
    republish); else 409 `content_not_ready` with the rule. An unknown channel is 422. Republishing
    published content to another channel is allowed and logged with `republish: true`; the same
    channel twice is 409 `already_published`."""
    return service.publish(db, content_id, body)


@router.get("/publish-log", summary="The publish log, oldest first", responses=responses())
async def list_publish_log(
    db: StorageDep, response: Response, page: Page, channel_id: str | None = None, content_id: str | None = None,
) -> list[PublishEntry]:
    return paginate(response, service.publish_log(db, channel_id=channel_id, content_id=content_id), page)
