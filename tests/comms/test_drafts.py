"""Drafts through HTTP: normalisation, required fields per channel, status transitions, sent content frozen."""

from __future__ import annotations

import orjson
import pytest

from .conftest import make_deal, make_draft


def test_create_normalises_to_and_tags_and_keeps_the_file_readable(client, data_dir):
    d = make_draft(client, tags=["Lead", "lead", " Elm St "], tone="warm", provider="twilio")
    assert d["to"] == "+14165550199" and d["tags"] == ["lead", "elm st"] and d["status"] == "draft"
    assert d["id"].startswith("dr_") and d["sent_at"] is None and d["province"] == "ON"
    e = make_draft(client, channel="email", to="  Jane.Roy@Example.COM ", subject="12 Elm St", province=None)
    assert e["to"] == "jane.roy@example.com"
    letter = make_draft(client, channel="letter", to="12 Elm Street, Hamilton ON", province=None)
    assert letter["to"] == "12 Elm Street, Hamilton ON"
    on_disk = orjson.loads((data_dir / "comms" / "drafts.json").read_bytes())
    assert [x["id"] for x in on_disk] == [d["id"], e["id"], letter["id"]]
    r = client.get(f"/core/comms/drafts/{d['id']}")
    assert r.json() == d and r.headers["etag"] == '"1"'


@pytest.mark.parametrize("body, loc", [
    ({"channel": "fax", "to": "4165550199", "province": "ON"}, ["body", "channel"]),
    ({"channel": "sms", "to": "4165550199", "province": "ZZ"}, ["body", "province"]),
    ({"channel": "sms", "to": "4165550199"}, ["body", "province"]),
    ({"channel": "call", "to": "4165550199"}, ["body", "province"]),
    ({"channel": "sms", "to": "555-01", "province": "ON"}, ["body", "to"]),
    ({"channel": "email", "to": "jane.example.com"}, ["body", "to"]),
    ({"channel": "email", "subject": "hi"}, ["body", "to"]),
    ({"channel": "sms", "to": "4165550199", "province": "ON", "tone": "angry"}, ["body", "tone"]),
    ({"channel": "sms", "to": "4165550199", "province": "ON", "deal_id": "dl_nope"}, ["body", "deal_id"]),
    ({"channel": "sms", "to": "4165550199", "province": "ON", "colour": "red"}, ["body", "colour"]),
])
def test_bad_draft_input_is_422_naming_the_field_and_writes_nothing(client, data_dir, body, loc):
    r = client.post("/core/comms/drafts", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == loc
    assert not (data_dir / "comms" / "drafts.json").exists()


def test_list_filters_by_status_channel_deal_and_tag(client):
    deal = make_deal(client)
    a = make_draft(client, tags=["hot"], deal_id=deal["id"])
    make_draft(client, channel="email", to="a@b.ca", province=None, tags=["cold"])
    client.patch(f"/core/comms/drafts/{a['id']}", json={"status": "ready"})
    r = client.get("/core/comms/drafts", params={"status": "ready", "channel": "sms", "deal_id": deal["id"], "tag": "HOT"})
    assert r.headers["x-total-count"] == "1" and [x["id"] for x in r.json()] == [a["id"]]
    assert client.get("/core/comms/drafts", params={"channel": "email"}).headers["x-total-count"] == "1"
    assert client.get("/core/comms/drafts", params={"channel": "fax"}).status_code == 422


def test_status_moves_draft_ready_draft_then_archived_and_nothing_else(client):
    d = make_draft(client)
    path = f"/core/comms/drafts/{d['id']}"
    assert client.patch(path, json={"status": "ready"}).json()["status"] == "ready"
    assert client.patch(path, json={"status": "draft"}).json()["status"] == "draft"
    r = client.patch(path, json={"status": "sent"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "invalid_transition" and "mark_sent" in r.json()["detail"]["message"]
    archived = client.patch(path, json={"status": "archived"}).json()
    assert archived["status"] == "archived" and archived["version"] == 4
    r = client.patch(path, json={"status": "ready"})
    assert r.status_code == 409 and r.json()["detail"] == {
        "code": "invalid_transition", "current": "archived",
        "message": "a archived draft cannot move to ready; allowed from archived: nothing",
    }
    assert client.get(path).json()["status"] == "archived"


def test_patch_renormalises_to_and_checks_the_channel_rules(client):
    d = make_draft(client)
    path = f"/core/comms/drafts/{d['id']}"
    r = client.patch(path, json={"to": "+1 (604) 555-0123", "province": "bc"})
    assert r.status_code == 200 and r.json()["to"] == "+16045550123" and r.json()["province"] == "BC"
    r = client.patch(path, json={"channel": "email"})  # the phone number is not an email
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "to"]
    r = client.patch(path, json={"province": None})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "province"]
    stale = client.patch(path, json={"body": "x"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["detail"]["current_version"] == 2
    assert client.get(path).json()["to"] == "+16045550123"


def test_a_sent_draft_content_is_frozen_but_it_can_be_archived(client, live, identity, consented):
    d = make_draft(client)
    path = f"/core/comms/drafts/{d['id']}"
    assert client.post(f"{path}/mark_sent", json={}).status_code == 200
    r = client.patch(path, json={"body": "edited after sending"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "sent_immutable" and r.json()["detail"]["fields"] == ["body"]
    r = client.patch(path, json={"status": "draft"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "invalid_transition"
    archived = client.patch(path, json={"status": "archived"}).json()
    assert archived["status"] == "archived" and archived["body"] == d["body"] and archived["sent_at"] == "2026-01-05T15:00:00Z"
    r = client.patch(path, json={"body": "still frozen"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "sent_immutable"


def test_unknown_draft_is_404(client):
    assert client.get("/core/comms/drafts/dr_nope").status_code == 404
    assert client.patch("/core/comms/drafts/dr_nope", json={"status": "ready"}).status_code == 404
