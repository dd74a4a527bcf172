"""Benchmark plumbing shared by bench_cd.py, bench_sampling.py and bench_memory.py.

* Every implementation runs in its own worker process (``Worker``), so that no library's idle
  thread pool (OpenBLAS, OpenMP and TF threads spin for a while after each call) steals the cores
  while another library is being timed.
* Workers of numpy-based peers and references get **native BLAS kernels**: ``OPENBLAS_CORETYPE``
  and ``OPENBLAS_L2_SIZE`` are removed from that worker's environment only (a machine that sets
  ``OPENBLAS_CORETYPE=Haswell`` forces numpy onto AVX2 kernels: 199 against 352 GFLOP/s sgemm on
  this CPU, issue 21). The parent process, tests and CI keep their environment.
* Each worker reports the BLAS libraries it loaded (``threadpoolctl``): internal API, version and
  the kernel architecture (OpenBLAS' ``corename``), printed beside each result.
* ``peak_references`` measures the matmul limit per dtype: numpy sgemm with native kernels and a
  TF chain of dependent products (v W, then (v W) W^T, ...) in float32 and bfloat16.
"""
import contextlib
import importlib
import json
import os
import sys
import threading
import time

#: environment variables removed in the worker of a numpy-based peer (native kernels)
CRIPPLING_BLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

_ENV_LOCK = threading.Lock()


@contextlib.contextmanager
def _environment_without(names):
    """Temporarily remove ``names`` from os.environ (a spawned child copies it at start)."""
    with _ENV_LOCK:
        saved = {n: os.environ.pop(n) for n in names if n in os.environ}
        try:
            yield saved
        finally:
            os.environ.update(saved)


def cpu_seconds():
    """User + system CPU seconds used by this process so far (all threads)."""
    t = os.times()
    return t.user + t.system


def blas_kernels():
    """The BLAS libraries loaded in this process, as short strings ('openblas 0.3.31 SkylakeX')."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        return ["threadpoolctl not installed"]
    out = []
    for info in threadpool_info():
        if info.get("user_api") != "blas":
            continue
        arch = info.get("architecture") or info.get("corename") or "?"
        out.append(f"{info.get('internal_api')} {info.get('version')} {arch} "
                   f"({info.get('num_threads')} threads)")
    torch = sys.modules.get("torch")
    if torch is not None:  # torch links MKL statically: threadpoolctl cannot see it
        blas = "mkl" if torch.backends.mkl.is_available() else "own"
        out.append(f"torch {torch.__version__} BLAS={blas} (static) "
                   f"{torch.backends.cpu.get_cpu_capability()}")
    return out or ["no BLAS loaded"]


def kernel_tag(blas):
    """The distinct kernel architectures in a ``blas_kernels()`` list, e.g. 'SkylakeX'."""
    tags = []
    for entry in blas:
        words = entry.split()
        tag = words[-1] if entry.startswith("torch") else (words[2] if len(words) > 2 else entry)
        tag = f"torch {tag}" if entry.startswith("torch") else tag
        if tag not in tags:
            tags.append(tag)
    return "/".join(tags)


def write_json(path, data):
    """Write ``data`` to ``path`` as indented JSON when a path is given (``--json``); return it."""
    if path:
        with open(path, "w") as fh:
            json.dump(data, fh, indent=1)
    return data


def load_average():
    return os.getloadavg()


def uptime_line():
    """`uptime`'s load averages (1, 5, 15 min), recorded with every run."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def _worker_main(conn, factory, args, kwargs, device):
    """Child process: build ``factory(*args, **kwargs)``, warm it up, run tasks on request."""
    module, name = factory.split(":")
    try:
        if device:  # everything TF builds and runs in this worker goes on ``device``
            import tensorflow as tf
            tf.device(device).__enter__()
        obj = getattr(importlib.import_module(module), name)(*args, **kwargs)
        obj.warmup()
    except ImportError as err:
        conn.send(("skip", str(err)))
        return
    except Exception as err:  # noqa: BLE001 - report it; do not leave the parent waiting
        conn.send(("error", f"{type(err).__name__}: {err}"))
        return
    placed_on = None
    if device:  # where TF really puts work (soft placement falls back to the CPU silently)
        import tensorflow as tf
        placed_on = (tf.zeros(()) + 1.0).device
    conn.send(("ready", {"blas": blas_kernels(), "k": getattr(obj, "k", 1), "placed_on": placed_on}))
    while True:
        msg = conn.recv()
        if msg == "stop":
            return
        task = msg
        start, cpu_start = time.perf_counter(), cpu_seconds()
        result = getattr(obj, task)()
        conn.send((time.perf_counter() - start, cpu_seconds() - cpu_start, result))


