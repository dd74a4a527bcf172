"""RBMLayer: the weights of a restricted Boltzmann machine, usable as an ordinary Keras layer.

Energy (Bernoulli hidden h, visible family with energy term e_v):
    E(v, h) = e_v(v; b) - h.c - v^T W h
Conditionals:   p(h_j = 1 | v) = sigmoid(c_j + v^T W_:j),   E[v | h] = visible.mean(b + W h)
Free energy:    F(v) = e_v(v; b) - sum_j softplus(c_j + v^T W_:j)

Matrix products in bfloat16 (``matmul_dtype="bfloat16"``): the conditionals' products v W and
h W^T (and the CD statistic, see RBMModel) take bfloat16 inputs; the CPU kernel (oneDNN, AVX512_BF16
/ AMX) accumulates in float32 and rounds the product to bfloat16 (TensorFlow has no CPU matmul
with bfloat16 inputs and a float32 output), which is cast back to float32. The weights stay
float32 and everything else (biases, sigmoids, sampling, free energies, the update) runs in
float32; binary states are exact in bfloat16, so the error is the kernel's rounding (relative
2^-9) and the rounding of each product (relative 2^-9).
"""
import contextlib

import keras
import tensorflow as tf

from tfrbm.errors import UserError
from tfrbm.units import BernoulliUnits, get_units
from tfrbm.validation import POSITIVE_INT, check_param

__all__ = ["MATMUL_DTYPES", "RBMLayer", "matmul"]

#: dtypes the RBM's matrix products can run in
MATMUL_DTYPES = ("float32", "bfloat16")


def check_matmul_dtype(value):
    """Validate a ``matmul_dtype`` option ("float32" or "bfloat16"; None means "float32")."""
    if value is None:
        return "float32"
    name = getattr(value, "name", value)
    if name not in MATMUL_DTYPES:
        raise UserError(f"matmul_dtype must be one of {', '.join(MATMUL_DTYPES)}, got {value!r}")
    return name


def matmul(a, b, dtype="float32", transpose_a=False, transpose_b=False):
    """``a @ b`` with the product computed in ``dtype`` and returned in ``a``'s dtype.

    With ``dtype="bfloat16"`` both operands are rounded to bfloat16, the kernel accumulates in
    float32 and its bfloat16 result is cast back; with "float32" it is a plain ``tf.matmul``.
    """
    if dtype == "bfloat16" and a.dtype != tf.bfloat16:
        out = tf.matmul(tf.cast(a, tf.bfloat16), tf.cast(b, tf.bfloat16),
                        transpose_a=transpose_a, transpose_b=transpose_b)
        return tf.cast(out, a.dtype)
    return tf.matmul(a, b, transpose_a=transpose_a, transpose_b=transpose_b)


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
        matmul_dtype: ``"float32"`` (default) or ``"bfloat16"``: the dtype the conditionals'
            matrix products run in (float32 accumulation, float32 weights; see the module
            docstring). ``free_energy`` and ``energy`` always use float32 products.

    Input shape: (batch, n_visible). Output shape: (batch, units).

    Example:
        >>> layer = RBMLayer(64)
        >>> features = keras.Sequential([keras.Input((784,)), layer, keras.layers.Dense(10)])
    """

    def __init__(self, units, visible="bernoulli",
                 kernel_initializer=None, visible_bias_initializer="zeros",
                 hidden_bias_initializer="zeros", kernel_regularizer=None, matmul_dtype="float32",
                 **kwargs):
        super().__init__(**kwargs)
        self.units = check_param("units", units, POSITIVE_INT)
        self.matmul_dtype = check_matmul_dtype(matmul_dtype)
        self._product_kernel = None   # see shared_product_kernel
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
    @contextlib.contextmanager
    def shared_product_kernel(self):
        """Within this block the products reuse one ``matmul_dtype`` copy of the kernel.

        With bfloat16 products each product would otherwise round the float32 kernel again (a
        pass over V x H values per product); a CD step or a sampling loop built inside this
        block rounds it once. Use it only where the kernel does not change inside the block.
        A no-op for float32 products.
        """
        if self.matmul_dtype == "float32" or self._product_kernel is not None:
            yield
            return
        self._product_kernel = tf.cast(self.kernel, self.matmul_dtype)
        try:
            yield
        finally:
            self._product_kernel = None

    def _kernel_for_products(self):
        return self.kernel if self._product_kernel is None else self._product_kernel

    def hidden_input(self, v):
        """Total input to the hidden units, c + v W (the product in ``matmul_dtype``)."""
        return matmul(v, self._kernel_for_products(), self.matmul_dtype) + self.hidden_bias

    def visible_input(self, h):
        """Total input to the visible units, b + h W^T (the product in ``matmul_dtype``)."""
        return (matmul(h, self._kernel_for_products(), self.matmul_dtype, transpose_b=True)
                + self.visible_bias)

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
        exact_input = tf.matmul(v, self.kernel) + self.hidden_bias    # always float32
        return (self.visible_units.energy_term(v, self.visible_bias)
                - tf.reduce_sum(tf.math.softplus(exact_input), axis=-1))

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
            "matmul_dtype": self.matmul_dtype,
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
