"""Reverse AIS (RAISE): a conservative estimate of an RBM's log-likelihood on held-out data.

Burda, Grosse & Salakhutdinov (AISTATS 2015), "Accurate and conservative estimates of MRF
log-likelihood using reverse annealing". Forward AIS (:mod:`tfrbm.likelihood.ais`) underestimates log Z and so
overestimates log p(v); RAISE starts chains at the test data and anneals them back to the
base-rate model, which errs the other way.

Derivation (the one implemented). Let f_k(v) = p*_k(v) be the unnormalised intermediate
distributions of :mod:`tfrbm.likelihood.ais` *marginalised over h* (f_0 = base-rate model x 2^H with
Z_0 = Z_A 2^H, f_K(v) = exp(-F(v)) the RBM), and T_k(v' | v) = sum_h p_k(h | v) p_k(v' | h) the
two-half-step Gibbs kernel at beta_k. T_k is reversible with respect to p_k (p_k(v) T_k(v'|v) =
sum_h p_k(v, h) p_k(v', h) / p_k(h) is symmetric in v, v'), so it is its own reversal.

The *annealing model* is the forward chain v_0 ~ p_0, v_k ~ T_k(. | v_{k-1}) (k = 1..K), and
p_ann(v) is the law of v_K. Given a data vector v = v_K, propose the earlier states by running
the chain backwards, v_{k-1} ~ T_k(. | v_k) for k = K..1 (the first step draws h ~ p(h | v) at
beta = 1, then v_{K-1} ~ p(v | h) at beta = 1). The importance weight of the forward path over
this proposal is

    w(v) = p_0(v_0) prod_k T_k(v_k | v_{k-1}) / prod_k T_k(v_{k-1} | v_k)
         = (f_K(v) / Z_0) prod_{k=0}^{K-1} f_k(v_k) / f_{k+1}(v_k)

(reversibility turns each ratio of kernels into p_k(v_k) / p_k(v_{k-1}); the Z_k telescope and
Z_K cancels). E[w(v)] = p_ann(v) exactly, so by Jensen

    E[log w(v)] <= log p_ann(v),     log w(v) = -F(v) - log Z_0 + sum_k [log f_k(v_k) - log f_{k+1}(v_k)].

Averaging over data vectors, mean_n log w(v_n) is a stochastic lower bound on the mean log p_ann
over the data. Two caveats, both documented by Burda et al.: the bound is on the annealing
model, which tends to the RBM as the schedule gets longer (with few betas p_ann is a blurred,
worse model of the data, which keeps the estimate conservative); and it is a bound on the RBM's
own log-likelihood in expectation only when the data come from the RBM (E_{p}[log p_ann] <=
E_{p}[log p] by Gibbs' inequality). Tests check it against enumeration, including p_ann itself.

Working over (v, h) with the joint intermediate distributions gives the same estimator in
expectation but noisier weights (the hidden states' contribution is sampled instead of summed);
the marginal form uses the same closed-form increments as forward AIS, so both directions share
one compiled loop (:func:`tfrbm.likelihood.ais.run_annealing`): reverse AIS runs it on the decreasing
schedule [1, beta_K = 1, beta_{K-1}, ..., beta_0] from v_0 = data (the leading 1 makes the
first iteration a pure Gibbs step at beta = 1 with a zero increment).

With ``chains`` > 1 per data vector the weights are averaged (log-mean-exp): still unbiased for
p_ann(v), and a tighter bound.
"""
import math

import numpy as np

from tfrbm.errors import UserError
from tfrbm.likelihood import ais
from tfrbm.likelihood.common import built_layer, free_energy64, seed_tensor
from tfrbm.limits import check_allocation
from tfrbm.validation import POSITIVE_INT, Integral, Interval, check_param

__all__ = ["RAISEResult", "raise_log_likelihoods", "raise_mean_log_likelihood"]


