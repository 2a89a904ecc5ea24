"""Text files: bulk data replaced whole inside a transaction, held parsed, never torn."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.core_gov.errors import StoreCorrupt
from app.core_gov.storage import Storage

from .models import events, numbers

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + str(ROOT / "backend")}


def test_a_missing_text_file_reads_as_its_empty_value(tmp_path):
    assert Storage(tmp_path / "data").text(numbers) == ()


def test_replace_text_writes_the_file_in_its_folder_with_the_transactions_other_changes(tmp_path):
    db = Storage(tmp_path / "data")
    with db.transaction("t_notes") as tx:
        assert tx.replace_text(numbers, [b"4165550100\n", b"4165550101\n"]) == (4165550100, 4165550101)
        assert tx.text(numbers) == (4165550100, 4165550101)
        tx.append(events, {"kind": "imported", "n": 2})
    assert db.path(numbers).read_bytes() == b"4165550100\n4165550101\n"
    assert db.text(numbers) == (4165550100, 4165550101)
    assert [e.kind for e in Storage(db.data_dir).entries(events)] == ["imported"]


def test_a_bad_new_content_is_refused_before_anything_is_written(tmp_path):
    db = Storage(tmp_path / "data")
    with pytest.raises(Exception, match="line 2"):
        with db.transaction("t_notes") as tx:
            tx.replace_text(numbers, b"2\n1\n")
    assert not db.path(numbers).exists()


def test_a_hand_broken_text_file_is_503_naming_the_line_and_kept(tmp_path):
    db = Storage(tmp_path / "data")
    with db.transaction("t_notes") as tx:
        tx.replace_text(numbers, b"1\n2\n")
    db.path(numbers).write_bytes(b"1\n2\nthree\n")
    with pytest.raises(StoreCorrupt) as exc:
        db.text(numbers)
    assert exc.value.file == "t_notes/lists/numbers.txt" and exc.value.position == "line 3"
    assert db.path(numbers).read_bytes() == b"1\n2\nthree\n"


@pytest.mark.parametrize("step", ["temps_written", "manifest_written:t_notes", "log_appended", "file_replaced"])
def test_sigkill_during_a_text_replace_leaves_the_old_or_the_new_file_whole(tmp_path, step):
    data_dir = tmp_path / "data"
    db = Storage(data_dir)
    with db.transaction("t_notes") as tx:
        tx.replace_text(numbers, b"1\n2\n")
    script = (
        "import os, signal, sys\n"
        "from app.core_gov.storage import Storage, commit\n"
        "from tests.storage.models import events, numbers\n"
        f"commit.FAULT = lambda s: os.kill(os.getpid(), signal.SIGKILL) if s == {step!r} else None\n"
        f"db = Storage({str(data_dir)!r})\n"
        "with db.transaction('t_notes') as tx:\n"
        "    tx.replace_text(numbers, [str(n).encode() + b'\\n' for n in range(10, 5010)])\n"
        "    tx.append(events, {'kind': 'replaced'})\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=ENV, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    fresh = Storage(data_dir)
    with fresh.transaction("t_notes"):
        pass  # take the lock: recovery rolls the commit forward or drops it
    value, kinds = fresh.text(numbers), [e.kind for e in fresh.entries(events)]
    assert (value, kinds) in [((1, 2), []), (tuple(range(10, 5010)), ["replaced"])]
    assert not list(data_dir.rglob("*.tmp")) and not list(data_dir.rglob(".commit-*"))
