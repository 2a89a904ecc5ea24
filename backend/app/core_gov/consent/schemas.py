from __future__ import annotations

from datetime import date, datetime
from enum import Enum

from pydantic import BaseModel, Field

from ..csvimport import InvalidRow
from ..fields import Contact, Name, Text
from ..storage import Entry, Input, Record, UtcDatetime


class ConsentKind(str, Enum):
    express = "express"
    implied_inquiry = "implied_inquiry"
    implied_transaction = "implied_transaction"


class ConsentState(str, Enum):
    valid = "valid"
    expired = "expired"
    withdrawn = "withdrawn"
    superseded = "superseded"


class ConsentCreate(Input):
    contact: Contact = Field(description="A phone number (stored E.164) or an email address (stored lower-case)")
    kind: ConsentKind
    obtained_at: UtcDatetime = Field(description="When the person agreed, inquired or transacted (with its offset; not in the future)")
    method: Name = Field(description="How it was obtained: web form, phone call, signed offer, reply by SMS...")
    source: Name | None = Field(None, description="Where: the form's address, the campaign, the deal")
    proof: Text | None = Field(None, description="The wording shown, the form, the recording or message id (required for express)")

    model_config = {"json_schema_extra": {"examples": [{
        "contact": "416-555-0199", "kind": "express", "obtained_at": "2026-01-05T09:30:00-05:00", "method": "web form",
        "source": "https://example.ca/sell", "proof": "Checkbox: 'Yes, Valhalla Homes may text and email me about my property.' Submission #4812",
    }]}}


class ConsentCorrection(ConsentCreate):
    reason: Name = Field(description="Why the old record is corrected (recorded on the new one)")

    model_config = {"json_schema_extra": {"examples": [{
        "contact": "+14165550199", "kind": "express", "obtained_at": "2026-01-05T09:30:00-05:00", "method": "web form",
        "source": "https://example.ca/sell", "proof": "Checkbox wording as shown; submission #4812", "reason": "wrong submission number",
    }]}}


class Consent(Record):
    contact: str
    kind: ConsentKind
    obtained_at: UtcDatetime
    method: str
    source: str | None = None
    proof: Text | None = None
    recorded_by: str
    zone: str = Field(description="The recipient's time zone, whose calendar dates the expiries are counted in")
    casl_expires_at: UtcDatetime | None = Field(None, description="The first instant it no longer allows an email, SMS or DM (null: never)")
    dncl_exemption_expires_at: UtcDatetime | None = Field(None, description="The first instant it no longer exempts a call from the DNCL (null: never)")
    withdrawn_at: UtcDatetime | None = None
    withdrawal_source: str | None = None
    supersedes: str | None = None
    correction_reason: str | None = None
    superseded_by: str | None = None


class ConsentView(Consent):
    state: ConsentState = Field(description="Now: withdrawn, superseded (corrected by a newer record), expired (its CASL consent lapsed) or valid")


class WithdrawBody(Input):
    contact: Contact
    reason: Name
    at: UtcDatetime | None = Field(None, description="When the person withdrew (default now; not in the future)")

    model_config = {"json_schema_extra": {"examples": [{"contact": "416-555-0199", "reason": "asked on the phone not to be contacted"}]}}


class Withdrawal(Entry):
    contact: str
    withdrawn_at: UtcDatetime
    source: str
    reason: str | None = None
    consent_ids: list[str] = Field(description="The consents it withdrew (none when there were none on file)")


class ConsentDecision(BaseModel):
    """Whether a consent allows a message (CASL) or a call to a DNCL-listed number (exemption)."""

    allowed: bool
    code: str = Field(description="ok, not_required (no CASL consent needed on this channel), no_consent or consent_expired")
    message: str
    contact: str
    consent_id: str | None = Field(None, description="The consent that allows it")
    kind: ConsentKind | None = None
    expires_at: datetime | None = Field(None, description="When the allowing consent lapses (null: never)")
    expired_at: datetime | None = Field(None, description="consent_expired: when the last consent lapsed")
    valid_through: date | None = Field(None, description="consent_expired: the last day it held, on the recipient's calendar")


class ImportResult(BaseModel):
    added: int
    duplicates: int = Field(description="Rows skipped: the same contact, kind and obtained_at is on file already, or on an earlier row")
    invalid: list[InvalidRow] = Field(description="The problems of the first 100 invalid rows (one per bad field)")
    invalid_count: int = Field(0, description="Invalid rows in all")
    backup: str | None = None  # the safety backup taken before the import wrote anything
