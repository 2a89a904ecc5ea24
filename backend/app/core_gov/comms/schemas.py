from __future__ import annotations

from datetime import date
from enum import Enum

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ..fields import Contact, Email, Name, Phone, Province, Tags, Text, starts_in
from ..storage import Entry, Input, Record, UtcDatetime

Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class Channel(str, Enum):
    sms = "sms"
    email = "email"
    call = "call"
    dm = "dm"
    letter = "letter"
    other = "other"


# The market policy's channel for each comms channel; dm, letter and other are not window-checked.
WINDOW_CHANNEL = {Channel.sms: "SMS", Channel.call: "CALL", Channel.email: "EMAIL"}
# Channels whose `to` is a phone number (E.164) or an email (lower-case), checked at creation.
PHONE_CHANNELS = (Channel.sms, Channel.call)


class Tone(str, Enum):
    neutral = "neutral"
    warm = "warm"
    firm = "firm"
    urgent = "urgent"


class DraftStatus(str, Enum):
    draft = "draft"
    ready = "ready"
    sent = "sent"
    archived = "archived"


class SuppressionReason(str, Enum):
    opt_out = "opt_out"
    dncl = "dncl"
    manual = "manual"


# ---------------------------------------------------------------------------- drafts


DRAFT_STARTS = (DraftStatus.draft,)


class DraftCreate(Input):
    channel: Channel
    to: Short | None = None
    subject: Short | None = None
    body: Text = ""
    tone: Tone = Tone.neutral
    deal_id: str | None = None
    province: Province | None = None
    tags: Tags = []
    provider: Name | None = None
    status: DraftStatus | None = starts_in(DRAFT_STARTS)

    model_config = {"json_schema_extra": {"examples": [{
        "channel": "sms", "to": "(416) 555-0199", "body": "Hi Sam, still thinking about selling 12 Elm St?",
        "tone": "warm", "province": "ON", "tags": ["Lead", "elm st"], "provider": "twilio",
    }]}}


class DraftUpdate(Input):
    """Content fields, and/or `status` (draft <-> ready, any -> archived; `sent` only by mark_sent)."""

    channel: Channel | None = None
    to: Short | None = None
    subject: Short | None = None
    body: Text | None = None
    tone: Tone | None = None
    status: DraftStatus | None = None
    deal_id: str | None = None
    province: Province | None = None
    tags: Tags | None = None
    provider: Name | None = None


class Draft(Record):
    channel: Channel
    to: str | None = None
    subject: str | None = None
    body: str = ""
    tone: Tone = Tone.neutral
    status: DraftStatus = DraftStatus.draft
    deal_id: str | None = None
    province: str | None = None
    tags: list[str] = []
    provider: str | None = None
    sent_at: UtcDatetime | None = None
    override_reason: str | None = None


class MarkSent(Input):
    override_reason: Short | None = Field(None, description="Send outside the contact window anyway; recorded on the draft and the send log")

    model_config = {"json_schema_extra": {"examples": [{}, {"override_reason": "seller asked for a text after 8pm"}]}}


class SendLogEntry(Entry):
    """One message marked sent: the copy as sent (with the CASL identification and unsubscribe line)."""

    draft_id: str
    channel: Channel
    to: str | None = None
    subject: str | None = None
    body: str = ""
    deal_id: str | None = None
    province: str | None = None
    provider: str | None = None
    local_time: str | None = None
    identification_appended: bool = False
    unsubscribe_appended: bool = False
    override_reason: str | None = None


# ---------------------------------------------------------------------------- suppressions


class SuppressionCreate(Input):
    value: Contact = Field(description="A phone number (any spelling; stored E.164) or an email (stored lower-case)")
    reason: SuppressionReason = SuppressionReason.manual
    source: Name = "operator"

    model_config = {"json_schema_extra": {"examples": [{"value": "(416) 555-0199", "reason": "opt_out", "source": "phone call 2026-01-05"}]}}


class Suppression(Record):
    value: str
    reason: SuppressionReason
    source: str = "operator"
    opted_out_at: UtcDatetime | None = None


class SuppressionCheck(BaseModel):
    to: str
    value: str
    suppressed: bool
    suppression: Suppression | None = None


class ImportProblem(BaseModel):
    row: int
    field: str
    message: str


class DnclImport(Entry):
    """One National DNCL list loaded: its date and counts (the newest list_date dates the list in use)."""

    list_date: date
    added: int
    duplicates: int
    invalid: int


class ImportResult(BaseModel):
    id: str
    list_date: date
    added: int
    duplicates: int
    invalid: list[ImportProblem]
    backup: str | None = None  # the safety backup taken before the import wrote anything


# ---------------------------------------------------------------------------- sender identity (CASL)


class IdentityInput(Input):
    sender_name: Name
    mailing_address: Short
    phone: Phone | None = None
    email: Email | None = None
    web: Short | None = None
    unsubscribe_text: Short

    model_config = {"json_schema_extra": {"examples": [{
        "sender_name": "Valhalla Homes Inc.", "mailing_address": "100 King St W, Toronto ON M5X 1A9",
        "phone": "416-555-0100", "email": "hello@valhalla.example",
        "unsubscribe_text": "Reply STOP to opt out.",
    }]}}


class IdentityFile(BaseModel):
    """comms/identity.json: all null after DELETE (the store keeps the file; null means not configured)."""

    sender_name: str | None = None
    mailing_address: str | None = None
    phone: str | None = None
    email: str | None = None
    web: str | None = None
    unsubscribe_text: str | None = None
    updated_at: UtcDatetime | None = None
    deleted_reason: str | None = None


class SenderIdentity(BaseModel):
    sender_name: str
    mailing_address: str
    phone: str | None = None
    email: str | None = None
    web: str | None = None
    unsubscribe_text: str
    updated_at: UtcDatetime | None = None


# ---------------------------------------------------------------------------- inbound replies


class InboundAction(str, Enum):
    opted_out = "opted_out"
    responded = "responded"
    recorded = "recorded"


class InboundCreate(Input):
    from_: Contact = Field(alias="from", description="The sender's phone (any spelling) or email")
    channel: Channel
    body: Text
    received_at: UtcDatetime | None = None

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"from": "+1 (416) 555-0199", "channel": "sms", "body": "Stop."},
    ]})


class InboundMessage(Entry):
    """A reply received, and what was done about it."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    from_: str = Field(alias="from")
    channel: Channel
    body: str
    received_at: UtcDatetime
    action: InboundAction
    suppression_id: str | None = None
    tasks_responded: list[str] = []
    tasks_canceled: list[str] = []
