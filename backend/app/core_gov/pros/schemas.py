from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ..fields import Currency, Email, Money, Name, Phone, Region, Tags, Text, starts_in
from ..storage import Entry, Input, Record, UtcDatetime

Hours = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Rating = Annotated[int, Field(ge=1, le=5)]


class ProKind(str, Enum):
    lawyer = "lawyer"
    accountant = "accountant"
    inspector = "inspector"
    contractor = "contractor"
    agent = "agent"
    title = "title"
    lender = "lender"
    property_manager = "property_manager"
    other = "other"


class ProStatus(str, Enum):
    active = "active"
    inactive = "inactive"


Jurisdictions = Annotated[list[Region], Field(min_length=1), AfterValidator(lambda v: list(dict.fromkeys(v)))]


# ---------------------------------------------------------------------------- professionals


class ProfessionalCreate(Input):
    name: Name
    kind: ProKind
    jurisdictions: Jurisdictions
    specialties: Tags = []
    email: Email | None = None
    phone: Phone | None = None
    license_no: Name | None = None
    status: ProStatus = ProStatus.active
    notes: Text | None = None

    model_config = {"json_schema_extra": {"examples": [{
        "name": "Priya Shah LLP", "kind": "lawyer", "jurisdictions": ["ON", "BC"],
        "specialties": ["assignment", "closing"], "email": "priya@shahlaw.example", "phone": "416-555-0199",
        "license_no": "LSO-12345", "status": "active", "notes": "Fast on assignment reviews",
    }]}}


class ProfessionalUpdate(Input):
    name: Name = None
    kind: ProKind = None
    jurisdictions: Jurisdictions = None
    specialties: Tags = None
    email: Email | None = None
    phone: Phone | None = None
    license_no: Name | None = None
    status: ProStatus = None
    notes: Text | None = None


class Professional(Record):
    name: str
    kind: ProKind
    jurisdictions: list[str]
    specialties: list[str] = []
    email: str | None = None
    phone: str | None = None
    license_no: str | None = None
    status: ProStatus = ProStatus.active
    notes: Text | None = None
    signal_score: float | None = None  # the latest signal's score
    signal_at: UtcDatetime | None = None


# ---------------------------------------------------------------------------- signals, alignment, scorecard


class SignalInput(Input):
    rating: Annotated[float, Field(ge=0, le=5, allow_inf_nan=False)]
    review_count: Annotated[int, Field(ge=0)]
    response_hours: Hours
    license_verified: bool = False
    complaints: Annotated[int, Field(ge=0)] = 0
    source: Name | None = None

    model_config = {"json_schema_extra": {"examples": [{
        "rating": 4.5, "review_count": 20, "response_hours": 2, "license_verified": True, "complaints": 1,
        "source": "Google reviews + law society register",
    }]}}


class Signal(Entry):
    pro_id: str
    rating: float
    review_count: int
    response_hours: float
    license_verified: bool
    complaints: int
    source: str | None = None
    quality: float  # Q: the rating smoothed toward 2.5, as a fraction of 5
    responsiveness: float  # R: 24 / (24 + response_hours)
    score: float


class AlignRequest(Input):
    kind: ProKind
    jurisdiction: Region
    specialty: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=60)] | None = None

    model_config = {"json_schema_extra": {"examples": [{"kind": "lawyer", "jurisdiction": "ON", "specialty": "assignment"}]}}


class AlignedPro(BaseModel):
    pro_id: str
    name: str
    score: float
    specialty_match: bool | None
    reasons: list[str]


class Alignment(BaseModel):
    kind: ProKind
    jurisdiction: str
    specialty: str | None
    matches: list[AlignedPro]


class Scorecard(BaseModel):
    pro_id: str
    as_of: UtcDatetime
    tasks_total: int
    tasks_judged: int  # done with a due date, or open and past due
    tasks_on_time: int
    on_time_rate: float | None
    ratings_count: int
    mean_rating: float | None
    handoffs_decided: int  # handoffs to this pro that were accepted, completed or declined
    handoffs_accepted: int
    handoff_acceptance: float | None
    hours_used: float
    hours_included: float
    retainer_utilisation: float | None
    signal_score: float | None
    overall: float | None


# ---------------------------------------------------------------------------- retainers


class RetainerStatus(str, Enum):
    proposed = "proposed"
    active = "active"
    paused = "paused"
    ended = "ended"


RETAINER_STARTS = (RetainerStatus.proposed,)


class RetainerCreate(Input):
    pro_id: str
    title: Name | None = None
    monthly_amount: Money
    currency: Currency = "CAD"
    hours_included: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    start_date: date | None = None
    renewal_date: date | None = None
    notes: Text | None = None
    status: RetainerStatus | None = starts_in(RETAINER_STARTS)

    model_config = {"json_schema_extra": {"examples": [{
        "pro_id": "pro_01J0EXAMPLE", "title": "Closing reviews, Ontario", "monthly_amount": 1500, "currency": "CAD",
        "hours_included": 10, "start_date": "2026-01-01", "renewal_date": "2026-02-01", "notes": "Billed monthly",
    }]}}


