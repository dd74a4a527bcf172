"""The benchmarks' shared plumbing: timing, peers in their own processes, result lines, data.

Every script in benchmarks/ runs from the repository root as ``python benchmarks/bench_x.py
...``; Python puts the script's own folder first on ``sys.path``, so ``import harness`` finds
this module (and tfrbm is the installed package, ``pip install -e .``). No script edits
``sys.path``.

* **Timing:** :func:`cpu_seconds` (user + system, all threads), :func:`uptime_line` (the load
  averages, recorded with every run), :func:`rss_mib` / :func:`peak_rss_mib`,
  :func:`cpu_budget_callback` (log each epoch with the process CPU time; stop past a cap).
* **Options:** :func:`add_options` (``--name`` options typed by their defaults).
* **Result lines:** :func:`log` (print, flushed), :func:`emit` (one JSON result line),
  :func:`write_json` (``--json`` files), :func:`command_line` (the command that made a figure).
* **Peers in their own processes:** every implementation can run in its own worker process
  (:class:`Worker`), so that no library's idle thread pool (OpenBLAS, OpenMP and TF threads spin
  for a while after each call) steals the cores while another library is being timed;
  :func:`run_side` runs one side of a comparison as a subprocess of the script itself.
  Workers and sides of numpy-based peers get **native BLAS kernels**: ``OPENBLAS_CORETYPE`` and
  ``OPENBLAS_L2_SIZE`` are removed from that process's environment only (a machine that sets
  ``OPENBLAS_CORETYPE=Haswell`` forces numpy onto AVX2 kernels: 199 against 352 GFLOP/s sgemm on
  this CPU, issue 21). The parent process, tests and CI keep their environment. Each worker
  reports the BLAS libraries it loaded (:func:`blas_kernels`, threadpoolctl): internal API,
  version and the kernel architecture (OpenBLAS' ``corename``), printed beside each result.
* **Peak references:** :func:`peak_references` measures the matmul limit per dtype: numpy sgemm
  with native kernels and a TF chain of dependent products (v W, then (v W) W^T, ...) in
  float32 and bfloat16.
* **Judges:** :func:`logreg_accuracy` (the linear probe of features), :func:`course_cnn_judge` (the course CNN that judges generated digits) and
  :func:`judge_rates` (per class, with Wilson intervals).
* **Data:** :func:`binarize` and :func:`binarized_mnist`, MNIST binarized once by sampling
  (pixel ~ Bernoulli(intensity)) with a fixed seed.

Importing this module sets ``TF_CPP_MIN_LOG_LEVEL=2`` unless it is set (TF's C++ notices off),
and imports neither numpy nor TensorFlow: a peer's process must be able
to drop the BLAS variables before numpy loads OpenBLAS, and a numpy worker must not start TF's
thread pools. The functions that need them import them when called.
"""
import contextlib
import importlib
import json
import os
import resource
import subprocess
import sys
import threading
import time

# TF's C++ start-up notices off in every benchmark unless asked for (set before TF loads: a
# script imports the harness before keras or tensorflow)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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


