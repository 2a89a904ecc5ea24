"""Retainers, handoffs and tasks through HTTP: references checked (422 naming the field), each
state machine with every invalid transition refused 409, hours with utilisation and overage,
checklists, ratings only on done tasks."""

from __future__ import annotations

import orjson

from app.core_gov.pros.service import HANDOFF_TRANSITIONS, RETAINER_TRANSITIONS, TASK_TRANSITIONS

from .helpers import handoff, patch, pro, retainer, task


def refuses_every_invalid_move(client, path, current, table, statuses):
    allowed = [s.value for s in next(v for k, v in table.items() if k.value == current)]
    for target in statuses:
        if target == current or target in allowed:
            continue
        r = client.patch(f"/core/pros/{path}", json={"status": target})
        assert r.status_code == 409, (current, target)
        assert r.json()["detail"]["code"] == "invalid_transition"
        assert (r.json()["detail"]["current"], r.json()["detail"]["allowed"]) == (current, allowed)
    assert client.get(f"/core/pros/{path}").json()["status"] == current


# ---------------------------------------------------------------------------- retainers

RETAINER = ["proposed", "active", "paused", "ended"]
RETAINER_PATHS = {"proposed": [], "active": ["active"], "paused": ["active", "paused"], "ended": ["ended"]}


def hours(client, retainer_id, h, **more):
    return client.post(f"/core/pros/retainers/{retainer_id}/hours", json={"hours": h, **more})


def test_retainer_hours_give_utilisation_and_overage(client, data_dir):
    p = pro(client)
    r = retainer(client, p["id"], hours_included=10, renewal_date="2026-02-01")
    assert (r["id"][:4], r["status"], r["hours_used"], r["utilisation"], r["overage_hours"]) == ("ret_", "proposed", 0, 0, 0)
    refused = hours(client, r["id"], 1)
    assert refused.status_code == 409 and refused.json()["detail"]["code"] == "retainer_not_active"
    assert patch(client, f"retainers/{r['id']}", status="active").json()["status"] == "active"
    got = hours(client, r["id"], 4, worked_on="2026-01-05", note="APS review")
    assert got.status_code == 200
    assert (got.json()["hours_used"], got.json()["utilisation"], got.json()["overage_hours"]) == (4, 0.4, 0)
    got = hours(client, r["id"], 8.5).json()
    assert (got["hours_used"], got["utilisation"], got["overage_hours"]) == (12.5, 1.25, 2.5)
    assert orjson.loads((data_dir / "pros" / "retainers.json").read_bytes())[0]["overage_hours"] == 2.5
    log = client.get(f"/core/pros/retainers/{r['id']}/hours").json()
    assert [(e["hours"], e["worked_on"], e["note"]) for e in log] == [(4, "2026-01-05", "APS review"), (8.5, None, None)]
    more = patch(client, f"retainers/{r['id']}", hours_included=25).json()
    assert (more["utilisation"], more["overage_hours"]) == (0.5, 0)
    for h in (0, -1, "x"):
        bad = hours(client, r["id"], h)
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "hours"]
    assert hours(client, "ret_nope", 1).status_code == 404


def test_every_invalid_retainer_transition_is_409(client):
    for current in RETAINER:
        r = retainer(client, pro(client)["id"])
        for step in RETAINER_PATHS[current]:
            assert patch(client, f"retainers/{r['id']}", status=step).status_code == 200
        refuses_every_invalid_move(client, f"retainers/{r['id']}", current, RETAINER_TRANSITIONS, RETAINER)


def test_retainer_transition_table():
    assert {k.value: [s.value for s in v] for k, v in RETAINER_TRANSITIONS.items()} == {
        "proposed": ["active", "ended"], "active": ["paused", "ended"], "paused": ["active", "ended"], "ended": [],
    }


