"""Run by test_group_commit: 6 threads commit notes+events on one module until SIGKILLed at
the given step occurrence. argv: data_dir step occurrence. Prints "ack <title>" per commit."""

from __future__ import annotations

import os
import signal
import sys
import threading

from app.core_gov.storage import Storage, commit

from tests.storage.models import events, notes


def main() -> None:
    data_dir, step, occurrence = sys.argv[1], sys.argv[2], int(sys.argv[3])
    seen = 0
    lock = threading.Lock()

    def fault(name: str) -> None:
        nonlocal seen
        if name == step:
            with lock:
                seen += 1
                if seen == occurrence:
                    os.kill(os.getpid(), signal.SIGKILL)

    commit.FAULT = fault
    db = Storage(data_dir)

    def work(w: int) -> None:
        for i in range(1000):
            title = f"w{w}-{i}"
            with db.transaction("t_notes") as tx:
                tx.add(notes, {"title": title})
                tx.append(events, {"kind": title})
            with lock:  # whole lines: print from several threads interleaves
                sys.stdout.write(f"ack {title}\n")
                sys.stdout.flush()

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
