"""Enumerable RBMs with known answers, for tests and benchmarks that check against exact values.

:func:`random_layer` builds a small Bernoulli RBM with random weights (:func:`randomize` gives a
built layer such weights, a labelled DBN's top RBM for one); :func:`exact_samples` draws exact
samples of its visible units by enumerating the hidden layer:

    p(h) ∝ exp(h·c) Π_i (1 + exp(b_i + W_i: h)),   v | h ~ Bernoulli(σ(b + W h)).

Nothing here trains; it serves ``tests/`` and ``benchmarks/`` (likelihood, AIS, RAISE).
"""
import numpy as np

__all__ = ["random_layer", "randomize", "exact_samples"]


def random_layer(n_visible, n_hidden, seed, scale=0.6):
    """A built :class:`tfrbm.RBMLayer` with W ~ N(0, scale²) and biases ~ N(-0.5, 1).

    ``scale`` 0.6 is a trained RBM's weight scale; 3 to 5 makes a sharp, multi-modal model.
    """
    from tfrbm.layers import RBMLayer
    layer = RBMLayer(n_hidden)
    layer.build((None, n_visible))
    return randomize(layer, seed, scale)


def randomize(layer, seed, scale=0.6, bias_mean=-0.5):
    """Give the built RBM ``layer`` W ~ N(0, scale²) and biases ~ N(bias_mean, 1) (drawn in that
    order from ``numpy.random.default_rng(seed)``); returns it."""
    rng = np.random.default_rng(seed)
    n_visible, n_hidden = layer.kernel.shape
    layer.kernel.assign(rng.normal(0, scale, (n_visible, n_hidden)).astype("float32"))
    layer.visible_bias.assign(rng.normal(bias_mean, 1.0, n_visible).astype("float32"))
    layer.hidden_bias.assign(rng.normal(bias_mean, 1.0, n_hidden).astype("float32"))
    return layer


def exact_samples(layer, n, seed):
    """``n`` exact samples of v from the RBM ``layer`` (float32 0/1), enumerating its hidden
    states (2^units of them, so ``layer.units`` must be small)."""
    from tfrbm.likelihood import binary_states
    W, b, c = (layer.kernel.numpy().astype(float), layer.visible_bias.numpy().astype(float),
               layer.hidden_bias.numpy().astype(float))
    hs = binary_states(layer.units)
    log_ph = hs @ c + np.logaddexp(0, hs @ W.T + b).sum(axis=1)
    ph = np.exp(log_ph - log_ph.max())
    rng = np.random.default_rng(seed)
    h = hs[rng.choice(len(hs), size=n, p=ph / ph.sum())]
    pv = 1 / (1 + np.exp(-(h @ W.T + b)))
    return (rng.random(pv.shape) < pv).astype("float32")
