"""Documents through HTTP: the metadata vault (create, filters, PATCH), routing entries whose
status only moves forward (409 otherwise, nothing written), and documents_for for other modules."""

from __future__ import annotations

import orjson

from app.core_gov.docs import service


def add(client, **fields):
    body = {"title": "Title search", "doc_type": "title", "file_path": "vault/12-elm/title.pdf", "entity_ids": ["dl_1"], **fields}
    r = client.post("/core/docs", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def route(client, doc_id, status="sent", **more):
    return client.post(f"/core/docs/{doc_id}/route", json={"to": "closing@titleco.example", "channel": "email", "status": status, **more})


def test_create_stores_metadata_with_links_and_tags_normalised(client, data_dir):
    d = add(client, entity_ids=["dl_1", " ct_2 ", "dl_1"], tags=["Closing", "closing", "ON"])
    assert d["id"].startswith("doc_") and d["entity_ids"] == ["dl_1", "ct_2"] and d["tags"] == ["closing", "on"]
    assert d["routing_status"] is None and d["routing"] == []
    r = client.get(f"/core/docs/{d['id']}")
    assert r.status_code == 200 and r.json() == d and r.headers["etag"] == '"1"'
    assert orjson.loads((data_dir / "docs" / "documents.json").read_bytes()) == [d]


def test_routing_moves_forward_and_keeps_every_entry(client, clock):
    d = add(client)
    r = route(client, d["id"], note="APS attached")
    assert r.status_code == 200 and r.json()["routing_status"] == "sent"
    clock.advance(minutes=30)
    route(client, d["id"], "delivered", channel="courier")
    clock.advance(minutes=30)
    done = route(client, d["id"], "acknowledged").json()
    assert done["routing_status"] == "acknowledged" and done["version"] == 4
    assert done["routing"] == [
        {"to": "closing@titleco.example", "channel": "email", "status": "sent", "at": "2026-01-05T15:00:00Z", "note": "APS attached"},
        {"to": "closing@titleco.example", "channel": "courier", "status": "delivered", "at": "2026-01-05T15:30:00Z", "note": None},
        {"to": "closing@titleco.example", "channel": "email", "status": "acknowledged", "at": "2026-01-05T16:00:00Z", "note": None},
    ]
    trail = client.get("/core/audit", params={"order": "asc", "module": "docs", "entity_id": d["id"], "action": "action"}).json()
    assert [e["changes"]["routing_status"] for e in trail] == [[None, "sent"], ["sent", "delivered"], ["delivered", "acknowledged"]]


def test_a_step_may_be_skipped_forward(client):
    d = add(client)
    assert route(client, d["id"], "acknowledged").json()["routing_status"] == "acknowledged"


def test_routing_never_repeats_or_goes_back(client, data_dir):
    order = ["sent", "delivered", "acknowledged"]
    refused = 0
    for i, current in enumerate(order):
        for target in order[: i + 1]:  # every status at or behind the current one
            d = add(client)
            assert route(client, d["id"], current).status_code == 200
            before = (data_dir / "docs" / "documents.json").read_bytes()
            r = route(client, d["id"], target)
            assert r.status_code == 409, (current, target)
            assert r.json()["detail"]["code"] == "invalid_transition"
            assert (r.json()["detail"]["current"], r.json()["detail"]["allowed"]) == (current, order[i + 1 :])
            assert (data_dir / "docs" / "documents.json").read_bytes() == before
            refused += 1
    assert refused == 6


def test_bad_input_is_422_naming_the_field(client, data_dir):
    for body, field in [
        ({"title": "x", "doc_type": "spreadsheet", "file_path": "a.xls"}, "doc_type"),
        ({"title": "x", "doc_type": "photo", "file_path": " "}, "file_path"),
        ({"title": "", "doc_type": "photo", "file_path": "a.jpg"}, "title"),
        ({"title": "x", "doc_type": "photo", "file_path": "a.jpg", "routing_status": "sent"}, "routing_status"),
    ]:
        r = client.post("/core/docs", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field], body
    assert not (data_dir / "docs" / "documents.json").exists()
    d = add(client)
    for body, field in [({"to": "x", "channel": "email", "status": "read"}, "status"), ({"to": " ", "channel": "email"}, "to"), ({"to": "x"}, "channel")]:
        r = client.post(f"/core/docs/{d['id']}/route", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field], body
    r = client.patch(f"/core/docs/{d['id']}", json={"doc_type": None})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "doc_type"]
    assert client.get(f"/core/docs/{d['id']}").json()["version"] == 1
    assert route(client, "doc_nope").status_code == 404
    assert client.get("/core/docs/doc_nope").status_code == 404


def test_patch_changes_metadata_and_honours_if_match(client):
    d = add(client)
    r = client.patch(f"/core/docs/{d['id']}", json={"tags": ["Final"], "entity_ids": ["dl_1", "pro_9"]}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["tags"] == ["final"] and r.json()["entity_ids"] == ["dl_1", "pro_9"]
    stale = client.patch(f"/core/docs/{d['id']}", json={"title": "Lost"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412 and client.get(f"/core/docs/{d['id']}").json()["title"] == "Title search"


def test_filters_and_documents_for_an_entity(client, db):
    title = add(client)
    photo = add(client, title="Front", doc_type="photo", file_path="vault/12-elm/front.jpg", tags=["exterior"])
    add(client, title="Other deal", entity_ids=["dl_2"])
    route(client, title["id"], "acknowledged")
    r = client.get("/core/docs", params={"entity_id": "dl_1"})
    assert r.headers["x-total-count"] == "2" and [d["id"] for d in r.json()] == [title["id"], photo["id"]]
    assert [d["id"] for d in client.get("/core/docs", params={"routing_status": "acknowledged"}).json()] == [title["id"]]
    assert [d["id"] for d in client.get("/core/docs", params={"tag": "Exterior"}).json()] == [photo["id"]]
    found = service.documents_for(db, entity_id="dl_1", doc_type="title")
    assert [(d.id, d.routing_status.value) for d in found] == [(title["id"], "acknowledged")]
    assert service.documents_for(db, entity_id="dl_9") == []