class Worker:
    """One object in its own spawned process; ``run(task)`` times ``obj.task()`` there.

    ``factory`` is "module:callable" importable in the child (the benchmarks folder is put on
    its path); ``native_blas`` removes :data:`CRIPPLING_BLAS_VARIABLES` from the child's
    environment; ``device`` (e.g. "/GPU:0") places the child's TF work with ``tf.device``.
    """

    def __init__(self, factory, *args, native_blas=False, device=None, **kwargs):
        import multiprocessing as mp
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, daemon=True,
                                args=(child, factory, args, kwargs, device))
        names = CRIPPLING_BLAS_VARIABLES if native_blas else ()
        with _environment_without(names):
            self.proc.start()
        status, value = self.conn.recv()
        if status != "ready":
            self.proc.join(timeout=10)
            if status == "skip":
                raise ImportError(value)
            raise RuntimeError(f"{factory} failed in its worker: {value}")
        self.blas = value["blas"]
        self.k = value["k"]
        self.placed_on = value["placed_on"]
        self.native_blas = native_blas

    def run(self, task="epoch"):
        """(wall seconds, CPU seconds, the task's return value) of one call in the worker."""
        self.conn.send(task)
        return self.conn.recv()

    def close(self):
        try:
            self.conn.send("stop")
        except (BrokenPipeError, OSError):
            pass
        self.proc.join(timeout=60)


# ----------------------------------------------------------------------------- peak references
class NumpyPeak:
    """numpy float32 sgemm speed (GFLOP/s), at the RBM shape and at 2048^3."""

    k = 1

    def __init__(self, shapes):
        self.shapes = [tuple(s) for s in shapes]

    def warmup(self):
        import numpy as np
        a = np.ones((64, 64), np.float32)
        a @ a

    def measure(self):
        import numpy as np
        rng = np.random.default_rng(0)
        out = {}
        for m, k, n in self.shapes:
            a = rng.random((m, k), dtype=np.float32)
            b = rng.random((k, n), dtype=np.float32)
            c = np.empty((m, n), np.float32)
            np.matmul(a, b, out=c)
            reps = max(1, int(2e9 / (2 * m * k * n)))
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                for _ in range(reps):
                    np.matmul(a, b, out=c)
                best = min(best, (time.perf_counter() - start) / reps)
            out[f"{m}x{k}x{n}"] = 2.0 * m * k * n / best / 1e9
        return out


class TfChainPeak:
    """A TF chain of dependent products x <- (x W) W^T in one tf.function, per dtype (GFLOP/s)."""

    k = 1

    def __init__(self, shapes, dtypes=("float32", "bfloat16")):
        self.shapes = [tuple(s) for s in shapes]
        self.dtypes = tuple(dtypes)

    def warmup(self):
        import tensorflow as tf
        tf.constant(1.0) + 1.0

    def measure(self):
        import tensorflow as tf
        out = {}
        for dtype in self.dtypes:
            for m, k, n in self.shapes:
                if (m, k, n) == (2048, 2048, 2048):
                    continue       # the reference square product: numpy only (keeps this short)
                x0 = tf.cast(tf.random.stateless_uniform((m, k), (1, 2)) < 0.2, dtype)
                w = tf.cast(tf.random.stateless_normal((k, n), (3, 4)) * 0.01, dtype)
                iters = max(4, int(4e9 / (4 * m * k * n)))

                @tf.function
                def chain(x, w=w, iters=iters):
                    for _ in tf.range(iters):
                        x = tf.matmul(tf.matmul(x, w), w, transpose_b=True)
                    return x
                chain(x0).numpy()
                best = float("inf")
                for _ in range(3):
                    start = time.perf_counter()
                    chain(x0).numpy()
                    best = min(best, time.perf_counter() - start)
                out[f"{dtype} {m}x{k}x{n}"] = 4.0 * m * k * n * iters / best / 1e9
        return out


def peak_references(shapes, device=None):
    """Matmul limits per dtype: {'numpy': {...}, 'tf': {...}, 'blas': [...]} (GFLOP/s).

    numpy runs with native kernels in its own worker; TF in another (on ``device``). The
    2048^3 product is always added as a reference shape.
    """
    shapes = [tuple(s) for s in shapes]
    if (2048, 2048, 2048) not in shapes:
        shapes.append((2048, 2048, 2048))
    np_worker = Worker("_isolation:NumpyPeak", shapes, native_blas=True)
    try:
        numpy_res = np_worker.run("measure")[2]
    finally:
        np_worker.close()
    tf_worker = Worker("_isolation:TfChainPeak", shapes, device=device)
    try:
        tf_res = tf_worker.run("measure")[2]
    finally:
        tf_worker.close()
    return {"numpy": numpy_res, "tf": tf_res, "blas": np_worker.blas}


def limit_gflops(peaks, shape, dtype):
    """The limit for one product shape and dtype: best of numpy (float32 only) and the TF chain."""
    key = "x".join(str(s) for s in shape)
    candidates = [peaks["tf"].get(f"{dtype} {key}", 0.0)]
    if dtype == "float32":
        candidates.append(peaks["numpy"].get(key, 0.0))
    return max(candidates)


def print_peaks(peaks):
    print(f"  numpy sgemm (native kernels: {'; '.join(peaks['blas'])}):")
    for key, value in peaks["numpy"].items():
        print(f"    {key:>16}: {value:7.1f} GFLOP/s")
    print("  TF chain of dependent products (oneDNN):")
    for key, value in peaks["tf"].items():
        print(f"    {key:>25}: {value:7.1f} GFLOP/s")
