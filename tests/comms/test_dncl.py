"""The National DNCL: one sorted copy per area code, replaced whole by an import, apart from the
internal do-not-contact list; staleness per area code; streamed imports; the CLI; the format 1
migration; a SIGKILL in the middle of an import."""

from __future__ import annotations

import hashlib
from array import array
import json
import os
import signal
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from app.cli import main as cli
from app.core_gov import core_router  # noqa: F401  (registers every module's files)
from app.core_gov.comms import service as comms_service
from app.core_gov.errors import StoreCorrupt
from app.core_gov.storage import Storage, archive, version
from app.core_gov.storage.archive import default_backup_dir, read_archive

from .conftest import dncl_list, import_dncl, make_draft

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + str(ROOT / "backend")}


def numbers(area: str, n: int, start: int = 2_000_000) -> list[str]:
    """n distinct numbers of an area code (exchanges from 200 up)."""
    return [f"{area}{start + i:07d}" for i in range(n)]


def check(client, to: str) -> dict:
    r = client.get("/core/comms/suppressions/check", params={"to": to})
    assert r.status_code == 200, r.text
    return r.json()


def audit_lines(data_dir: Path) -> list[dict]:
    path = data_dir / "comms" / "audit.jsonl"
    return [json.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def copy_files(data_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((data_dir / "comms" / "dncl").glob("*.txt"))}


# ---------------------------------------------------------------------------- the copies


def test_an_import_writes_one_sorted_copy_per_area_code_with_its_date_count_and_sha256(client, data_dir):
    body = dncl_list("416-555-0199", "(905) 555-0111", "+14165550100", "1 416 555 0150", '"416",5550120', "4165550199", "", "604.555.0123")
    r = import_dncl(client, body, list_date="2026-01-02")
    assert r.status_code == 201, r.text
    answer = r.json()
    assert (answer["added"], answer["removed"], answer["duplicates"], answer["invalid"], answer["invalid_count"]) == (6, 0, 1, [], 0)
    assert answer["area_codes"] == {a: {"count": n, "list_date": "2026-01-02"} for a, n in (("416", 4), ("604", 1), ("905", 1))}
    assert copy_files(data_dir) == {
        "416.txt": b"4165550100\n4165550120\n4165550150\n4165550199\n", "604.txt": b"6045550123\n", "905.txt": b"9055550111\n",
    }
    meta = json.loads((data_dir / "comms" / "dncl.json").read_bytes())
    assert sorted(meta) == ["416", "604", "905"]
    assert meta["416"] == {
        "list_date": "2026-01-02", "count": 4, "imported_at": "2026-01-05T15:00:00Z", "added": 4, "removed": 0,
        "sha256": hashlib.sha256(b"4165550100\n4165550120\n4165550150\n4165550199\n").hexdigest(),
    }
    assert not (data_dir / "comms" / "suppressions.json").exists()  # the internal list is apart
    imports = client.get("/core/comms/suppressions/imports").json()
    assert [(i["list_date"], i["added"], i["duplicates"], i["area_codes"]) for i in imports] == [("2026-01-02", 6, 1, ["416", "604", "905"])]


def test_a_reimport_replaces_the_copy_and_numbers_that_left_are_no_longer_suppressed(client, data_dir):
    import_dncl(client, dncl_list("416-555-0100", "416-555-0150", "416-555-0199", "905-555-0111"), list_date="2026-01-02")
    assert check(client, "416-555-0199")["list"] == "dncl"
    r = import_dncl(client, dncl_list("416-555-0100", "416-555-0177"), list_date="2026-01-05")
    assert r.status_code == 201, r.text
    assert (r.json()["added"], r.json()["removed"], r.json()["area_codes"]) == (1, 2, {"416": {"count": 2, "list_date": "2026-01-05"}})
    left = check(client, "(416) 555-0199")
    assert (left["suppressed"], left["list"], left["dncl"]) == (False, None, {"area_code": "416", "list_date": "2026-01-05", "listed": False, "stale": False})
    assert check(client, "416-555-0177")["dncl"]["listed"] is True
    assert copy_files(data_dir)["416.txt"] == b"4165550100\n4165550177\n"
    # 905 was not in the file: its copy and date stay
    assert copy_files(data_dir)["905.txt"] == b"9055550111\n"
    assert check(client, "905-555-0111")["dncl"] == {"area_code": "905", "list_date": "2026-01-02", "listed": True, "stale": False}


def test_an_import_never_touches_the_internal_list(client, data_dir, identity):
    client.post("/core/comms/suppressions", json={"value": "416-555-0100", "reason": "opt_out", "source": "call"})
    client.post("/core/comms/suppressions", json={"value": "416-555-0101", "reason": "manual"})
    client.post("/core/comms/suppressions", json={"value": "jane@example.com", "reason": "manual"})
    client.post("/core/comms/inbound", json={"from": "416-555-0102", "channel": "sms", "body": "STOP"})
    before = (data_dir / "comms" / "suppressions.json").read_bytes()
    import_dncl(client, dncl_list("416-555-0100", "416-555-0199"), list_date="2026-01-02")
    import_dncl(client, dncl_list("416-555-0199"), list_date="2026-01-05")  # 0100 left the registry, not the internal list
    assert (data_dir / "comms" / "suppressions.json").read_bytes() == before
    on_both = check(client, "416-555-0100")
    assert (on_both["suppressed"], on_both["list"], on_both["suppression"]["reason"], on_both["dncl"]["listed"]) == (True, "internal", "opt_out", False)
    assert [check(client, to)["list"] for to in ("416-555-0101", "416-555-0102", "jane@example.com", "416-555-0199", "416-555-0150")] == [
        "internal", "internal", "internal", "dncl", None,
    ]
    assert check(client, "jane@example.com")["dncl"] is None


def test_a_few_invalid_rows_are_listed_by_file_line_the_first_100_with_the_count(client):
    rows = ["phone", *numbers("416", 20_000)]
    for i in range(150):
        rows.insert(100 + i * 100, "416-055-0100" if i % 2 else "12345")
    r = import_dncl(client, ("\n".join(rows) + "\n").encode(), list_date="2026-01-02")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["invalid_count"], len(body["invalid"]), body["area_codes"]["416"]["count"]) == (150, 100, 20_000)
    assert body["invalid"][:2] == [
        {"row": 101, "field": "phone", "message": "'12345' has 5 digits: expected 10 (or 11 starting with the country code 1)"},
        {"row": 201, "field": "phone", "message": "'416-055-0100' is not a valid number: the exchange (055) cannot start with 0 or 1"},
    ]
    assert rows[200] == "416-055-0100"  # row numbers are file lines: the header is line 1


