"""Exact likelihoods of small RBMs, by enumeration.

log p(v) = -F(v) - log Z.  For a model with few hidden units,
    log Z = logsumexp_h [ c.h + log sum_v exp(-e_v(v; b) + v.W h) ]   (2^H terms);
with few visible (Bernoulli) units,  log Z = logsumexp_v [ -F(v) ]   (2^V terms).
Everything here accumulates in float64.
"""
import numpy as np
import tensorflow as tf

from tfrbm.errors import UserError
from tfrbm.likelihood.common import free_energy64, weights64

__all__ = [
    "MAX_EXACT_MULTIPLY_ADDS",
    "MAX_EXACT_UNITS",
    "binary_states",
    "exact_gradient",
    "exact_log_likelihood",
    "exact_log_partition",
    "exact_visible_distribution",
]

#: enumeration is refused above this many units in the smaller layer (2^25 states)
MAX_EXACT_UNITS = 25
#: ... and above this many float64 multiply-adds (2^n states x the other layer's units): the
#: 784 x 25 MNIST model (2.6e10, tens of seconds on 2 cores) passes, 25 x 2000 (6.7e10) does not
MAX_EXACT_MULTIPLY_ADDS = 2 ** 25 * 1000
#: states per chunk of an enumeration (bounds its memory: 2^14 rows of the enumerated layer)
STATES_PER_CHUNK = 1 << 14


def binary_states(n, start=0, stop=None):
    """Rows ``start..stop-1`` of all 2^n binary vectors, in counting order (float64)."""
    stop = (1 << n) if stop is None else stop
    idx = np.arange(start, stop, dtype=np.int64)[:, None]
    return ((idx >> np.arange(n, dtype=np.int64)[::-1]) & 1).astype(np.float64)


def _logsumexp_chunks(fn, n):
    """logsumexp over all 2^n states of the per-state log weights returned by fn(states)."""
    parts = []
    for start in range(0, 1 << n, STATES_PER_CHUNK):
        states = binary_states(n, start, min(start + STATES_PER_CHUNK, 1 << n))
        parts.append(tf.reduce_logsumexp(fn(states)))
    return float(tf.reduce_logsumexp(tf.stack(parts)).numpy())


def _check_small(layer, which):
    n_v, n_h = layer.n_visible, layer.units
    if which == "hidden":
        n = n_h
    elif which == "visible":
        if not layer.visible_units.binary or layer.visible_units.name != "bernoulli":
            raise UserError("enumerating visible states needs Bernoulli visible units")
        n = n_v
    else:
        n = min(n_h, n_v) if layer.visible_units.name == "bernoulli" else n_h
    if n > MAX_EXACT_UNITS:
        raise UserError(
            f"exact enumeration needs 2**{n} states ({n_v} visible x {n_h} hidden units; the smaller "
            f"enumerable layer has {n} > {MAX_EXACT_UNITS} units); use method='ais' for large models")
    other = n_v if n == n_h and which != "visible" else n_h
    work = (1 << n) * max(1, other)
    if work > MAX_EXACT_MULTIPLY_ADDS:
        raise UserError(
            f"exact enumeration of {n_v} visible x {n_h} hidden units costs 2**{n} states x {other} "
            f"units = {work:.2g} float64 multiply-adds, above the {MAX_EXACT_MULTIPLY_ADDS:.2g} "
            "limit (minutes of CPU time); both layers count, not only the enumerated one. Use "
            "method='ais' (an estimate with bounds) for this model")
    return n


def exact_log_partition(layer):
    """log Z by enumerating the smaller layer (the hidden one for non-Bernoulli visible units).

    Other hidden unit families (:mod:`tfrbm.units`): a Bernoulli visible layer is enumerated
    whatever the hidden family; discrete hidden units with more than two ``levels`` (relu) are
    enumerated over their levels; unit-variance Gaussian units on both sides have the closed
    form of a Gaussian integral (refused when W's largest singular value is >= 1, where there
    is no finite Z).
    """
    if layer.hidden_units.name != "bernoulli":
        return _exact_log_partition_units(layer)
    n = _check_small(layer, "auto")
    weights = weights64(layer)
    W, b, c = weights
    if n == layer.units:
        Wt, bt, ct = tf.constant(W), tf.constant(b), tf.constant(c)

        def log_weights(h):
            h = tf.constant(h)
            a = tf.matmul(h, Wt, transpose_b=True)
            return tf.linalg.matvec(h, ct) + layer.visible_units.log_marginal(a, bt)
        return _logsumexp_chunks(log_weights, layer.units)
    return _logsumexp_chunks(lambda v: -free_energy64(layer, v, weights), layer.n_visible)


