"""Parallel tempering (replica exchange) for RBMs (Desjardins, Courville, Bengio, Vincent &
Delalleau, AISTATS 2010, "Tempered Markov chain Monte Carlo for training of RBMs").

M replicas run at inverse temperatures 1 = beta_1 > beta_2 > ... > beta_M >= 0 of the same family
AIS anneals through (:mod:`tfrbm.likelihood.ais`), marginalised over h:

    log f_beta(v) = -[(1 - beta) e_v(v; b_A) + beta e_v(v; b)] + sum_j softplus(beta (c_j + v W_:j)),

where b_A are the base-rate biases (at beta = 0 the replica samples the base-rate model exactly
and mixes freely). One PT step is

1. a Gibbs step in every replica at its own beta (h ~ p_beta(h | v), v ~ p_beta(v | h)), which
   leaves each p_beta invariant;
2. a swap move between neighbouring replicas (1,2), (3,4), ... or (2,3), (4,5), ... (alternating
   with ``parity``): the states v_i, v_{i+1} are exchanged with the Metropolis probability

       min(1, f_i(v_{i+1}) f_{i+1}(v_i) / (f_i(v_i) f_{i+1}(v_{i+1}))),

   which leaves the product distribution prod_i p_{beta_i}(v_i) invariant (detailed balance of a
   symmetric proposal). Pairs are disjoint, so one move updates them all at once.

The beta = 1 replica is then a sample of the RBM that has borrowed the hot replicas' mixing; its
states serve as the negative phase of PCD (``RBMModel(tempering=M)``). tests/test_tempering.py
checks the invariance against enumeration (total variation distance).
"""
import numpy as np
import tensorflow as tf

from tfrbm.errors import UserError

__all__ = ["temperature_ladder", "tempered_log_f", "tempered_gibbs", "swap_replicas", "pt_step"]


def temperature_ladder(n_temperatures, min_beta=0.0):
    """Inverse temperatures 1 = beta_1 > ... > beta_M = min_beta, spaced linearly (float32)."""
    n = int(n_temperatures)
    if n < 2:
        raise UserError(f"parallel tempering needs >= 2 temperatures, got {n_temperatures!r}")
    if not 0.0 <= float(min_beta) < 1.0:
        raise UserError(f"min_beta must lie in [0, 1), got {min_beta!r}")
    return np.linspace(1.0, float(min_beta), n).astype(np.float32)


def tempered_log_f(layer, v, betas, b_a):
    """log f_beta(v) for replicas ``v`` of shape (M, N, n_visible) at ``betas`` (M,); shape (M, N)."""
    units = layer.visible_units
    beta = tf.reshape(tf.cast(betas, v.dtype), (-1, 1))
    x = tf.matmul(v, layer.kernel) + layer.hidden_bias
    b_a = tf.cast(b_a, v.dtype)
    vis = -((1 - beta) * units.energy_term(v, b_a) + beta * units.energy_term(v, layer.visible_bias))
    return vis + tf.reduce_sum(tf.math.softplus(beta[..., None] * x), axis=-1)


def tempered_gibbs(layer, v, betas, b_a, seed):
    """One Gibbs step of every replica at its own inverse temperature; v has shape (M, N, V)."""
    units = layer.visible_units
    beta = tf.reshape(tf.cast(betas, v.dtype), (-1, 1, 1))
    ph = tf.sigmoid(beta * (tf.matmul(v, layer.kernel) + layer.hidden_bias))
    h = layer.hidden_units.sample(ph, tf.random.experimental.stateless_fold_in(seed, 0))
    a = (1 - beta) * tf.cast(b_a, v.dtype) + beta * (
        layer.visible_bias + tf.matmul(h, layer.kernel, transpose_b=True))
    return units.sample(units.mean(a), tf.random.experimental.stateless_fold_in(seed, 1))


def swap_replicas(layer, v, betas, b_a, seed, parity):
    """Metropolis swaps of neighbouring replicas (pairs starting at index ``parity`` in {0, 1}).

    Returns (v, accepted) with ``accepted`` of shape (number of pairs, N) (float).
    """
    m = int(v.shape[0])
    first = np.arange(int(parity), m - 1, 2)
    if first.size == 0:
        return v, tf.zeros((0, tf.shape(v)[1]), v.dtype)
    second = first + 1
    betas = tf.cast(betas, v.dtype)
    v_i, v_j = tf.gather(v, first), tf.gather(v, second)
    b_i, b_j = tf.gather(betas, first), tf.gather(betas, second)
    log_ratio = (tempered_log_f(layer, v_j, b_i, b_a) + tempered_log_f(layer, v_i, b_j, b_a)
                 - tempered_log_f(layer, v_i, b_i, b_a) - tempered_log_f(layer, v_j, b_j, b_a))
    u = tf.random.stateless_uniform(tf.shape(log_ratio), seed=seed, dtype=v.dtype)
    accept = tf.math.log(u) < log_ratio                     # (pairs, N)
    mask = tf.cast(accept, v.dtype)[..., None]
    new_i = mask * v_j + (1 - mask) * v_i
    new_j = mask * v_i + (1 - mask) * v_j
    # scatter the pairs back in replica order
    order = np.concatenate([first, second])
    rest = np.setdiff1d(np.arange(m), order)
    parts = tf.concat([new_i, new_j, tf.gather(v, rest)], axis=0)
    inverse = np.argsort(np.concatenate([order, rest]))
    return tf.gather(parts, inverse), tf.cast(accept, v.dtype)


def pt_step(layer, v, betas, b_a, seed, parity):
    """One parallel-tempering step: Gibbs in every replica, then swaps of the ``parity`` pairs."""
    v = tempered_gibbs(layer, v, betas, b_a, tf.random.experimental.stateless_fold_in(seed, 0))
    return swap_replicas(layer, v, betas, b_a, tf.random.experimental.stateless_fold_in(seed, 1),
                         parity)
