"""Dropout RBM (Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov 2014, section 8).

Each training case gets its own random mask r over the hidden units (r_j = 1 with the retain
probability p = 1 - rate); the case is then a sample of the RBM from which the dropped hidden
units are removed, and CD runs on that sub-RBM: dropped units are clamped to 0 in both phases,
so their weights and biases get no statistics from the case. At test time every hidden unit is
kept and the weights are scaled by p.

In tfrbm the layer's ``kernel`` holds the *test-time* weights p W, so every inference path
(features, free energy, sampling, likelihoods, serving) uses the layer unchanged; training
samples each case's sub-RBM with W = kernel / p, and the CD statistic (a gradient in W) is
divided by p to be the gradient in the kernel. :class:`DropoutView` is that training-time view
of a layer; :class:`tfrbm.RBMModel` builds one per batch when ``dropout`` > 0.
"""
import tensorflow as tf

from tfrbm.layers import matmul

__all__ = ["DropoutView", "dropout_mask"]


def dropout_mask(shape, rate, seed, dtype=tf.float32):
    """A 0/1 mask of ``shape``: each entry 1 with probability 1 - ``rate`` (stateless seed)."""
    return tf.cast(tf.random.stateless_uniform(shape, seed=seed, dtype=dtype) >= rate, dtype)


class DropoutView:
    """A layer's sub-RBMs for one batch: hidden units where ``mask`` (batch, hidden) is 0 are
    removed, the kept ones interact through W = kernel / retain. Offers the conditionals that
    :mod:`tfrbm.gibbs` uses (``hidden_input``, ``hidden_probs``, ``sample_hidden``,
    ``visible_probs``, ``sample_visible``)."""

    def __init__(self, layer, mask, retain):
        self.layer = layer
        self.mask = mask
        self.retain = float(retain)
        self.visible_units = layer.visible_units
        self.hidden_units = layer.hidden_units
        self.matmul_dtype = layer.matmul_dtype
        self.kernel = layer.kernel

    def scaled_visible(self, v):
        return self.layer.scaled_visible(v)

    def hidden_input(self, v):
        return self.layer.hidden_bias + matmul(
            self.layer.scaled_visible(v), self.layer.product_kernel(),
            self.matmul_dtype) / self.retain

    def hidden_probs(self, v):
        return self.hidden_units.mean(self.hidden_input(v)) * self.mask

    def sample_hidden(self, v, seed):
        a = self.hidden_input(v)
        return self.hidden_units.mean(a) * self.mask, self.hidden_units.draw(a, seed) * self.mask

    def visible_input(self, h):
        return self.layer.visible_bias + matmul(
            h * self.mask, self.layer.product_kernel(), self.matmul_dtype,
            transpose_b=True) / self.retain

    def visible_probs(self, h):
        return self.visible_units.mean(self.visible_input(h))

    def sample_visible(self, h, seed):
        return self.layer.draw_visible(self.visible_input(h), seed)
