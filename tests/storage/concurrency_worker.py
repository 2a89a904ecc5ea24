"""Run by test_concurrency in subprocesses. argv: data_dir mode count.
mode "create": add `count` notes. mode "increment": read-modify-write one counter `count` times."""

from __future__ import annotations

import sys

from app.core_gov.storage import Storage

from tests.storage.models import counter, notes


def main() -> None:
    data_dir, mode, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    db = Storage(data_dir)
    for i in range(count):
        with db.transaction("t_notes") as tx:
            if mode == "create":
                tx.add(notes, {"title": f"p{i}"})
            else:
                tx.write(counter, {"value": tx.read(counter).value + 1})


if __name__ == "__main__":
    main()