def test_any_chunking_and_any_order_give_the_same_sorted_copies():
    import random

    rows = numbers("416", 30_000) + numbers("905", 20_000) + numbers("416", 500) + ["(905) 200-0001", "+1 416 200 0002", "", "12"] * 3
    random.Random(5).shuffle(rows)
    body = ("phone\n" + "\n".join(rows)).encode()  # no final newline
    results = []
    for size in (7, 65536, len(body)):
        reader = comms_service.DnclReader()
        for i in range(0, len(body), size):
            reader.feed(body[i:i + size])
        lists = reader.finish()
        results.append(({a: (list(n), d) for a, (n, d) in lists.items()}, reader.invalid_count, [p.row for p in reader.invalid]))
    assert results[0] == results[1] == results[2]
    lists, invalid, rows_bad = results[0]
    assert lists["416"] == (sorted(int(n) for n in set(numbers("416", 30_000))), 503)
    assert lists["905"] == (sorted(int(n) for n in numbers("905", 20_000)), 3)
    assert invalid == 3 and rows_bad == sorted(rows_bad) and all(rows[r - 2] == "12" for r in rows_bad)


@pytest.mark.parametrize("body, words", [
    (b"", "the file is empty: expected one phone number a line"),
    (b"phone\n\n", "the file is empty"),
    (b"4165550100\n\xff\xfe4165550101\n", "the file is not UTF-8 text: line 2, byte 1 (0xff): invalid start byte"),
    (dncl_list(*numbers("416", 98), "212-555-0100", "not a number"), "2 of 100 rows are invalid (more than 1%)"),
])
def test_a_broken_file_is_422_and_changes_nothing(client, data_dir, body, words):
    import_dncl(client, dncl_list("416-555-0100", "905-555-0111"), list_date="2026-01-02")
    before = (copy_files(data_dir), (data_dir / "comms" / "dncl.json").read_bytes(), len(audit_lines(data_dir)))
    backups = sorted(default_backup_dir(data_dir).glob("*.tar.gz"))
    r = import_dncl(client, body, list_date="2026-01-05")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body"] and words in r.json()["detail"][0]["msg"]
    assert (copy_files(data_dir), (data_dir / "comms" / "dncl.json").read_bytes(), len(audit_lines(data_dir))) == before
    assert sorted(default_backup_dir(data_dir).glob("*.tar.gz")) == backups
    assert len(client.get("/core/comms/suppressions/imports").json()) == 1


