"""Governance decisions through HTTP: propose, approve/reject once, who decided, refusals."""

from __future__ import annotations

import orjson
import pytest

from app.core_gov.errors import Conflict, InvalidField
from app.core_gov.governance import service


def propose(client, **fields):
    body = {"title": "Release after complaint", "kind": "kill_switch", "subject_refs": ["golive"], "rationale": "handled", **fields}
    r = client.post("/core/governance/decisions", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_propose_stores_a_proposed_decision_with_the_proposer(client, data_dir):
    d = propose(client, subject_refs=[" risk:GLOBAL "])
    assert d["id"].startswith("gd_") and d["status"] == "proposed" and d["proposed_by"] == "operator"
    assert d["subject_refs"] == ["risk:GLOBAL"] and d["decided_by"] is None and d["decided_at"] is None
    assert orjson.loads((data_dir / "governance" / "decisions.json").read_bytes()) == [d]
    r = client.get(f"/core/governance/decisions/{d['id']}")
    assert r.status_code == 200 and r.json() == d and r.headers["etag"] == '"1"'


def test_approve_records_actor_time_and_reason_in_record_and_audit(client, clock):
    d = propose(client)
    clock.advance(minutes=5)
    r = client.post(f"/core/governance/decisions/{d['id']}/approve", json={"reason": "reviewed"}, headers={"X-Actor": "ops lead"})
    assert r.status_code == 200
    body = r.json()
    assert (body["status"], body["decided_by"], body["decided_at"], body["decision_reason"]) == ("approved", "ops lead", "2026-01-05T15:05:00Z", "reviewed")
    audit = client.get("/core/audit", params={"module": "governance", "action": "transition"}).json()
    assert len(audit) == 1 and audit[0]["actor"] == "ops lead" and audit[0]["changes"]["status"] == ["proposed", "approved"]


def test_only_a_proposed_decision_moves_and_a_second_decision_is_409(client):
    d = propose(client)
    assert client.post(f"/core/governance/decisions/{d['id']}/reject", json={"reason": "no"}).json()["status"] == "rejected"
    for action in ("approve", "reject"):
        r = client.post(f"/core/governance/decisions/{d['id']}/{action}", json={"reason": "again"})
        assert r.status_code == 409 and r.json()["detail"]["code"] == "invalid_transition" and r.json()["detail"]["current"] == "rejected"
    assert client.get(f"/core/governance/decisions/{d['id']}").json()["version"] == 2


def test_list_filters_by_status_kind_and_subject(client):
    a = propose(client, kind="risk_cap", subject_refs=["risk:GLOBAL"])
    propose(client, kind="kill_switch")
    client.post(f"/core/governance/decisions/{a['id']}/approve", json={"reason": "ok"})
    r = client.get("/core/governance/decisions", params={"status": "approved"})
    assert r.headers["x-total-count"] == "1" and [d["id"] for d in r.json()] == [a["id"]]
    assert [d["id"] for d in client.get("/core/governance/decisions", params={"subject_ref": "risk:GLOBAL"}).json()] == [a["id"]]
    assert len(client.get("/core/governance/decisions", params={"kind": "kill_switch"}).json()) == 1


def test_bad_input_is_422_naming_the_field_and_writes_nothing(client, data_dir):
    for body, field in [
        ({"kind": "other", "rationale": "x"}, "title"),
        ({"title": "t", "rationale": "   "}, "rationale"),
        ({"title": "t", "rationale": "x", "kind": "whim"}, "kind"),
        ({"title": "t", "rationale": "x", "status": "agreed"}, "status"),
    ]:
        r = client.post("/core/governance/decisions", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field, (body, r.text)
    r = client.post("/core/governance/decisions", json={"title": "t", "rationale": "x", "status": "approved"})  # no self-approval
    assert r.status_code == 409 and r.json()["detail"]["code"] == "invalid_transition"
    assert not (data_dir / "governance" / "decisions.json").exists()
    d = propose(client)
    r = client.post(f"/core/governance/decisions/{d['id']}/approve", json={"reason": "  "})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "reason"]
    assert client.get(f"/core/governance/decisions/{d['id']}").json()["status"] == "proposed"
    assert client.post("/core/governance/decisions/gd_nope/approve", json={"reason": "x"}).status_code == 404


def test_require_approved_refuses_unknown_422_and_unapproved_409(client, db):
    with pytest.raises(InvalidField) as unknown:
        service.require_approved(db, "gd_nope", field="decision_id")
    assert unknown.value.detail[0]["loc"] == ["body", "decision_id"]
    d = propose(client)
    with pytest.raises(Conflict) as pending:
        service.require_approved(db, d["id"])
    assert pending.value.code == "decision_not_approved" and pending.value.context["status"] == "proposed"
    client.post(f"/core/governance/decisions/{d['id']}/approve", json={"reason": "ok"})
    assert service.require_approved(db, d["id"]).status.value == "approved"
