"""Backups of some modules (the safety backup before an import), their rotation, their restore,
and backups streamed in bounded memory."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import tracemalloc
from pathlib import Path

import orjson
import pytest

from app.cli import main
from app.core_gov.storage import Storage, version
from app.core_gov.storage import archive
from app.core_gov.storage.archive import ArchiveError, read_archive

HOLDING = {"name": "h", "asset_type": "note", "jurisdiction": "ON"}


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"}


def dncl(client, *numbers: str, list_date: str = "2026-01-02"):
    r = client.post("/core/comms/suppressions/import", params={"list_date": list_date}, content="\n".join(numbers) + "\n",
                    headers={"Content-Type": "text/csv"})
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def filled(client, data_dir) -> Path:
    version.write_version(data_dir, version.FORMAT_VERSION)
    dncl(client, "416-555-0100")
    assert client.post("/core/holdings", json=HOLDING).status_code == 201
    return data_dir


def test_a_module_backup_holds_only_that_modules_files_and_the_format(filled, db):
    out = archive.backup(db, modules=("comms",))
    assert out.name == "valhalla-20260105T150000000000Z-comms.tar.gz"
    manifest, members = read_archive(out)
    assert manifest["modules"] == ["comms"]
    assert sorted(members) == sorted(["VERSION.json", *(p for p in tree(filled) if p.startswith("comms/"))])
    assert members["comms/dncl/416.txt"] == b"4165550100\n"


def test_safety_backups_before_imports_keep_the_newest_n_of_the_same_modules(filled, db, client, clock, monkeypatch):
    monkeypatch.setenv("VALHALLA_IMPORT_BACKUPS", "2")
    full = archive.backup(db)
    folder = full.parent
    other = archive.backup(db, modules=("holdings",))
    saved = []
    for day in range(2, 6):  # four monthly refreshes, a day apart here
        clock.advance(days=1)
        saved.append(dncl(client, f"416-555-01{day:02d}", list_date=f"2026-01-{day + 4:02d}")["backup"])
    kept = sorted(p.name for p in folder.iterdir())
    assert kept == sorted([full.name, other.name, Path(saved[-2]).name, Path(saved[-1]).name])
    assert [Path(s).name for s in saved[-2:]] == ["valhalla-20260108T150000000000Z-comms.tar.gz", "valhalla-20260109T150000000000Z-comms.tar.gz"]
    archive.backup(db, keep=1)  # `valhalla backup --keep` prunes whole-data-dir archives only
    assert len(list(folder.glob("*-comms.tar.gz"))) == 2 and other.exists() and not full.exists()


def test_the_rotation_default_and_its_bounds(monkeypatch):
    from app.settings import Settings, SettingsError

    assert Settings.from_env({}).import_backups == 3
    assert Settings.from_env({"VALHALLA_IMPORT_BACKUPS": "12"}).import_backups == 12
    with pytest.raises(SettingsError, match="VALHALLA_IMPORT_BACKUPS='0' must be between 1 and 1000"):
        Settings.from_env({"VALHALLA_IMPORT_BACKUPS": "0"})


def test_a_module_backup_does_not_count_as_a_backup_for_the_runbook(filled, db, client):
    archive.backup(db, modules=("comms",))
    item = {i["key"]: i for i in client.get("/core/runbook/status").json()["items"]}["backup_recent"]
    assert item["ok"] is False and "no backup in" in item["detail"]


def test_a_partial_archive_restores_its_module_and_leaves_the_others_untouched(filled, db, client, capsys):
    saved = archive.backup(db, modules=("comms",))
    before = tree(filled)
    dncl(client, "416-555-0199", list_date="2026-01-05")  # changes comms
    assert client.post("/core/holdings", json={**HOLDING, "name": "later"}).status_code == 201  # and holdings
    holdings_now = {p: d for p, d in tree(filled).items() if not p.startswith("comms/")}
    assert main(["--data-dir", str(filled), "restore", str(saved)]) == 0
    out = capsys.readouterr().out
    assert f"{saved} is a partial backup of comms: only that module will be restored; the other modules stay as they are" in out
    assert out.splitlines()[2].startswith("comms") and "holdings" not in out.split("backed up")[0]
    after = tree(filled)
    assert {p: d for p, d in after.items() if p.startswith("comms/")} == {p: d for p, d in before.items() if p.startswith("comms/")}
    assert {p: d for p, d in after.items() if not p.startswith("comms/")} == holdings_now
    aside = list(filled.parent.glob("data.replaced-*"))
    assert len(aside) == 1 and (aside[0] / "comms" / "dncl" / "416.txt").read_bytes() == b"4165550199\n"
    assert sorted(p.name for p in aside[0].iterdir()) == ["comms"]


def test_a_partial_archive_into_a_missing_data_dir_brings_its_format(filled, db, tmp_path, capsys):
    saved = archive.backup(db, modules=("comms",))
    fresh = tmp_path / "fresh"
    assert main(["--data-dir", str(fresh), "restore", str(saved)]) == 0
    assert version.read_version(fresh) == version.FORMAT_VERSION and (fresh / "comms" / "dncl" / "416.txt").exists()
    assert sorted(p.name for p in fresh.iterdir() if not p.name.startswith(".")) == ["VERSION.json", "comms"]


def test_a_partial_archive_of_another_data_format_is_refused_before_anything_changes(filled, db, capsys):
    saved = archive.backup(db, modules=("comms",))
    version.write_version(filled, version.FORMAT_VERSION + 1)
    before = tree(filled)
    assert main(["--data-dir", str(filled), "restore", str(saved)]) == 1
    assert f"is a backup of comms in data format {version.FORMAT_VERSION}, and {filled.resolve()} holds format {version.FORMAT_VERSION + 1}" in capsys.readouterr().err
    assert tree(filled) == before and sorted(p.name for p in filled.parent.iterdir()) == ["backups", "data"]


def _partial(tmp_path: Path, modules: object, members: dict[str, bytes]) -> Path:
    path = tmp_path / "partial.tar.gz"
    hashes = {n: hashlib.sha256(d).hexdigest() for n, d in members.items()}
    with tarfile.open(path, "w:gz") as tar:
        for name, data in {"MANIFEST.json": orjson.dumps({"created_at": "x", "modules": modules, "files": hashes}), **members}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize(("modules", "members", "message"), [
    (["comms"], {"comms/drafts.json": b"[]\n", "holdings/holdings.json": b"[]\n"}, "refused member 'holdings/holdings.json': a backup of comms holds only their files"),
    (["nowhere"], {"VERSION.json": b'{"format": 3}\n'}, "MANIFEST.json is not valid"),
    ([], {"VERSION.json": b'{"format": 3}\n'}, "MANIFEST.json is not valid"),
    ("comms", {"comms/drafts.json": b"[]\n"}, "MANIFEST.json is not valid"),
])
def test_a_partial_archive_naming_files_outside_its_modules_is_refused(filled, tmp_path, capsys, modules, members, message):
    before = tree(filled)
    saved = _partial(tmp_path, modules, members)
    with pytest.raises(ArchiveError, match=message):
        read_archive(saved)
    assert main(["--data-dir", str(filled), "restore", str(saved)]) == 1
    assert message in capsys.readouterr().err and tree(filled) == before


def test_a_backup_streams_a_large_file_in_bounded_memory(data_dir, clock):
    from app.core_gov import core_router  # noqa: F401  (imported before measuring)

    folder = data_dir / "kpi"
    folder.mkdir(parents=True)
    with open(folder / "events.jsonl", "wb") as f:  # 24 MiB of incompressible lines
        for _ in range(24 << 10):
            f.write(b'{"x": "' + os.urandom(507).hex().encode() + b'"}\n')
    db = Storage(data_dir, clock)
    tracemalloc.start()
    try:
        out = archive.backup(db, modules=("kpi",))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"peak {peak >> 20} MiB"
    manifest, _ = read_archive(out)
    assert manifest["files"]["kpi/events.jsonl"] == hashlib.sha256((folder / "events.jsonl").read_bytes()).hexdigest()
    assert not list(data_dir.parent.glob(".data.backup-*"))  # the pinned copies are gone


def test_a_file_appended_to_after_it_was_pinned_is_archived_as_it_was(filled, db, monkeypatch):
    log = filled / "holdings" / "audit.jsonl"
    was = log.read_bytes()
    real = archive._sha256

    def append_then_hash(path: Path, size: int) -> str:  # a writer appends once the locks are released
        if path.name == "audit.jsonl" and path.parent.name == "holdings":
            with open(log, "ab") as f:
                f.write(b'{"late": true}\n')
        return real(path, size)

    monkeypatch.setattr(archive, "_sha256", append_then_hash)
    _, members = read_archive(archive.backup(db))
    assert members["holdings/audit.jsonl"] == was and log.read_bytes() != was
