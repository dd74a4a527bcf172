"""Likelihoods of a deep Boltzmann machine: exact enumeration for tiny DBMs and AIS for log Z.

Layers x_0 = v, ..., x_L with E(x) = -sum_l x_l.b_l - sum_l x_l^T W_l x_{l+1} (see
:mod:`tfrbm.models.dbm`). Given the layers of one parity, the layers of the other parity are
independent, so they can be summed out analytically. With E the even layers (v, h_2, ...) and O
the odd ones (h_1, h_3, ...),

    log p*(x_E) = sum_{l in E} x_l.b_l + sum_{l in O} sum_j softplus(b_lj + x_{l-1} W_{l-1} + x_{l+1} W_l^T)_j.

* :func:`exact_log_partition`: log Z = logsumexp over the states of the parity with fewer units
  (the other summed out), in float64; :func:`exact_log_probability`: log p(v) likewise with v
  clamped.
* :func:`ais_log_partition`: annealed importance sampling over the even layers with the odd
  layers summed out (Salakhutdinov & Hinton 2009, section 4). For 0 = beta_0 < ... < beta_K = 1,

      log p*_k(x_E) = sum_{l in E} x_l.((1 - beta_k) a_l + beta_k b_l)
                      + sum_{l in O} sum_j softplus(beta_k (b_l + inputs from E))_j,

  so p_0 is the base model (independent even layers with biases a_l: the data's base rates for
  v, the model's own biases for h_2, h_4, ...; Z_0 = prod(1 + e^a) 2^|O|) and p_K the DBM. Each
  run adds log p*_k(x) - log p*_{k-1}(x) to its log weight and then moves x by one Gibbs sweep
  that leaves p_k invariant (:meth:`DBMModel.gibbs_sweep` with beta_k). log Z = log Z_0 +
  log mean(w). The result is a :class:`tfrbm.likelihood.ais.AISResult` with the +-3 sd spread and the ESS;
  :func:`ais_with_doubling` also runs half the schedule and records the change of log Z.

The variational bound (``DBMModel.log_likelihood(x, method="bound")``) is mean(bound + log Z)
- log Z. With log Z from AIS the bound is itself an estimate: AIS underestimates log Z in
expectation (Jensen), which biases the "lower bound" upwards, so report it with the AIS spread,
ESS and change on doubling the betas.
"""
import math
import time

import numpy as np
import tensorflow as tf

from tfrbm import gibbs
from tfrbm.likelihood.ais import AISResult, check_betas, make_betas, summarize_log_weights
from tfrbm.errors import UserError
from tfrbm.likelihood.exact import binary_states

__all__ = ["MAX_ENUMERATED_UNITS", "enumerable", "exact_log_partition", "exact_log_probability",
           "ais_log_partition", "ais_with_doubling"]

#: enumeration is refused when the smaller parity class has more units than this (2^22 states)
MAX_ENUMERATED_UNITS = 22
_CHUNK = 1 << 13


def _params64(dbm):
    return ([w.numpy().astype(np.float64) for w in dbm.kernels],
            [b.numpy().astype(np.float64) for b in dbm.biases])


def _softplus(x):
    return np.logaddexp(0.0, x)


def _log_marginal(W, b, given, summed):
    """log p*(x_given) with the layers in ``summed`` (one parity, all their neighbours given)
    summed out; ``given`` maps layer -> (rows, n_l) states. Rows broadcast."""
    value = 0.0
    for l, x in given.items():
        value = value + x @ b[l]
        if l + 1 in given:
            value = value + np.einsum("ri,ij,rj->r", x, W[l], given[l + 1])
    for l in summed:
        a = b[l]
        if l - 1 in given:
            a = a + given[l - 1] @ W[l - 1]
        if l + 1 in given:
            a = a + given[l + 1] @ W[l].T
        value = value + _softplus(a).sum(axis=-1)
    return value


def _parities(sizes):
    even = [l for l in range(len(sizes)) if l % 2 == 0]
    odd = [l for l in range(len(sizes)) if l % 2 == 1]
    return even, odd


def enumerable(dbm):
    """Whether :func:`exact_log_partition` can enumerate ``dbm`` (its smaller parity class has
    at most :data:`MAX_ENUMERATED_UNITS` units)."""
    even, odd = _parities(dbm.sizes)
    return min(sum(dbm.sizes[l] for l in even), sum(dbm.sizes[l] for l in odd)) <= MAX_ENUMERATED_UNITS


def _split(states, layers, sizes):
    out, start = {}, 0
    for l in layers:
        out[l] = states[:, start:start + sizes[l]]
        start += sizes[l]
    return out


