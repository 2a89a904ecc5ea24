"""Professionals through HTTP: records, the signal score formula and its history, alignment
ranking with reasons, and the scorecard computed from a known history."""

from __future__ import annotations

import orjson

from .helpers import handoff, patch, pro, retainer, signal, task


def test_create_normalises_and_get_returns_the_record(client, data_dir):
    p = pro(client, jurisdictions=["on", "bc", "ON"], specialties=["Assignment", "closing", "assignment"],
            email="Priya@ShahLaw.Example", phone="(416) 555-0199", license_no="LSO-12345")
    assert p["id"].startswith("pro_") and p["status"] == "active"
    assert (p["jurisdictions"], p["specialties"]) == (["ON", "BC"], ["assignment", "closing"])
    assert (p["email"], p["phone"], p["signal_score"]) == ("priya@shahlaw.example", "+14165550199", None)
    r = client.get(f"/core/pros/{p['id']}")
    assert r.status_code == 200 and r.json() == p and r.headers["etag"] == '"1"'
    assert orjson.loads((data_dir / "pros" / "professionals.json").read_bytes()) == [p]


def test_list_filters_and_patch(client):
    a = pro(client, "A", specialties=["assignment"])
    b = pro(client, "B", kind="inspector", jurisdictions=["BC", "WA"])
    r = client.get("/core/pros", params={"jurisdiction": "wa"})
    assert r.headers["x-total-count"] == "1" and [p["id"] for p in r.json()] == [b["id"]]
    assert [p["id"] for p in client.get("/core/pros", params={"specialty": "Assignment"}).json()] == [a["id"]]
    r = patch(client, a["id"], status="inactive")
    assert r.status_code == 200 and r.json()["status"] == "inactive" and r.json()["version"] == 2
    assert [p["id"] for p in client.get("/core/pros", params={"status": "active"}).json()] == [b["id"]]
    assert client.get("/core/audit", params={"entity_id": a["id"], "action": "transition"}).json()[0]["changes"]["status"] == ["active", "inactive"]


def test_bad_input_is_422_naming_the_field(client, data_dir):
    for body, loc in [
        ({"name": "x", "kind": "plumber", "jurisdictions": ["ON"]}, ["body", "kind"]),
        ({"name": "x", "kind": "lawyer", "jurisdictions": ["ZZ"]}, ["body", "jurisdictions", 0]),
        ({"name": "x", "kind": "lawyer", "jurisdictions": []}, ["body", "jurisdictions"]),
        ({"name": "x", "kind": "lawyer", "jurisdictions": ["ON"], "email": "nope"}, ["body", "email"]),
        ({"name": "x", "kind": "lawyer", "jurisdictions": ["ON"], "status": "retired"}, ["body", "status"]),
    ]:
        r = client.post("/core/pros", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc, body
    assert not (data_dir / "pros" / "professionals.json").exists()
    p = pro(client)
    r = patch(client, p["id"], kind=None)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "kind"]
    assert client.get("/core/pros/pro_nope").status_code == 404


def test_fixed_paths_are_not_read_as_ids(client):
    for path in ("tasks", "retainers", "handoffs"):
        r = client.get(f"/core/pros/{path}")
        assert r.status_code == 200 and r.json() == [], path
    assert client.post("/core/pros/align", json={"kind": "lawyer", "jurisdiction": "ON"}).json()["matches"] == []


# ---------------------------------------------------------------------------- signals


SIGNALS = [
    # Q = (4.5·20 + 12.5) / 125 = 0.82, R = 24/26; 100·(0.41 + 0.2308 + 0.25) − 10 = 79.08
    ({"rating": 4.5, "review_count": 20, "response_hours": 2, "license_verified": True, "complaints": 1}, 79.1, 0.82, 0.9231),
    # Q = (4·15 + 12.5) / 100 = 0.725, R = 24/32 = 0.75: 100·(0.3625 + 0.1875 + 0.25) = 80
    ({"rating": 4, "review_count": 15, "response_hours": 8, "license_verified": True}, 80.0, 0.725, 0.75),
    # no reviews: Q = 0.5 whatever the rating; a day to answer: R = 0.5; unverified: 37.5
    ({"rating": 5, "review_count": 0, "response_hours": 24}, 37.5, 0.5, 0.5),
    # 45 five-star reviews, instant, verified: 100·(0.475 + 0.25 + 0.25) = 97.5
    ({"rating": 5, "review_count": 45, "response_hours": 0, "license_verified": True}, 97.5, 0.95, 1.0),
    # complaints take 10 each and the score never goes below 0
    ({"rating": 1, "review_count": 10, "response_hours": 72, "complaints": 5}, 0.0, 0.3, 0.25),
]