def test_retainer_crud_and_bad_input(client, data_dir):
    p = pro(client)
    for body, field in [
        ({"pro_id": "pro_nope", "monthly_amount": 1, "hours_included": 1}, "pro_id"),
        ({"pro_id": p["id"], "monthly_amount": -1, "hours_included": 1}, "monthly_amount"),
        ({"pro_id": p["id"], "monthly_amount": 1, "hours_included": 0}, "hours_included"),
        ({"pro_id": p["id"], "monthly_amount": 1, "hours_included": 1, "status": "live"}, "status"),  # active: 409 (tests/test_state_machines.py)
        ({"pro_id": p["id"], "monthly_amount": 1, "hours_included": 1, "renewal_date": "soon"}, "renewal_date"),
    ]:
        r = client.post("/core/pros/retainers", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field], body
    assert not (data_dir / "pros" / "retainers.json").exists()
    r = retainer(client, p["id"])
    assert client.get(f"/core/pros/retainers/{r['id']}").json() == r
    retainer(client, pro(client, "Other")["id"])
    listed = client.get("/core/pros/retainers", params={"pro_id": p["id"]})
    assert listed.headers["x-total-count"] == "1" and listed.json() == [r]
    patch(client, f"retainers/{r['id']}", status="active")
    refused = client.delete(f"/core/pros/retainers/{r['id']}", params={"reason": "gone"})
    assert refused.status_code == 409 and refused.json()["detail"]["code"] == "retainer_active"
    patch(client, f"retainers/{r['id']}", status="ended")
    assert client.delete(f"/core/pros/retainers/{r['id']}").status_code == 422
    gone = client.delete(f"/core/pros/retainers/{r['id']}", params={"reason": "replaced by a new term"})
    assert gone.status_code == 200 and gone.json()["id"] == r["id"]
    assert client.get(f"/core/pros/retainers/{r['id']}").status_code == 404
    trail = client.get("/core/audit", params={"order": "asc", "entity_id": r["id"], "action": "delete"}).json()
    assert trail[0]["changes"]["reason"] == [None, "replaced by a new term"]


# ---------------------------------------------------------------------------- handoffs

HANDOFF = ["pending", "accepted", "declined", "completed"]
HANDOFF_PATHS = {"pending": [], "accepted": ["accepted"], "declined": ["declined"], "completed": ["accepted", "completed"]}


def test_handoff_records_from_and_to_and_stamps_decisions(client, clock, data_dir):
    a, b = pro(client, "A")["id"], pro(client, "B", kind="title")["id"]
    t = task(client, a)
    h = handoff(client, a, b, task_ids=[t["id"]], checklist=["Signed APS", {"item": "Deposit receipt", "done": True}])
    assert (h["from"], h["to"], h["status"], h["id"][:3]) == (a, b, "pending", "ho_")
    assert h["checklist"] == [{"item": "Signed APS", "done": False}, {"item": "Deposit receipt", "done": True}]
    assert orjson.loads((data_dir / "pros" / "handoffs.json").read_bytes())[0]["from"] == a
    clock.advance(minutes=10)
    accepted = patch(client, f"handoffs/{h['id']}", status="accepted").json()
    assert (accepted["status"], accepted["decided_at"]) == ("accepted", "2026-01-05T15:10:00Z")
    refused = patch(client, f"handoffs/{h['id']}", status="completed")
    assert refused.status_code == 409 and refused.json()["detail"]["code"] == "checklist_incomplete"
    assert refused.json()["detail"]["open_items"] == ["Signed APS"]
    clock.advance(minutes=10)
    done = patch(client, f"handoffs/{h['id']}", status="completed", checklist=[{"item": "Signed APS", "done": True}, {"item": "Deposit receipt", "done": True}])
    assert done.status_code == 200 and (done.json()["status"], done.json()["completed_at"]) == ("completed", "2026-01-05T15:20:00Z")
    assert [x["id"] for x in client.get("/core/pros/handoffs", params={"from": a}).json()] == [h["id"]]
    assert client.get("/core/pros/handoffs", params={"to": a}).json() == []


def test_every_invalid_handoff_transition_is_409(client):
    for current in HANDOFF:
        h = handoff(client, pro(client, "A")["id"], pro(client, "B")["id"])
        for step in HANDOFF_PATHS[current]:
            assert patch(client, f"handoffs/{h['id']}", status=step).status_code == 200
        refuses_every_invalid_move(client, f"handoffs/{h['id']}", current, HANDOFF_TRANSITIONS, HANDOFF)


