"""Both sides of an RBM's mean log-likelihood: RAISE below, AIS above.

On enumerable models the exact value lies between the two sides up to their spreads, and the gap
closes as the schedule lengthens (tests/test_sandwich.py).
"""
import numpy as np

from tfrbm.likelihood import ais, reverse_ais
from tfrbm.likelihood.common import built_layer, free_energy64

__all__ = ["SandwichResult", "sandwich_log_likelihood"]


class SandwichResult(tuple):
    """Both sides of an estimated mean log p(v). Unpacks as ``(lower, upper)`` (nats).

    * ``lower``, ``lower_se``: the RAISE estimate (:mod:`tfrbm.likelihood.reverse_ais`), a stochastic lower
      bound, and its standard error;
    * ``upper``, ``upper_se``: mean(-F(v)) - log Z_AIS, the AIS estimate, optimistic in
      expectation, and its delta-method standard error std(w) / (sqrt(runs) mean(w));
      ``upper_range``: the same from AIS's +-3 std bounds on log Z (-inf/inf when a bound is);
    * ``gap`` = upper - lower: shrinks towards 0 as the schedule lengthens;
    * ``ais``: the :class:`tfrbm.likelihood.ais.AISResult` (ESS, std of log w, schedule, schedule history),
      ``raise_result``: the :class:`tfrbm.likelihood.reverse_ais.RAISEResult`;
    * ``mean_neg_free_energy``: mean(-F(v)) over the rows, exact.
    """

    def __new__(cls, raise_result, ais_result, mean_neg_free_energy):
        lower = raise_result.mean
        upper = mean_neg_free_energy - ais_result.log_z
        self = super().__new__(cls, (float(lower), float(upper)))
        self.raise_result = raise_result
        self.ais = ais_result
        self.mean_neg_free_energy = float(mean_neg_free_energy)
        return self

    def __getnewargs__(self):
        return (self.raise_result, self.ais, self.mean_neg_free_energy)

    lower = property(lambda self: self[0])
    upper = property(lambda self: self[1])
    gap = property(lambda self: self[1] - self[0])
    lower_se = property(lambda self: self.raise_result.std_error)

    @property
    def upper_se(self):
        w = np.exp(self.ais.log_weights - self.ais.log_weights.max())
        if w.size < 2:
            return float("nan")
        return float(w.std(ddof=1) / (np.sqrt(w.size) * w.mean()))

    @property
    def upper_range(self):
        return (self.mean_neg_free_energy - self.ais.log_z_upper,
                self.mean_neg_free_energy - self.ais.log_z_lower)

    def describe(self):
        """One plain line: both sides, their spreads and the convergence diagnostics."""
        a = self.ais
        doubling = a.change_on_doubling
        moved = ("" if doubling is None else
                 f"; log Z moved {doubling:+.2f} nats when the betas doubled to {a.n_betas}")
        return (f"mean log p(v) in [{self.lower:.2f} +- {self.lower_se:.2f} (RAISE, "
                f"{self.raise_result.n_sampled} of {self.raise_result.n_rows} rows), "
                f"{self.upper:.2f} +- {self.upper_se:.2f} (AIS)] nats, gap {self.gap:.2f}; "
                f"{a.n_betas} betas, AIS ESS {a.ess:.1f} of {a.n_runs} runs, std log w "
                f"{a.log_w_std:.2f}{moved}")

    def to_dict(self):
        lo, hi = self.upper_range
        out = {"log_likelihood_lower": self.lower, "log_likelihood_lower_se": self.lower_se,
               "log_likelihood_upper": self.upper, "log_likelihood_upper_se": self.upper_se,
               "log_likelihood_upper_range": [lo, hi], "gap": self.gap,
               "mean_neg_free_energy": self.mean_neg_free_energy}
        out.update(self.raise_result.to_dict())
        out.update({f"ais_{k}": v for k, v in self.ais.to_dict().items()})
        return out

    def __repr__(self):
        return f"SandwichResult({self.describe()})"


def sandwich_log_likelihood(layer, data, n_runs=100, betas=None, n_betas=None, base_data=None,
                            base_biases=None, raise_rows=None, raise_chains=1, seed=None,
                            jit_compile=False, warn=True, **auto_kwargs):
    """Mean log p(v) over ``data`` bracketed by RAISE (below) and AIS (above).

    AIS estimates log Z with ``n_runs`` runs on the schedule ``betas`` / ``n_betas`` (``"auto"``
    allowed: the doubling search of :func:`tfrbm.likelihood.ais.auto_log_partition`, tuned by
    ``auto_kwargs``: tolerance, time_budget, max_betas, start_betas); RAISE then runs
    ``raise_chains`` reverse chains per row on ``raise_rows`` random rows (all when None) over
    the same final schedule. Returns a :class:`SandwichResult`. On enumerable models the
    exact value lies between the two sides up to their spreads, and the gap closes as the
    schedule lengthens (tests/test_sandwich.py).
    """
    ais_result = ais.ais_log_partition(layer, n_runs=n_runs, betas=betas, n_betas=n_betas,
                                       base_data=base_data, base_biases=base_biases, seed=seed,
                                       jit_compile=jit_compile, warn=warn, **auto_kwargs)
    raise_result = reverse_ais.raise_mean_log_likelihood(
        layer, data, n_sampled=raise_rows, betas=ais_result.betas, base_data=base_data,
        base_biases=base_biases, chains=raise_chains, seed=None if seed is None else int(seed) + 1,
        jit_compile=jit_compile)
    neg_f = float(np.mean(-free_energy64(built_layer(layer), data)))
    return SandwichResult(raise_result, ais_result, neg_f)