def test_signal_score_follows_the_documented_formula(client):
    for body, score, quality, responsiveness in SIGNALS:
        p = pro(client)
        r = client.post(f"/core/pros/{p['id']}/signals", json=body)
        assert r.status_code == 201
        s = r.json()
        assert (s["score"], s["quality"], s["responsiveness"], s["pro_id"]) == (score, quality, responsiveness, p["id"]), body
        assert client.get(f"/core/pros/{p['id']}").json()["signal_score"] == score


def test_signal_history_is_kept_and_the_pro_shows_the_latest(client, clock, data_dir):
    p = pro(client)
    first = signal(client, p["id"])
    clock.advance(minutes=60)
    second = signal(client, p["id"], rating=4, review_count=15, response_hours=8, complaints=0)
    r = client.get(f"/core/pros/{p['id']}/signals")
    assert r.headers["x-total-count"] == "2" and [s["score"] for s in r.json()] == [79.1, 80.0]
    assert r.json() == [first, second]
    now = client.get(f"/core/pros/{p['id']}").json()
    assert (now["signal_score"], now["signal_at"]) == (80.0, "2026-01-05T16:00:00Z")
    lines = (data_dir / "pros" / "signals.jsonl").read_bytes().splitlines()
    assert [orjson.loads(line)["score"] for line in lines] == [79.1, 80.0]


def test_signal_bad_input_is_422_and_unknown_pro_404(client, data_dir):
    p = pro(client)
    for body, field in [
        ({"rating": 5.5, "review_count": 1, "response_hours": 1}, "rating"),
        ({"rating": -1, "review_count": 1, "response_hours": 1}, "rating"),
        ({"rating": 4, "review_count": -1, "response_hours": 1}, "review_count"),
        ({"rating": 4, "review_count": 1, "response_hours": -2}, "response_hours"),
        ({"rating": 4, "review_count": 1, "response_hours": 1, "complaints": -1}, "complaints"),
        ({"rating": 4, "review_count": 1}, "response_hours"),
    ]:
        r = client.post(f"/core/pros/{p['id']}/signals", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field], body
    assert not (data_dir / "pros" / "signals.jsonl").exists()
    r = client.post("/core/pros/pro_nope/signals", json={"rating": 4, "review_count": 1, "response_hours": 1})
    assert r.status_code == 404


# ---------------------------------------------------------------------------- alignment


def test_alignment_ranks_active_pros_of_the_kind_in_the_jurisdiction(client, clock):
    a = pro(client, "Alpha Law", specialties=["assignment"])
    signal(client, a["id"], rating=4, review_count=15, response_hours=8, complaints=0)  # 80.0
    b = pro(client, "Bravo Law")
    c = pro(client, "Charlie Law", jurisdictions=["BC", "ON"], specialties=["assignment", "closing"])
    d = pro(client, "Delta Law")
    t = task(client, d["id"], due_at="2026-01-06T15:00:00Z")
    patch(client, f"tasks/{t['id']}", status="done")  # on time: T = 100
    patch(client, pro(client, "Echo Law", specialties=["assignment"])["id"], status="inactive")
    pro(client, "Foxtrot Law", jurisdictions=["BC"], specialties=["assignment"])
    pro(client, "Golf CPA", kind="accountant", specialties=["assignment"])

    r = client.post("/core/pros/align", json={"kind": "lawyer", "jurisdiction": "on", "specialty": "Assignment"})
    assert r.status_code == 200
    body = r.json()
    assert (body["kind"], body["jurisdiction"], body["specialty"]) == ("lawyer", "ON", "assignment")
    # score = 0.5·S + 0.2·T + 0.3·M
    assert [(m["name"], m["score"], m["specialty_match"]) for m in body["matches"]] == [
        ("Alpha Law", 80.0, True),     # 0.5·80 + 0.2·50 + 0.3·100
        ("Charlie Law", 65.0, True),   # 0.5·50 + 0.2·50 + 0.3·100
        ("Delta Law", 45.0, False),    # 0.5·50 + 0.2·100 + 0
        ("Bravo Law", 35.0, False),    # 0.5·50 + 0.2·50 + 0
    ]
    assert body["matches"][0]["reasons"] == ["lawyer serving ON", "signal score 80.0", "no task history (50 assumed)", "specialty assignment"]
    assert body["matches"][2]["reasons"] == [
        "lawyer serving ON", "no signal yet (50 assumed)", "on time 1 of 1 tasks", "does not list specialty assignment",
    ]
    assert [m["pro_id"] for m in body["matches"]] == [a["id"], c["id"], d["id"], b["id"]]

    plain = client.post("/core/pros/align", json={"kind": "lawyer", "jurisdiction": "ON"}).json()
    assert [(m["name"], m["score"], m["specialty_match"]) for m in plain["matches"]] == [
        ("Alpha Law", 80.0, None), ("Delta Law", 75.0, None), ("Bravo Law", 65.0, None), ("Charlie Law", 65.0, None),
    ]


