"""Run by test_group_commit: 6 threads commit notes+events on one module until SIGKILLed at
the given step occurrence. argv: data_dir step occurrence. Prints "ack <title>" per commit."""

from __future__ import annotations

import sys
import threading

from app.core_gov.storage import Storage

from tests.storage.faults import ack, kill_at
from tests.storage.models import events, notes


def main() -> None:
    data_dir, step, occurrence = sys.argv[1], sys.argv[2], int(sys.argv[3])
    kill_at(step, occurrence)
    db = Storage(data_dir)

    def work(w: int) -> None:
        for i in range(1000):
            title = f"w{w}-{i}"
            with db.transaction("t_notes") as tx:
                tx.add(notes, {"title": title})
                tx.append(events, {"kind": title})
            ack(title)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
