"""Stories through HTTP: templates CRUD, body syntax (placeholders, escaped braces, malformed
bodies with their position), rendering (every missing value named, extras ignored), episodes."""

from __future__ import annotations

import orjson


def template(client, **fields):
    body = {"title": "Seller story", "body": "{seller} sold in {city}.", **fields}
    r = client.post("/core/stories/templates", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def episode(client, template_id, **fields):
    r = client.post("/core/stories/episodes", json={"template_id": template_id, "sequence": 1, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def render(client, template_id, values):
    return client.post(f"/core/stories/templates/{template_id}/render", json={"values": values})


def test_template_create_then_get_with_etag_and_on_disk(client, data_dir):
    t = template(client, mood="hopeful", purpose="social proof", tags=["Seller", "seller", " Win "])
    assert t["id"].startswith("stt_") and t["version"] == 1 and t["tags"] == ["seller", "win"]
    r = client.get(f"/core/stories/templates/{t['id']}")
    assert r.status_code == 200 and r.json() == t and r.headers["etag"] == '"1"'
    assert orjson.loads((data_dir / "stories" / "templates.json").read_bytes()) == [t]


def test_render_fills_every_placeholder_and_reports_placeholders_and_ignored(client):
    t = template(client, body="Hi {name}, your {city} home: {name} wins.")
    r = render(client, t["id"], {"name": "Dana", "city": "Moncton", "extra": 1, "other": "x"})
    assert r.status_code == 200
    assert r.json() == {"text": "Hi Dana, your Moncton home: Dana wins.", "placeholders": ["name", "city"], "ignored": ["extra", "other"]}


def test_render_formats_numbers_as_written(client):
    t = template(client, body="{days} days, {price} CAD")
    assert render(client, t["id"], {"days": 9, "price": 1250.5}).json()["text"] == "9 days, 1250.5 CAD"


def test_render_missing_values_are_one_422_naming_each(client):
    t = template(client, body="{a} {b} {c} {a}")
    r = render(client, t["id"], {"b": "x", "zzz": "ignored"})
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["body", "values", "a"], ["body", "values", "c"]]
    assert r.json()["detail"][0]["msg"] == "no value for placeholder {a}"


def test_render_value_must_be_text_or_number(client):
    t = template(client, body="{a}")
    for bad in (None, True, ["x"]):
        r = render(client, t["id"], {"a": bad})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][:3] == ["body", "values", "a"]


def test_escaped_braces_render_as_literal_braces(client):
    t = template(client, body="{{literal}} {{{name}}} }}{{")
    r = render(client, t["id"], {"name": "N"})
    assert r.json() == {"text": "{literal} {N} }{", "placeholders": ["name"], "ignored": []}


def test_template_without_placeholders_renders_its_body(client):
    t = template(client, body="Plain text.")
    assert render(client, t["id"], {}).json() == {"text": "Plain text.", "placeholders": [], "ignored": []}


MALFORMED = [
    ("Hello {name", 6, "unbalanced '{'"),
    ("Hello name}", 10, "unbalanced '}'"),
    ("ok {a} then }}} end", 14, "unbalanced '}'"),
    ("{1st} place", 0, "not an identifier"),
    ("a {} b", 2, "not an identifier"),
    ("a {first name} b", 2, "not an identifier"),
    ("a {x{y}} b", 2, "not an identifier"),
]


def test_malformed_body_is_422_naming_the_position_and_writes_nothing(client, data_dir):
    for body, position, words in MALFORMED:
        r = client.post("/core/stories/templates", json={"title": "t", "body": body})
        assert r.status_code == 422, body
        err = r.json()["detail"][0]
        assert err["loc"] == ["body", "body"] and err["msg"].endswith(f"at position {position}") and words in err["msg"], (body, err)
    assert not (data_dir / "stories" / "templates.json").exists()


def test_patch_checks_the_new_body_and_honours_if_match(client):
    t = template(client)
    bad = client.patch(f"/core/stories/templates/{t['id']}", json={"body": "oops {x"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["msg"].endswith("at position 5")
    r = client.patch(f"/core/stories/templates/{t['id']}", json={"body": "{who} did it", "mood": "proud"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.headers["etag"] == '"2"'
    assert r.json()["body"] == "{who} did it" and r.json()["mood"] == "proud" and r.json()["title"] == "Seller story"
    stale = client.patch(f"/core/stories/templates/{t['id']}", json={"title": "Lost"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["detail"]["current_version"] == 2
    assert render(client, t["id"], {"who": "Sam"}).json()["text"] == "Sam did it"
    assert client.patch(f"/core/stories/templates/{t['id']}", json={"body": None}).status_code == 422


def test_hand_edited_malformed_body_renders_409_with_position(client, data_dir):
    t = template(client)
    path = data_dir / "stories" / "templates.json"
    edited = [{**t, "body": "Broken } here"}]
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(orjson.dumps(edited))
    tmp.replace(path)
    r = render(client, t["id"], {})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "template_malformed" and r.json()["detail"]["position"] == 7


def test_template_list_filters_and_pages(client):
    for i in range(4):
        template(client, title=f"t{i}", tags=["a"] if i % 2 else ["b"], mood="calm")
    r = client.get("/core/stories/templates", params={"tag": "A", "limit": 1, "offset": 1})
    assert r.headers["x-total-count"] == "2" and [t["title"] for t in r.json()] == ["t3"]
    assert client.get("/core/stories/templates", params={"mood": "angry"}).json() == []


def test_render_unknown_template_is_404(client):
    assert render(client, "stt_nope", {}).status_code == 404


def test_episode_needs_an_existing_template(client, data_dir):
    r = client.post("/core/stories/episodes", json={"template_id": "stt_nope", "sequence": 1})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "template_id"]
    assert not (data_dir / "stories" / "episodes.json").exists()


def test_episode_crud_with_status_and_etag(client):
    t = template(client)
    e = episode(client, t["id"], text="Dana sold in Moncton.")
    assert e["status"] == "draft" and e["id"].startswith("ste_") and e["sequence"] == 1
    got = client.get(f"/core/stories/episodes/{e['id']}")
    assert got.json() == e and got.headers["etag"] == '"1"'
    r = client.patch(f"/core/stories/episodes/{e['id']}", json={"status": "published"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["status"] == "published" and r.json()["version"] == 2
    back = client.patch(f"/core/stories/episodes/{e['id']}", json={"status": "draft"})
    assert back.json()["status"] == "draft" and back.json()["version"] == 3
    stale = client.patch(f"/core/stories/episodes/{e['id']}", json={"text": "x"}, headers={"If-Match": '"2"'})
    assert stale.status_code == 412


def test_episode_sequence_is_unique_per_template(client):
    t1, t2 = template(client), template(client)
    first = episode(client, t1["id"], sequence=1)
    dup = client.post("/core/stories/episodes", json={"template_id": t1["id"], "sequence": 1})
    assert dup.status_code == 409 and dup.json()["detail"]["code"] == "duplicate_sequence"
    assert dup.json()["detail"]["episode_id"] == first["id"]
    episode(client, t2["id"], sequence=1)  # another template may reuse the number
    second = episode(client, t1["id"], sequence=2)
    clash = client.patch(f"/core/stories/episodes/{second['id']}", json={"sequence": 1})
    assert clash.status_code == 409 and clash.json()["detail"]["code"] == "duplicate_sequence"
    assert client.get(f"/core/stories/episodes/{second['id']}").json()["sequence"] == 2


def test_published_episode_needs_text(client):
    t = template(client)
    r = client.post("/core/stories/episodes", json={"template_id": t["id"], "sequence": 1, "status": "published", "text": "  "})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "episode_empty"
    e = episode(client, t["id"])
    r = client.patch(f"/core/stories/episodes/{e['id']}", json={"status": "published"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "episode_empty"
    ok = client.patch(f"/core/stories/episodes/{e['id']}", json={"status": "published", "text": "Now it has text."})
    assert ok.status_code == 200 and ok.json()["status"] == "published"


def test_episode_bad_input_is_422_naming_the_field(client):
    t = template(client)
    for body, field in [
        ({"template_id": t["id"], "sequence": 0}, "sequence"),
        ({"template_id": t["id"], "sequence": 1, "status": "live"}, "status"),
        ({"template_id": t["id"], "sequence": 1, "colour": "red"}, "colour"),
    ]:
        r = client.post("/core/stories/episodes", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field
    e = episode(client, t["id"])
    for body, field in [({"status": None}, "status"), ({"template_id": "stt_gone"}, "template_id")]:
        r = client.patch(f"/core/stories/episodes/{e['id']}", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field]


def test_episode_list_filters_and_pages(client):
    t1, t2 = template(client), template(client)
    for seq in (1, 2, 3):
        episode(client, t1["id"], sequence=seq, text="x", status="published" if seq != 2 else "draft")
    episode(client, t2["id"], sequence=1)
    r = client.get("/core/stories/episodes", params={"template_id": t1["id"], "status": "published", "limit": 1})
    assert r.headers["x-total-count"] == "2" and [e["sequence"] for e in r.json()] == [1]
    assert client.get("/core/stories/episodes/ste_nope").status_code == 404


def test_status_change_is_audited_as_a_transition(client):
    t = template(client)
    e = episode(client, t["id"], text="x")
    client.patch(f"/core/stories/episodes/{e['id']}", json={"status": "published"})
    trail = client.get("/core/audit", params={"order": "asc", "entity_id": e["id"]})
    assert [a["action"] for a in trail.json()] == ["create", "transition"]
    assert trail.json()[1]["changes"] == {"status": ["draft", "published"]}