def test_a_refused_file_names_its_first_problems(client):
    r = import_dncl(client, dncl_list("416-555-0100", "212-555-0100", "hello"))
    msg = r.json()["detail"][0]["msg"]
    assert r.status_code == 422 and "line 3 phone: area code 212 is not a Canadian area code" in msg and "line 4 phone: 'hello' is not a phone number" in msg


def test_list_date_rules(client, data_dir):
    assert import_dncl(client, dncl_list("416-555-0100"), list_date="2026-02-30").json()["detail"][0]["loc"] == ["query", "list_date"]
    r = import_dncl(client, dncl_list("416-555-0100"), list_date="2026-03-01")
    assert r.status_code == 422 and "future" in r.json()["detail"][0]["msg"]
    assert client.post("/core/comms/suppressions/import", content=dncl_list("416-555-0100"), headers={"Content-Type": "text/csv"}).status_code == 422
    assert import_dncl(client, dncl_list("416-555-0100"), list_date="2026-01-02").status_code == 201
    r = import_dncl(client, dncl_list("416-555-0199", "905-555-0111"), list_date="2025-12-15")
    assert r.status_code == 409 and r.json()["detail"]["code"] == "dncl_list_older" and r.json()["detail"]["newer"] == {"416": "2026-01-02"}
    assert copy_files(data_dir) == {"416.txt": b"4165550100\n"}


def test_one_audit_entry_per_import_with_each_copy_before_and_after(client, data_dir):
    import_dncl(client, dncl_list(*numbers("416", 500), *numbers("905", 500)), list_date="2026-01-02")
    before = len(audit_lines(data_dir))
    r = import_dncl(client, dncl_list(*numbers("416", 600, start=2_000_100), *numbers("905", 10)), list_date="2026-01-05")
    assert r.status_code == 201 and (r.json()["added"], r.json()["removed"]) == (200, 590)
    lines = audit_lines(data_dir)
    assert len(lines) == before + 1
    entry = lines[-1]
    assert (entry["module"], entry["entity"], entry["entity_id"], entry["action"], sorted(entry["changes"])) == ("comms", "dncl", "dncl", "action", ["416", "905"])
    old, new = entry["changes"]["416"]
    assert (old["list_date"], old["count"], new["list_date"], new["count"], new["added"], new["removed"]) == ("2026-01-02", 500, "2026-01-05", 600, 200, 100)
    assert new["sha256"] == hashlib.sha256((data_dir / "comms" / "dncl" / "416.txt").read_bytes()).hexdigest()
    assert entry["changes"]["905"][1]["removed"] == 490


