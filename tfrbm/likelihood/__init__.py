"""Likelihoods of RBMs: exact enumeration, AIS, RAISE and the sandwich of the two.

* :mod:`~tfrbm.likelihood.exact`: log Z, log p(v), p(v) and the gradient by enumeration
  (small models);
* :mod:`~tfrbm.likelihood.ais`: annealed importance sampling of log Z (an optimistic
  log-likelihood), with its diagnostics and the ``n_betas="auto"`` schedule search;
* :mod:`~tfrbm.likelihood.reverse_ais`: RAISE, a conservative log-likelihood;
* :mod:`~tfrbm.likelihood.sandwich`: both sides at once;
* :mod:`~tfrbm.likelihood.common`: what they share (the layer behind a model, float64 weights
  and free energy, the sampler's seed).

A new estimator is a new module here that builds on ``common`` (and ``ais.run_annealing`` for
an annealing method); the chunk size of any compiled loop comes from
:func:`tfrbm.interrupt.steps_per_chunk`.
"""
from tfrbm.likelihood.ais import AISResult, AISWarning, ais_log_partition
from tfrbm.likelihood.exact import (MAX_EXACT_UNITS, binary_states, exact_gradient,
                                    exact_log_likelihood, exact_log_partition,
                                    exact_visible_distribution)
from tfrbm.likelihood.reverse_ais import RAISEResult, raise_mean_log_likelihood
from tfrbm.likelihood.sandwich import SandwichResult, sandwich_log_likelihood

__all__ = [
    "MAX_EXACT_UNITS",
    "AISResult",
    "AISWarning",
    "RAISEResult",
    "SandwichResult",
    "ais_log_partition",
    "binary_states",
    "exact_gradient",
    "exact_log_likelihood",
    "exact_log_partition",
    "exact_visible_distribution",
    "raise_mean_log_likelihood",
    "sandwich_log_likelihood",
]
