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

Reading the estimate. Z_B / Z_0 is estimated without bias, so (Jensen) log Z is *under*estimated
in expectation and a log-likelihood -F(v) - log Z computed from it is *over*estimated: an AIS
log-likelihood is an optimistic (upper) estimate. When one run dominates the weights the estimate
is far from converged; :class:`AISResult` carries the effective sample size (ESS) of the weights,
the standard deviation of log w and the schedule, and :func:`ais_log_partition` warns when the ESS
is below 10% of the runs or a bound is infinite. ``n_betas="auto"`` doubles the schedule until log
Z settles (:func:`auto_log_partition`). For the conservative side see :mod:`tfrbm.likelihood.reverse_ais`.
"""
import math
import time
import warnings

import numpy as np
import tensorflow as tf

from tfrbm import gibbs
from tfrbm.errors import UserError
from tfrbm.interrupt import between_chunks, steps_per_chunk
from tfrbm.layers import check_matmul_dtype, matmul
from tfrbm.likelihood.common import built_layer, seed_tensor
from tfrbm.units import BernoulliUnits, get_units
from tfrbm.validation import POSITIVE, POSITIVE_INT, Integral, Interval, check_param

__all__ = [
    "AUTO_MAX_BETAS",
    "AUTO_START_BETAS",
    "AUTO_TIME_BUDGET",
    "AUTO_TOLERANCE",
    "DEFAULT_SEGMENTS",
    "MIN_ESS_FRACTION",
    "AISResult",
    "AISWarning",
    "ais_log_partition",
    "ais_log_weights",
    "auto_log_partition",
    "base_rate_biases",
    "check_betas",
    "effective_sample_size",
    "log_mean_exp",
    "make_betas",
    "resolve_base_biases",
    "resolve_schedule",
    "summarize_log_weights",
]

#: Salakhutdinov & Murray's schedule: (end beta, number of steps) per segment; 14,500 in all.
DEFAULT_SEGMENTS = ((0.5, 500), (0.9, 4000), (1.0, 10000))

#: base-rate probabilities are clipped to [eps, 1 - eps] before taking log-odds
_BASE_RATE_EPS = 1e-3

#: an estimate is flagged when the ESS of its weights is below this fraction of the runs
MIN_ESS_FRACTION = 0.1

#: ``n_betas="auto"``: converged when log Z moves by less than this many nats as the schedule
#: doubles (and the ESS is at least MIN_ESS_FRACTION of the runs). 0.1 nats of log Z is 0.1 nats
#: of every mean log-likelihood computed from it, below the spread between training runs.
AUTO_TOLERANCE = 0.1
#: ``n_betas="auto"``: the first schedule's length, the longest one tried, and the default
#: wall-clock budget in seconds for all schedules together
AUTO_START_BETAS = 1000
AUTO_MAX_BETAS = 1_024_000
AUTO_TIME_BUDGET = 600.0


class AISWarning(UserWarning):
    """An AIS estimate whose weights say it has not converged (low ESS or an infinite bound)."""


def log_mean_exp(x, axis=None):
    """log(mean(exp(x))) computed stably in float64."""
    x = np.asarray(x, dtype=np.float64)
    shift = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.mean(np.exp(x - shift), axis=axis, keepdims=True)) + shift
    return out.reshape(()) if axis is None else np.squeeze(out, axis=axis)


def effective_sample_size(log_w):
    """Kish's effective sample size of importance weights, (sum w)^2 / sum w^2, from log w.

    Between 1 (one run carries all the weight) and the number of runs (equal weights).
    """
    log_w = np.asarray(log_w, dtype=np.float64)
    w = np.exp(log_w - log_w.max())
    return float(w.sum() ** 2 / np.square(w).sum())


class AISResult(tuple):
    """An AIS estimate of log Z. Unpacks as ``(log_z, log_z_lower, log_z_upper)`` (nats).

    The bounds are log(mean(w) -+ 3 std(w) / sqrt(runs)) (Salakhutdinov & Murray); the lower one
    is -inf when mean - 3 std <= 0. Attributes besides the three numbers:

    * ``log_weights``: the runs' log importance weights (float64, relative to log Z_0);
    * ``log_z0``: log Z of the base model times 2^H (the annealing's start);
    * ``ess``: the weights' effective sample size (see :func:`effective_sample_size`);
      ``ess_fraction`` = ess / runs;
    * ``log_w_std``: the standard deviation of log w across runs (above ~1 the mean weight is
      carried by a few runs);
    * ``betas``: the schedule used; ``n_betas`` its number of steps K;
    * ``history``: for ``n_betas="auto"``, one dict per schedule tried (n_betas, log_z, ess,
      seconds); ``converged`` (True/False, None when no schedule search ran),
      ``change_on_doubling`` (log Z minus log Z of the previous, half as long schedule) and
      ``stop_reason``.
    """

    def __new__(cls, log_z, log_z_lower, log_z_upper, log_weights=None, log_z0=0.0, betas=None,
                history=None, converged=None, stop_reason=None):
        self = super().__new__(cls, (float(log_z), float(log_z_lower), float(log_z_upper)))
        self.log_weights = None if log_weights is None else np.asarray(log_weights, np.float64)
        self.log_z0 = float(log_z0)
        self.betas = None if betas is None else np.asarray(betas, np.float64)
        self.history = list(history or [])
        self.converged = converged
        self.stop_reason = stop_reason
        return self

    def __getnewargs__(self):
        return tuple(self)

    log_z = property(lambda self: self[0], doc="the estimate log Z_0 + log mean(w)")
    log_z_lower = property(lambda self: self[1], doc="log(mean(w) - 3 std of the mean) (+ log Z_0)")
    log_z_upper = property(lambda self: self[2], doc="log(mean(w) + 3 std of the mean) (+ log Z_0)")

    @property
    def n_runs(self):
        return 0 if self.log_weights is None else int(self.log_weights.size)

    @property
    def n_betas(self):
        return None if self.betas is None else int(self.betas.size - 1)

    @property
    def ess(self):
        return float("nan") if not self.n_runs else effective_sample_size(self.log_weights)

    @property
    def ess_fraction(self):
        return self.ess / self.n_runs if self.n_runs else float("nan")

    @property
    def log_w_std(self):
        if self.n_runs < 2:
            return 0.0
        return float(np.std(self.log_weights, ddof=1))

    @property
    def change_on_doubling(self):
        if len(self.history) < 2:
            return None
        return float(self.history[-1]["log_z"] - self.history[-2]["log_z"])

    def problems(self):
        """Plain sentences naming what makes this estimate unreliable (empty when nothing does)."""
        found = []
        if self.n_runs and self.ess < MIN_ESS_FRACTION * self.n_runs:
            found.append(f"the effective sample size of its {self.n_runs} importance weights is "
                         f"{self.ess:.1f}, below {MIN_ESS_FRACTION:.0%} of the runs (a few runs "
                         "dominate the estimate)")
        if not (math.isfinite(self[1]) and math.isfinite(self[2])):
            found.append("a bound is infinite (the weights' spread exceeds their mean / 3)")
        if self.converged is False:
            found.append(f"the schedule search did not converge ({self.stop_reason})")
        return found

    def warn_if_unreliable(self, stacklevel=3):
        """Issue one :class:`AISWarning` listing :meth:`problems` and the remedy; True if it warned."""
        found = self.problems()
        if not found:
            return False
        k = self.n_betas
        longer = f"n_betas={2 * k}" if k else "a longer schedule"
        warnings.warn(
            f"AIS log Z = {self[0]:.2f} is not reliable: " + "; ".join(found) + ". AIS tends to "
            f"underestimate log Z, so log-likelihoods from it are optimistic. Use more betas "
            f"({longer} or n_betas='auto') or more runs, and report both sides "
            "(log_likelihood(..., method='sandwich')).", AISWarning, stacklevel=stacklevel)
        return True

    def to_dict(self):
        """The numbers and diagnostics as plain JSON-able Python values (no log weights array)."""
        return {"log_z": self[0], "log_z_lower": self[1], "log_z_upper": self[2],
                "runs": self.n_runs, "betas": self.n_betas, "ess": self.ess,
                "ess_fraction": self.ess_fraction, "log_w_std": self.log_w_std,
                "change_on_doubling": self.change_on_doubling, "converged": self.converged,
                "stop_reason": self.stop_reason, "schedules": self.history,
                "problems": self.problems()}

    def __repr__(self):
        return (f"AISResult(log_z={self[0]:.4f}, log_z_lower={self[1]:.4f}, log_z_upper={self[2]:.4f}, "
                f"runs={self.n_runs}, betas={self.n_betas}, ess={self.ess:.1f}, "
                f"log_w_std={self.log_w_std:.3f})")


def make_betas(n_steps=None, segments=DEFAULT_SEGMENTS):
    """Inverse temperatures 0 = beta_0 < ... < beta_K = 1 spaced linearly within segments.

    ``segments`` is a sequence of (end_beta, steps); the default is the paper's 0->0.5 in 500
    steps, 0.5->0.9 in 4,000 and 0.9->1 in 10,000 (K = 14,500). With ``n_steps`` the segments'
    step counts are rescaled proportionally so that K = n_steps (each segment keeps >= 1 step).
    Returns a float64 numpy array of length K + 1.
    """
    segments = [(float(end), int(steps)) for end, steps in segments]
    if not segments:
        raise UserError("segments must name at least one (end_beta, steps) pair")
    if n_steps is not None:
        if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) \
                or n_steps < len(segments):
            raise UserError(f"n_steps must be an integer >= {len(segments)} (one per segment), "
                             f"got {n_steps!r}")
        total = sum(steps for _, steps in segments)
        counts = [max(1, int(round(n_steps * steps / total))) for _, steps in segments]
        counts[-1] = max(1, counts[-1] + int(n_steps) - sum(counts))
        segments = [(end, count) for (end, _), count in zip(segments, counts)]
    parts, start = [np.zeros(1)], 0.0
    for end, steps in segments:
        if steps < 1:
            raise UserError(f"every segment needs >= 1 step, got {steps} for the one ending at {end}")
        if not start < end <= 1.0:
            raise UserError(f"segment ends must increase within (0, 1], got {end} after {start}")
        parts.append(np.linspace(start, end, steps + 1)[1:])
        start = end
    if start != 1.0:
        raise UserError(f"the last segment must end at beta = 1, got {start}")
    return check_betas(np.concatenate(parts))


def check_betas(betas):
    """Validate an annealing schedule: 1-D, finite, strictly increasing from exactly 0 to exactly 1."""
    arr = np.asarray(betas, dtype=np.float64)
    if arr.ndim != 1 or arr.size < 2:
        raise UserError(f"betas must be a 1-D sequence of at least 2 values, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise UserError("betas contain NaN or Inf")
    if arr[0] != 0.0 or arr[-1] != 1.0:
        raise UserError(f"betas must start at 0 and end at 1, got {arr[0]:g} ... {arr[-1]:g}")
    steps = np.diff(arr)
    if np.any(steps <= 0):
        i = int(np.argmax(steps <= 0))
        raise UserError(f"betas must be strictly increasing; beta[{i + 1}] = {arr[i + 1]:g} "
                         f"does not exceed beta[{i}] = {arr[i]:g}")
    return arr


def base_rate_biases(data, visible="bernoulli"):
    """Visible biases of the base-rate model fitted to ``data`` (maximum likelihood, no weights).

    Bernoulli: log(p / (1 - p)) of the pixel means p, clipped to [1e-3, 1 - 1e-3];
    Gaussian (unit variance): the means; softmax: log of each group's class frequencies.
    """
    units = get_units(visible)
    x = np.asarray(data, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise UserError(f"base_data must be a non-empty 2-D array (examples, features), got shape {x.shape}")
    mean = x.mean(axis=0)
    if units.name == "gaussian":
        return mean
    if units.name == "softmax":
        groups = np.clip(mean.reshape(-1, units.k), _BASE_RATE_EPS, None)
        return np.log(groups / groups.sum(axis=1, keepdims=True)).reshape(-1)
    p = np.clip(mean, _BASE_RATE_EPS, 1 - _BASE_RATE_EPS)
    return np.log(p / (1 - p))


def resolve_base_biases(layer, base_data, base_biases):
    """The base-rate model's visible biases: fitted to ``base_data``, given as ``base_biases``,
    or zeros (the uniform distribution for Bernoulli units) with neither."""
    n_visible = layer.n_visible
    if base_data is not None and base_biases is not None:
        raise UserError("give either base_data or base_biases, not both")
    if base_data is not None:
        biases = base_rate_biases(base_data, layer.visible_units)
        if biases.shape != (n_visible,):
            raise UserError(f"base_data has {np.shape(base_data)[-1]} features; the RBM has {n_visible}")
        return biases
    if base_biases is None:
        return np.zeros(n_visible)
    biases = np.asarray(base_biases, dtype=np.float64)
    if biases.shape != (n_visible,):
        raise UserError(f"base_biases must have shape ({n_visible},), got {biases.shape}")
    if not np.all(np.isfinite(biases)):
        raise UserError("base_biases contain NaN or Inf")
    return biases


_COMPILED = {}


def _compiled_run(units, jit_compile, matmul_dtype="float32", hidden=None):
    """One tf.function per (unit families, jit, product dtype) that runs every AIS chain over every
    beta. ``hidden`` (default Bernoulli) owns the hidden part of the path: its
    ``annealing_increment`` and ``annealed_input`` (:class:`tfrbm.units.Units`)."""
    hidden = BernoulliUnits() if hidden is None else hidden
    key = (repr(units), bool(jit_compile), matmul_dtype, repr(hidden))
    fn = _COMPILED.get(key)
    if fn is not None:
        return fn

    def run(W, b_b, c, b_a, betas, v0, seed, log_w0, k_offset):
        dtype = W.dtype
        db = tf.cast(b_b, tf.float64) - tf.cast(b_a, tf.float64)
        b_a64 = tf.cast(b_a, tf.float64)
        c = tf.convert_to_tensor(c)
        n_steps = tf.shape(betas)[0] - 1
        W = tf.cast(W, matmul_dtype)          # rounded once, not at every beta

        def body(k, v, log_w):
            beta_prev, beta = betas[k - 1], betas[k]
            beta_t = tf.cast(beta, dtype)
            x = matmul(v, W, matmul_dtype)
            # log w += log p*_beta(v) - log p*_beta'(v). The visible part is linear in beta:
            # -(beta - beta') (e(v, b_B) - e(v, b_A)), exact for every unit family; the hidden
            # part is the hidden family's (for Bernoulli units a cancellation-free form of
            # sum_j softplus(beta x_j) - softplus(beta' x_j), see BernoulliUnits)
            d_beta = beta - beta_prev
            v64 = tf.cast(v, tf.float64)
            vis = -d_beta * (units.energy_term(v64, b_a64 + db) - units.energy_term(v64, b_a64))
            hid = hidden.annealing_increment(x, c, beta, beta_prev)
            log_w = log_w + vis + hid
            # one Gibbs step leaving p_beta invariant
            step = tf.random.experimental.stateless_fold_in(seed, k + k_offset)
            s_h = tf.random.experimental.stateless_fold_in(step, 0)
            s_v = tf.random.experimental.stateless_fold_in(step, 1)
            h = hidden.draw(hidden.annealed_input(x, c, beta_t), s_h)
            down = matmul(h, W, matmul_dtype, transpose_b=True)
            a = (1 - beta_t) * tf.cast(b_a, dtype) + beta_t * (b_b + down)
            v = units.draw(a, s_v)
            return k + 1, v, log_w

        _, v, log_w = tf.while_loop(lambda k, *_: k <= n_steps, body, (tf.constant(1), v0, log_w0),
                                    parallel_iterations=1)
        return log_w, v

    fn = tf.function(run, jit_compile=bool(jit_compile), reduce_retracing=True)
    _COMPILED[key] = fn
    return fn


def base_log_partition(layer, b_a):
    """log Z_0 = log Z_A + the hidden part at beta = 0, where the annealing starts: there the
    visible units form the base-rate model A and (Bernoulli hidden units) every hidden unit
    contributes softplus(0) = log 2, H log 2 in all (other families: their own
    ``annealing_base_log_marginal``)."""
    units = layer.visible_units
    layer.check_normalizable()
    return float(units.log_marginal(tf.zeros((1, layer.n_visible), tf.float64),
                                    tf.constant(np.asarray(b_a, np.float64)))[0].numpy()) \
        + layer.hidden_units.annealing_base_log_marginal(layer.hidden_bias)


#: the annealing loop runs in compiled calls of at most
#: :data:`tfrbm.interrupt.CHUNK_MULTIPLY_ADDS` multiply-adds and at most CHUNK_MAX_STEPS
#: transitions, so Ctrl-C stops a long AIS or RAISE run between calls; chunking does not change
#: the result (the random stream is keyed by the transition's index in the whole schedule, log w
#: accumulates in float64 in the same order)
CHUNK_MAX_STEPS = 2000


def annealing_chunk_steps(n_rows, layer):
    """Transitions per compiled call (:func:`tfrbm.interrupt.steps_per_chunk`)."""
    return steps_per_chunk(n_rows, layer.n_visible, layer.units, CHUNK_MAX_STEPS)


def run_annealing(layer, v0, betas, b_a, seed, jit_compile=False, matmul_dtype=None,
                  chunk_steps=None, progress=None):
    """Anneal the rows of ``v0`` through ``betas`` (any order); returns (log_w, v_final).

    For k = 1..len(betas)-1: log w += log p*_{betas[k]}(v) - log p*_{betas[k-1]}(v), then one
    Gibbs step that leaves p_{betas[k]} invariant. Forward AIS passes an increasing schedule and
    v0 drawn from the base model; reverse AIS (:mod:`tfrbm.likelihood.reverse_ais`) passes a decreasing one
    and v0 = data. The betas are not checked here.

    The loop runs in compiled calls of ``chunk_steps`` transitions (default
    :func:`annealing_chunk_steps`), so a KeyboardInterrupt (Ctrl-C) lands between calls; the
    result is the same for every ``chunk_steps``. ``progress``, if given, is called with
    (transitions done, transitions in all) after each call.
    """
    fn = _compiled_run(layer.visible_units, jit_compile, check_matmul_dtype(matmul_dtype),
                       layer.hidden_units)
    dtype = layer.kernel.dtype
    betas = np.asarray(betas, np.float64)
    n_steps = len(betas) - 1
    chunk_steps = check_param("chunk_steps", chunk_steps, [None] + POSITIVE_INT)
    chunk = annealing_chunk_steps(np.shape(v0)[0], layer) if chunk_steps is None else chunk_steps
    weights = [tf.convert_to_tensor(layer.kernel), tf.convert_to_tensor(layer.visible_bias),
               tf.convert_to_tensor(layer.hidden_bias), tf.constant(np.asarray(b_a), dtype)]
    v = tf.cast(v0, dtype)
    log_w = tf.zeros(tf.shape(v)[:1], tf.float64)
    done = 0
    with between_chunks() as interrupt:   # Ctrl-C raises between two chunks
        while done < n_steps:
            end = min(n_steps, done + chunk)
            # transitions done+1..end: betas[done..end], seeds keyed by the global index
            log_w, v = fn(*weights, tf.constant(betas[done:end + 1], tf.float64), v, seed, log_w,
                          tf.constant(done, tf.int32))
            done = end
            if progress is not None:
                progress(done, n_steps)
            interrupt.check()
    return log_w.numpy(), v


def ais_log_weights(layer, n_runs=100, betas=None, base_data=None, base_biases=None, seed=None,
                    jit_compile=False, matmul_dtype=None):
    """Run AIS and return (log_w, log_z0): the runs' float64 log importance weights and log Z_0.

    log Z_B ~= log_z0 + logmeanexp(log_w). Arguments as in :func:`ais_log_partition`.
    """
    layer = built_layer(layer)
    check_param("n_runs", n_runs, POSITIVE_INT)
    betas = make_betas() if betas is None else check_betas(betas)
    b_a = resolve_base_biases(layer, base_data, base_biases)
    units = layer.visible_units
    dtype = layer.kernel.dtype
    log_z0 = base_log_partition(layer, b_a)
    seed_t = seed_tensor(seed)
    v0 = gibbs.base_rate_samples(units, tf.constant(b_a, dtype), int(n_runs),
                                 tf.random.experimental.stateless_fold_in(seed_t, -1))
    log_w, _ = run_annealing(layer, v0, betas, b_a, seed_t, jit_compile, matmul_dtype)
    return log_w, log_z0


def resolve_schedule(betas=None, n_betas=None):
    """The schedule from ``betas`` (checked) or its length ``n_betas`` (:func:`make_betas`);
    the paper's 14,500 betas with neither."""
    if betas is not None and n_betas is not None:
        raise UserError("give either betas (a schedule) or n_betas (its length), not both")
    if n_betas is None:
        return make_betas() if betas is None else check_betas(betas)
    return make_betas(n_betas)


def ais_log_partition(layer, n_runs=100, betas=None, base_data=None, base_biases=None, seed=None,
                      jit_compile=False, n_betas=None, tolerance=AUTO_TOLERANCE,
                      time_budget=AUTO_TIME_BUDGET, max_betas=AUTO_MAX_BETAS,
                      start_betas=AUTO_START_BETAS, warn=True, matmul_dtype=None):
    """Estimate log Z of an RBM by AIS; returns an :class:`AISResult`.

    The result unpacks as ``(log_z, log_z_lower, log_z_upper)`` and carries the log weights,
    their effective sample size, the std of log w and the schedule.

    Args:
        layer: a built :class:`tfrbm.RBMLayer` or :class:`tfrbm.RBMModel`.
        n_runs: number of independent annealing runs (all run in parallel; > 0).
        betas: the schedule, strictly increasing from 0 to 1 (default :func:`make_betas`,
            14,500 steps).
        n_betas: or the schedule's length K (the paper's segments rescaled, see
            :func:`make_betas`), or ``"auto"``: double K from ``AUTO_START_BETAS`` until log Z
            moves by less than ``tolerance`` nats and the ESS is at least 10% of the runs, or
            ``time_budget`` seconds or ``max_betas`` run out (:func:`auto_log_partition`;
            ``start_betas`` sets the first K).
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
        warn: issue an :class:`AISWarning` when the ESS is below 10% of the runs, a bound is
            infinite or the schedule search did not converge.

    The estimate is log Z_0 + log mean(w). The bounds are the paper's: log(mean(w) +- 3 std(w)
    / sqrt(n_runs)), computed in log space relative to the largest weight; the lower bound is
    -inf when mean - 3 std <= 0. They describe the spread of the weights, not AIS's bias: AIS
    tends to underestimate log Z, so log-likelihoods computed with it tend to be optimistic.
    """
    if isinstance(n_betas, str):
        if n_betas != "auto":
            raise UserError(f"n_betas must be a positive integer or 'auto', got {n_betas!r}")
        if betas is not None:
            raise UserError("give either betas or n_betas='auto', not both")
        result = auto_log_partition(layer, n_runs=n_runs, base_data=base_data,
                                    base_biases=base_biases, seed=seed, jit_compile=jit_compile,
                                    tolerance=tolerance, time_budget=time_budget,
                                    max_betas=max_betas, start_betas=start_betas,
                                    matmul_dtype=matmul_dtype)
    else:
        betas = resolve_schedule(betas, n_betas)
        log_w, log_z0 = ais_log_weights(layer, n_runs=n_runs, betas=betas, base_data=base_data,
                                        base_biases=base_biases, seed=seed, jit_compile=jit_compile,
                                        matmul_dtype=matmul_dtype)
        result = summarize_log_weights(log_w, log_z0, betas=betas)
    if warn:
        result.warn_if_unreliable()
    return result


def auto_log_partition(layer, n_runs=100, base_data=None, base_biases=None, seed=None,
                       jit_compile=False, tolerance=AUTO_TOLERANCE, min_ess_fraction=MIN_ESS_FRACTION,
                       start_betas=AUTO_START_BETAS, max_betas=AUTO_MAX_BETAS,
                       time_budget=AUTO_TIME_BUDGET, matmul_dtype=None):
    """AIS with a schedule chosen to meet a precision: double K until log Z settles.

    Runs K = start_betas, 2 start_betas, 4 start_betas, ... (the paper's segments rescaled). It
    stops *converged* when the estimate moved by less than ``tolerance`` nats from the previous
    (half as long) schedule and the ESS is at least ``min_ess_fraction`` of the runs; it stops
    *not converged* when the next schedule (expected to take twice as long as the last) would
    pass ``time_budget`` wall-clock seconds in all, or would exceed ``max_betas`` steps. Returns
    the last schedule's :class:`AISResult` with ``history`` (every schedule tried), ``converged``
    and ``stop_reason`` set. A slowly rising log Z is AIS's bias shrinking, so "converged" means
    the bias is below about ``tolerance`` only if the rise keeps slowing; read ``history``.
    """
    start_betas = check_param("start_betas", start_betas,
                              Interval(Integral, len(DEFAULT_SEGMENTS), None))
    max_betas = check_param("max_betas", max_betas, Interval(Integral, start_betas, None))
    tolerance = check_param("tolerance (nats)", tolerance, POSITIVE)
    time_budget = check_param("time_budget (seconds)", time_budget, [None] + POSITIVE)
    check_param("n_runs", n_runs, POSITIVE_INT)
    t0 = time.perf_counter()
    history, previous, k = [], None, start_betas
    while True:
        t = time.perf_counter()
        betas = make_betas(k)
        log_w, log_z0 = ais_log_weights(layer, n_runs=n_runs, betas=betas, base_data=base_data,
                                        base_biases=base_biases, seed=seed, jit_compile=jit_compile,
                                        matmul_dtype=matmul_dtype)
        result = summarize_log_weights(log_w, log_z0, betas=betas)
        seconds = time.perf_counter() - t
        history.append({"n_betas": k, "log_z": result[0], "log_z_lower": result[1],
                        "log_z_upper": result[2], "ess": result.ess, "log_w_std": result.log_w_std,
                        "seconds": round(seconds, 2)})
        if previous is not None and abs(result[0] - previous[0]) < tolerance \
                and result.ess >= min_ess_fraction * n_runs:
            converged, reason = True, (f"log Z moved {result[0] - previous[0]:+.3f} nats from "
                                       f"{k // 2} to {k} betas (tolerance {tolerance}), "
                                       f"ESS {result.ess:.1f} of {n_runs}")
            break
        previous = result
        elapsed = time.perf_counter() - t0
        if 2 * k > max_betas:
            converged, reason = False, f"the next schedule ({2 * k} betas) exceeds max_betas={max_betas}"
            break
        if time_budget is not None and elapsed + 2 * seconds > time_budget:
            converged, reason = False, (f"the next schedule ({2 * k} betas, ~{2 * seconds:.0f} s) "
                                        f"would pass the time budget of {time_budget:.0f} s")
            break
        k *= 2
    return AISResult(*result, log_weights=result.log_weights, log_z0=result.log_z0, betas=betas,
                     history=history, converged=converged, stop_reason=reason)


def summarize_log_weights(log_w, log_z0=0.0, betas=None):
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
    return AISResult(float(log_z), float(lower), float(upper), log_weights=log_w, log_z0=log_z0,
                     betas=betas)
