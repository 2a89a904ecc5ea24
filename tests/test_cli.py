"""The valhalla command: verify, backup/restore, snapshot, data format versions."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import orjson
import pytest

from app.cli import main
from app.core_gov.storage import Storage, version
from app.core_gov.storage.archive import ArchiveError, read_archive


@pytest.fixture
def filled(client, data_dir) -> Path:
    for i in range(3):
        client.post("/core/holdings", json={"name": f"h{i}", "asset_type": "note", "jurisdiction": "ON", "value_estimate": i})
    client.post("/core/system/status/complete", json={"notes": "é"})
    return data_dir


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"}


def test_verify_passes_on_good_data_and_names_each_corrupt_file(capsys, filled):
    assert run(capsys, "--data-dir", str(filled), "verify")[0] == 0
    (filled / "holdings" / "holdings.json").write_bytes(b"[{")
    (filled / "system" / "status.json").write_bytes(b"")
    code, out, _ = run(capsys, "--data-dir", str(filled), "verify")
    assert code == 1
    assert "CORRUPT: holdings/holdings.json: line 1" in out and "CORRUPT: system/status.json: byte 0" in out


def test_verify_warns_but_passes_on_a_torn_log_tail(capsys, filled):
    with open(filled / "holdings" / "audit.jsonl", "ab") as f:
        f.write(b'{"id": "au_torn"')
    code, out, _ = run(capsys, "--data-dir", str(filled), "verify")
    assert code == 0 and "warning: holdings/audit.jsonl: the last line is incomplete" in out


def test_verify_on_a_missing_data_dir_exits_0(capsys, tmp_path):
    assert run(capsys, "--data-dir", str(tmp_path / "none"), "verify")[0] == 0


def test_backup_then_restore_round_trip_is_byte_identical(capsys, filled, tmp_path):
    before = tree(filled)
    archive = tmp_path / "b.tar.gz"
    code, out, _ = run(capsys, "--data-dir", str(filled), "backup", "--out", str(archive))
    assert code == 0 and "holdings: 3 records" in out
    manifest, members = read_archive(archive)
    assert manifest["files"]["holdings/holdings.json"] == hashlib.sha256(before["holdings/holdings.json"]).hexdigest()

    (filled / "holdings" / "holdings.json").write_bytes(b"[]\n")  # damage, then restore
    code, out, _ = run(capsys, "--data-dir", str(filled), "restore", str(archive))
    assert code == 0
    assert "holdings" in out and "backed up the current data" in out
    assert tree(filled) == before
    aside = list(filled.parent.glob("data.replaced-*"))
    assert len(aside) == 1 and (aside[0] / "holdings" / "holdings.json").read_bytes() == b"[]\n"


def test_backup_keep_rotates_archives(capsys, filled, clock):
    out_dir = filled.parent / "backups"
    for minute in range(4):
        clock.set(f"2026-01-05T15:0{minute}:00Z")
        assert Storage(filled, clock) is not None
        from app.core_gov.storage.archive import backup

        backup(Storage(filled, clock), keep=2)
    assert [p.name for p in sorted(out_dir.glob("valhalla-*.tar.gz"))] == [
        "valhalla-20260105T150200000000Z.tar.gz", "valhalla-20260105T150300000000Z.tar.gz"]


def _archive(tmp_path: Path, members: dict[str, bytes], manifest: dict | None = None, link: str | None = None) -> Path:
    path = tmp_path / "evil.tar.gz"
    files = manifest if manifest is not None else {n: hashlib.sha256(d).hexdigest() for n, d in members.items()}
    with tarfile.open(path, "w:gz") as tar:
        for name, data in {"MANIFEST.json": orjson.dumps({"created_at": "x", "files": files}), **members}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo(link)
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)
    return path


@pytest.mark.parametrize(
    ("members", "manifest", "link", "message"),
    [
        ({"../escape.json": b"[]"}, None, None, "absolute or '..' path"),
        ({"/etc/cron.json": b"[]"}, None, None, "absolute or '..' path"),
        ({"holdings/holdings.json": b"[]"}, None, "holdings/link.json", "not a regular file"),
        ({"holdings/holdings.json": b"[]"}, {"holdings/holdings.json": "0" * 64}, None, "does not match its sha256"),
        ({"holdings/holdings.json": b"[]", "extra.json": b"{}"}, {"holdings/holdings.json": hashlib.sha256(b"[]").hexdigest()}, None, "do not match the manifest"),
    ],
)
def test_malicious_or_tampered_archive_is_refused_before_touching_data(capsys, filled, tmp_path, members, manifest, link, message):
    before = tree(filled)
    archive = _archive(tmp_path, members, manifest, link)
    with pytest.raises(ArchiveError, match=message):
        read_archive(archive)
    code, _, err = run(capsys, "--data-dir", str(filled), "restore", str(archive))
    assert code == 1 and message.split()[0] in err
    assert tree(filled) == before and not list(filled.parent.glob("data.replaced-*"))


def test_snapshot_commits_changes_and_is_a_no_op_when_clean(capsys, filled, client):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    code, out, _ = run(capsys, "--data-dir", str(filled), "snapshot", "-m", "first")
    assert code == 0 and "initialised a git repository" in out and "first" in out
    tracked = subprocess.run(["git", "-C", str(filled), "ls-files"], capture_output=True, text=True).stdout.split()
    assert "holdings/holdings.json" in tracked and not any(t.endswith(".lock") for t in tracked)
    assert run(capsys, "--data-dir", str(filled), "snapshot")[1].strip() == "nothing changed since the last snapshot"
    client.post("/core/holdings", json={"name": "new", "asset_type": "note", "jurisdiction": "ON"})
    code, out, _ = run(capsys, "--data-dir", str(filled), "snapshot")
    assert code == 0 and out.startswith("snapshot ")


def test_serve_refuses_a_newer_data_dir(capsys, tmp_path):
    data = tmp_path / "data"
    version.write_version(data, version.FORMAT_VERSION + 1)
    code, _, err = run(capsys, "--data-dir", str(data), "serve")
    assert code == 1 and f"holds data format {version.FORMAT_VERSION + 1}, newer than this program's {version.FORMAT_VERSION}" in err


def test_serve_refuses_a_public_host_without_token(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("VALHALLA_HOST", "0.0.0.0")
    monkeypatch.delenv("VALHALLA_TOKEN", raising=False)
    code, _, err = run(capsys, "--data-dir", str(tmp_path / "d"), "serve")
    assert code == 2 and "set VALHALLA_TOKEN" in err


def test_migration_runs_after_a_backup_and_stamps_the_new_version(tmp_path, monkeypatch):
    data = tmp_path / "data"
    version.write_version(data, 1)
    (data / "holdings").mkdir()
    (data / "holdings" / "holdings.json").write_bytes(b"[]\n")
    order: list[str] = []
    monkeypatch.setitem(version.MIGRATIONS, 1, lambda d: order.append(f"migrate {(d / 'holdings' / 'holdings.json').exists()}"))
    done = version.ensure_format(data, backup=lambda: order.append("backup") or tmp_path / "b.tar.gz", target=2)
    assert order == ["backup", "migrate True"]
    assert version.read_version(data) == 2 and "migrated data format 1 -> 2" in done


def test_a_new_data_dir_is_stamped_with_the_current_format(tmp_path):
    data = tmp_path / "data"
    version.ensure_format(data, backup=lambda: pytest.fail("no backup for a new data dir"))
    assert orjson.loads((data / "VERSION.json").read_bytes()) == {"format": version.FORMAT_VERSION}
