from __future__ import annotations

from enum import Enum
from typing import Annotated

from pydantic import BaseModel, Field, StrictFloat, StrictInt, StrictStr, StringConstraints

from ..fields import Name, Tags, Text
from ..storage import Input, Record

Body = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
Value = StrictStr | StrictInt | StrictFloat


class EpisodeStatus(str, Enum):
    draft = "draft"
    published = "published"


class TemplateCreate(Input):
    title: Name
    mood: Name | None = None
    purpose: Text | None = None
    tags: Tags = []
    body: Body = Field(description="Text with {placeholders} (identifiers); {{ and }} are literal braces")

    model_config = {"json_schema_extra": {"examples": [{
        "title": "Seller success story", "mood": "hopeful", "purpose": "social proof for motivated sellers",
        "tags": ["seller", "testimonial"],
        "body": "{seller} sold their {city} home in {days} days. No repairs, no showings. {{cash offer}}",
    }]}}


class TemplateUpdate(Input):
    title: Name = None
    mood: Name | None = None
    purpose: Text | None = None
    tags: Tags = None
    body: Body = None


class Template(Record):
    title: str
    mood: str | None = None
    purpose: Text | None = None
    tags: list[str] = []
    body: str


class RenderRequest(Input):
    values: dict[str, Value] = {}

    model_config = {"json_schema_extra": {"examples": [{"values": {"seller": "Dana", "city": "Moncton", "days": 9}}]}}


class Rendered(BaseModel):
    text: str
    placeholders: list[str] = Field(description="Distinct placeholder names in order of first appearance")
    ignored: list[str] = Field(description="Values given that no placeholder uses")


class EpisodeCreate(Input):
    template_id: str
    sequence: int = Field(ge=1, description="Position in the series: unique per template")
    status: EpisodeStatus = EpisodeStatus.draft
    text: Text = ""

    model_config = {"json_schema_extra": {"examples": [{
        "template_id": "stt_0123456789ab", "sequence": 1, "status": "draft",
        "text": "Dana sold their Moncton home in 9 days. No repairs, no showings.",
    }]}}


class EpisodeUpdate(Input):
    template_id: str = None
    sequence: int = Field(default=None, ge=1)
    status: EpisodeStatus = None
    text: Text = None


class Episode(Record):
    template_id: str
    sequence: int
    status: EpisodeStatus = EpisodeStatus.draft
    text: Text = ""
