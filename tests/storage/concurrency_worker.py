"""Run by test_concurrency in subprocesses. argv: data_dir mode count.
mode "create": add `count` notes. mode "increment": read-modify-write one counter `count` times.
mode "segments": add `count` items to a collection of 5-record segments, updating an earlier one each time."""

from __future__ import annotations

import sys

from app.core_gov.storage import Storage

from tests.storage.models import counter, notes, small


def main() -> None:
    data_dir, mode, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    db = Storage(data_dir)
    if mode == "segments":
        for i in range(count):
            with db.transaction("t_seg") as tx:
                first = tx.list(small)[0] if tx.list(small) else None
                tx.add(small, {"title": f"p{i}"})
                if first is not None:
                    tx.update(small, first, count=first.count + 1)
        return
    for i in range(count):
        with db.transaction("t_notes") as tx:
            if mode == "create":
                tx.add(notes, {"title": f"p{i}"})
            else:
                tx.write(counter, {"value": tx.read(counter).value + 1})


if __name__ == "__main__":
    main()
