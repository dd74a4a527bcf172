"""What RBMModel and DBNModel share in training: the in-graph data check and the UserError it
becomes, the warning for unscaled real-valued data, and the steps-per-execution default.
"""
import contextlib
import re
import struct
import warnings

import numpy as np
import tensorflow as tf

from tfrbm.errors import UserError

__all__ = ["AUTO_STEPS_PER_EXECUTION", "DATA_CHECK_TAG", "UNSCALED_LIMIT", "batch_problem",
           "data_error", "named_data_errors", "warn_if_unscaled"]

#: CD steps ``fit`` runs per call into the compiled graph when ``compile`` gets
#: ``steps_per_execution="auto"`` (the default) and no callback hooks single batches. It removes
#: Keras' per-batch Python overhead (about a third of a 100 x 784 x 500 CD-1 step on 2 CPU cores,
#: see benchmarks/RESULTS.md) and computes exactly the same updates in the same order.
AUTO_STEPS_PER_EXECUTION = 32

#: the marker of the in-graph data check's assertion (:func:`batch_problem`), which
#: :func:`data_error` turns into a UserError
DATA_CHECK_TAG = "TFRBM_BAD_BATCH"

#: real-valued (Gaussian, unit-variance) visible data whose column means or standard deviations
#: exceed this is "far from standardized": fit warns
UNSCALED_LIMIT = 5.0


def warn_if_unscaled(sample):
    """Warn when real-valued training data is far from standardized (it saturates the hiddens).

    Gaussian visible units here have unit variance, so p(h | v) = sigmoid(c + v W) sees v on
    its raw scale: pixels in 0..255 push every hidden unit to 0 or 1 and CD learns nothing.
    """
    mean = np.abs(sample.mean(axis=0)).max()
    std = sample.std(axis=0).max()
    if mean > UNSCALED_LIMIT or std > UNSCALED_LIMIT:
        warnings.warn(
            f"Gaussian visible units expect standardized data, but the training data has column "
            f"means up to {mean:.3g} and standard deviations up to {std:.3g} in absolute value; "
            "unscaled data saturates every hidden unit. Standardize each feature first: "
            "x = (x - x.mean(0)) / x.std(0) (with the training set's mean and std; "
            "tfrbm.data.Standardizer does it)",
            UserWarning, stacklevel=3)


def batch_problem(x, units, batch_number, step):
    """The in-graph data check: ``x`` unchanged if every value is allowed, else an assertion.

    Allowed: finite values, and for binary visible units (Bernoulli, softmax) values in [0, 1].
    The success path is three read-only reductions of the batch (min, max and sum: the sum is
    NaN if any value is, whatever min/max do with NaN) and a few scalar comparisons, about 1%
    of a 100 x 784 x 500 CD-1 step (benchmarks/RESULTS.md, issue 20). Only a failing batch
    looks for the first bad value (inside a ``tf.cond`` with no side effects), so the error can
    name the batch, the row, the column and the value.

    The assertion itself sits outside any ``tf.cond`` and carries int32 data only (the value as
    its float32 bits), so TensorFlow adds no guard ``cond`` around it: an assertion inside a
    branch becomes a control input of the branch's merge, which made Grappler's loop optimizer
    warn "Skipping loop optimization ... AssertGuard" on every fit (issue 30).
    """
    lo, hi, total = tf.reduce_min(x), tf.reduce_max(x), tf.reduce_sum(x)
    if units.binary:
        ok = (lo >= 0) & (hi <= 1) & tf.math.is_finite(total)
    else:
        ok = tf.math.is_finite(lo) & tf.math.is_finite(hi) & tf.math.is_finite(total)

    def where_bad():
        if units.binary:
            bad = tf.logical_not((x >= 0) & (x <= 1))          # NaN fails both comparisons
        else:
            bad = tf.logical_not(tf.math.is_finite(x))
            # all finite but the sum overflowed: point at the largest value
            bad = tf.cond(tf.reduce_any(bad), lambda: bad,
                          lambda: tf.abs(x) >= tf.reduce_max(tf.abs(x)))
        first = tf.cast(tf.where(bad)[0], tf.int32)
        value = tf.bitcast(tf.cast(tf.gather_nd(x, first), tf.float32), tf.int32)
        n_bad = tf.reduce_sum(tf.cast(bad, tf.int32))
        return tf.stack([first[0], first[1], value, n_bad])

    details = tf.cond(ok, lambda: tf.zeros([4], tf.int32), where_bad)
    check = tf.debugging.Assert(ok, [DATA_CHECK_TAG, tf.cast(batch_number, tf.int32),
                                     tf.cast(step, tf.int32), details], summarize=8)
    with tf.control_dependencies([check]):
        return tf.identity(x)


def data_error(exc, what, units):
    """Turn the in-graph data assertion into a UserError naming the data, or None if not ours."""

    text = str(getattr(exc, "message", exc))
    if DATA_CHECK_TAG not in text:
        return None
    fields = re.findall(r"\[([^\]]*)\]", text[text.index(DATA_CHECK_TAG):])
    try:
        batch, step = int(fields[0]), int(fields[1])
        row, col, bits, n_bad = (int(f) for f in fields[2].split())
        value = f"{struct.unpack('<f', struct.pack('<i', bits))[0]:g}"
    except (ValueError, IndexError, struct.error):
        return UserError(f"{what} holds a bad value ({text.splitlines()[0]})")
    allowed = ("finite values in [0, 1]" if units.binary else "finite values")
    when = f"batch {batch} of the epoch (training step {step})" if step else f"batch {batch}"
    return UserError(
        f"{what}: {when} has value {value} at row {row}, column {col} ({n_bad} bad value"
        f"{'s' if n_bad != 1 else ''} in the batch); {units.name} visible units need {allowed}. "
        "The data is at fault, not the learning rate: drop or fix the rows"
        + (", or rescale it to [0, 1] (e.g. divide pixels by 255)" if units.binary else "")
        + "."
        + (" The weights were not updated with this batch." if step else ""))


@contextlib.contextmanager
def named_data_errors(what, units):
    """Re-raise the in-graph data assertion of a training or evaluation loop as the UserError
    of :func:`data_error` (naming ``what``, the batch, row and column); other errors pass."""
    try:
        yield
    except tf.errors.InvalidArgumentError as exc:
        error = data_error(exc, what, units)
        if error is None:
            raise
        raise error from None
