"""Do-not-contact list, National DNCL import, CASL sender identity."""

from __future__ import annotations

import orjson
import pytest

from app.core_gov.comms import service as comms_service

CSV = {"Content-Type": "text/csv"}


def add(client, value, reason="manual", source="operator"):
    return client.post("/core/comms/suppressions", json={"value": value, "reason": reason, "source": source})


def test_any_phone_spelling_is_one_entry_and_checks_true(client, data_dir):
    r = add(client, "(416) 555-0199", reason="opt_out", source="phone call")
    assert r.status_code == 201 and r.json()["value"] == "+14165550199" and r.json()["opted_out_at"] == "2026-01-05T15:00:00Z"
    again = add(client, "+1 416 555 0199")
    assert again.status_code == 200 and again.json() == r.json()  # idempotent: the existing entry, unchanged
    for spelling in ("(416) 555-0199", "+1 416 555 0199", "4165550199", "416.555.0199"):
        c = client.get("/core/comms/suppressions/check", params={"to": spelling}).json()
        assert c["suppressed"] is True and c["value"] == "+14165550199" and c["suppression"]["id"] == r.json()["id"]
    assert client.get("/core/comms/suppressions/check", params={"to": "416-555-0100"}).json()["suppressed"] is False
    assert comms_service.is_suppressed(client.app.state.storage, "416 555 0199") is True
    assert len(orjson.loads((data_dir / "comms" / "suppressions.json").read_bytes())) == 1


def test_emails_are_lower_cased_and_an_opt_out_upgrades_a_manual_entry(client):
    m = add(client, "Jane.Roy@Example.com").json()
    assert m["value"] == "jane.roy@example.com" and m["reason"] == "manual" and m["opted_out_at"] is None
    up = add(client, "JANE.ROY@example.com", reason="opt_out", source="email reply")
    assert up.status_code == 200 and up.json()["id"] == m["id"] and up.json()["reason"] == "opt_out"
    assert up.json()["opted_out_at"] == "2026-01-05T15:00:00Z" and up.json()["version"] == 2


