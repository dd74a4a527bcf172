"""Ctrl-C for long runs that go in compiled chunks (daydream, gibbs, inpaint, AIS).

Python turns SIGINT into ``KeyboardInterrupt`` at the next bytecode boundary. When that boundary
lies inside TensorFlow's own Python wrappers around a compiled call, the exception can be lost
there: measured, a ``tfrbm daydream`` of 2e9 steps kept sampling after Ctrl-C in 1 of 2 tries on a
loaded machine. While a chunked loop runs, :func:`between_chunks` therefore installs a handler that
only records the signal, and the loop raises ``KeyboardInterrupt`` itself between two chunks
(each chunk is bounded to well under a second of work). A second Ctrl-C raises at once.

A process started with SIGINT ignored never gets Python's KeyboardInterrupt handler (an ignored
signal stays ignored across exec): a ``tfrbm train`` run from a background job of a
non-interactive shell (``nohup cmd &`` in a script) ignores Ctrl-C. That is the shell's choice, and
tfrbm respects it, as below.

The handler is installed only in the main thread and only when SIGINT has Python's default
handler; a program (or a notebook kernel) with a SIGINT handler of its own keeps it untouched, and
a process started with SIGINT ignored (``nohup cmd &`` in a script) keeps ignoring it.
"""

import contextlib
import signal
import threading

__all__ = ["CHUNK_MULTIPLY_ADDS", "between_chunks", "steps_per_chunk"]

#: a chunked loop's compiled call does at most this many multiply-adds (a second or less on one
#: CPU core), so Ctrl-C lands between calls within about a second
CHUNK_MULTIPLY_ADDS = 2 ** 31


def steps_per_chunk(n_rows, n_visible, n_hidden, max_steps):
    """Steps per compiled call of a chunked Gibbs or annealing loop over an RBM.

    A step (an up and a down product) costs about 2 * rows * visible * hidden multiply-adds;
    a call does at most :data:`CHUNK_MULTIPLY_ADDS` of them and at most ``max_steps`` steps (the
    loop's own overhead, for tiny models), and at least one step.
    """
    per_step = 2 * max(1, int(n_rows)) * max(1, int(n_visible)) * max(1, int(n_hidden))
    return int(max(1, min(int(max_steps), CHUNK_MULTIPLY_ADDS // per_step)))


class _Pending:
    """What the loop asks between chunks: ``check()`` raises KeyboardInterrupt once Ctrl-C came."""

    def __init__(self):
        self.seen = False

    def check(self):
        if self.seen:
            self.seen = False
            raise KeyboardInterrupt


@contextlib.contextmanager
def between_chunks():
    """Context manager for a chunked loop; call ``.check()`` on what it yields after each chunk."""
    pending = _Pending()
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield pending
        return

    def record(signum, frame):
        if pending.seen:                 # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        pending.seen = True

    previous = signal.signal(signal.SIGINT, record)
    try:
        yield pending
    finally:
        signal.signal(signal.SIGINT, previous)
