"""The valhalla command: verify, backup/restore, snapshot, data format versions."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tracemalloc
from pathlib import Path

import orjson
import pytest

from app import cli
from app.cli import main
from app.core_gov.storage import Storage, version
from app.core_gov.storage import archive as archive_module
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


def test_backup_keep_rotates_archives(capsys, filled, clock, monkeypatch):
    monkeypatch.setattr(cli, "_storage", lambda settings: Storage(settings.data_dir, clock, settings.zone))
    out_dir = filled.parent / "backups"
    for minute in range(4):
        clock.set(f"2026-01-05T15:0{minute}:00Z")
        code, out, err = run(capsys, "--data-dir", str(filled), "backup", "--keep", "2")
        assert (code, err) == (0, "")
        assert out.startswith(f"backed up {filled} to {out_dir / f'valhalla-20260105T150{minute}00000000Z.tar.gz'}\n")
    assert [p.name for p in sorted(out_dir.iterdir())] == ["valhalla-20260105T150200000000Z.tar.gz", "valhalla-20260105T150300000000Z.tar.gz"]


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


ONLY = "only VERSION.json and files in a declared folder are restored"


@pytest.mark.parametrize(
    ("members", "manifest", "link", "message"),
    [
        ({"../escape.json": b"[]"}, None, None, ONLY),
        ({"/etc/cron.json": b"[]"}, None, None, ONLY),
        ({"holdings/../../escape.json": b"[]"}, None, None, ONLY),
        ({".git/hooks/post-commit": b"#!/bin/sh\ntouch /tmp/pwned\n"}, None, None, ONLY),
        ({"holdings/.lock": b""}, None, None, ONLY),
        ({"notes/todo.json": b"[]"}, None, None, ONLY),
        ({"holdings/old/holdings.json": b"[]"}, None, None, ONLY),
        ({"holdings/holdings.json": b"[]"}, None, "holdings/link.json", "not a regular file"),
        ({"holdings/holdings.json": b"[]"}, {"holdings/holdings.json": "0" * 64}, None, "does not match its sha256"),
        ({"holdings/holdings.json": b"[]", "holdings/extra.json": b"{}"}, {"holdings/holdings.json": hashlib.sha256(b"[]").hexdigest()}, None, "not listed in MANIFEST.json"),
        ({"holdings/holdings.json": b"[]"}, {"holdings/holdings.json": hashlib.sha256(b"[]").hexdigest(), "holdings/gone.json": "0" * 64}, None, "missing"),
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
    assert sorted(p.name for p in filled.parent.iterdir()) == ["data", archive.name]  # no staging folder, no backup


def test_restore_refuses_an_archive_that_plants_git_config_and_writes_nothing(capsys, filled, tmp_path):
    config = b'[core]\n\tfsmonitor = "touch /tmp/valhalla-pwned; false"\n'
    holdings = (filled / "holdings" / "holdings.json").read_bytes()
    before = tree(filled)
    archive = _archive(tmp_path, {"holdings/holdings.json": holdings, ".git/config": config})  # listed, hashes right
    code, out, err = run(capsys, "--data-dir", str(filled), "restore", str(archive))
    assert code == 1 and out == ""
    assert err == f"error: {archive}: refused member '.git/config': {ONLY} (no dot names, links, absolute or '..' paths)\n"
    assert tree(filled) == before and not (filled / ".git").exists()
    assert sorted(p.name for p in filled.parent.iterdir()) == ["data", archive.name]


def test_an_older_backup_holding_gitignore_is_restored_without_it(capsys, filled, tmp_path):
    holdings = (filled / "holdings" / "holdings.json").read_bytes()
    archive = _archive(tmp_path, {".gitignore": b"*\n", "holdings/holdings.json": holdings})
    code, _, err = run(capsys, "--data-dir", str(filled), "restore", str(archive))
    assert code == 0, err
    assert sorted(p.name for p in filled.iterdir()) == ["holdings"]


def test_a_backup_holds_only_what_restore_accepts(capsys, filled, tmp_path):
    (filled / ".gitignore").write_text(".lock\n")
    (filled / "notes").mkdir()
    (filled / "notes" / "todo.txt").write_text("call the bank")
    archive = tmp_path / "b.tar.gz"
    assert run(capsys, "--data-dir", str(filled), "backup", "--out", str(archive))[0] == 0
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert names[0] == "MANIFEST.json" and "holdings/holdings.json" in names
    assert not [n for n in names if n.startswith((".", "notes")) or "/." in n]


def _jsonl_archive(path: Path, size: int) -> Path:
    """An archive of one incompressible log of about ``size`` bytes (random hex, one line per KiB)."""
    lines = b"".join(b'{"x": "' + os.urandom(507).hex().encode() + b'"}\n' for _ in range(size // 1024))
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for name, data in (("MANIFEST.json", orjson.dumps({"created_at": "x", "files": {"kpi/events.jsonl": hashlib.sha256(lines).hexdigest()}})), ("kpi/events.jsonl", lines)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_restore_streams_a_large_member_in_bounded_memory(capsys, tmp_path):
    from app.core_gov import core_router  # noqa: F401  (imported before measuring)

    archive = _jsonl_archive(tmp_path / "big.tar.gz", 24 << 20)
    data = tmp_path / "data"
    tracemalloc.start()
    try:
        code, out, err = run(capsys, "--data-dir", str(data), "restore", str(archive))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 0, err
    assert f"{'kpi':<16}{0:>10}{24576:>10}" in out
    assert (data / "kpi" / "events.jsonl").stat().st_size == 24 << 20
    assert peak < 8 << 20, f"peak {peak >> 20} MiB"


@pytest.mark.parametrize("where", ["member", "header"])
def test_restore_refuses_a_decompression_bomb_before_it_fills_the_disk(capsys, filled, tmp_path, monkeypatch, where):
    monkeypatch.setattr(archive_module, "MIN_UNPACKED", 1 << 20)
    zeros = bytes(8 << 20)  # 8 MiB of zeros: an archive of a few KiB
    before = tree(filled)
    if where == "member":
        archive = _archive(tmp_path, {"holdings/holdings.json": zeros})
    else:  # a pax header tarfile would read whole into memory
        archive = tmp_path / "evil.tar.gz"
        with tarfile.open(archive, "w:gz", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo("MANIFEST.json")
            info.pax_headers = {"comment": zeros.decode()}
            tar.addfile(info, io.BytesIO(b""))
    code, _, err = run(capsys, "--data-dir", str(filled), "restore", str(archive))
    assert code == 1
    assert err.startswith(f"error: {archive}: unpacks to more than {max(1 << 20, 100 * archive.stat().st_size)} bytes ({archive_module.MAX_RATIO} times its size):")
    assert "decompression bomb" in err
    assert tree(filled) == before and sorted(p.name for p in filled.parent.iterdir()) == ["data", archive.name]


def test_restore_refuses_an_archive_of_too_many_members(capsys, filled, tmp_path, monkeypatch):
    monkeypatch.setattr(archive_module, "MAX_MEMBERS", 3)
    archive = _archive(tmp_path, {f"holdings/h{i}.json": b"[]" for i in range(4)})
    code, _, err = run(capsys, "--data-dir", str(filled), "restore", str(archive))
    assert code == 1 and err == f"error: {archive}: more than 3 members: refused (a Valhalla backup holds one file per 1,000 records and a few hundred more)\n"
    assert sorted(p.name for p in filled.parent.iterdir()) == ["data", archive.name]


def git(data: Path, *argv: str) -> str:
    return subprocess.run(["git", "-C", str(data), *argv], check=True, capture_output=True, text=True).stdout


def test_restore_keeps_the_snapshot_history_and_the_mode_and_snapshots_the_restore(capsys, filled, client, tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    filled.chmod(0o755)
    assert run(capsys, "--data-dir", str(filled), "snapshot", "-m", "first")[0] == 0
    archive = tmp_path / "b.tar.gz"
    assert run(capsys, "--data-dir", str(filled), "backup", "--out", str(archive))[0] == 0
    backed_up = {k: v for k, v in tree(filled).items() if not k.startswith(".git")}
    client.post("/core/holdings", json={"name": "later", "asset_type": "note", "jurisdiction": "ON"})
    assert run(capsys, "--data-dir", str(filled), "snapshot", "-m", "second")[0] == 0

    code, out, err = run(capsys, "--data-dir", str(filled), "restore", str(archive))
    assert code == 0, err
    created = read_archive(archive)[0]["created_at"]
    assert "snapshot " in out and f"restore {archive} (backup taken {created})" in out
    assert {k: v for k, v in tree(filled).items() if not k.startswith(".git")} == backed_up
    assert (filled.stat().st_mode & 0o777) == 0o755
    assert git(filled, "log", "--format=%s").splitlines() == [f"restore {archive} (backup taken {created})", "second", "first"]
    assert git(filled, "status", "--porcelain") == ""
    runbook = {i["key"]: i for i in client.get("/core/runbook/status").json()["items"]}
    assert runbook["snapshot_clean"]["ok"] is True
    aside = next(filled.parent.glob("data.replaced-*"))
    assert not (aside / ".git").exists() and len(orjson.loads((aside / "holdings" / "holdings.json").read_bytes())) == 4


def test_restoring_the_data_as_it_is_still_records_the_restore(capsys, filled, tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    assert run(capsys, "--data-dir", str(filled), "snapshot", "-m", "first")[0] == 0
    archive = tmp_path / "b.tar.gz"
    assert run(capsys, "--data-dir", str(filled), "backup", "--out", str(archive))[0] == 0
    assert run(capsys, "--data-dir", str(filled), "restore", str(archive))[0] == 0
    assert git(filled, "log", "--format=%s").splitlines()[0].startswith(f"restore {archive} (backup taken ")


def test_restore_into_a_data_dir_never_snapshotted_makes_no_repository(capsys, filled, tmp_path):
    archive = tmp_path / "b.tar.gz"
    assert run(capsys, "--data-dir", str(filled), "backup", "--out", str(archive))[0] == 0
    code, out, _ = run(capsys, "--data-dir", str(filled), "restore", str(archive))
    assert code == 0 and "snapshot" not in out and not (filled / ".git").exists()


def test_global_options_are_accepted_after_the_subcommand(capsys, filled, tmp_path):
    code, out, _ = run(capsys, "verify", "--data-dir", str(filled))
    assert code == 0 and out == f"{filled}: every file is valid\n"
    archive = tmp_path / "b.tar.gz"
    code, out, _ = run(capsys, "backup", "--data-dir", str(filled), "--out", str(archive))
    assert code == 0 and out.startswith(f"backed up {filled} to {archive}\n")


def test_backup_out_refuses_an_existing_file_unless_forced(capsys, filled, tmp_path):
    archive = tmp_path / "b.tar.gz"
    archive.write_bytes(b"keep me")
    code, out, err = run(capsys, "--data-dir", str(filled), "backup", "--out", str(archive))
    assert (code, out) == (1, "") and err == f"error: {archive} already exists; pass --force to overwrite it\n"
    assert archive.read_bytes() == b"keep me"
    code, out, _ = run(capsys, "--data-dir", str(filled), "backup", "--out", str(archive), "--force")
    assert code == 0 and "holdings/holdings.json" in read_archive(archive)[1]


@pytest.mark.parametrize("keep", ["0", "-1"])
def test_backup_keep_below_one_is_refused(capsys, filled, keep):
    with pytest.raises(SystemExit) as exit_:
        main(["--data-dir", str(filled), "backup", "--keep", keep])
    assert exit_.value.code == 2
    assert f"argument --keep: must be 1 or more (the archive just written is always kept), not {keep}" in capsys.readouterr().err
    assert not (filled.parent / "backups").exists()


def test_venv_script_probes_pythons_quietly(tmp_path):
    """pyenv shims exist for versions that are not installed and print "command not found"."""
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(Path(__file__).parents[1] / "scripts" / "_venv.sh", root / "scripts")
    (root / "pyproject.toml").write_text("[project]\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scripts = {
        "python3.13": 'echo "pyenv: python3.13: command not found" >&2; exit 127',
        "python3.12": 'echo "pyenv: python3.12: command not found" >&2; exit 127',
        "python3.11": 'if [ "$1" = -m ]; then mkdir -p "$3/bin"; printf "#!/bin/sh\\n" > "$3/bin/python"; chmod +x "$3/bin/python"; fi',
    }
    for name, body in scripts.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    r = subprocess.run(["bash", "-c", "source scripts/_venv.sh"], cwd=root, env={"PATH": f"{bin_dir}:/usr/bin:/bin"}, capture_output=True, text=True)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "installing Valhalla Core into .venv ...\n")
    assert (root / ".venv" / "bin" / "python").exists()


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


def test_serve_refuses_a_newer_data_dir(capsys, tmp_path, monkeypatch):
    import socket

    with socket.socket() as s:  # the server listens (answering /core/health) before it checks the data dir
        s.bind(("127.0.0.1", 0))
        monkeypatch.setenv("VALHALLA_PORT", str(s.getsockname()[1]))
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