class RetainerUpdate(Input):
    title: Name | None = None
    monthly_amount: Money = None
    currency: Currency = None
    hours_included: Annotated[float, Field(gt=0, allow_inf_nan=False)] = None
    start_date: date | None = None
    renewal_date: date | None = None
    notes: Text | None = None
    status: RetainerStatus = None


class Retainer(Record):
    pro_id: str
    title: str | None = None
    monthly_amount: float
    currency: str = "CAD"
    hours_included: float
    hours_used: float = 0
    utilisation: float = 0  # hours_used / hours_included
    overage_hours: float = 0  # hours used beyond hours_included
    start_date: date | None = None
    renewal_date: date | None = None
    status: RetainerStatus = RetainerStatus.proposed
    notes: Text | None = None


class HoursInput(Input):
    hours: Annotated[float, Field(gt=0, le=744, allow_inf_nan=False)]
    worked_on: date | None = None
    note: Text | None = None

    model_config = {"json_schema_extra": {"examples": [{"hours": 1.5, "worked_on": "2026-01-05", "note": "Reviewed APS for 12 Elm"}]}}


class RetainerHours(Entry):
    retainer_id: str
    hours: float
    worked_on: date | None = None
    note: Text | None = None


# ---------------------------------------------------------------------------- handoffs


class HandoffStatus(str, Enum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"
    completed = "completed"


HANDOFF_STARTS = (HandoffStatus.pending,)


class ChecklistItem(BaseModel):
    """One thing to hand over. A bare string is read as an open item."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    item: Name
    done: bool = False


def _checklist(value: Any) -> Any:
    if isinstance(value, list):
        return [{"item": v} if isinstance(v, str) else v for v in value]
    return value


# JSON names `from` and `to` (as the operator writes them); `from` is `from_` in Python.
_ALIASED = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)


class HandoffCreate(Input):
    model_config = ConfigDict(**_ALIASED, json_schema_extra={"examples": [{
        "from": "pro_01J0LAWYER", "to": "pro_01J0TITLE", "deal_id": "dl_01J0EXAMPLE", "task_ids": ["pt_01J0EXAMPLE"],
        "checklist": ["Signed APS", {"item": "Deposit receipt", "done": True}], "notes": "Closing on the 30th",
    }]})

    from_: str = Field(alias="from")
    to: str
    deal_id: str | None = None
    task_ids: list[str] = []
    checklist: list[ChecklistItem] = []
    notes: Text | None = None
    status: HandoffStatus | None = starts_in(HANDOFF_STARTS)

    _checklist = field_validator("checklist", mode="before")(staticmethod(_checklist))


class HandoffUpdate(Input):
    checklist: list[ChecklistItem] = None
    notes: Text | None = None
    status: HandoffStatus = None

    _checklist = field_validator("checklist", mode="before")(staticmethod(_checklist))


class Handoff(Record):
    model_config = _ALIASED

    from_: str = Field(alias="from")
    to: str
    deal_id: str | None = None
    task_ids: list[str] = []
    checklist: list[ChecklistItem] = []
    notes: Text | None = None
    status: HandoffStatus = HandoffStatus.pending
    decided_at: UtcDatetime | None = None
    completed_at: UtcDatetime | None = None


# ---------------------------------------------------------------------------- tasks


class TaskStatus(str, Enum):
    todo = "todo"
    in_progress = "in_progress"
    blocked = "blocked"
    done = "done"
    canceled = "canceled"


TASK_STARTS = (TaskStatus.todo,)


class TaskCreate(Input):
    title: Name
    pro_id: str
    deal_id: str | None = None
    due_at: UtcDatetime | None = None
    notes: Text | None = None
    status: TaskStatus | None = starts_in(TASK_STARTS)

    model_config = {"json_schema_extra": {"examples": [{
        "title": "Review assignment agreement", "pro_id": "pro_01J0EXAMPLE", "deal_id": "dl_01J0EXAMPLE",
        "due_at": "2026-01-09T22:00:00Z", "notes": "Buyer wants to close in 30 days",
    }]}}


class TaskUpdate(Input):
    title: Name = None
    pro_id: str = None
    deal_id: str | None = None
    due_at: UtcDatetime | None = None
    notes: Text | None = None
    status: TaskStatus = None
    rating: Rating | None = None


class Task(Record):
    title: str
    pro_id: str
    deal_id: str | None = None
    due_at: UtcDatetime | None = None
    status: TaskStatus = TaskStatus.todo
    rating: int | None = None
    completed_at: UtcDatetime | None = None
    notes: Text | None = None
