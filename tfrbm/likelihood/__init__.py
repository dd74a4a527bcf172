"""Likelihoods of RBMs: exact enumeration, AIS, RAISE and the sandwich of the two.

* :mod:`~tfrbm.likelihood.exact`: log Z, log p(v), p(v) and the gradient by enumeration;
* :mod:`~tfrbm.likelihood.ais`: annealed importance sampling of log Z (an optimistic
  log-likelihood);
* :mod:`~tfrbm.likelihood.reverse_ais`: RAISE, a conservative log-likelihood;
* :func:`sandwich_log_likelihood`: both sides at once.
"""
from tfrbm.likelihood.exact import (MAX_EXACT_UNITS, SandwichResult, ais_log_partition,
                                    binary_states, exact_gradient, exact_log_likelihood,
                                    exact_log_partition, exact_visible_distribution,
                                    sandwich_log_likelihood)

__all__ = [
    "MAX_EXACT_UNITS",
    "SandwichResult",
    "ais_log_partition",
    "binary_states",
    "exact_gradient",
    "exact_log_likelihood",
    "exact_log_partition",
    "exact_visible_distribution",
    "sandwich_log_likelihood",
]
