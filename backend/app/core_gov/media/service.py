"""Media: content needs a body or a url (at least one, else 422); `scheduled` needs
`scheduled_for` (422). PATCH moves draft <-> scheduled; `published` is reached only by publishing,
and published content stays published (409 invalid_transition). Publishing to a channel (unknown:
422) needs the content to be ready: status draft or scheduled, or published for a republish, with a
non-blank body or url (only a hand-edited record can lack both: 409 content_not_ready). Each publish
appends one line to media/publish_log.jsonl and sets the content `published` (published_at = first
time). Republishing to another channel is allowed and logged (republish: true); to a channel it
was already published on is 409 already_published.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..errors import Conflict, InvalidField, require_start
from ..storage import Storage, matches, select
from . import store
from .schemas import (
    CONTENT_STARTS, Channel, ChannelCreate, ChannelUpdate, Content, ContentCreate, ContentStatus, ContentUpdate, PublishEntry, Published, PublishInput,
)

READY_RULE = "content is ready to publish when it has a non-blank body or url (status draft, scheduled, or published for a republish)"


def _has_substance(content: dict[str, Any]) -> bool:
    return bool((content.get("body") or "").strip() or (content.get("url") or "").strip())


# ------------------------------------------------------------------------------ channels


def list_channels(db: Storage, *, platform: str | None = None) -> Sequence[Channel]:
    return select(db.list(store.channels), {"platform": platform.strip().lower() if platform else None})


def get_channel(db: Storage, channel_id: str) -> Channel:
    return db.get(store.channels, channel_id)


def create_channel(db: Storage, data: ChannelCreate) -> Channel:
    with db.transaction("media") as tx:
        return tx.add(store.channels, data)


def update_channel(db: Storage, channel_id: str, data: ChannelUpdate, *, expected_version: int | None = None) -> Channel:
    with db.transaction("media") as tx:
        return tx.update(store.channels, channel_id, data.model_dump(exclude_unset=True), expected_version=expected_version)


# ------------------------------------------------------------------------------ content


def _check_content(content: dict[str, Any]) -> None:
    if not _has_substance(content):
        raise InvalidField(("body", "body"), "give a body or a url (at least one, not blank)")
    if content["status"] == ContentStatus.scheduled.value and content.get("scheduled_for") is None:
        raise InvalidField(("body", "scheduled_for"), "scheduled content needs scheduled_for (an instant with an offset)")


def list_content(db: Storage, *, status: str | None = None, tag: str | None = None) -> Sequence[Content]:
    return select(db.list(store.content), {"status": status, "tags": tag.strip().lower() if tag else None})


def get_content(db: Storage, content_id: str) -> Content:
    return db.get(store.content, content_id)


def create_content(db: Storage, data: ContentCreate) -> Content:
    fields = {**data.model_dump(mode="json"), "status": require_start("content", CONTENT_STARTS, data.status).value}
    _check_content(fields)
    with db.transaction("media") as tx:
        return tx.add(store.content, fields)


def update_content(db: Storage, content_id: str, data: ContentUpdate, *, expected_version: int | None = None) -> Content:
    changes = data.model_dump(exclude_unset=True, mode="json")
    with db.transaction("media") as tx:
        old = tx.get(store.content, content_id)
        current = old.status.value
        wanted = changes.get("status", current)
        if current == ContentStatus.published.value and wanted != current:
            raise Conflict(
                "invalid_transition", "published content stays published; publish it to another channel with POST /core/media/content/{id}/publish",
                current=current, requested=wanted,
            )
        _check_content({**old.model_dump(mode="json"), **changes})
        return tx.update(store.content, old, changes, expected_version=expected_version, audit="transition" if wanted != current else "update")


# ------------------------------------------------------------------------------ publishing


def publish(db: Storage, content_id: str, data: PublishInput) -> Published:
    with db.transaction("media") as tx:
        content = tx.get(store.content, content_id)
        channel = tx.find(store.channels, data.channel_id)
        if channel is None:
            raise InvalidField(("body", "channel_id"), f"no channel {data.channel_id}")
        if not _has_substance(content.model_dump()):
            raise Conflict("content_not_ready", f"content {content.id} has neither a body nor a url", rule=READY_RULE, status=content.status.value)
        for entry in tx.entries(store.publish_log):
            if entry.content_id == content.id and entry.channel_id == channel.id:
                raise Conflict(
                    "already_published", f"content {content.id} was already published to channel {channel.id} ({entry.id})",
                    entry_id=entry.id, channel_id=channel.id,
                )
        republish = content.status is ContentStatus.published
        entry = tx.append(store.publish_log, {
            "content_id": content.id, "channel_id": channel.id, "platform": channel.platform, "title": content.title, "republish": republish,
        }, audit="action")
        if not republish:
            content = tx.update(store.content, content, {"status": ContentStatus.published, "published_at": tx.now}, audit="transition")
        return Published(entry=entry, content=content)


def publish_log(db: Storage, *, channel_id: str | None = None, content_id: str | None = None) -> list[PublishEntry]:
    return [e for e in db.entries(store.publish_log) if matches(e, {"channel_id": channel_id, "content_id": content_id})]
