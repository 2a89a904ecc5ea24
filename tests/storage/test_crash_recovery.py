"""SIGKILL at every step of a commit: each transaction lands whole or not at all, every file
parses, and nothing acknowledged is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from app.core_gov.storage import Storage, audit_log

from .models import events, notes, others

ROOT = Path(__file__).resolve().parents[2]

# (step, occurrence) landing in the third transaction, which writes 2 temp files, appends to
# 3 logs (events and both audit trails) and renames 2 files.
STEPS = [
    ("temp_unsynced", 5),  # a temp file written, not yet fsynced
    ("temps_written", 3),  # every temp durable, no manifest yet
    ("manifest_written:t_other", 3),  # the non-primary manifest copy only: not committed
    ("manifest_written:t_notes", 3),  # the commit point reached, nothing applied
    ("log_appended", 7),  # one of three logs written
    ("log_appended", 9),  # every log written, no rename yet
    ("file_replaced", 5),  # one of two renames done
    ("before_manifest_removal", 3),  # everything applied, manifests still there
]


def run_until_killed(data_dir: Path, step: str, occurrence: int, *mode: str) -> set[int]:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.storage.crash_worker", str(data_dir), step, str(occurrence), *mode],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + str(ROOT / "backend")},
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    return {int(line.split()[1]) for line in proc.stdout.split("\n") if line.startswith("ack ")}


def every_file_parses(data_dir: Path) -> None:
    for path in data_dir.rglob("*.json"):
        orjson.loads(path.read_bytes())
    for path in data_dir.rglob("*.jsonl"):
        for line in path.read_bytes().splitlines():
            orjson.loads(line)


@pytest.mark.parametrize(("step", "occurrence"), STEPS)
def test_sigkill_at_each_commit_step_is_all_or_nothing(tmp_path, step, occurrence):
    data_dir = tmp_path / "data"
    acked = run_until_killed(data_dir, step, occurrence)
    assert acked == {0, 1}  # the third transaction was cut down

    db = Storage(data_dir)
    note_ns = [int(n.title[1:]) for n in db.list(notes)]
    other_ns = [int(o.title[1:]) for o in db.list(others)]
    event_ns = [e.n for e in db.entries(events)]
    committed = step in ("manifest_written:t_notes", "log_appended", "file_replaced", "before_manifest_removal")
    expected = [0, 1, 2] if committed else [0, 1]
    assert note_ns == expected and other_ns == expected and event_ns == expected

    # The audit trail is part of the same commit.
    audited = [e.entity for e in db.entries(audit_log("t_notes"))]
    assert audited.count("notes") == len(expected) and audited.count("events") == len(expected)
    assert [e.entity for e in db.entries(audit_log("t_other"))].count("items") == len(expected)
    every_file_parses(data_dir)
    assert not list(data_dir.rglob("*.tmp"))

    # The store keeps working; once both modules were locked again, no manifest is left.
    with db.transaction("t_notes", "t_other") as tx:
        tx.add(notes, {"title": "n99"})
    assert [n.title for n in db.list(notes)][-1] == "n99"
    assert not list(data_dir.rglob(".commit-*"))


# The commit of one file and two logs of one module (no manifest): (step, occurrence, the
# transaction it kills, whether that one must be there). Each transaction writes 1 temp file,
# appends to 2 logs (events, then the audit trail) and renames 1 file; the first one also
# creates both logs.
ONE_FILE_STEPS = [
    ("temp_unsynced", 1, 0, False),  # the first temp file written, not yet fsynced
    ("log_appended", 1, 0, False),  # the first commit's events appended (a new log), its audit not
    ("log_appended", 2, 0, True),  # both logs created and written: committed, not renamed
    ("temp_unsynced", 3, 2, False),
    ("temps_written", 3, 2, False),  # the temp file and its name durable, no log written
    ("log_appended", 5, 2, False),  # one of two logs written: not committed
    ("log_appended", 6, 2, True),  # both logs written: committed, the rename not done
    ("file_replaced", 3, 2, True),  # renamed
]


@pytest.mark.parametrize(("step", "occurrence", "killed", "committed"), ONE_FILE_STEPS)
def test_sigkill_at_each_step_of_a_one_file_commit_is_all_or_nothing(tmp_path, step, occurrence, killed, committed):
    data_dir = tmp_path / "data"
    assert run_until_killed(data_dir, step, occurrence, "one") == set(range(killed))
    assert not list(data_dir.rglob(".commit-*"))  # no manifest is written
    expected = list(range(killed + 1 if committed else killed))

    db = Storage(data_dir)
    assert [int(n.title[1:]) for n in db.list(notes)] == expected
    assert [e.n for e in db.entries(events)] == expected
    audited = [e.entity for e in db.entries(audit_log("t_notes"))]
    assert audited == [x for _ in expected for x in ("notes", "events")]
    every_file_parses(data_dir)
    assert not list(data_dir.rglob("*.tmp"))

    with db.transaction("t_notes") as tx:  # the store keeps appending where the logs end
        tx.add(notes, {"title": "n99"})
        tx.append(events, {"kind": "k", "n": 99})
    fresh = Storage(data_dir)
    assert [int(n.title[1:]) for n in fresh.list(notes)] == [*expected, 99]
    assert [e.n for e in fresh.entries(events)] == [*expected, 99]


def test_torn_log_tail_is_ignored_by_reads_and_trimmed_by_the_next_write(tmp_path):
    db = Storage(tmp_path / "data")
    with db.transaction("t_notes") as tx:
        tx.append(events, {"kind": "a"})
    path = db.path(events)
    with open(path, "ab") as f:
        f.write(b'{"id": "ev_torn", "at": "2026-')  # a crash mid-append: no newline
    fresh = Storage(tmp_path / "data")
    assert [e.kind for e in fresh.entries(events)] == ["a"]
    assert fresh.check(events) and "incomplete" in fresh.check(events)[0]
    with fresh.transaction("t_notes") as tx:
        tx.append(events, {"kind": "b"})
    assert [orjson.loads(line)["kind"] for line in path.read_bytes().splitlines()] == ["a", "b"]
    assert fresh.check(events) == []