def test_handoff_references_must_exist(client, data_dir):
    a, b = pro(client, "A")["id"], pro(client, "B")["id"]
    t = task(client, a)
    for body, loc in [
        ({"from": "pro_nope", "to": b}, ["body", "from"]),
        ({"from": a, "to": "pro_nope"}, ["body", "to"]),
        ({"from": a, "to": a}, ["body", "to"]),
        ({"to": b}, ["body", "from"]),
        ({"from": a, "to": b, "task_ids": [t["id"], "pt_nope"]}, ["body", "task_ids", 1]),
        ({"from": a, "to": b, "deal_id": "dl_nope"}, ["body", "deal_id"]),
        ({"from": a, "to": b, "status": "taken"}, ["body", "status"]),  # accepted: 409 (tests/test_state_machines.py)
    ]:
        r = client.post("/core/pros/handoffs", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc, body
    assert not (data_dir / "pros" / "handoffs.json").exists()


# ---------------------------------------------------------------------------- tasks

TASK = ["todo", "in_progress", "blocked", "done", "canceled"]
TASK_PATHS = {"todo": [], "in_progress": ["in_progress"], "blocked": ["blocked"], "done": ["done"], "canceled": ["canceled"]}


def test_task_lifecycle_records_completed_at_and_rating(client, clock):
    p = pro(client)
    t = task(client, p["id"], due_at="2026-01-06T12:00:00-05:00")
    assert (t["id"][:3], t["status"], t["due_at"], t["completed_at"], t["rating"]) == ("pt_", "todo", "2026-01-06T17:00:00Z", None, None)
    patch(client, f"tasks/{t['id']}", status="in_progress")
    r = patch(client, f"tasks/{t['id']}", rating=4)
    assert r.status_code == 409 and r.json()["detail"]["code"] == "task_not_done"
    clock.advance(minutes=45)
    done = patch(client, f"tasks/{t['id']}", status="done").json()
    assert (done["status"], done["completed_at"]) == ("done", "2026-01-05T15:45:00Z")
    rated = patch(client, f"tasks/{t['id']}", rating=4).json()
    assert (rated["rating"], rated["completed_at"]) == (4, "2026-01-05T15:45:00Z")
    trail = client.get("/core/audit", params={"order": "asc", "entity_id": t["id"], "action": "transition"}).json()
    assert [e["changes"]["status"] for e in trail] == [["todo", "in_progress"], ["in_progress", "done"]]
    listed = client.get("/core/pros/tasks", params={"pro_id": p["id"], "status": "done"})
    assert listed.headers["x-total-count"] == "1" and listed.json()[0]["id"] == t["id"]


def test_a_rating_outside_1_to_5_is_422(client):
    t = task(client, pro(client)["id"])
    patch(client, f"tasks/{t['id']}", status="done")
    for rating in (0, 6, -1, 2.5, "five"):
        r = patch(client, f"tasks/{t['id']}", rating=rating)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "rating"], rating
    assert client.get(f"/core/pros/tasks/{t['id']}").json()["rating"] is None


def test_rating_with_the_move_to_done_is_accepted_but_not_with_another_status(client):
    t = task(client, pro(client)["id"])
    r = patch(client, f"tasks/{t['id']}", status="blocked", rating=5)
    assert r.status_code == 409 and r.json()["detail"]["code"] == "task_not_done"
    assert client.get(f"/core/pros/tasks/{t['id']}").json()["status"] == "todo"
    r = patch(client, f"tasks/{t['id']}", status="done", rating=5)
    assert r.status_code == 200 and (r.json()["status"], r.json()["rating"]) == ("done", 5)


def test_every_invalid_task_transition_is_409(client):
    for current in TASK:
        t = task(client, pro(client)["id"])
        for step in TASK_PATHS[current]:
            assert patch(client, f"tasks/{t['id']}", status=step).status_code == 200
        refuses_every_invalid_move(client, f"tasks/{t['id']}", current, TASK_TRANSITIONS, TASK)


def test_task_transition_table():
    assert {k.value: [s.value for s in v] for k, v in TASK_TRANSITIONS.items()} == {
        "todo": ["in_progress", "blocked", "done", "canceled"],
        "in_progress": ["todo", "blocked", "done", "canceled"],
        "blocked": ["todo", "in_progress", "canceled"],
        "done": [], "canceled": [],
    }


def test_task_references_must_exist(client, data_dir):
    p = pro(client)
    for body, field in [
        ({"title": "x", "pro_id": "pro_nope"}, "pro_id"),
        ({"title": "x", "pro_id": p["id"], "deal_id": "dl_nope"}, "deal_id"),
        ({"title": "x", "pro_id": p["id"], "due_at": "2026-01-06T12:00:00"}, "due_at"),
        ({"title": "x", "pro_id": p["id"], "status": "finished"}, "status"),  # done: 409 (tests/test_state_machines.py)
        ({"title": " ", "pro_id": p["id"]}, "title"),
    ]:
        r = client.post("/core/pros/tasks", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field], body
    assert not (data_dir / "pros" / "tasks.json").exists()
    t = task(client, p["id"])
    r = patch(client, f"tasks/{t['id']}", pro_id="pro_nope")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "pro_id"]
    assert client.get("/core/pros/tasks/pt_nope").status_code == 404


def test_a_task_and_handoff_may_name_an_existing_deal(client):
    d = client.post("/core/deals", json={"address": "12 Elm Street", "city": "Hamilton", "province": "ON"}).json()
    a, b = pro(client, "A")["id"], pro(client, "B")["id"]
    t = task(client, a, deal_id=d["id"])
    h = handoff(client, a, b, deal_id=d["id"], task_ids=[t["id"]])
    assert (t["deal_id"], h["deal_id"]) == (d["id"], d["id"])
    assert [x["id"] for x in client.get("/core/pros/tasks", params={"deal_id": d["id"]}).json()] == [t["id"]]
