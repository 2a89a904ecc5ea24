"""For the worker processes of the crash tests: SIGKILL at a commit step, and acknowledgements
printed whole from several threads."""

from __future__ import annotations

import os
import signal
import sys
import threading

from app.core_gov.storage import commit

_lock = threading.Lock()


def kill_at(step: str | None, occurrence: int) -> None:
    """SIGKILL this process the ``occurrence``-th time the commit reaches ``step``."""
    seen = 0

    def fault(name: str) -> None:
        nonlocal seen
        if name == step:
            with _lock:
                seen += 1
                if seen == occurrence:
                    os.kill(os.getpid(), signal.SIGKILL)

    commit.FAULT = fault


def ack(title: str) -> None:
    """Print "ack <title>" once the write returned (whole lines: threads interleave prints)."""
    with _lock:
        sys.stdout.write(f"ack {title}\n")
        sys.stdout.flush()