def uptime_line():
    """`uptime`'s load averages (1, 5, 15 min), recorded with every run."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def rss_mib():
    """Current resident set size of this process in MiB (Linux /proc)."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib():
    """Peak resident set size of this process so far, in MiB (``ru_maxrss``)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ----------------------------------------------------------------------------- options
def add_options(parser, **defaults):
    """Add one ``--name`` option per keyword to an argparse ``parser`` (underscores become
    dashes), typed by its default: an int, float or str default gives that type; a
    ``(type, default)`` pair gives both (``limit=(int, None)``). Returns the parser.

        add_options(p, epochs=10, lr=0.05, data="mnist", limit=(int, None))
    """
    for name, default in defaults.items():
        kind, value = default if isinstance(default, tuple) else (type(default), default)
        parser.add_argument("--" + name.replace("_", "-"), type=kind, default=value)
    return parser


# ----------------------------------------------------------------------------- result lines
def log(*args):
    """print, flushed at once (a long run's log is read while it runs)."""
    print(*args, flush=True)


def emit(row):
    """Print ``row`` as one JSON result line (flushed); return it."""
    print(json.dumps(row, default=str), flush=True)
    return row


def command_line(script, argv=None):
    """The command that made a result: ``python benchmarks/SCRIPT ARGS`` (``argv`` or sys.argv)."""
    args = sys.argv[1:] if argv is None else list(argv)
    return " ".join(["python", f"benchmarks/{os.path.basename(script)}", *map(str, args)])


def cpu_budget_callback(cpu_cap_seconds=0.0, key=None, scale=1.0, checkpoint=None, every=10):
    """A Keras callback that logs each epoch with the process CPU time and stops training after
    the epoch at which the process has used ``cpu_cap_seconds`` (0: no cap).

    ``key``: log (and record in ``.curve`` as (epoch, value * scale, CPU s)) only this entry of
    the epoch's logs; None logs every entry. ``checkpoint``: save the model there every
    ``every`` epochs. After training, ``.epochs_done`` and ``.capped_at`` (the epoch the cap
    stopped, or None) say how far it went.
    """
    import keras   # only when training: importing the harness loads no TensorFlow

    class CPUBudget(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.curve, self.epochs_done, self.capped_at = [], 0, None

        def on_epoch_end(self, epoch, logs=None):
            logs, cpu = logs or {}, cpu_seconds()
            self.epochs_done = epoch + 1
            if key is None:
                log(f"  epoch {epoch + 1}: "
                    + ", ".join(f"{k} {float(v):.5g}" for k, v in logs.items())
                    + f", cpu {cpu:.0f} s")
            elif logs.get(key) is not None:
                value = float(logs[key]) * scale
                self.curve.append((epoch + 1, round(value, 4), round(cpu)))
                log(f"  epoch {epoch + 1}: {key} {value:.4f}, process CPU {cpu:.0f} s")
            if cpu_cap_seconds and cpu >= cpu_cap_seconds:
                log(f"  CPU cap of {cpu_cap_seconds:.0f} s reached after epoch {epoch + 1}: "
                    "stopping")
                self.capped_at = epoch + 1
                self.model.stop_training = True
            if checkpoint and (epoch + 1) % every == 0:
                self.model.save(checkpoint)
                log(f"  checkpoint after epoch {epoch + 1}: {checkpoint}")

    return CPUBudget()


def t_interval(values, level=0.95):
    """Mean of ``values`` (folds, seeds) and the half-width of its Student-t interval at
    ``level`` (nan for fewer than two values)."""
    import numpy as np
    from scipy import stats
    v = np.asarray(values, float)
    if len(v) < 2:
        return float(v.mean()), float("nan")
    half = stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return float(v.mean()), float(half)


# ----------------------------------------------------------------------------- data
def binarize(x, seed, draw_dtype="float64"):
    """``x`` (intensities in [0, 1]) binarized once: 1 where a uniform draw is below the
    intensity. ``seed``: an int or a numpy Generator (then its draws continue its stream);
    ``draw_dtype``: the dtype of the uniform draws (float32 and float64 draws are different
    streams; each benchmark keeps the one its recorded figures used)."""
    import numpy as np
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return (rng.random(x.shape, dtype=np.dtype(draw_dtype)) < x).astype(np.float32)


def binarized_mnist(split="train", limit=None, seed=None, data_dir=None, draw_dtype="float64",
                    labels=False):
    """The MNIST ``split`` (first ``limit`` rows), binarized once by :func:`binarize` with
    ``seed`` (default: 0 for the training set, 1 for the test set); with ``labels`` the pair
    (images, labels)."""
    from tfrbm.data.images import load_mnist
    x, y = load_mnist(split, data_dir=data_dir)
    if limit:
        x, y = x[:limit], y[:limit]
    if seed is None:
        seed = 0 if split == "train" else 1
    xb = binarize(x, seed, draw_dtype)
    return (xb, y) if labels else xb


# ----------------------------------------------------------------------------- judges
def logreg_accuracy(f_train, y_train, f_test, y_test, c=1.0, standardize=False, max_iter=300):
    """Test accuracy of scikit-learn's LogisticRegression(C=``c``, lbfgs) fitted on features
    ``f_train`` (standardized first, on the training rows' statistics, with ``standardize``):
    the benchmarks' linear probe of RBM features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    if standardize:
        scaler = StandardScaler().fit(f_train)
        f_train, f_test = scaler.transform(f_train), scaler.transform(f_test)
    clf = LogisticRegression(C=c, max_iter=max_iter).fit(f_train, y_train)
    return float(clf.score(f_test, y_test))


def course_cnn_judge(epochs, seed=0, limit=None, save=None, data_dir=None):
    """The course CNN trained on MNIST intensities by its own recipe
    (:func:`tfrbm.pipelines.companions.train_cnn`: Adam 1e-4, batch 50, ``epochs``, the first
    ``limit`` training and test images), the judge of generated digits. Returns (model, test
    accuracy); ``save`` keeps it (``.keras``), else it goes through a temporary file."""
    import tempfile

    import keras

    from tfrbm.pipelines.companions import train_cnn

    with tempfile.TemporaryDirectory(prefix="tfrbm_judge_") as tmp:
        path = save or os.path.join(tmp, "course_cnn.keras")
        start, cpu_start = time.perf_counter(), cpu_seconds()
        metrics = train_cnn(data_dir=data_dir, epochs=epochs, limit=limit, seed=seed, output=path,
                            verbose=0)
        log(f"course CNN: {epochs} epochs on {limit or 'all'} images, test accuracy "
            f"{metrics['test_accuracy']:.4f}, {time.perf_counter() - start:.0f} s, "
            f"CPU {cpu_seconds() - cpu_start:.0f} s")
        return keras.saving.load_model(path), float(metrics["test_accuracy"])


def judge_rates(predicted, labels, n_classes=10):
    """Per class, the share of samples that a judge labels as their requested class, with the
    lower end of its Wilson 95 % interval: {"per_class", "per_class_lower95", "min",
    "min_lower95", "mean"}."""
    import numpy as np

    from tfrbm.anomaly import binomial_interval

    rates, lower = [], []
    for k in range(n_classes):
        hits = predicted[labels == k] == k
        rates.append(float(hits.mean()))
        lower.append(binomial_interval(int(hits.sum()), len(hits))[0])
    return {"per_class": rates, "per_class_lower95": lower, "min": min(rates),
            "min_lower95": min(lower), "mean": float(np.mean(rates))}


# ----------------------------------------------------------------------------- sides
def run_side(script, args, native_blas=False, env=None):
    """Run ``python SCRIPT ARGS`` in its own process and return its last output line parsed as
    JSON; ``native_blas`` removes :data:`CRIPPLING_BLAS_VARIABLES` from that process only, and
    ``env`` (a dict) adds variables to its environment. Raises RuntimeError with the end of its
    stderr if it fails."""
    env = dict(os.environ, **(env or {}))
    if native_blas:
        for name in CRIPPLING_BLAS_VARIABLES:
            env.pop(name, None)
    out = subprocess.run([sys.executable, os.path.abspath(script), *map(str, args)],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{os.path.basename(script)} {' '.join(map(str, args))} failed:\n"
                           + out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


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

    ``factory`` is "module:callable" importable in the child (a spawned child starts with this
    process's ``sys.path``, so the script's folder, and this module, are on it); ``native_blas`` removes :data:`CRIPPLING_BLAS_VARIABLES` from the child's
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
    np_worker = Worker("harness:NumpyPeak", shapes, native_blas=True)
    try:
        numpy_res = np_worker.run("measure")[2]
    finally:
        np_worker.close()
    tf_worker = Worker("harness:TfChainPeak", shapes, device=device)
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
