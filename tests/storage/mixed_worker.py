"""Run by test_mixed_commits: threads mixing single-module and two-module transactions.

argv: data_dir threads rounds [step occurrence]. Each round a thread adds note "s<t>-<i>"
(t_notes alone), then, in one transaction on t_notes and t_other, adds other "m<t>-<i>",
appends event "m<t>-<i>" and bumps the counter. "ack <title>" is printed only once the commit
returned. With a step, the process SIGKILLs itself at that step's occurrence.
"""

from __future__ import annotations

import sys
import threading

from app.core_gov.storage import Storage

from tests.storage.faults import ack, kill_at
from tests.storage.models import counter, events, notes, others


def main() -> None:
    data_dir, threads, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    step, occurrence = (sys.argv[4], int(sys.argv[5])) if len(sys.argv) > 4 else (None, 0)
    kill_at(step, occurrence)
    db = Storage(data_dir)

    def work(t: int) -> None:
        for i in range(rounds):
            with db.transaction("t_notes") as tx:
                tx.add(notes, {"title": f"s{t}-{i}"})
            ack(f"s{t}-{i}")
            with db.transaction("t_notes", "t_other") as tx:
                tx.add(others, {"title": f"m{t}-{i}"})
                tx.append(events, {"kind": f"m{t}-{i}"})
                tx.write(counter, {"value": tx.read(counter).value + 1})
            ack(f"m{t}-{i}")

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for p in pool:
        p.start()
    for p in pool:
        p.join()


if __name__ == "__main__":
    main()