def _logsumexp(values):
    values = np.asarray(values, np.float64)
    m = values.max(axis=0)
    return m + np.log(np.exp(values - m).sum(axis=0))


def _enumerated_log_sum(dbm, candidates, clamped, what, remedy):
    """log sum over the states of the smaller of the two layer groups ``candidates`` (the
    other group summed out analytically), with the layers in ``clamped`` fixed; float64."""
    sizes = dbm.sizes
    (first, second) = candidates
    n_first, n_second = sum(sizes[l] for l in first), sum(sizes[l] for l in second)
    enum, summed = (first, second) if n_first <= n_second else (second, first)
    n = min(n_first, n_second)
    if n > MAX_ENUMERATED_UNITS:
        raise UserError(f"exact {what} enumerates 2^{n} states, above the limit of "
                        f"2^{MAX_ENUMERATED_UNITS}; use {remedy}")
    W, b = _params64(dbm)
    parts = []
    for start in range(0, 1 << n, _CHUNK):
        states = binary_states(n, start, min(start + _CHUNK, 1 << n))
        given = _split(states, enum, sizes)
        given.update({l: np.broadcast_to(x, (len(states), sizes[l])) for l, x in clamped.items()})
        parts.append(_logsumexp(_log_marginal(W, b, given, summed)))
    return float(_logsumexp(parts))


def exact_log_partition(dbm):
    """log Z of a tiny DBM by enumerating the parity class with fewer units (float64)."""
    dbm._require_built()
    return _enumerated_log_sum(dbm, _parities(dbm.sizes), {}, "log Z", "method='ais'")


def exact_log_probability(dbm, x):
    """log p(v) of each row of ``x`` for a tiny DBM (enumeration; float64 numpy): v clamped,
    the hidden parity class with fewer units enumerated, the other summed out."""
    dbm._require_built()
    x = np.asarray(x, np.float64)
    L = dbm.n_layers
    hidden = ([l for l in range(2, L + 1, 2)], [l for l in range(1, L + 1, 2)])
    log_z = exact_log_partition(dbm)
    return np.array([_enumerated_log_sum(dbm, hidden, {0: row}, "log p(v)", "method='bound'")
                     for row in x]) - log_z


# ----------------------------------------------------------------------------- AIS
def _base_biases(dbm, base_biases):
    """[a_0, a_2, a_4, ...] (float32 numpy): the base model's biases of the even layers."""
    even = [l for l in range(len(dbm.sizes)) if l % 2 == 0]
    if base_biases is None:
        a0 = dbm.base_rate_bias.numpy() if float(dbm.initialized.numpy()) > 0 \
            else np.zeros(dbm.sizes[0], np.float32)
        base_biases = [a0] + [dbm.biases[l].numpy() for l in even[1:]]
    base_biases = [np.asarray(a, np.float32).reshape(-1) for a in base_biases]
    if len(base_biases) != len(even) or any(len(a) != dbm.sizes[l]
                                           for a, l in zip(base_biases, even)):
        raise UserError(f"base_biases must hold one vector per even layer, of sizes "
                        f"{[dbm.sizes[l] for l in even]}")
    if not all(np.all(np.isfinite(a)) for a in base_biases):
        raise UserError("base_biases contain NaN or Inf")
    return base_biases


