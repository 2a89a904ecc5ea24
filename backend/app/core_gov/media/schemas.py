from __future__ import annotations

from enum import Enum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field, StringConstraints

from ..fields import Name, Tags, Text, starts_in
from ..storage import Entry, Input, Record, UtcDatetime


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


Platform = Annotated[str, BeforeValidator(_lower), StringConstraints(min_length=1, max_length=60)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^https?://\S+$", max_length=2000)]


class ContentStatus(str, Enum):
    draft = "draft"
    scheduled = "scheduled"
    published = "published"


CONTENT_STARTS = (ContentStatus.draft, ContentStatus.scheduled)  # `published` comes only from the publish action


class EditableStatus(str, Enum):
    """The statuses a PATCH may set; `published` comes only from the publish action."""

    draft = "draft"
    scheduled = "scheduled"


class ChannelCreate(Input):
    name: Name
    platform: Platform = Field(description="Free text, stored lower-case: youtube, instagram, newsletter, blog, ...")
    notes: Text | None = None

    model_config = {"json_schema_extra": {"examples": [{"name": "Valhalla Homes YouTube", "platform": "youtube", "notes": "Seller stories"}]}}


class ChannelUpdate(Input):
    name: Name = None
    platform: Platform = None
    notes: Text | None = None


class Channel(Record):
    name: str
    platform: str
    notes: Text | None = None


class ContentCreate(Input):
    title: Name
    body: Text | None = None
    url: Url | None = None
    status: ContentStatus | None = starts_in(CONTENT_STARTS)
    scheduled_for: UtcDatetime | None = None
    tags: Tags = []

    model_config = {"json_schema_extra": {"examples": [{
        "title": "How we bought a Moncton bungalow in 9 days", "body": "Dana needed to move fast...",
        "url": "https://example.com/stories/moncton", "status": "scheduled", "scheduled_for": "2026-01-12T14:00:00Z",
        "tags": ["seller", "nb"],
    }]}}


class ContentUpdate(Input):
    title: Name = None
    body: Text | None = None
    url: Url | None = None
    status: EditableStatus = None
    scheduled_for: UtcDatetime | None = None
    tags: Tags = None


class Content(Record):
    title: str
    body: Text | None = None
    url: str | None = None
    status: ContentStatus = ContentStatus.draft
    scheduled_for: UtcDatetime | None = None
    published_at: UtcDatetime | None = Field(default=None, description="The first publish")
    tags: list[str] = []


class PublishInput(Input):
    channel_id: str

    model_config = {"json_schema_extra": {"examples": [{"channel_id": "mch_0123456789ab"}]}}


class PublishEntry(Entry):
    content_id: str
    channel_id: str
    platform: str
    title: str
    republish: bool = Field(description="The content was already published (to another channel)")


class Published(BaseModel):
    entry: PublishEntry
    content: Content
