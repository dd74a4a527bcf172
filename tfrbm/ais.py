"""Annealed importance sampling (AIS) for the partition function of an RBM.

Salakhutdinov & Murray (ICML 2008), "On the quantitative analysis of deep belief networks".
The runs anneal from a base-rate model A (visible biases b_A only, no weights) to the RBM B
through the unnormalised marginals, for 0 = beta_0 < beta_1 < ... < beta_K = 1,

    log p*_k(v) = -[(1 - beta_k) e_v(v; b_A) + beta_k e_v(v; b_B)] + sum_j softplus(beta_k (c_j + v W_:j)),

so Z_0 = Z_A 2^H and Z_K = Z_B. Each run draws v ~ p_A, then for k = 1..K adds
log p*_k(v) - log p*_{k-1}(v) to its log weight and moves v by one Gibbs step that leaves p_k
invariant (h_j ~ sigmoid(beta_k (c_j + v W_:j)), v ~ visible.mean((1 - beta_k) b_A + beta_k (b_B + W h))).
Then  Z_B / Z_0 ~= mean_r exp(log w_r).

All runs advance together inside one compiled ``tf.while_loop`` over the betas; the matrix
products run in the layer's dtype while the log weights accumulate in float64.
"""
import collections
import math

import numpy as np
import tensorflow as tf

__all__ = ["AISResult", "DEFAULT_SEGMENTS", "make_betas", "check_betas", "base_rate_biases",
           "ais_log_weights", "ais_log_partition", "summarize_log_weights"]

#: Salakhutdinov & Murray's schedule: (end beta, number of steps) per segment; 14,500 in all.
DEFAULT_SEGMENTS = ((0.5, 500), (0.9, 4000), (1.0, 10000))

#: base-rate probabilities are clipped to [eps, 1 - eps] before taking log-odds
_BASE_RATE_EPS = 1e-3

AISResult = collections.namedtuple("AISResult", ["log_z", "log_z_lower", "log_z_upper"])
AISResult.__doc__ = """log Z estimate with its -3 and +3 standard-deviation bounds (nats)."""


def make_betas(n_steps=None, segments=DEFAULT_SEGMENTS):
    """Inverse temperatures 0 = beta_0 < ... < beta_K = 1 spaced linearly within segments.

    ``segments`` is a sequence of (end_beta, steps); the default is the paper's 0->0.5 in 500
    steps, 0.5->0.9 in 4,000 and 0.9->1 in 10,000 (K = 14,500). With ``n_steps`` the segments'
    step counts are rescaled proportionally so that K = n_steps (each segment keeps >= 1 step).
    Returns a float64 numpy array of length K + 1.
    """
    segments = [(float(end), int(steps)) for end, steps in segments]
    if not segments:
        raise ValueError("segments must name at least one (end_beta, steps) pair")
    if n_steps is not None:
        if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) \
                or n_steps < len(segments):
            raise ValueError(f"n_steps must be an integer >= {len(segments)} (one per segment), "
                             f"got {n_steps!r}")
        total = sum(steps for _, steps in segments)
        counts = [max(1, int(round(n_steps * steps / total))) for _, steps in segments]
        counts[-1] = max(1, counts[-1] + int(n_steps) - sum(counts))
        segments = [(end, count) for (end, _), count in zip(segments, counts)]
    parts, start = [np.zeros(1)], 0.0
    for end, steps in segments:
        if steps < 1:
            raise ValueError(f"every segment needs >= 1 step, got {steps} for the one ending at {end}")
        if not start < end <= 1.0:
            raise ValueError(f"segment ends must increase within (0, 1], got {end} after {start}")
        parts.append(np.linspace(start, end, steps + 1)[1:])
        start = end
    if start != 1.0:
        raise ValueError(f"the last segment must end at beta = 1, got {start}")
    return check_betas(np.concatenate(parts))