def test_alignment_bad_input_is_422(client):
    for body, field in [
        ({"kind": "wizard", "jurisdiction": "ON"}, "kind"),
        ({"kind": "lawyer", "jurisdiction": "XX"}, "jurisdiction"),
        ({"kind": "lawyer"}, "jurisdiction"),
        ({"kind": "lawyer", "jurisdiction": "ON", "specialty": "  "}, "specialty"),
    ]:
        r = client.post("/core/pros/align", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field], body


# ---------------------------------------------------------------------------- scorecard


def test_scorecard_from_a_known_history(client, clock):
    p = pro(client)
    other = pro(client, "Other Title Co", kind="title")
    signal(client, p["id"])  # 79.1
    on_time = task(client, p["id"], "on time", due_at="2026-01-06T15:00:00Z")
    late = task(client, p["id"], "late", due_at="2026-01-05T16:00:00Z")
    overdue = task(client, p["id"], "overdue", due_at="2026-01-05T17:00:00Z")
    task(client, p["id"], "not due yet", due_at="2026-02-01T15:00:00Z")
    canceled = task(client, p["id"], "canceled", due_at="2026-01-05T15:30:00Z")
    task(client, p["id"], "no due date")
    assert patch(client, f"tasks/{on_time['id']}", status="done", rating=5).status_code == 200
    assert patch(client, f"tasks/{canceled['id']}", status="canceled").status_code == 200
    clock.advance(minutes=150)  # 17:30Z: `late` is done after its due time, `overdue` is past due
    assert patch(client, f"tasks/{late['id']}", status="done", rating=3).status_code == 200
    assert patch(client, f"tasks/{overdue['id']}", status="in_progress").status_code == 200

    for final in ("accepted", "completed", "declined", None):
        h = handoff(client, other["id"], p["id"])
        if final == "completed":
            patch(client, f"handoffs/{h['id']}", status="accepted")
        if final:
            assert patch(client, f"handoffs/{h['id']}", status=final).status_code == 200
    h = handoff(client, p["id"], other["id"])  # from this pro: not counted
    patch(client, f"handoffs/{h['id']}", status="declined")

    r1 = retainer(client, p["id"], hours_included=10)
    patch(client, f"retainers/{r1['id']}", status="active")
    client.post(f"/core/pros/retainers/{r1['id']}/hours", json={"hours": 12})
    retainer(client, p["id"], hours_included=5)  # proposed: not counted

    r = client.get(f"/core/pros/{p['id']}/scorecard")
    assert r.status_code == 200
    # overall = (0.30·100/3 + 0.25·75 + 0.15·200/3 + 0.10·80 + 0.20·79.1) / 1.0 = 62.57
    assert r.json() == {
        "pro_id": p["id"], "as_of": "2026-01-05T17:30:00Z",
        "tasks_total": 6, "tasks_judged": 3, "tasks_on_time": 1, "on_time_rate": 0.3333,
        "ratings_count": 2, "mean_rating": 4.0,
        "handoffs_decided": 3, "handoffs_accepted": 2, "handoff_acceptance": 0.6667,
        "hours_used": 12.0, "hours_included": 10.0, "retainer_utilisation": 1.2,
        "signal_score": 79.1, "overall": 62.6,
    }


def test_scorecard_without_history_has_no_overall_and_uses_what_exists(client):
    p = pro(client)
    card = client.get(f"/core/pros/{p['id']}/scorecard").json()
    assert (card["on_time_rate"], card["mean_rating"], card["handoff_acceptance"], card["retainer_utilisation"], card["overall"]) == (None,) * 5
    signal(client, p["id"], rating=4, review_count=15, response_hours=8, complaints=0)
    assert client.get(f"/core/pros/{p['id']}/scorecard").json()["overall"] == 80.0  # the signal alone
    assert client.get("/core/pros/pro_nope/scorecard").status_code == 404
