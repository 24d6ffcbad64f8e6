"""A time budget enforced inside the scan, not only between stages.

The pre-receive door runs under a hard limit (GitHub Enterprise Server gives all pre-receive hooks 5
seconds together and rejects the push when they overrun). A `Deadline` is activated for the duration
of a scan; loops over commits, files and lines call `check()`, which raises `BudgetExceeded` once the
deadline has passed. With no active deadline `check()` costs one context-variable read and returns.

Git subprocesses get `timeout()` as their own limit. In the hook's main thread a `SIGALRM` timer
(`Deadline.alarm()`) also interrupts pure-Python loops that never call `check()`; a long single C
call (one regex over one huge line) still finishes first, so the wrapper script may add `timeout`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from types import FrameType

from guard.errors import InternalError


class BudgetExceeded(InternalError):
    """The scan ran out of time: enforcing doors fail closed."""


class Deadline:
    def __init__(self, seconds: float, *, start: float | None = None) -> None:
        self.seconds = seconds
        self.start = time.monotonic() if start is None else start
        self.at = self.start + seconds
        self.fired = False  # set once exceeded, so a swallowed exception still fails closed

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def check(self, where: str = "") -> None:
        if self.fired or time.monotonic() >= self.at:
            self.fired = True
            raise BudgetExceeded(
                f"time budget of {self.seconds:g} s exhausted" + (f" ({where})" if where else "")
            )

    @contextlib.contextmanager
    def active(self) -> Iterator[Deadline]:
        token = _CURRENT.set(self)
        try:
            yield self
        finally:
            _CURRENT.reset(token)

    @contextlib.contextmanager
    def alarm(self) -> Iterator[Deadline]:
        """Also interrupt code that never calls check() (main thread, POSIX only; else a no-op)."""
        usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
        if not usable:
            yield self
            return

        def ring(signum: int, frame: FrameType | None) -> None:
            self.fired = True
            raise BudgetExceeded(f"time budget of {self.seconds:g} s exhausted (interrupted)")

        previous = signal.signal(signal.SIGALRM, ring)
        signal.setitimer(signal.ITIMER_REAL, max(self.remaining(), 0.001))
        try:
            yield self
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def process_started() -> float:
    """`time.monotonic()` at this process's start (Linux /proc; else now): start-up counts too."""
    now = time.monotonic()
    try:
        stat = Path("/proc/self/stat").read_text()
        ticks = int(stat.rpartition(")")[2].split()[19])  # field 22: start time, clock ticks after boot
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        age = uptime - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return now
    return now - age if 0 <= age < 60 else now


_CURRENT: ContextVar[Deadline | None] = ContextVar("pipeline_guard_deadline", default=None)


def current() -> Deadline | None:
    return _CURRENT.get()


def check(where: str = "") -> None:
    """Raise BudgetExceeded when the active deadline (if any) has passed. Call it in long loops."""
    d = _CURRENT.get()
    if d is not None:
        d.check(where)


def timeout() -> float | None:
    """Seconds left for a subprocess under the active deadline (None: no deadline)."""
    d = _CURRENT.get()
    if d is None:
        return None
    d.check()
    return max(d.remaining(), 0.001)