def check_betas(betas):
    """Validate an annealing schedule: 1-D, finite, strictly increasing from exactly 0 to exactly 1."""
    arr = np.asarray(betas, dtype=np.float64)
    if arr.ndim != 1 or arr.size < 2:
        raise ValueError(f"betas must be a 1-D sequence of at least 2 values, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("betas contain NaN or Inf")
    if arr[0] != 0.0 or arr[-1] != 1.0:
        raise ValueError(f"betas must start at 0 and end at 1, got {arr[0]:g} ... {arr[-1]:g}")
    steps = np.diff(arr)
    if np.any(steps <= 0):
        i = int(np.argmax(steps <= 0))
        raise ValueError(f"betas must be strictly increasing; beta[{i + 1}] = {arr[i + 1]:g} "
                         f"does not exceed beta[{i}] = {arr[i]:g}")
    return arr


def _layer_of(model_or_layer):
    layer = getattr(model_or_layer, "layer", model_or_layer)
    if not hasattr(layer, "kernel") or not getattr(layer, "built", False):
        raise ValueError("AIS needs a built RBMLayer (or RBMModel): train or build it first")
    return layer


def base_rate_biases(data, visible="bernoulli"):
    """Visible biases of the base-rate model fitted to ``data`` (maximum likelihood, no weights).

    Bernoulli: log(p / (1 - p)) of the pixel means p, clipped to [1e-3, 1 - 1e-3];
    Gaussian (unit variance): the means; softmax: log of each group's class frequencies.
    """
    from tfrbm.units import get_units
    units = get_units(visible)
    x = np.asarray(data, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"base_data must be a non-empty 2-D array (examples, features), got shape {x.shape}")
    mean = x.mean(axis=0)
    if units.name == "gaussian":
        return mean
    if units.name == "softmax":
        groups = np.clip(mean.reshape(-1, units.k), _BASE_RATE_EPS, None)
        return np.log(groups / groups.sum(axis=1, keepdims=True)).reshape(-1)
    p = np.clip(mean, _BASE_RATE_EPS, 1 - _BASE_RATE_EPS)
    return np.log(p / (1 - p))


def _base_biases(layer, base_data, base_biases):
    n_visible = layer.n_visible
    if base_data is not None and base_biases is not None:
        raise ValueError("give either base_data or base_biases, not both")
    if base_data is not None:
        biases = base_rate_biases(base_data, layer.visible_units)
        if biases.shape != (n_visible,):
            raise ValueError(f"base_data has {np.shape(base_data)[-1]} features; the RBM has {n_visible}")
        return biases
    if base_biases is None:
        return np.zeros(n_visible)
    biases = np.asarray(base_biases, dtype=np.float64)
    if biases.shape != (n_visible,):
        raise ValueError(f"base_biases must have shape ({n_visible},), got {biases.shape}")
    if not np.all(np.isfinite(biases)):
        raise ValueError("base_biases contain NaN or Inf")
    return biases


def _seed_tensor(seed):
    if seed is None:
        seed = int(np.random.default_rng().integers(0, 2**31 - 1))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer or None, got {seed!r}")
    return tf.constant([int(seed), 0], dtype=tf.int64)


_COMPILED = {}


def _compiled_run(units, jit_compile, matmul_dtype="float32"):
    """One tf.function per (unit family, jit, product dtype) that runs every AIS chain over every beta."""
    from tfrbm.layers import matmul
    key = (repr(units), bool(jit_compile), matmul_dtype)
    fn = _COMPILED.get(key)
    if fn is not None:
        return fn

    def run(W, b_b, c, b_a, betas, v0, seed):
        dtype = W.dtype
        db = tf.cast(b_b, tf.float64) - tf.cast(b_a, tf.float64)
        b_a64 = tf.cast(b_a, tf.float64)
        c = tf.convert_to_tensor(c)
        n_steps = tf.shape(betas)[0] - 1
        W = tf.cast(W, matmul_dtype)          # rounded once, not at every beta

        def body(k, v, log_w):
            beta_prev, beta = betas[k - 1], betas[k]
            beta_t = tf.cast(beta, dtype)
            x = matmul(v, W, matmul_dtype) + c
            ph = tf.sigmoid(beta_t * x)
            # log w += log p*_beta(v) - log p*_beta'(v). The visible part is linear in beta:
            # -(beta - beta') (e(v, b_B) - e(v, b_A)), exact for every unit family. The hidden part
            # sum_j softplus(beta x_j) - softplus(beta' x_j) is a small difference of large
            # terms; written as -log1p(sigmoid(beta x_j) expm1(-(beta - beta') x_j)) it is exact
            # in float32 (no cancellation), and the sum is accumulated in float64.
            d_beta = beta - beta_prev
            v64 = tf.cast(v, tf.float64)
            vis = -d_beta * (units.energy_term(v64, b_a64 + db) - units.energy_term(v64, b_a64))
            hid = -tf.math.log1p(ph * tf.math.expm1(-tf.cast(d_beta, dtype) * x))
            log_w = log_w + vis + tf.reduce_sum(tf.cast(hid, tf.float64), axis=-1)
            # one Gibbs step leaving p_beta invariant
            step = tf.random.experimental.stateless_fold_in(seed, k)
            s_h = tf.random.experimental.stateless_fold_in(step, 0)
            s_v = tf.random.experimental.stateless_fold_in(step, 1)
            h = tf.cast(tf.random.stateless_uniform(tf.shape(ph), seed=s_h, dtype=dtype) < ph, dtype)
            down = matmul(h, W, matmul_dtype, transpose_b=True)
            a = (1 - beta_t) * tf.cast(b_a, dtype) + beta_t * (b_b + down)
            v = units.sample(units.mean(a), s_v)
            return k + 1, v, log_w

        log_w0 = tf.zeros(tf.shape(v0)[:1], tf.float64)
        _, v, log_w = tf.while_loop(lambda k, *_: k <= n_steps, body, (tf.constant(1), v0, log_w0),
                                    parallel_iterations=1)
        return log_w, v

    fn = tf.function(run, jit_compile=bool(jit_compile), reduce_retracing=True)
    _COMPILED[key] = fn
    return fn


def ais_log_weights(layer, n_runs=100, betas=None, base_data=None, base_biases=None, seed=None,
                    jit_compile=False, matmul_dtype=None):
    """Run AIS and return (log_w, log_z0): the runs' float64 log importance weights and log Z_0.

    log Z_B ~= log_z0 + logmeanexp(log_w). Arguments as in :func:`ais_log_partition`.
    """
    layer = _layer_of(layer)
    if isinstance(n_runs, bool) or not isinstance(n_runs, (int, np.integer)) or n_runs < 1:
        raise ValueError(f"n_runs must be a positive integer, got {n_runs!r}")
    betas = make_betas() if betas is None else check_betas(betas)
    b_a = _base_biases(layer, base_data, base_biases)
    units = layer.visible_units
    dtype = layer.kernel.dtype
    # log Z_0 = log Z_A + H log 2: at beta = 0 every hidden unit contributes softplus(0) = log 2
    log_z0 = float(units.log_marginal(tf.zeros((1, layer.n_visible), tf.float64),
                                      tf.constant(b_a))[0].numpy()) + layer.units * math.log(2.0)
    seed_t = _seed_tensor(seed)
    a0 = tf.broadcast_to(tf.constant(b_a, dtype), (int(n_runs), layer.n_visible))
    v0 = units.sample(units.mean(a0), tf.random.experimental.stateless_fold_in(seed_t, -1))
    from tfrbm.layers import check_matmul_dtype
    fn = _compiled_run(units, jit_compile, check_matmul_dtype(matmul_dtype))
    log_w, _ = fn(tf.convert_to_tensor(layer.kernel), tf.convert_to_tensor(layer.visible_bias),
                  tf.convert_to_tensor(layer.hidden_bias), tf.constant(b_a, dtype),
                  tf.constant(betas, tf.float64), v0, seed_t)
    return log_w.numpy(), log_z0


def ais_log_partition(layer, n_runs=100, betas=None, base_data=None, base_biases=None, seed=None,
                      jit_compile=False, matmul_dtype=None):
    """Estimate log Z of an RBM by AIS; returns ``AISResult(log_z, log_z_lower, log_z_upper)``.

    Args:
        layer: a built :class:`tfrbm.RBMLayer` or :class:`tfrbm.RBMModel`.
        n_runs: number of independent annealing runs (all run in parallel; > 0).
        betas: the schedule, strictly increasing from 0 to 1 (default :func:`make_betas`,
            14,500 steps).
        base_data: training data to fit the base-rate model to (the paper's choice, and the
            best: a good base model lowers the variance a lot).
        base_biases: or the base-rate model's visible biases directly.
            With neither, the base model has zero biases (the uniform distribution for
            Bernoulli units): unbiased still, but with more variance.
        seed: integer seed of the stateless sampler (None: a fresh random seed).
        jit_compile: compile the loop with XLA.
        matmul_dtype: the two products of each step in ``"float32"`` (default, None) or
            ``"bfloat16"`` (faster; the estimate is then of the model with bfloat16-rounded
            products, see benchmarks/RESULTS.md, issue 21). The layer's own ``matmul_dtype`` is
            not used: a likelihood is evaluated in float32 unless asked.

    The estimate is log Z_0 + log mean(w). The bounds are the paper's: log(mean(w) +- 3 std(w)
    / sqrt(n_runs)), computed in log space relative to the largest weight; the lower bound is
    -inf when mean - 3 std <= 0. (AIS tends to underestimate log Z, so log-likelihoods computed
    with it tend to be optimistic.)
    """
    log_w, log_z0 = ais_log_weights(layer, n_runs=n_runs, betas=betas, base_data=base_data,
                                    base_biases=base_biases, seed=seed, jit_compile=jit_compile,
                                    matmul_dtype=matmul_dtype)
    return summarize_log_weights(log_w, log_z0)


def summarize_log_weights(log_w, log_z0=0.0):
    """AISResult from log importance weights: log of the mean weight, +-3 std of the mean."""
    log_w = np.asarray(log_w, dtype=np.float64)
    if not np.all(np.isfinite(log_w)):
        raise FloatingPointError("AIS produced non-finite log weights; check the model's weights")
    shift = float(log_w.max())
    w = np.exp(log_w - shift)
    mean = w.mean()
    std_mean = w.std(ddof=1) / math.sqrt(len(w)) if len(w) > 1 else 0.0
    log_z = log_z0 + shift + math.log(mean)
    upper = log_z0 + shift + math.log(mean + 3 * std_mean)
    low = mean - 3 * std_mean
    lower = log_z0 + shift + math.log(low) if low > 0 else -math.inf
    return AISResult(float(log_z), float(lower), float(upper))
