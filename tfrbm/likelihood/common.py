"""What the likelihood estimators share: the RBM layer behind a model, its weights and free
energy in float64, and the stateless sampler's seed."""
import numpy as np
import tensorflow as tf

from tfrbm.errors import UserError

__all__ = ["built_layer", "free_energy64", "seed_tensor", "weights64"]


def built_layer(model_or_layer):
    """The built :class:`tfrbm.RBMLayer` of an RBMModel (or the layer itself)."""
    layer = getattr(model_or_layer, "layer", model_or_layer)
    if not hasattr(layer, "kernel") or not getattr(layer, "built", False):
        raise UserError("a likelihood needs a built RBMLayer (or RBMModel): train or build it first")
    return layer


def weights64(layer):
    """(W, b, c) of ``layer`` as float64 numpy arrays."""
    return (layer.kernel.numpy().astype(np.float64), layer.visible_bias.numpy().astype(np.float64),
            layer.hidden_bias.numpy().astype(np.float64))


def free_energy64(layer, v, weights=None):
    """F(v) = e_v(v; b) - hidden.log_marginal(v W, c) per row, in float64 (a numpy array).

    Every hidden unit family (:mod:`tfrbm.units`): for Bernoulli hidden units the hidden part is
    sum_j softplus(c_j + v W_:j). ``weights``: (W, b, c) from :func:`weights64`, when the caller
    already has them.
    """
    W, b, c = weights64(layer) if weights is None else weights
    v = tf.constant(np.asarray(v, np.float64))
    c = tf.constant(np.asarray(c, np.float64))
    return (layer.visible_units.energy_term(v, tf.constant(b))
            - layer.hidden_units.log_marginal_of_total(tf.matmul(v, tf.constant(W)) + c, c)).numpy()


def seed_tensor(seed):
    """The stateless sampler's seed tensor for an integer ``seed`` (None: a fresh random one)."""
    if seed is None:
        seed = int(np.random.default_rng().integers(0, 2**31 - 1))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise UserError(f"seed must be an integer or None, got {seed!r}")
    return tf.constant([int(seed), 0], dtype=tf.int64)
