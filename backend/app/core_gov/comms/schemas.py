from __future__ import annotations

import io
from array import array
from datetime import date
from enum import Enum
from itertools import islice
from operator import lt

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, RootModel, StringConstraints

from ..consent.schemas import ConsentDecision
from ..csvimport import InvalidRow
from ..fields import Contact, Email, Name, Phone, Province, Tags, Text, starts_in
from ..storage import BadText, Entry, Input, Record, UtcDatetime

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
    """The internal do-not-contact list; the National DNCL is kept apart (comms/dncl/)."""

    opt_out = "opt_out"
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

    channel: Channel = None
    to: Short | None = None
    subject: Short | None = None
    body: Text = None
    tone: Tone = None
    status: DraftStatus = None
    deal_id: str | None = None
    province: Province | None = None
    tags: Tags = None
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
    consent_id: str | None = Field(None, description="The consent that allowed it: the CASL consent (email/SMS/DM) or the DNCL exemption (a call to a listed number)")


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


ImportProblem = InvalidRow  # one shape for every import's invalid rows (csvimport)


# ---------------------------------------------------------------------------- National DNCL

# Every Canadian geographic area code of the North American Numbering Plan, by province: one
# DNCL copy each (the CRTC sells the list per area code). 867 covers YT, NT and NU.
CA_AREA_CODES_BY_PROVINCE: dict[str, tuple[str, ...]] = {
    "AB": ("368", "403", "587", "780", "825"),
    "BC": ("236", "250", "257", "604", "672", "778"),
    "MB": ("204", "431", "584"),
    "NB": ("428", "506"),
    "NL": ("709", "879"),
    "NS/PE": ("782", "902"),
    "ON": ("226", "249", "289", "343", "365", "382", "387", "416", "437", "519", "548", "613", "647", "683", "705",
           "742", "753", "807", "905", "942"),
    "QC": ("263", "354", "367", "418", "438", "450", "468", "514", "579", "581", "819", "873"),
    "SK": ("306", "474", "639"),
    "YT/NT/NU": ("867",),
}
CA_AREA_CODES: tuple[str, ...] = tuple(sorted(code for codes in CA_AREA_CODES_BY_PROVINCE.values() for code in codes))


def _ca_area_code(value: str) -> str:
    if value not in CA_AREA_CODES:
        raise ValueError(f"{value!r} is not a Canadian area code")
    return value


AreaCode = Annotated[str, AfterValidator(_ca_area_code)]


def _ascending_in(area: str, numbers: array) -> bool:
    low, high = int(area) * 10**7, (int(area) + 1) * 10**7
    return not numbers or (low <= numbers[0] and numbers[-1] < high and all(map(lt, numbers, islice(numbers, 1, None))))


def unpack_dncl_copy(area: str, packed: bytes, size: int) -> array | None:
    """A copy as ``.cache/`` keeps it (its array's bytes), if that fits the text file of ``size``
    bytes (11 a number, the last newline optional) and is what ``parse_dncl_copy`` makes:
    ascending, each of the area code; else None."""
    if size % 11 not in (0, 10) or len(packed) != 8 * ((size + 1) // 11):
        return None
    numbers = array("Q")
    numbers.frombytes(packed)
    return numbers if _ascending_in(area, numbers) else None


def parse_dncl_copy(area: str, data: bytes) -> array:
    """``comms/dncl/<area>.txt``: one 10-digit number of that area code a line, ascending, each
    once (so ``git diff`` of two monthly copies shows who registered and who left). Read as a
    sorted ``array('Q')`` (8 bytes a number, no list of lines); BadText names the first bad line."""
    if data and not data.endswith(b"\n"):
        data += b"\n"  # a last line without its newline is accepted
    n = len(data) // 11
    # With every line 10 characters long and every value of 10 digits in the area code's range,
    # no line can hold anything but its digits (int() alone would accept spaces, a sign or underscores).
    if len(data) == 11 * n and data[10::11] == b"\n" * n:
        try:
            numbers = array("Q", map(int, io.BytesIO(data)))
        except ValueError:
            numbers = None
        if numbers is not None and _ascending_in(area, numbers):
            return numbers
    prefix, previous = area.encode(), b""
    for lineno, line in enumerate(data.split(b"\n")[:-1], start=1):
        if not (len(line) == 10 and line.isdigit() and line.startswith(prefix)):
            raise BadText(f"line {lineno}", f"expected a 10-digit number of area code {area}, got {line[:40]!r}")
        if line <= previous:
            raise BadText(f"line {lineno}", f"{line.decode()} is not above the line before it (numbers ascending, each once)")
        previous = line
    raise BadText("end of file", "not one number a line")  # not reached: a file the loop accepts passes the check above


class DnclCopy(BaseModel):
    """One area code's copy: what the import that wrote it says about it."""

    list_date: date
    count: int = Field(description="Numbers in the copy as imported")
    sha256: str = Field(description="sha256 of comms/dncl/<area>.txt as imported")
    imported_at: UtcDatetime
    added: int = Field(0, description="Numbers that import added to the previous copy")
    removed: int = Field(0, description="Numbers of the previous copy that left the registry")


class DnclCopies(RootModel[dict[AreaCode, DnclCopy]]):
    """comms/dncl.json: area code -> its copy (comms/dncl/<area>.txt). An import's audit entry is
    this file's change: the copies it replaced, before and after."""

    root: dict[AreaCode, DnclCopy] = {}


class DnclImport(Entry):
    """One National DNCL list loaded (comms/dncl_imports.jsonl)."""

    list_date: date
    added: int
    removed: int = 0
    duplicates: int
    invalid: int
    area_codes: list[str] = []


class AreaCopy(BaseModel):
    count: int
    list_date: date


class ImportResult(BaseModel):
    id: str
    list_date: date
    added: int = Field(description="Numbers on the new copies that were not on the old ones")
    removed: int = Field(description="Numbers of the old copies that left the registry (no longer suppressed)")
    duplicates: int = Field(description="Rows repeating a number already in the file")
    invalid: list[ImportProblem] = Field(description="The first 100 invalid rows (file line numbers; a header is line 1)")
    invalid_count: int
    area_codes: dict[str, AreaCopy]
    backup: str | None = None  # the safety backup taken before the import wrote anything


class DnclStatus(BaseModel):
    """The National DNCL copy for a Canadian number's area code."""

    area_code: str
    list_date: date | None = Field(description="The copy's list date; null when the area code has no copy")
    listed: bool = Field(description="The number is on the copy")
    stale: bool = Field(description="No copy, or its list is over 31 days old: calls to this area code are refused")


class SuppressionCheck(BaseModel):
    to: str
    value: str
    suppressed: bool = Field(description="On the internal list or on its area code's DNCL copy")
    list: Literal["internal", "dncl"] | None = Field(description="Which list holds it (the internal list first)")
    suppression: Suppression | None = Field(None, description="The internal entry")
    dncl: DnclStatus | None = Field(None, description="For a Canadian phone number: its area code's DNCL copy")
    casl_consent: ConsentDecision = Field(description="Whether a valid CASL consent allows an email, SMS or DM now, and which")
    dncl_exemption: ConsentDecision | None = Field(None, description="For a phone number: whether a valid DNCL exemption allows a call now, and which")


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