def raise_log_likelihoods(layer, data, betas=None, n_betas=None, base_data=None, base_biases=None,
                          chains=1, seed=None, jit_compile=False):
    """Per-row RAISE estimates log w(v_n) of log p(v_n), each a stochastic lower bound of log p_ann.

    Args:
        layer: a built :class:`tfrbm.RBMLayer` or :class:`tfrbm.RBMModel`.
        data: (N, n_visible) visible vectors (the held-out data).
        betas / n_betas: the forward schedule (0 -> 1; default the paper's 14,500 betas); the
            chains run it backwards.
        base_data / base_biases: the base-rate model, as in :func:`tfrbm.likelihood.ais.ais_log_partition`.
        chains: reverse chains per row (their weights are averaged).
        seed: seed of the stateless sampler.

    Returns a float64 array of N estimates (nats).
    """
    layer = built_layer(layer)
    chains = check_param("chains", chains, POSITIVE_INT)
    data = np.asarray(data, np.float32)
    if data.ndim != 2 or data.shape[1] != layer.n_visible or data.shape[0] == 0:
        raise UserError(f"data must have shape (N > 0, {layer.n_visible}), got {data.shape}")
    if not np.all(np.isfinite(data)):
        raise UserError("data contains NaN or Inf; RAISE needs finite visible vectors")
    layer.visible_units.validate(data)
    check_allocation(f"RAISE with chains={chains:,} on {len(data):,} rows",
                     4 * 4 * len(data) * chains * (layer.n_visible + layer.units))
    betas = ais.resolve_schedule(betas, n_betas)
    b_a = ais.resolve_base_biases(layer, base_data, base_biases)
    log_z0 = ais.base_log_partition(layer, b_a)
    reverse = np.concatenate([[1.0], betas[::-1]])
    v0 = np.repeat(data, chains, axis=0)
    log_w, _ = ais.run_annealing(layer, v0, reverse, b_a, seed_tensor(seed), jit_compile)
    log_w = ais.log_mean_exp(log_w.reshape(len(data), chains), axis=1)
    return -free_energy64(layer, data) - log_z0 + log_w


class RAISEResult(tuple):
    """RAISE estimate of the mean log p(v) over a data set. Unpacks as ``(mean, std_error)``.

    Attributes: ``mean`` (nats, a stochastic lower bound), ``std_error`` (its standard error),
    ``n_rows`` (rows of the data set), ``n_sampled`` (rows whose reverse chains ran),
    ``chains`` (per sampled row), ``n_betas``, ``log_z_per_row`` (the implied per-row log Z
    estimates -F(v) - log w(v) of the sampled rows).
    """

    def __new__(cls, mean, std_error, **attrs):
        self = super().__new__(cls, (float(mean), float(std_error)))
        self.__dict__.update(attrs)
        return self

    def __getnewargs__(self):
        return tuple(self)

    mean = property(lambda self: self[0])
    std_error = property(lambda self: self[1])

    def to_dict(self):
        return {"raise_log_likelihood": self[0], "raise_std_error": self[1],
                "raise_rows": self.n_rows, "raise_sampled_rows": self.n_sampled,
                "raise_chains": self.chains, "raise_betas": self.n_betas}


def raise_mean_log_likelihood(layer, data, n_sampled=None, betas=None, n_betas=None,
                              base_data=None, base_biases=None, chains=1, seed=None,
                              jit_compile=False):
    """RAISE lower estimate of mean_n log p(v_n) over ``data``, running chains on a random subset.

    log w(v) = -F(v) - L(v) where L(v) = log Z_0 - sum_k [...] is a per-row estimate of log Z
    that varies far less across rows than F does. So the mean over all N rows is estimated as
    mean_all(-F) - mean_subset(L) on ``n_sampled`` rows drawn without replacement (all rows when
    None): its expectation over the subset and the chains equals mean_all E[log w(v_n)], the
    same lower bound as running every row. ``std_error`` is std(L) / sqrt(n_sampled): it covers
    the choice of subset and the chains' noise together (with every row sampled it still counts
    the rows' spread of L, which overstates the chains' own noise: a conservative spread).
    """
    layer = built_layer(layer)
    data = np.asarray(data, np.float32)
    if data.ndim != 2 or data.shape[0] == 0:
        raise UserError(f"data must be a non-empty 2-D array, got shape {data.shape}")
    n = len(data)
    n_sampled = check_param(f"n_sampled (of the {n} rows)", n_sampled,
                            [None, Interval(Integral, 1, n)])
    m = n if n_sampled is None else n_sampled
    rng = np.random.default_rng(None if seed is None else int(seed) + 7919)
    rows = np.sort(rng.choice(n, size=m, replace=False)) if m < n else np.arange(n)
    sub = data[rows]
    log_w = raise_log_likelihoods(layer, sub, betas=betas, n_betas=n_betas, base_data=base_data,
                                  base_biases=base_biases, chains=chains, seed=seed,
                                  jit_compile=jit_compile)
    neg_f_all = -free_energy64(layer, data)
    per_row_log_z = neg_f_all[rows] - log_w
    mean = float(neg_f_all.mean() - per_row_log_z.mean())
    if m > 1:
        se = float(per_row_log_z.std(ddof=1) / math.sqrt(m))
    else:
        se = float("nan")
    n_betas_used = len(ais.resolve_schedule(betas, n_betas)) - 1
    return RAISEResult(mean, se, n_rows=n, n_sampled=m, chains=int(chains), n_betas=n_betas_used,
                       log_z_per_row=per_row_log_z, rows=rows)