def test_the_import_backs_up_only_comms_before_it_writes(client, data_dir, caplog):
    import_dncl(client, dncl_list("416-555-0100"), list_date="2026-01-02")
    client.post("/core/holdings", json={"name": "h", "asset_type": "note", "jurisdiction": "ON"})  # another module's data
    with caplog.at_level("WARNING", logger="valhalla"):
        r = import_dncl(client, dncl_list("416-555-0199"), list_date="2026-01-05")
    saved = r.json()["backup"]
    assert saved and Path(saved).name == "valhalla-20260105T150000000000Z-comms.tar.gz"
    assert f"backed up {data_dir / 'comms'} to {saved}" in caplog.text
    manifest, members = read_archive(Path(saved))
    assert manifest["modules"] == ["comms"] and {n.split("/")[0] for n in members} == {"comms"}
    assert members["comms/dncl/416.txt"] == b"4165550100\n"  # the state before this import


# ---------------------------------------------------------------------------- calls


def test_staleness_is_per_area_code(client, clock, live):
    call = make_draft(client, channel="call", to="416-555-0199")
    other = make_draft(client, channel="call", to="905-555-0199")
    import_dncl(client, dncl_list("905-555-0111"), list_date="2026-01-05")
    r = client.post(f"/core/comms/drafts/{call['id']}/mark_sent", json={})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "dncl_list_stale"
    assert (r.json()["detail"]["area_code"], r.json()["detail"]["list_date"]) == ("416", None) and "416" in r.json()["detail"]["message"]
    import_dncl(client, dncl_list("416-555-0111"), list_date="2025-12-01")
    r = client.post(f"/core/comms/drafts/{call['id']}/mark_sent", json={})
    assert r.json()["detail"] | {"message": None} == {"code": "dncl_list_stale", "area_code": "416", "list_date": "2025-12-01", "message": None}
    assert client.post(f"/core/comms/drafts/{other['id']}/mark_sent", json={}).status_code == 200  # 905 is fresh
    assert check(client, "416-555-0199")["dncl"]["stale"] is True


def test_a_call_outside_the_canadian_area_codes_is_not_dncl_checked(client, live):
    us = make_draft(client, channel="call", to="+1 212 555 0100", province="ON")
    assert client.post(f"/core/comms/drafts/{us['id']}/mark_sent", json={}).status_code == 200
    assert check(client, "+1 212 555 0100")["dncl"] is None


def test_a_copy_whose_file_was_removed_counts_as_missing(client, data_dir, live):
    import_dncl(client, dncl_list("416-555-0100"), list_date="2026-01-05")
    (data_dir / "comms" / "dncl" / "416.txt").unlink()
    call = make_draft(client, channel="call", to="416-555-0100")
    r = client.post(f"/core/comms/drafts/{call['id']}/mark_sent", json={})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "dncl_list_stale"


def test_a_hand_broken_copy_is_503_naming_the_file_and_line(client, data_dir):
    import_dncl(client, dncl_list("416-555-0100", "416-555-0101"), list_date="2026-01-05")
    (data_dir / "comms" / "dncl" / "416.txt").write_bytes(b"4165550100\n4165550101\n416555010\n")
    r = client.get("/core/comms/suppressions/check", params={"to": "416-555-0100"})
    assert r.status_code == 503 and r.json()["detail"] | {"message": None} == {
        "code": "store_corrupt", "file": "comms/dncl/416.txt", "position": "line 3", "message": None,
    }
    (data_dir / "comms" / "dncl" / "416.txt").write_bytes(b"4165550101\n4165550100\n")
    assert client.get("/core/comms/suppressions/check", params={"to": "416-555-0100"}).json()["detail"]["position"] == "line 2"


