"""Refuse allocations that cannot fit before TensorFlow tries them.

TensorFlow reports an impossible allocation (``init 1000000 1000000``: a 4 TB weight matrix) as a
``ResourceExhaustedError`` deep inside an op, after it has already tried. tfrbm estimates the
bytes a request needs up front and refuses with a :class:`tfrbm.errors.UserError` that says what
was asked for, how much memory that is, and how much the machine has.

The cap is :data:`MEMORY_FRACTION` of the physical memory (``TFRBM_MAX_BYTES`` overrides it, in
bytes): a request above it cannot succeed, or would push the machine into swap.
"""
import os

from tfrbm.errors import UserError

__all__ = ["MEMORY_FRACTION", "check_allocation", "memory_cap", "format_bytes"]

#: the largest single request tfrbm lets through, as a fraction of the physical memory
MEMORY_FRACTION = 0.5


def format_bytes(n):
    n = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if abs(n) < 1024 or unit == "EiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} EiB"


def _physical_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 * 2**30


def memory_cap():
    """Bytes one request may take: ``TFRBM_MAX_BYTES`` or MEMORY_FRACTION of physical memory."""
    env = os.environ.get("TFRBM_MAX_BYTES")
    if env:
        try:
            return int(float(env))
        except ValueError:
            raise UserError(f"TFRBM_MAX_BYTES must be a number of bytes, got {env!r}") from None
    return int(MEMORY_FRACTION * _physical_memory())


def check_allocation(what, n_bytes):
    """Raise UserError if ``what`` (``n_bytes`` bytes, estimated) exceeds :func:`memory_cap`."""
    cap = memory_cap()
    if n_bytes > cap:
        raise UserError(
            f"{what} would need about {format_bytes(n_bytes)}, more than the "
            f"{format_bytes(cap)} tfrbm allows on this machine ({MEMORY_FRACTION:.0%} of "
            f"{format_bytes(_physical_memory())} of memory; set TFRBM_MAX_BYTES to change it); "
            "ask for fewer units, samples, runs or steps")
    return int(n_bytes)
