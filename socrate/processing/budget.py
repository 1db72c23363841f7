"""CPU-time budgets for parsing untrusted files: a crafted PDF must not hold a worker for minutes.

Inside a Celery worker the task runs on the process's main thread, where a profiling timer
(``ITIMER_PROF``, CPU time, so a busy machine does not count against the file) interrupts the
parser mid-page. Elsewhere (a thread) the budget is checked after the work instead.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

REPEAT_SECONDS = 0.05


class OverBudget(BaseException):
    """Raised inside the parser when its CPU time is spent. A BaseException, like KeyboardInterrupt,
    so that a library's ``except Exception`` cannot swallow it."""


@contextmanager
def cpu_limit(seconds: float) -> Iterator[None]:
    """Run the body with at most ``seconds`` of this process's CPU time, else raise OverBudget."""
    if seconds <= 0:
        raise OverBudget
    if threading.current_thread() is not threading.main_thread():
        start = time.thread_time()
        yield
        if time.thread_time() - start > seconds:
            raise OverBudget
        return

    def _spent(_signum: int, _frame: FrameType | None) -> None:
        raise OverBudget

    previous = signal.signal(signal.SIGPROF, _spent)
    # Repeating: should a library swallow OverBudget anyway (a __del__, a callback), it fires again.
    signal.setitimer(signal.ITIMER_PROF, seconds, REPEAT_SECONDS)
    try:
        yield
    finally:
        try:
            signal.setitimer(signal.ITIMER_PROF, 0)
        finally:  # a signal still pending may fire here: the handler goes back regardless
            signal.signal(signal.SIGPROF, previous)


class Budget:
    """A whole file's CPU allowance, spent across several steps (e.g. the pages of a PDF)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        # The process's CPU time where the timer counts it (the main thread); elsewhere this thread's.
        main = threading.current_thread() is threading.main_thread()
        self._clock = time.process_time if main else time.thread_time
        self._start = self._clock()

    def extend(self, seconds: float) -> None:
        """Grant more once the size of the work is known (the page count, after opening)."""
        self.seconds += seconds

    def remaining(self) -> float:
        return self.seconds - (self._clock() - self._start)

    @contextmanager
    def step(self, at_most: float | None = None) -> Iterator[None]:
        """One step, bounded by what is left of the whole and by ``at_most`` for this step alone."""
        limit = self.remaining() if at_most is None else min(at_most, self.remaining())
        with cpu_limit(limit):
            yield
