"""Media through HTTP: channels, content (body or url, scheduling, status moves), publishing
(log entry + published status, readiness, unknown channel, republish), the publish log."""

from __future__ import annotations

import orjson


def channel(client, **fields):
    r = client.post("/core/media/channels", json={"name": "Valhalla YouTube", "platform": "YouTube", **fields})
    assert r.status_code == 201, r.text
    return r.json()


def content(client, **fields):
    r = client.post("/core/media/content", json={"title": "Moncton in 9 days", "body": "Dana needed to move fast.", **fields})
    assert r.status_code == 201, r.text
    return r.json()


def publish(client, content_id, channel_id):
    return client.post(f"/core/media/content/{content_id}/publish", json={"channel_id": channel_id})


def log_lines(data_dir):
    path = data_dir / "media" / "publish_log.jsonl"
    return [orjson.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def test_channel_crud_with_etag_and_if_match(client):
    ch = channel(client)
    assert ch["id"].startswith("mch_") and ch["platform"] == "youtube"
    r = client.get(f"/core/media/channels/{ch['id']}")
    assert r.json() == ch and r.headers["etag"] == '"1"'
    p = client.patch(f"/core/media/channels/{ch['id']}", json={"name": "Renamed"}, headers={"If-Match": '"1"'})
    assert p.status_code == 200 and p.json()["name"] == "Renamed" and p.json()["platform"] == "youtube" and p.headers["etag"] == '"2"'
    assert client.patch(f"/core/media/channels/{ch['id']}", json={"name": "x"}, headers={"If-Match": '"1"'}).status_code == 412
    channel(client, name="News", platform="newsletter")
    r = client.get("/core/media/channels", params={"platform": "YOUTUBE"})
    assert r.headers["x-total-count"] == "1" and [c["name"] for c in r.json()] == ["Renamed"]
    for body, field in [({"name": "x"}, "platform"), ({"name": "", "platform": "x"}, "name"), ({"name": "x", "platform": "y", "z": 1}, "z")]:
        bad = client.post("/core/media/channels", json=body)
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == field


def test_content_needs_a_body_or_a_url(client, data_dir):
    for body in ({"title": "t"}, {"title": "t", "body": "   "}, {"title": "t", "body": None, "url": None}):
        r = client.post("/core/media/content", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "body"]
    assert not (data_dir / "media" / "content.json").exists()
    only_url = content(client, body=None, url="https://example.com/v/1")
    assert only_url["url"] == "https://example.com/v/1" and only_url["body"] is None and only_url["status"] == "draft"
    r = client.post("/core/media/content", json={"title": "t", "url": "not a url"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "url"]


def test_content_create_get_patch_on_disk(client, data_dir):
    c = content(client, tags=["Seller", "NB"])
    assert c["id"].startswith("mct_") and c["tags"] == ["seller", "nb"] and c["published_at"] is None
    r = client.get(f"/core/media/content/{c['id']}")
    assert r.json() == c and r.headers["etag"] == '"1"'
    p = client.patch(f"/core/media/content/{c['id']}", json={"title": "New title"}, headers={"If-Match": '"1"'})
    assert p.json()["title"] == "New title" and p.json()["body"] == c["body"] and p.json()["version"] == 2
    assert orjson.loads((data_dir / "media" / "content.json").read_bytes()) == [p.json()]
    assert client.patch(f"/core/media/content/{c['id']}", json={"title": "x"}, headers={"If-Match": '"1"'}).status_code == 412
    cleared = client.patch(f"/core/media/content/{c['id']}", json={"body": None})
    assert cleared.status_code == 422 and cleared.json()["detail"][0]["loc"] == ["body", "body"]
    swapped = client.patch(f"/core/media/content/{c['id']}", json={"body": None, "url": "https://example.com/a"})
    assert swapped.status_code == 200 and swapped.json()["body"] is None and swapped.json()["url"] == "https://example.com/a"


def test_scheduled_content_needs_scheduled_for(client):
    r = client.post("/core/media/content", json={"title": "t", "body": "b", "status": "scheduled"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "scheduled_for"]
    c = content(client, status="scheduled", scheduled_for="2026-01-12T09:00:00-05:00")
    assert c["status"] == "scheduled" and c["scheduled_for"] == "2026-01-12T14:00:00Z"
    d = content(client)
    r = client.patch(f"/core/media/content/{d['id']}", json={"status": "scheduled"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "scheduled_for"]
    r = client.patch(f"/core/media/content/{d['id']}", json={"status": "scheduled", "scheduled_for": "2026-01-06T15:00:00Z"})
    assert r.status_code == 200 and r.json()["status"] == "scheduled"
    back = client.patch(f"/core/media/content/{d['id']}", json={"status": "draft"})
    assert back.status_code == 200 and back.json()["status"] == "draft"
    naive = client.post("/core/media/content", json={"title": "t", "body": "b", "status": "scheduled", "scheduled_for": "2026-01-12T09:00:00"})
    assert naive.status_code == 422 and naive.json()["detail"][0]["loc"] == ["body", "scheduled_for"]


def test_published_is_reached_only_by_publishing(client):
    r = client.post("/core/media/content", json={"title": "t", "body": "b", "status": "published"})
    assert r.status_code == 409 and r.json()["detail"]["allowed"] == ["draft", "scheduled"]
    c = content(client)
    r = client.patch(f"/core/media/content/{c['id']}", json={"status": "published"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "status"]


def test_publish_appends_a_log_entry_and_sets_published(client, data_dir, clock):
    ch = channel(client)
    c = content(client, status="scheduled", scheduled_for="2026-01-06T15:00:00Z")
    clock.advance(minutes=30)
    r = publish(client, c["id"], ch["id"])
    assert r.status_code == 201  # a new publish-log entry is stored
    entry, after = r.json()["entry"], r.json()["content"]
    assert entry["id"].startswith("pub_") and entry["at"] == "2026-01-05T15:30:00Z"
    assert {k: entry[k] for k in ("content_id", "channel_id", "platform", "title", "republish")} == {
        "content_id": c["id"], "channel_id": ch["id"], "platform": "youtube", "title": "Moncton in 9 days", "republish": False,
    }
    assert after["status"] == "published" and after["published_at"] == "2026-01-05T15:30:00Z" and after["version"] == 2
    assert log_lines(data_dir) == [entry]
    assert client.get(f"/core/media/content/{c['id']}").json() == after


def test_a_draft_with_a_body_is_ready(client, data_dir):
    ch = channel(client)
    c = content(client, body=None, url="https://example.com/v/2")
    r = publish(client, c["id"], ch["id"])
    assert r.status_code == 201 and r.json()["content"]["status"] == "published"


def test_publishing_a_draft_that_is_not_ready_is_409_with_the_rule(client, data_dir):
    ch = channel(client)
    c = content(client)
    path = data_dir / "media" / "content.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(orjson.dumps([{**c, "body": "  ", "url": None}]))  # a hand edit the API would refuse
    tmp.replace(path)
    r = publish(client, c["id"], ch["id"])
    assert r.status_code == 409 and r.json()["detail"]["code"] == "content_not_ready"
    assert r.json()["detail"]["status"] == "draft" and "body or url" in r.json()["detail"]["rule"]
    assert log_lines(data_dir) == [] and client.get(f"/core/media/content/{c['id']}").json()["status"] == "draft"


def test_publishing_to_an_unknown_channel_is_422_and_writes_nothing(client, data_dir):
    c = content(client)
    r = publish(client, c["id"], "mch_nope")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "channel_id"]
    assert log_lines(data_dir) == [] and client.get(f"/core/media/content/{c['id']}").json()["version"] == 1
    assert publish(client, "mct_nope", "mch_nope").status_code == 404


def test_republishing_to_another_channel_is_logged_and_the_same_channel_is_refused(client, data_dir, clock):
    yt, news = channel(client), channel(client, name="Newsletter", platform="newsletter")
    c = content(client)
    first = publish(client, c["id"], yt["id"]).json()
    clock.advance(minutes=60)
    again = publish(client, c["id"], news["id"])
    assert again.status_code == 201
    assert again.json()["entry"]["republish"] is True and again.json()["entry"]["platform"] == "newsletter"
    assert again.json()["content"] == first["content"]  # still published, first published_at kept
    assert again.json()["content"]["published_at"] == "2026-01-05T15:00:00Z"
    dup = publish(client, c["id"], yt["id"])
    assert dup.status_code == 409 and dup.json()["detail"]["code"] == "already_published"
    assert dup.json()["detail"]["entry_id"] == first["entry"]["id"]
    assert [(e["channel_id"], e["republish"]) for e in log_lines(data_dir)] == [(yt["id"], False), (news["id"], True)]


def test_published_content_stays_published(client):
    ch = channel(client)
    c = content(client)
    publish(client, c["id"], ch["id"])
    r = client.patch(f"/core/media/content/{c['id']}", json={"status": "draft"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "invalid_transition" and r.json()["detail"]["current"] == "published"
    fix = client.patch(f"/core/media/content/{c['id']}", json={"body": "Typo fixed."})
    assert fix.status_code == 200 and fix.json()["status"] == "published" and fix.json()["body"] == "Typo fixed."


def test_publish_log_filters_and_pages(client):
    yt, news = channel(client), channel(client, name="N", platform="newsletter")
    a, b = content(client, title="A"), content(client, title="B")
    publish(client, a["id"], yt["id"])
    publish(client, b["id"], yt["id"])
    publish(client, a["id"], news["id"])
    r = client.get("/core/media/publish-log", params={"channel_id": yt["id"]})
    assert r.headers["x-total-count"] == "2" and [e["title"] for e in r.json()] == ["A", "B"]
    r = client.get("/core/media/publish-log", params={"content_id": a["id"], "limit": 1, "offset": 1})
    assert r.headers["x-total-count"] == "2" and [e["channel_id"] for e in r.json()] == [news["id"]]
    listed = client.get("/core/media/content", params={"status": "published"})
    assert listed.headers["x-total-count"] == "2"


def test_publish_is_audited(client):
    ch = channel(client)
    c = content(client)
    entry = publish(client, c["id"], ch["id"]).json()["entry"]
    assert [a["action"] for a in client.get("/core/audit", params={"order": "asc", "entity_id": c["id"]}).json()] == ["create", "transition"]
    assert [a["action"] for a in client.get("/core/audit", params={"order": "asc", "entity_id": entry["id"]}).json()] == ["action"]
