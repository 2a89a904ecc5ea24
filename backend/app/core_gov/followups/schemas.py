from __future__ import annotations

from datetime import datetime
from typing import Any
from enum import Enum

from pydantic import BaseModel, Field

from ..fields import Name, Province, Text
from ..storage import Input, Record, UtcDatetime


class TaskChannel(str, Enum):
    SMS = "SMS"
    CALL = "CALL"


class TaskStatus(str, Enum):
    open = "open"
    done = "done"
    canceled = "canceled"


class Outcome(str, Enum):
    done = "done"
    no_answer = "no_answer"
    responded = "responded"
    opted_out = "opted_out"
    dead = "dead"


# Outcomes that end the ladder: its remaining open tasks are canceled.
ENDING_OUTCOMES = (Outcome.responded, Outcome.opted_out, Outcome.dead)

# The ladder: (step, channel, minutes after start_at).
LADDER = (
    (1, TaskChannel.SMS, 0),
    (2, TaskChannel.CALL, 30),
    (3, TaskChannel.SMS, 180),
    (4, TaskChannel.CALL, 1440),
    (5, TaskChannel.SMS, 4320),
    (6, TaskChannel.CALL, 10080),
)


class LadderCreate(Input):
    deal_id: str
    province: Province
    market: Name = "ALL"
    owner: Name
    start_at: UtcDatetime | None = Field(None, description=(
        "Defaults to now. A step's nominal time is start_at + its offset; it is due at the first allowed time no earlier "
        "than that and no earlier than the previous step's due time plus the gap between their offsets"))

    model_config = {"json_schema_extra": {"examples": [{
        "deal_id": "dl_01jc9x0000abcdefghjk", "province": "ON", "market": "ALL", "owner": "sam",
        "start_at": "2026-01-10T00:50:00Z",
    }]}}


class Task(Record):
    ladder_id: str
    deal_id: str
    province: str
    market: str = "ALL"
    owner: str
    step: int
    channel: TaskChannel
    contact: str
    email: str | None = None
    nominal_at: UtcDatetime
    due_at: UtcDatetime
    status: TaskStatus = TaskStatus.open
    outcome: Outcome | None = None
    note: str | None = None
    completed_at: UtcDatetime | None = None
    cancel_reason: str | None = None


class Ladder(BaseModel):
    ladder_id: str
    deal_id: str
    contact: str
    email: str | None = None
    tasks: list[Task]


class TaskComplete(Input):
    outcome: Outcome
    note: Text | None = None

    model_config = {"json_schema_extra": {"examples": [{"outcome": "no_answer", "note": "voicemail left"}]}}


class Completion(BaseModel):
    task: Task
    canceled: list[Task] = []
    suppression_ids: list[str] = []


class HeldBack(BaseModel):
    task_id: str
    reason: str = Field(description="suppressed, dncl_list_stale, no_consent, consent_expired, or the contact window's reason")
    detail: dict[str, Any] | None = Field(None, description="The refusal mark_sent would answer (its message, the consent's dates)")


class DueBatch(BaseModel):
    halted: str | None = None
    as_of: datetime
    tasks: list[Task] = []
    held_back: list[HeldBack] = []


class SlaFigures(BaseModel):
    count: int
    within_30m: float | None = Field(None, description="Share (0..1) completed within 30 minutes of due; null when count is 0")
    within_2h: float | None = None


class Sla(SlaFigures):
    since: datetime | None = None
    by_province: dict[str, SlaFigures] = {}
