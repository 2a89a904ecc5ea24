from __future__ import annotations

from enum import Enum
from typing import Annotated

from pydantic import StringConstraints

from ..fields import Name, starts_in
from ..storage import Input, Record, UtcDatetime

Rationale = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
SubjectRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class DecisionStatus(str, Enum):
    proposed = "proposed"
    approved = "approved"
    rejected = "rejected"


class DecisionKind(str, Enum):
    kill_switch = "kill_switch"  # releasing the kill switch
    risk_cap = "risk_cap"  # raising a risk cap
    go_live = "go_live"
    policy = "policy"
    deal = "deal"
    other = "other"


DECISION_STARTS = (DecisionStatus.proposed,)


class DecisionCreate(Input):
    title: Name
    kind: DecisionKind = DecisionKind.other
    subject_refs: list[SubjectRef] = []
    rationale: Rationale
    status: DecisionStatus | None = starts_in(DECISION_STARTS)

    model_config = {"json_schema_extra": {"examples": [{
        "title": "Raise GLOBAL daily exposure to 50,000 for the QC launch week",
        "kind": "risk_cap", "subject_refs": ["risk:GLOBAL"],
        "rationale": "Three assignments are lined up with proof of funds; the loss cap stays at 5,000.",
    }]}}


class Decision(Record):
    title: str
    kind: DecisionKind
    subject_refs: list[str] = []
    rationale: str
    status: DecisionStatus = DecisionStatus.proposed
    proposed_by: str | None = None
    decided_by: str | None = None
    decided_at: UtcDatetime | None = None
    decision_reason: str | None = None
