"""Replies, the process above comms and followups; each runs in one transaction on ("comms", "consent",
"followups"). The opt-out rule, in one place (an inbound opt-out and the follow-up outcome
`opted_out` both run it): the contact is suppressed (reason opt_out, kept 3 years and 14 days)
and every open follow-up that reaches it is canceled. An inbound message whose whole text is an
opt-out keyword (any case, surrounding spaces and punctuation ignored) opts its sender out; any
other reply completes each of the sender's ladders as `responded` and is an inquiry: it records
an `implied_inquiry` consent from its time (proof: the message id). Either way the message is
stored in comms' inbound log with what was done; an opt-out also withdraws every consent."""

from __future__ import annotations

import unicodedata

from ..comms import service as comms_service
from ..comms.schemas import InboundAction, InboundCreate, InboundMessage, Suppression
from ..consent import service as consent_service
from ..consent.schemas import ConsentCreate, ConsentKind
from ..errors import InvalidField
from ..followups import service as followups_service
from ..followups.schemas import Completion, Outcome, Task, TaskComplete, TaskStatus
from ..storage import Storage

OPT_OUT_KEYWORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "arret", "arrêt"})


def is_opt_out(body: str) -> bool:
    """The whole text is an opt-out keyword, in any case, ignoring surrounding spaces and punctuation."""
    text = unicodedata.normalize("NFC", body)
    strip = lambda c: c.isspace() or unicodedata.category(c)[0] in "PZC"  # noqa: E731
    start, end = 0, len(text)
    while start < end and strip(text[start]):
        start += 1
    while end > start and strip(text[end - 1]):
        end -= 1
    return text[start:end].casefold() in OPT_OUT_KEYWORDS


def opt_out(db: Storage, *, contact: str, source: str) -> tuple[Suppression, list[Task]]:
    """The opt-out rule: (the suppression, the follow-ups it canceled)."""
    with db.transaction("comms", "consent", "followups"):
        suppression = comms_service.suppress(db, value=contact, reason="opt_out", source=source)
        return suppression, followups_service.cancel_open_for_contact(db, contact=contact, reason=Outcome.opted_out.value)


def receive(db: Storage, data: InboundCreate) -> InboundMessage:
    sender = data.from_
    received_at = data.received_at or db.now()
    if received_at > db.now():
        raise InvalidField(("body", "received_at"), "a message cannot be received in the future")
    with db.transaction("comms", "consent", "followups"):
        record: dict = {"from": sender, "channel": data.channel, "body": data.body, "received_at": received_at}
        if is_opt_out(data.body):
            suppression, canceled = opt_out(db, contact=sender, source="inbound")
            record |= {"action": InboundAction.opted_out, "suppression_id": suppression.id, "tasks_canceled": [t.id for t in canceled]}
        else:
            changed = followups_service.mark_responded(db, contact=sender, at=received_at)
            responded = [t.id for t in changed if t.status is TaskStatus.done]
            record |= {
                "action": InboundAction.responded if responded else InboundAction.recorded,
                "tasks_responded": responded,
                "tasks_canceled": [t.id for t in changed if t.status is TaskStatus.canceled],
            }
        message = comms_service.log_inbound(db, record)
        if record["action"] is not InboundAction.opted_out:
            consent_service.record_consent(db, ConsentCreate(
                contact=sender, kind=ConsentKind.implied_inquiry, obtained_at=received_at,
                method=f"inbound {data.channel.value}", source="inbound message", proof=message.id,
            ))
        return message


def complete_task(db: Storage, task_id: str, data: TaskComplete) -> Completion:
    """A follow-up outcome; `opted_out` also runs the opt-out rule for the task's phone and email."""
    if data.outcome is not Outcome.opted_out:
        return followups_service.complete_task(db, task_id, data)
    with db.transaction("comms", "consent", "followups"):
        completion = followups_service.complete_task(db, task_id, data)
        suppression_ids: list[str] = []
        canceled: list[Task] = []
        for value in (completion.task.contact, completion.task.email):
            if value:
                suppression, more = opt_out(db, contact=value, source=f"followup:{task_id}")
                suppression_ids.append(suppression.id)
                canceled += more
        return completion.model_copy(update={"canceled": canceled, "suppression_ids": suppression_ids})