@pytest.mark.parametrize("body, loc", [
    ({"value": "555-01"}, ["body", "value"]),
    ({"value": "jane@"}, ["body", "value"]),
    ({"value": "4165550199", "reason": "angry"}, ["body", "reason"]),
    ({"reason": "manual"}, ["body", "value"]),
])
def test_bad_suppression_is_422_naming_the_field(client, data_dir, body, loc):
    r = client.post("/core/comms/suppressions", json=body)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc
    assert not (data_dir / "comms" / "suppressions.json").exists()
    r = client.get("/core/comms/suppressions/check", params={"to": "not a phone"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "to"]


def test_delete_needs_a_reason_is_audited_and_opt_outs_are_kept_3_years_14_days(client, clock):
    manual = add(client, "4165550100").json()
    opt = add(client, "4165550199", reason="opt_out").json()
    assert client.delete(f"/core/comms/suppressions/{manual['id']}").status_code == 422
    assert client.delete(f"/core/comms/suppressions/{manual['id']}", params={"reason": " "}).status_code == 422
    r = client.delete(f"/core/comms/suppressions/{manual['id']}", params={"reason": "typo"})
    assert r.status_code == 200 and r.json()["id"] == manual["id"]
    audit = [e for e in client.get("/core/audit", params={"entity_id": manual["id"]}).json() if e["action"] == "delete"]
    assert audit[0]["changes"]["reason"] == [None, "typo"]
    clock.set("2029-01-19T14:59:59Z")  # 3 years + 14 days after 2026-01-05T15:00Z, less a second
    r = client.delete(f"/core/comms/suppressions/{opt['id']}", params={"reason": "old"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "retention_period" and r.json()["detail"]["until"] == "2029-01-19T15:00:00Z"
    clock.set("2029-01-19T15:00:00Z")
    assert client.delete(f"/core/comms/suppressions/{opt['id']}", params={"reason": "retention over"}).status_code == 200
    assert client.get("/core/comms/suppressions").json() == []
    assert client.delete("/core/comms/suppressions/sup_nope", params={"reason": "x"}).status_code == 404


def test_list_filters_by_reason(client):
    add(client, "4165550100", reason="manual")
    add(client, "4165550199", reason="opt_out")
    r = client.get("/core/comms/suppressions", params={"reason": "opt_out"})
    assert r.headers["x-total-count"] == "1" and r.json()[0]["value"] == "+14165550199"


def test_dncl_import_counts_added_duplicates_and_invalid_rows_by_file_line(client, data_dir):
    add(client, "416-555-0100")
    text = "phone\n416-555-0100\n(416) 555-0199\n\n12345\n4165550199\n604 555 0123\nnot-a-number\n"
    r = client.post("/core/comms/suppressions/import?list_date=2026-01-02", content=text.encode(), headers=CSV)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["added"], body["duplicates"], body["list_date"]) == (2, 2, "2026-01-02")
    assert [(p["row"], p["field"]) for p in body["invalid"]] == [(5, "phone"), (8, "phone")]
    values = {s["value"]: s["reason"] for s in client.get("/core/comms/suppressions").json()}
    assert values == {"+14165550100": "manual", "+14165550199": "dncl", "+16045550123": "dncl"}
    imports = client.get("/core/comms/suppressions/imports").json()
    assert [(i["list_date"], i["added"], i["duplicates"], i["invalid"]) for i in imports] == [("2026-01-02", 2, 2, 2)]
    db = client.app.state.storage
    assert comms_service.latest_dncl_import(db).isoformat() == "2026-01-02T00:00:00+00:00"


def test_dncl_import_refusals_write_nothing(client, data_dir):
    r = client.post("/core/comms/suppressions/import?list_date=2026-01-02", content=b"phone\nabc\n", headers=CSV)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body"]
    r = client.post("/core/comms/suppressions/import?list_date=2026-02-30", content=b"4165550199\n", headers=CSV)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "list_date"]
    r = client.post("/core/comms/suppressions/import?list_date=2026-03-01", content=b"4165550199\n", headers=CSV)
    assert r.status_code == 422 and "future" in r.json()["detail"][0]["msg"]
    r = client.post("/core/comms/suppressions/import?list_date=2026-01-02", content=b"\xff\xfe4165550199\n", headers=CSV)
    assert r.status_code == 422
    assert client.post("/core/comms/suppressions/import", content=b"4165550199\n", headers=CSV).status_code == 422
    assert not (data_dir / "comms" / "suppressions.json").exists()
    assert comms_service.latest_dncl_import(client.app.state.storage) is None


def test_identity_get_put_delete(client, data_dir):
    assert client.get("/core/comms/identity").status_code == 404
    assert comms_service.sender_identity(client.app.state.storage) is None
    body = {"sender_name": "Valhalla Homes Inc.", "mailing_address": "100 King St W, Toronto", "unsubscribe_text": "Reply STOP"}
    r = client.put("/core/comms/identity", json=body)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "phone"]
    r = client.put("/core/comms/identity", json={**body, "email": "Hello@Valhalla.example"})
    assert r.status_code == 200 and r.json()["email"] == "hello@valhalla.example" and r.json()["updated_at"] == "2026-01-05T15:00:00Z"
    assert client.get("/core/comms/identity").json() == r.json()
    assert comms_service.sender_identity(client.app.state.storage).sender_name == "Valhalla Homes Inc."
    assert orjson.loads((data_dir / "comms" / "identity.json").read_bytes())["sender_name"] == "Valhalla Homes Inc."
    assert client.delete("/core/comms/identity").status_code == 422
    gone = client.delete("/core/comms/identity", params={"reason": "company renamed"})
    assert gone.status_code == 200 and gone.json()["sender_name"] == "Valhalla Homes Inc."
    assert client.get("/core/comms/identity").status_code == 404
    assert comms_service.sender_identity(client.app.state.storage) is None
    assert client.delete("/core/comms/identity", params={"reason": "again"}).status_code == 404
    r = client.put("/core/comms/identity", json={**body, "phone": "12"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "phone"]


def test_dncl_import_backs_up_the_data_dir_before_it_writes(client, data_dir, caplog):
    from app.core_gov.storage.archive import default_backup_dir, read_archive

    assert add(client, "416-555-0123").status_code == 201
    with caplog.at_level("WARNING", logger="valhalla"):
        r = client.post("/core/comms/suppressions/import?list_date=2026-01-02", content=b"phone\n905-555-0144\n", headers=CSV)
    assert r.status_code == 201 and r.json()["added"] == 1
    archives = sorted(default_backup_dir(data_dir).glob("valhalla-*.tar.gz"))
    assert [a.name for a in archives] == ["valhalla-20260105T150000000000Z.tar.gz"]
    _, members = read_archive(archives[0])
    before = orjson.loads(members["comms/suppressions.json"])
    assert [s["value"] for s in before] == ["+14165550123"]  # the state before the import
    assert "comms/dncl_imports.jsonl" not in members
    assert f"backed up {data_dir} to {archives[0]}" in caplog.text and r.json()["backup"] == str(archives[0])
    refused = client.post("/core/comms/suppressions/import?list_date=2026-01-02", content=b"phone\nabc\n", headers=CSV)
    assert refused.status_code == 422 and len(list(default_backup_dir(data_dir).glob("valhalla-*.tar.gz"))) == 1
