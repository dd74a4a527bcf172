"""The shared tf.data toolkit: validate arrays, binarize pixels, and build shuffled, batched pipelines.

Every data module (images, text, ratings) builds its tf.data.Dataset with :func:`make_dataset`,
and the RBM layer validates its input with :func:`check_array`.

Binarization turns intensities p in [0, 1] into binary states:

* ``"stochastic"``: v = 1 with probability p (v = [u < p], u ~ U(0, 1)), drawn afresh every
  time the data is used, as the MNIST assignment asks;
* ``"threshold"``: v = [p >= 0.5];
* ``None`` / ``"none"``: the intensities unchanged.
"""
import numbers

import os

import numpy as np

from tfrbm.validation import POSITIVE_INT, check_param
from tfrbm.errors import UserError
from tfrbm.limits import check_allocation

__all__ = [
    "BINARIZE_MODES",
    "binarize",
    "binarize_tensor",
    "check_array",
    "check_binarize_mode",
    "make_dataset",
]

BINARIZE_MODES = ("stochastic", "threshold", "none")


def check_binarize_mode(mode):
    """Return the canonical binarize mode ("stochastic", "threshold" or "none") or raise ValueError."""
    if mode is None or mode is False:
        return "none"
    if isinstance(mode, str) and mode.strip().lower() in BINARIZE_MODES:
        return mode.strip().lower()
    raise UserError(
        f"unknown binarize mode {mode!r}; expected one of "
        + ", ".join(repr(m) for m in BINARIZE_MODES) + " (or None)")


def _is_tensor(x):
    try:
        import tensorflow as tf
    except ImportError:  # pragma: no cover - tensorflow is a hard dependency
        return False
    return tf.is_tensor(x)


def binarize_tensor(x, mode, seed=None):
    """Binarize a float tensor inside TensorFlow.

    ``seed`` may be None (stateful ``tf.random.uniform``: fresh draws every call), a Python int,
    or a shape-[2] integer tensor for ``tf.random.stateless_uniform`` (what :func:`make_dataset`
    passes so that each batch of each epoch gets its own reproducible draw).
    """
    import tensorflow as tf

    mode = check_binarize_mode(mode)
    x = tf.convert_to_tensor(x)
    if not x.dtype.is_floating:
        x = tf.cast(x, tf.float32)
    if mode == "none":
        return x
    if mode == "threshold":
        return tf.cast(x >= 0.5, x.dtype)
    if seed is None:
        u = tf.random.uniform(tf.shape(x), dtype=x.dtype)
    else:
        if isinstance(seed, numbers.Integral):
            seed = tf.constant([int(seed), 0], dtype=tf.int64)
        u = tf.random.stateless_uniform(tf.shape(x), seed=seed, dtype=x.dtype)
    return tf.cast(u < x, x.dtype)


def binarize(x, mode, seed=None):
    """Binarize intensities in [0, 1] (numpy in, float32 numpy out; tensors go to :func:`binarize_tensor`).

    ``seed``: None, an int or a ``numpy.random.Generator`` for the stochastic draw.
    """
    if _is_tensor(x):
        return binarize_tensor(x, mode, seed=seed)
    mode = check_binarize_mode(mode)
    x = np.asarray(x, dtype=np.float32)
    if mode == "none":
        return x
    if mode == "threshold":
        return (x >= 0.5).astype(np.float32)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return (rng.random(x.shape, dtype=np.float32) < x).astype(np.float32)