def _log_weight_step(dbm, states, beta_prev, beta, base):
    """(log p*_beta(x_E) - log p*_beta_prev(x_E) in float64 per run, the odd layers' inputs):
    each odd layer's total input a_l is computed once, for both terms and for the sweep."""
    beta64, prev64 = tf.cast(beta, tf.float64), tf.cast(beta_prev, tf.float64)
    value = tf.zeros(tf.shape(states[0])[:1], tf.float64)
    for l in range(0, len(states), 2):
        shift = tf.cast(dbm.biases[l], tf.float64) - tf.cast(base[l // 2], tf.float64)
        value += (beta64 - prev64) * tf.linalg.matvec(tf.cast(states[l], tf.float64), shift)
    odd_inputs = {}
    for l in range(1, len(states), 2):
        odd_inputs[l] = dbm.layer_input(l, states)
        a = tf.cast(odd_inputs[l], tf.float64)
        value += tf.reduce_sum(tf.math.softplus(beta64 * a) - tf.math.softplus(prev64 * a), axis=-1)
    return value, odd_inputs


def _annealing_chunk(dbm):
    """The compiled chunk: anneal through ``betas`` (beta_{k-1}, beta_k, ...) from ``states``."""
    def run(states, log_w, betas, base, seed, offset):
        n = tf.shape(betas)[0]

        def body(k, log_w, *s):
            s = list(s)
            step, odd_inputs = _log_weight_step(dbm, s, betas[k - 1], betas[k], base)
            beta = tf.cast(betas[k], s[0].dtype)
            base_list = [tf.cast(a, s[0].dtype) for a in base]
            s = dbm.gibbs_sweep(s, gibbs.fold(seed, offset + k), beta=beta, base_biases=base_list,
                                odd_inputs=odd_inputs)
            return (k + 1, log_w + step) + tuple(s)

        out = tf.while_loop(lambda k, *_: k < n, body, (tf.constant(1), log_w) + tuple(states))
        return list(out[2:]), out[1]

    return tf.function(run, reduce_retracing=True)


def ais_log_partition(dbm, n_runs=100, betas=None, n_betas=None, base_biases=None, seed=0,
                      chunk=500, warn=True):
    """AIS estimate of log Z of ``dbm`` (an :class:`tfrbm.likelihood.ais.AISResult`).

    ``betas``: the schedule (default :func:`tfrbm.likelihood.ais.make_betas`, 14,500 steps, or
    ``n_betas`` steps with the same shape); ``base_biases``: [a_0, a_2, ...] for the even
    layers (default: the training data's base rates for v, the model's biases above).
    ``chunk`` betas run per compiled call. Warns (:class:`tfrbm.likelihood.ais.AISWarning`) when the ESS
    is low.
    """
    dbm._require_built()
    if isinstance(n_runs, bool) or not isinstance(n_runs, (int, np.integer)) or n_runs < 2:
        raise UserError(f"n_runs must be an integer >= 2, got {n_runs!r}")
    if betas is not None and n_betas is not None:
        raise UserError("give betas or n_betas, not both")
    betas = check_betas(betas) if betas is not None else make_betas(n_betas)
    base = _base_biases(dbm, base_biases)
    sizes = dbm.sizes
    n_odd = sum(sizes[l] for l in range(1, len(sizes), 2))
    log_z0 = float(sum(_softplus(a.astype(np.float64)).sum() for a in base)) + n_odd * math.log(2)
    seed_t = tf.constant([int(seed), 0], tf.int64)
    # start: even layers from the base model, odd layers (redrawn before use) at zero
    states = []
    for l, size in enumerate(sizes):
        if l % 2 == 0:
            p = tf.sigmoid(tf.broadcast_to(tf.constant(base[l // 2]), (n_runs, size)))
            states.append(tf.cast(tf.random.stateless_uniform((n_runs, size),
                                                              gibbs.fold(seed_t, 1000 + l)) < p,
                                  tf.float32))
        else:
            states.append(tf.zeros((n_runs, size), tf.float32))
    run = _annealing_chunk(dbm)
    base_t = [tf.constant(a) for a in base]
    log_w = tf.zeros((n_runs,), tf.float64)
    betas_t = tf.constant(betas, tf.float64)
    k = 0
    while k < len(betas) - 1:
        stop = min(k + int(chunk), len(betas) - 1)
        states, log_w = run(states, log_w, betas_t[k:stop + 1], base_t, seed_t, tf.constant(k))
        k = stop
    result = summarize_log_weights(log_w.numpy(), log_z0=log_z0, betas=betas)
    if warn:
        result.warn_if_unreliable(stacklevel=3)
    return result


def ais_with_doubling(dbm, n_betas, n_runs=100, base_biases=None, seed=0, chunk=500):
    """Run AIS with ``n_betas`` and with 2 x ``n_betas`` betas (independent seeds); the longer
    run's AISResult, whose ``history`` holds both and whose ``change_on_doubling`` is
    log Z(2K) - log Z(K)."""
    history, results = [], []
    for i, k in enumerate((int(n_betas), 2 * int(n_betas))):
        t0 = time.time()
        r = ais_log_partition(dbm, n_runs=n_runs, n_betas=k, base_biases=base_biases,
                              seed=int(seed) + i, chunk=chunk, warn=False)
        history.append({"n_betas": k, "log_z": r.log_z, "log_z_lower": r.log_z_lower,
                        "log_z_upper": r.log_z_upper, "ess": r.ess,
                        "seconds": round(time.time() - t0, 2)})
        results.append(r)
    last = results[-1]
    out = AISResult(*last, log_weights=last.log_weights, log_z0=last.log_z0, betas=last.betas,
                    history=history)
    out.warn_if_unreliable(stacklevel=2)
    return out
