"""CASL sender identity: the identification email and SMS must carry. It is configured when the
name, mailing address, unsubscribe text and at least one of phone, email or web are set."""

from __future__ import annotations

from ..errors import InvalidField, NotFound
from ..storage import Storage
from . import store
from .schemas import IdentityFile, IdentityInput, SenderIdentity


def sender_identity(db: Storage) -> SenderIdentity | None:
    """The configured CASL identification, or None (never set, deleted, or incomplete by hand edit)."""
    f = db.read(store.identity)
    if not (f.sender_name and f.mailing_address and f.unsubscribe_text and (f.phone or f.email or f.web)):
        return None
    return SenderIdentity.model_validate(f.model_dump(exclude={"deleted_reason"}))


def get_identity(db: Storage) -> SenderIdentity:
    found = sender_identity(db)
    if found is None:
        raise NotFound("the sender identity is not configured: PUT /core/comms/identity")
    return found


def set_identity(db: Storage, data: IdentityInput) -> SenderIdentity:
    if not (data.phone or data.email or data.web):
        raise InvalidField(("body", "phone"), "give at least one way to reach the sender: phone, email or web")
    with db.transaction("comms") as tx:
        tx.write(store.identity, IdentityFile(**data.model_dump(), updated_at=tx.now))
    return get_identity(db)


def delete_identity(db: Storage, *, reason: str) -> SenderIdentity:
    """Remove the identity (email and SMS then refuse to send); answers what was removed."""
    with db.transaction("comms") as tx:
        old = get_identity(db)
        tx.write(store.identity, IdentityFile(updated_at=tx.now, deleted_reason=reason), audit="delete")
    return old