def check_array(x, name="x", n_features=None, bernoulli=False):
    """Validate a 2-D (examples, features) numeric array and return it as float32 numpy.

    scipy sparse matrices are densified, pandas DataFrames converted.
    Raises ValueError naming the problem: a non-numeric dtype, the wrong number of dimensions or
    features, an empty data set, NaN or Inf, or (``bernoulli=True``) values outside [0, 1].
    """
    if _is_tensor(x):
        x = x.numpy() if hasattr(x, "numpy") else np.asarray(x)
    if hasattr(x, "toarray") and hasattr(x, "tocsr"):  # scipy.sparse: visible layers are dense
        rows, cols = x.shape
        check_allocation(f"{name} densified from a sparse {rows:,} x {cols:,} matrix",
                         4 * rows * cols)
        x = x.toarray()
    try:
        arr = np.asarray(x)
    except ValueError as exc:  # ragged nested lists
        raise UserError(f"{name} is not a rectangular array: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise UserError(f"{name} has non-numeric dtype {arr.dtype}; expected numbers "
                         "(convert with np.asarray(x, dtype='float32'))")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise UserError(f"{name} has non-numeric dtype {arr.dtype} (complex); expected real numbers")
    if arr.ndim != 2:
        raise UserError(f"{name} must be 2-D (examples, features), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise UserError(f"{name}: data set is empty (shape {arr.shape})")
    if n_features is not None and arr.shape[1] != n_features:
        raise UserError(f"{name}: expected {n_features} features, got {arr.shape[1]}")
    if arr.shape[1] == 0:
        raise UserError(f"{name}: data set is empty (no features, shape {arr.shape})")
    arr = arr.astype(np.float32, copy=False)
    finite = np.isfinite(arr)
    if not finite.all():
        bad = int((~finite).sum())
        raise UserError(f"{name} contains NaN or Inf ({bad} value{'s' if bad != 1 else ''})")
    if bernoulli:
        lo, hi = float(arr.min()), float(arr.max())
        if lo < 0.0 or hi > 1.0:
            raise UserError(f"{name} has values outside [0, 1] for Bernoulli visible units "
                             f"(min {lo:g}, max {hi:g}); rescale the data or use Gaussian units")
    return arr


def _epoch_keyed(x, y, batch_size, shuffle, seed, mode, epoch, drop_remainder):
    """The batches of one pass whose order and binarization draws depend only on (seed, epoch).

    ``epoch`` is read once at the start of each pass (each new iterator), so a fit resumed at
    epoch e (Keras's ``BackupAndRestore``, :class:`tfrbm.resume.TrainingBackup`) sees exactly the
    order the uninterrupted run saw at epoch e. The permutation is
    ``tf.random.experimental.index_shuffle`` keyed on (seed, epoch): stateless, no O(N) buffer.
    """
    import tensorflow as tf

    n = int(x.shape[0])
    seed = tf.constant(int(seed), tf.int64)

    def one_pass(_):
        e = tf.cast(tf.convert_to_tensor(epoch), tf.int64)
        index = tf.range(n, dtype=tf.int64)
        if shuffle and n > 1:
            index = tf.random.experimental.index_shuffle(
                index, seed=tf.stack([seed, e]), max_index=n - 1)
        batches = tf.data.Dataset.from_tensor_slices(index).batch(
            batch_size, drop_remainder=drop_remainder)
        keys = tf.data.Dataset.range(tf.int64.max).map(
            lambda b: tf.random.experimental.stateless_fold_in(tf.stack([seed, ~e]), b))
        return tf.data.Dataset.zip((batches, keys))

    steps = n // batch_size if drop_remainder else -(-n // batch_size)
    ds = tf.data.Dataset.range(1).flat_map(one_pass).apply(
        tf.data.experimental.assert_cardinality(steps))

    def gather(index, key):
        xb = tf.gather(x, index)
        if mode == "stochastic":
            xb = binarize_tensor(xb, mode, seed=key)
        return xb if y is None else (xb, tf.gather(y, index))
    return ds.map(gather, num_parallel_calls=max(1, os.cpu_count() or 1), deterministic=True)


def make_dataset(x, y=None, batch_size=100, shuffle=True, seed=None, binarize=None, cache=True,
                 prefetch=True, drop_remainder=False, repeat=False, autotune=False, epoch=None):
    """Build a tf.data pipeline from numpy arrays: cache -> shuffle -> (repeat) -> batch -> binarize -> prefetch.

    ``x``: array of shape (N, ...) cast to float32; ``y``: optional labels of length N (dtype
    kept), yielding ``(x, y)`` tuples. Shuffling reshuffles every epoch. Binarization runs per
    batch after the cache, so stochastic binarization is drawn fresh each epoch; with a ``seed``
    the whole sequence of shuffles and draws is reproducible.

    ``autotune``: let tf.data's autotuner size the map parallelism and prefetch buffer. Off by
    default: the data here is in memory and cheap to batch, and on a 2-core CPU the autotuner's
    background work made about a third of the epochs of a compute-bound RBM fit take 1.8x as
    long (batch 1000, benchmarks/RESULTS.md); off, the map runs on every core and two batches
    are prefetched.

    ``epoch``: a scalar integer ``tf.Variable`` (or tensor-like) holding the current epoch number,
    e.g. :class:`tfrbm.resume.EpochCounter`'s ``variable``. With it each pass's order and
    stochastic binarization are a function of (``seed``, epoch) instead of "how many passes this
    dataset object has made", so a fit restarted at epoch e repeats the uninterrupted run's
    epoch e exactly (the resume guarantee of issue 20). Without a ``seed`` one is drawn from
    numpy's global generator (reproducible under ``keras.utils.set_random_seed``). Not
    combinable with ``repeat`` (each pass is one epoch).
    """
    import tensorflow as tf

    mode = check_binarize_mode(binarize)
    batch_size = check_param("batch_size", batch_size, POSITIVE_INT)
    if _is_tensor(x):
        x = x.numpy()
    try:
        x = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise UserError(f"x cannot be converted to float32: {exc}") from None
    if x.ndim == 0 or x.shape[0] == 0:
        raise UserError(f"x: data set is empty (shape {x.shape})")
    if mode != "none":
        finite = np.isfinite(x)
        if not finite.all():
            raise UserError("x contains NaN or Inf; cannot binarize")
        lo, hi = float(x.min()), float(x.max())
        if lo < 0.0 or hi > 1.0:
            raise UserError(f"x has values outside [0, 1] (min {lo:g}, max {hi:g}); "
                             f"binarize={mode!r} needs intensities in [0, 1]")
    if mode == "threshold":
        x = (x >= 0.5).astype(np.float32)  # deterministic: done once, before the cache
    if y is not None:
        if _is_tensor(y):
            y = y.numpy()
        y = np.asarray(y)
        if y.ndim == 0 or y.shape[0] != x.shape[0]:
            raise UserError(f"x and y disagree: {x.shape[0]} examples in x but "
                             f"{y.shape[0] if y.ndim else 'a scalar'} in y")
    # Tensors first: from_tensor_slices on a large numpy array is ~20x slower than on a tensor.
    x = tf.convert_to_tensor(x)
    if epoch is not None:
        if repeat:
            raise UserError("make_dataset: epoch= keys each pass to an epoch; it cannot repeat")
        if seed is None:
            seed = int(np.random.randint(0, 2**31 - 1))
        ds = _epoch_keyed(x, None if y is None else tf.convert_to_tensor(y), batch_size, shuffle,
                          seed, mode, epoch, drop_remainder)
        return _prefetched(ds, prefetch, autotune)
    if y is not None:
        ds = tf.data.Dataset.from_tensor_slices((x, tf.convert_to_tensor(y)))
    else:
        ds = tf.data.Dataset.from_tensor_slices(x)
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(buffer_size=int(x.shape[0]), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    parallel = tf.data.AUTOTUNE if autotune else max(1, os.cpu_count() or 1)
    if mode == "stochastic":
        # One int64 pair per batch, re-drawn on every pass over the data: fresh noise each epoch,
        # reproducible given the seed, independent of the parallel map's scheduling.
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip((ds, seeds))
        if y is not None:
            ds = ds.map(lambda xy, s: (binarize_tensor(xy[0], mode, seed=s), xy[1]),
                        num_parallel_calls=parallel, deterministic=True)
        else:
            ds = ds.map(lambda b, s: binarize_tensor(b, mode, seed=s),
                        num_parallel_calls=parallel, deterministic=True)
    return _prefetched(ds, prefetch, autotune)


def _prefetched(ds, prefetch, autotune):
    """``ds`` prefetching (2 batches, or tf.data's autotuned depth) and with tf.data's autotuning
    switched off unless ``autotune``: fixed, predictable thread use by default."""
    import tensorflow as tf
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE if autotune else 2)
    if not autotune:
        options = tf.data.Options()
        options.autotune.enabled = False
        ds = ds.with_options(options)
    return ds
