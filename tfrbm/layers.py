"""RBMLayer: the weights of a restricted Boltzmann machine, usable as an ordinary Keras layer.

Energy (Bernoulli hidden h, visible family with energy term e_v):
    E(v, h) = e_v(v; b) - h.c - v^T W h
Conditionals:   p(h_j = 1 | v) = sigmoid(c_j + v^T W_:j),   E[v | h] = visible.mean(b + W h)
Free energy:    F(v) = e_v(v; b) - sum_j softplus(c_j + v^T W_:j)
"""
import keras
import tensorflow as tf

from tfrbm.units import BernoulliUnits, get_units
from tfrbm.errors import UserError

__all__ = ["RBMLayer"]


@keras.saving.register_keras_serializable(package="tfrbm")
class RBMLayer(keras.layers.Layer):
    """A restricted Boltzmann machine's weights and conditionals.

    ``call(v)`` returns p(h = 1 | v), so the layer drops into Sequential and functional models as
    a (differentiable) feature extractor. Training by contrastive divergence lives in
    :class:`tfrbm.RBMModel`; this layer only knows the energy and the conditionals.

    Args:
        units: number of hidden units (positive int).
        visible: visible unit family: ``"bernoulli"`` (default), ``"gaussian"`` (real-valued,
            unit variance: standardise the data) or ``{"name": "softmax", "k": 5}``.
        kernel_initializer: initializer of the (n_visible, units) weight matrix ``kernel``;
            small random weights by default (normal, stddev 0.01, as Hinton's guide suggests).
        visible_bias_initializer, hidden_bias_initializer: initializers of the biases.
        kernel_regularizer: optional Keras regularizer on the kernel (applies when the layer is
            fine-tuned by backprop; CD training uses ``RBMModel(weight_decay=...)``).

    Input shape: (batch, n_visible). Output shape: (batch, units).

    Example:
        >>> layer = RBMLayer(64)
        >>> features = keras.Sequential([keras.Input((784,)), layer, keras.layers.Dense(10)])
    """

    def __init__(self, units, visible="bernoulli",
                 kernel_initializer=None, visible_bias_initializer="zeros",
                 hidden_bias_initializer="zeros", kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        from tfrbm.validation import POSITIVE_INT, check_param
        self.units = check_param("units", units, POSITIVE_INT)
        self.visible_units = get_units(visible)
        self.hidden_units = BernoulliUnits()
        if kernel_initializer is None:
            kernel_initializer = keras.initializers.RandomNormal(stddev=0.01)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.visible_bias_initializer = keras.initializers.get(visible_bias_initializer)
        self.hidden_bias_initializer = keras.initializers.get(hidden_bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.supports_masking = False

    # ----------------------------------------------------------------- weights
    def build(self, input_shape):
        n_visible = input_shape[-1]
        if n_visible is None:
            raise UserError("RBMLayer needs a known number of visible units (last input dimension)")
        n_visible = int(n_visible)
        if getattr(self.visible_units, "k", None) and n_visible % self.visible_units.k:
            raise UserError(f"softmax visible units need a multiple of k={self.visible_units.k} "
                             f"features, got {n_visible}")
        self.kernel = self.add_weight(name="kernel", shape=(n_visible, self.units),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.visible_bias = self.add_weight(name="visible_bias", shape=(n_visible,),
                                            initializer=self.visible_bias_initializer)
        self.hidden_bias = self.add_weight(name="hidden_bias", shape=(self.units,),
                                           initializer=self.hidden_bias_initializer)
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: n_visible})

    @property
    def n_visible(self):
        return int(self.kernel.shape[0])

    @property
    def n_hidden(self):
        return self.units

    # ----------------------------------------------------------------- conditionals
    def hidden_input(self, v):
        """Total input to the hidden units, c + v W."""
        return tf.matmul(v, self.kernel) + self.hidden_bias

    def visible_input(self, h):
        """Total input to the visible units, b + h W^T."""
        return tf.matmul(h, self.kernel, transpose_b=True) + self.visible_bias

    def hidden_probs(self, v):
        """p(h = 1 | v) = sigmoid(c + v W)."""
        return tf.sigmoid(self.hidden_input(v))

    def visible_probs(self, h):
        """E[v | h]: sigmoid(b + h W^T) for Bernoulli units, b + h W^T for Gaussian units."""
        return self.visible_units.mean(self.visible_input(h))

    def sample_hidden(self, v, seed):
        """Return (p(h|v), h ~ p(h|v)); ``seed`` is a stateless seed, shape (2,)."""
        probs = self.hidden_probs(v)
        return probs, self.hidden_units.sample(probs, seed)

    def sample_visible(self, h, seed):
        """Return (E[v|h], v ~ p(v|h))."""
        mean = self.visible_probs(h)
        return mean, self.visible_units.sample(mean, seed)

    # ----------------------------------------------------------------- energies
    def free_energy(self, v):
        """F(v) = e_v(v; b) - sum_j softplus(c_j + v W_:j), one value per row (softplus, not log1p(exp))."""
        v = tf.convert_to_tensor(v, dtype=self.kernel.dtype)
        return (self.visible_units.energy_term(v, self.visible_bias)
                - tf.reduce_sum(tf.math.softplus(self.hidden_input(v)), axis=-1))

    def energy(self, v, h):
        """E(v, h) = e_v(v; b) - h.c - v^T W h, one value per row."""
        v = tf.convert_to_tensor(v, dtype=self.kernel.dtype)
        h = tf.convert_to_tensor(h, dtype=self.kernel.dtype)
        return (self.visible_units.energy_term(v, self.visible_bias)
                - tf.linalg.matvec(h, self.hidden_bias)
                - tf.reduce_sum(tf.matmul(v, self.kernel) * h, axis=-1))

    # ----------------------------------------------------------------- keras
    def call(self, inputs):
        return self.hidden_probs(tf.cast(inputs, self.compute_dtype))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "visible": keras.saving.serialize_keras_object(self.visible_units),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "visible_bias_initializer": keras.initializers.serialize(self.visible_bias_initializer),
            "hidden_bias_initializer": keras.initializers.serialize(self.hidden_bias_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        })
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("kernel_initializer", "visible_bias_initializer", "hidden_bias_initializer"):
            if config.get(key) is not None:
                config[key] = keras.initializers.deserialize(config[key])
        if config.get("kernel_regularizer") is not None:
            config["kernel_regularizer"] = keras.regularizers.deserialize(config["kernel_regularizer"])
        return cls(**config)
