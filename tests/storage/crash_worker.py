"""Run by test_crash_recovery in a subprocess: commit transactions until SIGKILLed at a step.

argv: data_dir step occurrence. Each transaction i adds note i (t_notes), other i (t_other) and
event i (t_notes log) together; "ack i" is printed only after the commit returned.
"""

from __future__ import annotations

import os
import signal
import sys

from app.core_gov.storage import Storage, commit

from tests.storage.models import events, notes, others


def main() -> None:
    data_dir, step, occurrence = sys.argv[1], sys.argv[2], int(sys.argv[3])
    seen = 0

    def fault(name: str) -> None:
        nonlocal seen
        if name == step:
            seen += 1
            if seen == occurrence:
                os.kill(os.getpid(), signal.SIGKILL)

    commit.FAULT = fault
    db = Storage(data_dir)
    for i in range(10):
        with db.transaction("t_notes", "t_other") as tx:
            tx.add(notes, {"title": f"n{i}"})
            tx.add(others, {"title": f"o{i}"})
            tx.append(events, {"kind": "k", "n": i})
        print(f"ack {i}", flush=True)


if __name__ == "__main__":
    main()