def test_a_restart_unpacks_each_copy_from_the_cache_without_parsing_it(client, data_dir, monkeypatch):
    """A copy is kept in `.cache/` as its array's bytes beside the text file's stat: 2M numbers
    parse in a third of a second, unpack in milliseconds. A hand edit makes that cache unused;
    one that does not fit its file (torn, or not ascending) is ignored."""
    from app.core_gov.comms import store
    from app.core_gov.storage import formats

    import_dncl(client, dncl_list("416-555-0100", "416-555-0150", "416-555-0199"), list_date="2026-01-05")
    packed = data_dir / ".cache" / "comms" / "dncl" / "416.txt.packed"
    assert packed.read_bytes().split(b"\n", 1)[1] == array("Q", [4165550100, 4165550150, 4165550199]).tobytes()

    parsed = []
    real = formats.parse_text
    monkeypatch.setattr(formats, "parse_text", lambda d, data: parsed.append(d.relpath) or real(d, data))
    assert list(Storage(data_dir).text(store.dncl_lists["416"])) == [4165550100, 4165550150, 4165550199] and parsed == []

    copy = data_dir / "comms" / "dncl" / "416.txt"
    copy.write_bytes(b"4165550100\n4165550150\n4165550177\n4165550199\n")  # by hand
    assert 4165550177 in Storage(data_dir).text(store.dncl_lists["416"]) and parsed == ["comms/dncl/416.txt"]

    key_line = packed.read_bytes().split(b"\n", 1)[0]
    for planted in (array("Q", [4165550100, 4165550150, 4165550177]).tobytes()[:-3],  # torn
                    array("Q", [4165550100, 4165550177, 4165550150, 4165550199]).tobytes(),  # not ascending
                    array("Q", [4165550100, 4165550150, 4165550177, 9055550199]).tobytes()):  # not of 416
        packed.write_bytes(key_line + b"\n" + planted)
        assert list(Storage(data_dir).text(store.dncl_lists["416"])) == [4165550100, 4165550150, 4165550177, 4165550199]
    assert parsed == ["comms/dncl/416.txt"] * 4

    before = os.stat(copy)
    copy.write_bytes(b"4165550100\n4165550150\n4165550177\n4165550111\n")  # bit rot: same size, inode and time
    os.utime(copy, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert Storage(data_dir).check(store.dncl_lists["416"]) == []  # /core/ready trusts the cache
    with pytest.raises(StoreCorrupt, match="line 4"):
        Storage(data_dir).check(store.dncl_lists["416"], deep=True)  # `valhalla verify` reads the file


@pytest.mark.parametrize("data, position", [
    (b"4165550100\r\n", "line 1"), (b"4165550100\n\n", "line 2"), (b"4165550100\n+416555010\n", "line 2"),
    (b"4_16555010\n", "line 1"), (b"9055550100\n", "line 1"), (b"4165550100\n4165550100\n", "line 2"),
])
def test_a_copy_is_exactly_one_ascending_10_digit_number_of_its_area_code_a_line(data, position):
    from app.core_gov.comms.schemas import parse_dncl_copy
    from app.core_gov.storage import BadText

    with pytest.raises(BadText) as exc:
        parse_dncl_copy("416", data)
    assert exc.value.position == position
    assert list(parse_dncl_copy("416", b"4165550100\n4165550101")) == [4165550100, 4165550101]  # a last line without newline
    assert list(parse_dncl_copy("416", b"")) == []


def test_the_runbook_warns_naming_each_copy_over_25_days_old(client, clock):
    import_dncl(client, dncl_list("416-555-0100"), list_date="2025-12-01")
    import_dncl(client, dncl_list("905-555-0100"), list_date="2026-01-05")
    item = {i["key"]: i for i in client.get("/core/runbook/status").json()["items"]}["dncl_fresh"]
    assert item["ok"] is False and "416 (list of 2025-12-01, 35 days ago)" in item["detail"] and "905" not in item["detail"]


# ---------------------------------------------------------------------------- streaming, CLI


def test_the_streamed_route_takes_a_body_over_max_body(client, data_dir):
    body = dncl_list(*(f"({n[:3]}) {n[3:6]}-{n[6:]}" for n in numbers("416", 90_000)))
    assert len(body) > 1024 * 1024  # VALHALLA_MAX_BODY
    r = import_dncl(client, body, list_date="2026-01-05")
    assert r.status_code == 201 and r.json()["area_codes"]["416"]["count"] == 90_000
    assert (data_dir / "comms" / "dncl" / "416.txt").stat().st_size == 90_000 * 11
    big_json = client.post("/core/comms/suppressions", content=b'{"value": "' + b"x" * (1024 * 1024) + b'"}', headers={"Content-Type": "application/json"})
    assert big_json.status_code == 413  # every other route keeps the global limit


def test_the_streamed_route_refuses_a_body_over_its_own_limit(client, data_dir, monkeypatch):
    from app.core_gov import http

    monkeypatch.setitem(http.STREAMED_BODIES, "/core/comms/suppressions/import", 1000)
    r = import_dncl(client, dncl_list(*numbers("416", 200)))
    assert r.status_code == 413 and "1000 bytes" in r.json()["detail"]
    r = client.post("/core/comms/suppressions/import", params={"list_date": "2026-01-05"}, headers={"Content-Type": "text/csv"},
                    content=iter([dncl_list(*numbers("416", 50))] * 4))  # chunked: no Content-Length
    assert r.status_code == 413 and "1000 bytes" in r.json()["detail"]
    assert not (data_dir / "comms" / "dncl").exists()


def test_cli_dncl_import_reads_the_file(tmp_path, data_dir, capsys, client):
    today = date.today()
    path = tmp_path / "dncl-416.txt"
    path.write_bytes(dncl_list(*numbers("416", 1000), "416-555-01"))
    assert cli(["--data-dir", str(data_dir), "dncl", "import", str(path), "--list-date", today.isoformat()]) == 0
    out = capsys.readouterr().out
    assert f"imported the {today} National DNCL list from {path}: 416 (1000 numbers)" in out
    assert "added 1000, removed 0 (left the registry), duplicates 0, invalid rows 1" in out and "line 1002:" in out
    assert (data_dir / "comms" / "dncl" / "416.txt").read_bytes().count(b"\n") == 1000
    assert json.loads((data_dir / "VERSION.json").read_bytes()) == {"format": version.FORMAT_VERSION}
    assert audit_lines(data_dir)[-1]["actor"] == "cli"
    path.write_bytes(b"nothing here\n")
    assert cli(["--data-dir", str(data_dir), "dncl", "import", str(path), "--list-date", today.isoformat()]) == 1
    assert "the file is empty" in capsys.readouterr().err
    assert cli(["--data-dir", str(data_dir), "dncl", "import", str(path), "--list-date", "yesterday"]) == 2


# ---------------------------------------------------------------------------- migration, crash


def old_record(i: int, value: str, reason: str, source: str, at: str) -> dict:
    return {"id": f"sup_{i:020d}", "created_at": at, "updated_at": at, "version": 1, "value": value, "reason": reason, "source": source,
            "opted_out_at": at if reason == "opt_out" else None}


def test_a_format_1_data_dir_is_migrated_to_per_area_copies(tmp_path, data_dir, client, capsys):
    comms = data_dir / "comms"
    comms.mkdir(parents=True)
    version.write_version(data_dir, 1)
    records = [
        old_record(1, "+14165550100", "opt_out", "inbound", "2025-11-02T10:00:00Z"),
        old_record(2, "+14165550199", "dncl", "dncl:2025-12-01", "2025-12-02T10:00:00Z"),
        old_record(3, "+16475550123", "dncl", "dncl:2026-01-02", "2026-01-03T10:00:00Z"),
        old_record(4, "+12125550100", "dncl", "dncl:2026-01-02", "2026-01-03T10:00:00Z"),
        old_record(5, "jane@example.com", "manual", "operator", "2025-10-01T10:00:00Z"),
        old_record(6, "+14165550101", "dncl", "dncl:2026-01-02", "2026-01-03T10:00:00Z"),
    ]
    (comms / "suppressions.json").write_text(json.dumps(records, indent=2) + "\n")
    (comms / "dncl_imports.jsonl").write_text(
        '{"id":"dncl_1","at":"2025-12-02T10:00:00Z","list_date":"2025-12-01","added":1,"duplicates":0,"invalid":0}\n'
        '{"id":"dncl_2","at":"2026-01-03T10:00:00Z","list_date":"2026-01-02","added":3,"duplicates":0,"invalid":1}\n'
    )
    done = version.ensure_format(data_dir, backup=lambda: archive.backup(Storage(data_dir)))
    assert "migrated data format 1 -> 2" in done and version.read_version(data_dir) == version.FORMAT_VERSION
    assert copy_files(data_dir) == {"416.txt": b"4165550101\n4165550199\n", "647.txt": b"6475550123\n"}
    meta = json.loads((comms / "dncl.json").read_bytes())
    assert {a: (c["list_date"], c["count"]) for a, c in meta.items()} == {"416": ("2026-01-02", 2), "647": ("2026-01-02", 1)}
    assert meta["416"]["sha256"] == hashlib.sha256(b"4165550101\n4165550199\n").hexdigest()
    kept = json.loads((comms / "suppressions.json").read_bytes())
    assert [(r["value"], r["reason"]) for r in kept] == [("+14165550100", "opt_out"), ("+12125550100", "manual"), ("jane@example.com", "manual")]
    assert kept[0] == records[0]  # untouched
    assert check(client, "416-555-0199")["dncl"] == {"area_code": "416", "list_date": "2026-01-02", "listed": True, "stale": False}
    assert check(client, "416-555-0100")["list"] == "internal"
    assert [i["list_date"] for i in client.get("/core/comms/suppressions/imports").json()] == ["2025-12-01", "2026-01-02"]
    assert cli(["--data-dir", str(data_dir), "verify"]) == 0
    _, members = read_archive(sorted(default_backup_dir(data_dir).glob("*.tar.gz"))[-1])
    assert json.loads(members["comms/suppressions.json"]) == records  # the backup holds the old format


@pytest.mark.parametrize("step", ["temps_written", "manifest_written:comms", "log_appended", "file_replaced"])
def test_sigkill_in_the_middle_of_an_import_leaves_the_old_copies_or_the_new_ones_whole(tmp_path, data_dir, step):
    today = date.today()
    old = {"416": numbers("416", 3000), "905": numbers("905", 2000)}
    new = {"416": numbers("416", 4000, start=2_001_000), "905": numbers("905", 1000, start=3_000_000)}
    comms_service.import_dncl(Storage(data_dir), list_date=today - timedelta(days=1), chunks=[dncl_list(*old["416"], *old["905"])])
    listing = tmp_path / "new.txt"
    listing.write_bytes(dncl_list(*new["416"], *new["905"]))
    script = (
        "import os, signal\n"
        "from datetime import date\n"
        "from app.core_gov import core_router\n"
        "from app.core_gov.comms import service\n"
        "from app.core_gov.storage import Storage, commit\n"
        f"commit.FAULT = lambda s: os.kill(os.getpid(), signal.SIGKILL) if s == {step!r} else None\n"
        f"service.import_dncl(Storage({str(data_dir)!r}), list_date=date.fromisoformat({today.isoformat()!r}), chunks=[open({str(listing)!r}, 'rb').read()])\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=ENV, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    fresh = Storage(data_dir)
    with fresh.transaction("comms"):
        pass  # take the lock: recovery rolls the commit forward or drops it
    copies = comms_service.dncl_copies(fresh)
    held = {a: [str(n) for n in fresh.text(comms_service.store.dncl_lists[a])] for a in ("416", "905")}
    assert held in (old, new)
    expected_date = today - timedelta(days=1) if held == old else today
    for area in ("416", "905"):
        data = (data_dir / "comms" / "dncl" / f"{area}.txt").read_bytes()
        assert (copies[area].list_date, copies[area].count, copies[area].sha256) == (expected_date, len(held[area]), hashlib.sha256(data).hexdigest())
    assert len(comms_service.list_dncl_imports(fresh)) == (1 if held == old else 2)
    assert not list(data_dir.rglob("*.tmp")) and not list(data_dir.rglob(".commit-*"))
