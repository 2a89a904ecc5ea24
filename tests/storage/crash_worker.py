"""Run by test_crash_recovery in a subprocess: commit transactions until SIGKILLed at a step.

argv: data_dir step occurrence [one]. Each transaction i adds note i (t_notes), other i
(t_other) and event i (t_notes log) together; with "one", note i and event i only (one file
and two logs of one module: the commit without a manifest). "ack i" is printed only after the
commit returned.
"""

from __future__ import annotations

import sys

from app.core_gov.storage import Storage

from tests.storage.faults import ack, kill_at
from tests.storage.models import events, notes, others


def main() -> None:
    data_dir, step, occurrence = sys.argv[1], sys.argv[2], int(sys.argv[3])
    one = sys.argv[4:] == ["one"]
    kill_at(step, occurrence)
    db = Storage(data_dir)
    for i in range(10):
        with db.transaction(*(["t_notes"] if one else ["t_notes", "t_other"])) as tx:
            tx.add(notes, {"title": f"n{i}"})
            if not one:
                tx.add(others, {"title": f"o{i}"})
            tx.append(events, {"kind": "k", "n": i})
        ack(str(i))


if __name__ == "__main__":
    main()
