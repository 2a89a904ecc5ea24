"""Education through HTTP: courses and their status moves, ordered lessons (unique order per
course), enrollments (one active per learner and course) and progress (percent, completed_at,
idempotent repeats, another course's lesson refused)."""

from __future__ import annotations

import orjson


def course(client, **fields):
    r = client.post("/core/education/courses", json={"title": "Wholesaling 101", "status": "active", **fields})
    assert r.status_code == 201, r.text
    return r.json()


def lesson(client, course_id, order, **fields):
    r = client.post("/core/education/lessons", json={"course_id": course_id, "order": order, "title": f"Lesson {order}", **fields})
    assert r.status_code == 201, r.text
    return r.json()


def enroll(client, course_id, learner="Jordan Lee"):
    r = client.post("/core/education/enrollments", json={"learner": learner, "course_id": course_id})
    assert r.status_code == 201, r.text
    return r.json()


def progress(client, enrollment_id, lesson_id):
    return client.post(f"/core/education/enrollments/{enrollment_id}/progress", json={"lesson_id": lesson_id})


def test_course_create_get_patch_with_etag(client, data_dir):
    c = course(client, description="From lead to assignment", status="draft")
    assert c["id"].startswith("crs_") and c["status"] == "draft" and c["version"] == 1
    r = client.get(f"/core/education/courses/{c['id']}")
    assert r.json() == c and r.headers["etag"] == '"1"'
    p = client.patch(f"/core/education/courses/{c['id']}", json={"title": "Wholesaling 102", "status": "active"}, headers={"If-Match": '"1"'})
    assert p.status_code == 200 and p.json()["title"] == "Wholesaling 102" and p.json()["status"] == "active" and p.headers["etag"] == '"2"'
    stale = client.patch(f"/core/education/courses/{c['id']}", json={"title": "Lost"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["detail"]["current_version"] == 2
    assert orjson.loads((data_dir / "education" / "courses.json").read_bytes())[0]["title"] == "Wholesaling 102"


def test_course_status_never_returns_to_draft(client):
    c = course(client)
    r = client.patch(f"/core/education/courses/{c['id']}", json={"status": "draft"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "invalid_transition"
    assert r.json()["detail"]["current"] == "active" and r.json()["detail"]["requested"] == "draft"
    assert client.patch(f"/core/education/courses/{c['id']}", json={"status": "archived"}).json()["status"] == "archived"
    assert client.patch(f"/core/education/courses/{c['id']}", json={"status": "active"}).json()["status"] == "active"
    assert client.patch(f"/core/education/courses/{c['id']}", json={"status": None}).status_code == 422


def test_course_bad_input_is_422_naming_the_field(client):
    for body, field in [({"title": ""}, "title"), ({"title": "x", "status": "live"}, "status"), ({"title": "x", "level": 1}, "level")]:
        r = client.post("/core/education/courses", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field


def test_course_list_filters_and_pages(client):
    course(client, title="a", status="draft")
    course(client, title="b")
    course(client, title="c")
    r = client.get("/core/education/courses", params={"status": "active", "limit": 1, "offset": 1})
    assert r.headers["x-total-count"] == "2" and [c["title"] for c in r.json()] == ["c"]


def test_lesson_needs_an_existing_course(client, data_dir):
    r = client.post("/core/education/lessons", json={"course_id": "crs_nope", "order": 1, "title": "x"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "course_id"]
    assert not (data_dir / "education" / "lessons.json").exists()


def test_lessons_are_listed_by_order_and_order_is_unique_per_course(client):
    c, other = course(client), course(client, title="Other")
    third = lesson(client, c["id"], 3)
    first = lesson(client, c["id"], 1)
    lesson(client, other["id"], 1)  # another course may reuse an order
    dup = client.post("/core/education/lessons", json={"course_id": c["id"], "order": 3, "title": "clash"})
    assert dup.status_code == 409 and dup.json()["detail"]["code"] == "duplicate_order" and dup.json()["detail"]["lesson_id"] == third["id"]
    second = lesson(client, c["id"], 2)
    r = client.get(f"/core/education/courses/{c['id']}/lessons")
    assert r.headers["x-total-count"] == "3" and [l["id"] for l in r.json()] == [first["id"], second["id"], third["id"]]
    paged = client.get(f"/core/education/courses/{c['id']}/lessons", params={"limit": 1, "offset": 2})
    assert [l["order"] for l in paged.json()] == [3]
    everything = client.get("/core/education/lessons").json()
    assert [(l["course_id"], l["order"]) for l in everything] == [(c["id"], 1), (c["id"], 2), (c["id"], 3), (other["id"], 1)]


def test_lesson_patch_reorders_checks_clashes_and_honours_if_match(client):
    c = course(client)
    a, b = lesson(client, c["id"], 1), lesson(client, c["id"], 2)
    clash = client.patch(f"/core/education/lessons/{b['id']}", json={"order": 1})
    assert clash.status_code == 409 and clash.json()["detail"]["code"] == "duplicate_order"
    moved = client.patch(f"/core/education/lessons/{a['id']}", json={"order": 5, "body": "new"}, headers={"If-Match": '"1"'})
    assert moved.status_code == 200 and moved.json()["order"] == 5 and moved.json()["body"] == "new" and moved.headers["etag"] == '"2"'
    assert [l["id"] for l in client.get(f"/core/education/courses/{c['id']}/lessons").json()] == [b["id"], a["id"]]
    assert client.patch(f"/core/education/lessons/{a['id']}", json={"title": "x"}, headers={"If-Match": '"1"'}).status_code == 412
    r = client.patch(f"/core/education/lessons/{a['id']}", json={"course_id": c["id"]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "course_id"]
    got = client.get(f"/core/education/lessons/{a['id']}")
    assert got.headers["etag"] == '"2"' and got.json()["order"] == 5


def test_course_lessons_of_unknown_course_is_404(client):
    assert client.get("/core/education/courses/crs_nope/lessons").status_code == 404


def test_one_active_enrollment_per_learner_and_course(client):
    c, other = course(client), course(client, title="Other")
    e = enroll(client, c["id"], "Jordan Lee")
    assert e["status"] == "active" and e["completed_lesson_ids"] == [] and e["percent_complete"] == 0.0 and e["completed_at"] is None
    dup = client.post("/core/education/enrollments", json={"learner": "  jordan LEE ", "course_id": c["id"]})
    assert dup.status_code == 409 and dup.json()["detail"]["code"] == "duplicate_enrollment" and dup.json()["detail"]["enrollment_id"] == e["id"]
    enroll(client, other["id"], "Jordan Lee")
    enroll(client, c["id"], "Sam Roy")
    w = client.patch(f"/core/education/enrollments/{e['id']}", json={"status": "withdrawn"}, headers={"If-Match": '"1"'})
    assert w.status_code == 200 and w.json()["status"] == "withdrawn"
    again = enroll(client, c["id"], "Jordan Lee")  # the withdrawn one no longer counts
    assert again["id"] != e["id"]
    r = client.get("/core/education/enrollments", params={"learner": "JORDAN lee", "course_id": c["id"]})
    assert r.headers["x-total-count"] == "2" and [x["status"] for x in r.json()] == ["withdrawn", "active"]


def test_enrollment_needs_an_existing_unarchived_course(client):
    r = client.post("/core/education/enrollments", json={"learner": "A", "course_id": "crs_nope"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "course_id"]
    c = course(client)
    assert client.patch(f"/core/education/courses/{c['id']}", json={"status": "archived"}).status_code == 200
    r = client.post("/core/education/enrollments", json={"learner": "A", "course_id": c["id"]})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "course_archived"


def test_progress_percent_and_completed_at(client, clock):
    c = course(client)
    lessons = [lesson(client, c["id"], i) for i in (1, 2, 3)]
    e = enroll(client, c["id"])
    r = progress(client, e["id"], lessons[1]["id"])
    assert r.status_code == 200 and r.headers["etag"] == '"2"'
    assert r.json()["completed_lesson_ids"] == [lessons[1]["id"]] and r.json()["percent_complete"] == 33.3
    assert r.json()["completed_at"] is None and r.json()["status"] == "active"
    r = progress(client, e["id"], lessons[0]["id"])
    assert r.json()["percent_complete"] == 66.7 and r.json()["completed_at"] is None
    clock.advance(minutes=90)
    r = progress(client, e["id"], lessons[2]["id"])
    assert r.json()["percent_complete"] == 100.0 and r.json()["completed_at"] == "2026-01-05T16:30:00Z" and r.json()["status"] == "completed"
    assert client.get(f"/core/education/enrollments/{e['id']}").json() == r.json()


def test_percent_rounds_half_up_to_one_decimal(client):
    c = course(client)
    lessons = [lesson(client, c["id"], i) for i in range(1, 17)]
    e = enroll(client, c["id"])
    assert progress(client, e["id"], lessons[0]["id"]).json()["percent_complete"] == 6.3  # 6.25 -> 6.3
    assert progress(client, e["id"], lessons[1]["id"]).json()["percent_complete"] == 12.5


def test_marking_the_same_lesson_twice_is_idempotent(client, clock):
    c = course(client)
    l1, _ = lesson(client, c["id"], 1), lesson(client, c["id"], 2)
    e = enroll(client, c["id"])
    first = progress(client, e["id"], l1["id"]).json()
    clock.advance(minutes=5)
    second = progress(client, e["id"], l1["id"])
    assert second.status_code == 200 and second.json() == first and second.json()["version"] == 2
    assert second.json()["completed_lesson_ids"] == [l1["id"]] and second.json()["percent_complete"] == 50.0


def test_progress_refuses_another_courses_lesson_and_unknown_lessons(client):
    c, other = course(client), course(client, title="Other")
    lesson(client, c["id"], 1)
    foreign = lesson(client, other["id"], 1)
    e = enroll(client, c["id"])
    r = progress(client, e["id"], foreign["id"])
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "lesson_id"] and other["id"] in r.json()["detail"][0]["msg"]
    r = progress(client, e["id"], "lsn_nope")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "lesson_id"]
    assert client.get(f"/core/education/enrollments/{e['id']}").json()["version"] == 1
    assert progress(client, "enr_nope", foreign["id"]).status_code == 404


def test_withdrawn_enrollment_takes_no_progress_and_stays_withdrawn(client):
    c = course(client)
    l1 = lesson(client, c["id"], 1)
    e = enroll(client, c["id"])
    client.patch(f"/core/education/enrollments/{e['id']}", json={"status": "withdrawn"})
    r = progress(client, e["id"], l1["id"])
    assert r.status_code == 409 and r.json()["detail"]["code"] == "enrollment_withdrawn"
    back = client.patch(f"/core/education/enrollments/{e['id']}", json={"status": "active"})
    assert back.status_code == 409 and back.json()["detail"]["code"] == "invalid_transition"


def test_completion_only_comes_from_progress(client):
    c = course(client)
    l1 = lesson(client, c["id"], 1)
    e = enroll(client, c["id"])
    r = client.patch(f"/core/education/enrollments/{e['id']}", json={"status": "completed"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "invalid_transition"
    done = progress(client, e["id"], l1["id"]).json()
    assert done["status"] == "completed"
    r = client.patch(f"/core/education/enrollments/{e['id']}", json={"status": "withdrawn"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "invalid_transition"


def test_lesson_added_after_completion_keeps_completed_at(client, clock):
    c = course(client)
    l1 = lesson(client, c["id"], 1)
    e = enroll(client, c["id"])
    done = progress(client, e["id"], l1["id"]).json()
    l2 = lesson(client, c["id"], 2)
    clock.advance(minutes=10)
    r = progress(client, e["id"], l2["id"]).json()
    assert r["percent_complete"] == 100.0 and r["completed_at"] == done["completed_at"] == "2026-01-05T15:00:00Z"
    assert r["completed_lesson_ids"] == [l1["id"], l2["id"]]


def test_progress_is_audited_as_an_action(client):
    c = course(client)
    l1 = lesson(client, c["id"], 1)
    e = enroll(client, c["id"])
    progress(client, e["id"], l1["id"])
    trail = client.get("/core/audit", params={"order": "asc", "entity_id": e["id"]}).json()
    assert [a["action"] for a in trail] == ["create", "action"]
    assert trail[1]["changes"]["percent_complete"] == [0.0, 100.0]