def _level_grid(levels, n, other):
    """Every state of ``n`` units that each take one of ``levels`` (float64, len(levels)**n
    rows), refused when it (times the ``other`` layer's units) is too much work."""
    n_states = len(levels) ** n
    if n_states > (1 << MAX_EXACT_UNITS) or n_states * max(1, other) > MAX_EXACT_MULTIPLY_ADDS:
        raise UserError(f"exact enumeration needs {len(levels)}**{n} states; use method='ais' "
                        "for this model")
    return np.stack(np.meshgrid(*[np.asarray(levels, np.float64)] * n, indexing="ij"),
                    -1).reshape(-1, n)


def _exact_log_partition_units(layer):
    """log Z for hidden unit families other than Bernoulli (see :func:`exact_log_partition`)."""
    layer.check_normalizable()
    visible, hidden = layer.visible_units, layer.hidden_units
    weights = weights64(layer)
    W, b, c = weights
    if visible.name == "bernoulli" and layer.n_visible <= MAX_EXACT_UNITS:
        _check_small(layer, "visible")
        return _logsumexp_chunks(lambda v: -free_energy64(layer, v, weights), layer.n_visible)
    if visible.levels is not None and hidden.levels is None:
        grid = _level_grid(visible.levels, layer.n_visible, layer.units)
        return float(tf.reduce_logsumexp(-free_energy64(layer, grid, weights)).numpy())
    if visible.quadratic and hidden.quadratic:
        # E = 1/2 x^T P x - x.m + 1/2 (|b|^2 + |c|^2), x = [v; h], P = [[I, -W], [-W^T, I]]
        n_v, n_h = W.shape
        P = np.block([[np.eye(n_v), -W], [-W.T, np.eye(n_h)]])
        m = np.concatenate([b, c])
        _, logdet = np.linalg.slogdet(P)
        return float(0.5 * (n_v + n_h) * np.log(2 * np.pi) - 0.5 * logdet
                     + 0.5 * m @ np.linalg.solve(P, m) - 0.5 * (b @ b + c @ c))
    if hidden.levels is None:
        raise UserError(f"exact log Z is not available for {visible.name} visible and "
                        f"{hidden.name} hidden units; use method='ais'")
    h = tf.constant(_level_grid(hidden.levels, layer.units, layer.n_visible))
    log_w = (-hidden.energy_term(h, tf.constant(c))
             + visible.log_marginal(tf.matmul(h, tf.constant(W), transpose_b=True), tf.constant(b)))
    return float(tf.reduce_logsumexp(log_w).numpy())


def exact_visible_distribution(layer):
    """p(v) for every visible state (Bernoulli visible units, counting order of binary_states)."""
    _check_small(layer, "visible")
    states = binary_states(layer.n_visible)
    neg_f = -free_energy64(layer, states)
    neg_f -= neg_f.max()
    p = np.exp(neg_f)
    return p / p.sum()


def exact_gradient(layer, data):
    """The exact gradient of the mean log-likelihood: (dW, db, dc) = <.>_data - <.>_model."""
    if layer.hidden_units.name != "bernoulli":
        raise UserError("exact_gradient is implemented for Bernoulli hidden units only")
    _check_small(layer, "visible")
    W, b, c = weights64(layer)
    data = np.asarray(data, np.float64)
    sig = lambda x: 1.0 / (1.0 + np.exp(-x))  # noqa: E731
    ph_data = sig(data @ W + c)
    states = binary_states(layer.n_visible)
    p = exact_visible_distribution(layer)
    ph_model = sig(states @ W + c)
    dW = data.T @ ph_data / len(data) - (states * p[:, None]).T @ ph_model
    db = data.mean(0) - p @ states
    dc = ph_data.mean(0) - p @ ph_model
    return dW, db, dc


def exact_log_likelihood(layer, data):
    """Mean log p(v) over the rows of ``data``, exactly."""
    neg_f = -free_energy64(layer, data)
    return float(np.mean(neg_f) - exact_log_partition(layer))
