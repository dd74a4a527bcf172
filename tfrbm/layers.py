"""RBMLayer: the weights of a restricted Boltzmann machine, usable as an ordinary Keras layer.

Energy (visible and hidden unit families with energy terms e_v, e_h; :mod:`tfrbm.units`):
    E(v, h) = e_v(v; b) + e_h(h; c) - v^T W h         (Bernoulli hidden: e_h(h; c) = -h.c)
Conditionals:   E[h | v] = hidden.mean(c + v W),      E[v | h] = visible.mean(b + W h)
                (Bernoulli hidden: p(h_j = 1 | v) = sigmoid(c_j + v^T W_:j))
Free energy:    F(v) = e_v(v; b) - hidden.log_marginal(v W, c)
                (Bernoulli hidden: e_v(v; b) - sum_j softplus(c_j + v^T W_:j))
Learned visible variances (``visible="gaussian", visible_variance="learned"``; Cho, Ilin & Raiko
2011): sigma_i^2 = exp(z_i) with z the weight ``visible_log_variance``, and
    E(v, h) = sum_i (v_i - b_i)^2 / (2 sigma_i^2) + e_h(h; c) - sum_ij v_i W_ij h_j / sigma_i^2,
so E[h | v] = hidden.mean(c + (v / sigma^2) W) and v | h ~ N(b + W h, sigma^2). It is the
unit-variance RBM on u = v / sigma with weights W / sigma and visible biases b / sigma
(:meth:`RBMLayer.unit_variance_equivalent`), so log p(v) = log p_u(v / sigma) - sum_i log sigma_i.
A layer with unit-variance Gaussian units on both sides has a finite partition function only
while the largest singular value of W is below 1 (:meth:`RBMLayer.check_normalizable`).

Matrix products in bfloat16 (``matmul_dtype="bfloat16"``): the conditionals' products v W and
h W^T (and the CD statistic, see RBMModel) take bfloat16 inputs; the CPU kernel (oneDNN, AVX512_BF16
/ AMX) accumulates in float32 and rounds the product to bfloat16 (TensorFlow has no CPU matmul
with bfloat16 inputs and a float32 output), which is cast back to float32. The weights stay
float32 and everything else (biases, sigmoids, sampling, free energies, the update) runs in
float32; binary states are exact in bfloat16, so the error is the kernel's rounding (relative
2^-9) and the rounding of each product (relative 2^-9).
"""
import contextlib
import math
import warnings

import keras
import tensorflow as tf

from tfrbm.errors import UserError
from tfrbm.limits import check_allocation
from tfrbm.units import get_units
from tfrbm.validation import POSITIVE_INT, check_param

__all__ = ["BFLOAT16_MATMUL_TOLERANCE", "MATMUL_DTYPES", "RBMLayer", "matmul", "native_bfloat16",
           "get_kernel_initializer", "visible_size"]

#: dtypes the RBM's matrix products can run in
MATMUL_DTYPES = ("float32", "bfloat16")


def check_matmul_dtype(value):
    """Validate a ``matmul_dtype`` option ("float32" or "bfloat16"; None means "float32").

    "bfloat16" on a machine with no native bfloat16 arithmetic (no GPU, and a CPU without
    AVX512-BF16 or AMX) warns once per process: it is slower there than float32, and no more
    accurate than :data:`BFLOAT16_MATMUL_TOLERANCE` guarantees.
    """
    if value is None:
        return "float32"
    name = getattr(value, "name", value)
    if name not in MATMUL_DTYPES:
        raise UserError(f"matmul_dtype must be one of {', '.join(MATMUL_DTYPES)}, got {value!r}")
    if name == "bfloat16":
        _warn_emulated_bfloat16()
    return name


#: what the bfloat16 path guarantees on every machine: each element of ``matmul(a, b,
#: "bfloat16")`` is within ``BFLOAT16_MATMUL_TOLERANCE * (|a16| @ |b16|)`` of the exact product
#: of the bfloat16-rounded inputs a16, b16 (two units of bfloat16's 2**-8 precision, relative to
#: the magnitude of the summed terms). With native bfloat16 units (AMX, AVX512-BF16, GPUs) the
#: products accumulate in float32 and only the result is rounded (error <= 2**-9 |a16 @ b16|);
#: CPUs without them (AVX2-only AMD EPYC) accumulate in blocks rounded to bfloat16 and were
#: measured up to 0.44 of this bound (0.7% of |a16 @ b16| where the sum cancels).
BFLOAT16_MATMUL_TOLERANCE = 2.0 ** -7

_BF16_WARNED = []


def native_bfloat16():
    """True when TensorFlow has native bfloat16 matmuls here: a GPU, or a CPU with AVX512-BF16
    or AMX-BF16 (read from /proc/cpuinfo; True where it cannot be read)."""
    if tf.config.list_physical_devices("GPU"):
        return True
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), None)
    except OSError:
        return True
    if flags is None:
        return True
    names = set(flags.split(":", 1)[-1].split())
    return bool(names & {"avx512_bf16", "amx_bf16"})


def _warn_emulated_bfloat16():
    if _BF16_WARNED or native_bfloat16():
        return
    _BF16_WARNED.append(True)
    warnings.warn("matmul_dtype='bfloat16' on a CPU without native bfloat16 units (no AVX512-BF16 "
                  "or AMX): the products are emulated, slower than float32, and accurate to "
                  f"{BFLOAT16_MATMUL_TOLERANCE:g} of the summed magnitudes; prefer float32 here",
                  RuntimeWarning, stacklevel=3)


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


#: learned visible variances are kept within [MIN_VARIANCE, MAX_VARIANCE] (after each update):
#: a pixel that is (nearly) constant in the data would otherwise drive sigma^2 to 0 and its
#: precision 1 / sigma^2, which multiplies its weights, to infinity
MIN_VARIANCE, MAX_VARIANCE = 0.01, 100.0


@keras.saving.register_keras_serializable(package="tfrbm")
class LogVarianceBounds(keras.constraints.Constraint):
    """Clip log sigma^2 to [log MIN_VARIANCE, log MAX_VARIANCE]."""

    def __call__(self, w):
        return tf.clip_by_value(w, math.log(MIN_VARIANCE), math.log(MAX_VARIANCE))


def get_kernel_initializer(value=None):
    """A layer's kernel initializer: ``value`` (anything ``keras.initializers.get`` takes), or
    N(0, 0.01^2) for None (Hinton's guide, section 8)."""
    return keras.initializers.get(
        keras.initializers.RandomNormal(stddev=0.01) if value is None else value)


def visible_size(value):
    """A number of visible units from a shape (a config is data: 1e9, -3 or NaN are refused)."""
    try:
        n = int(value)
    except (TypeError, ValueError, OverflowError):
        raise UserError(f"the number of visible units must be a positive integer, got {value!r}") \
            from None
    if n < 1 or n != value:
        raise UserError(f"the number of visible units must be a positive integer, got {value!r}")
    return n


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
        visible_variance: ``"unit"`` (default) or ``"learned"``: Gaussian visible units with a
            learned variance per unit (Cho, Ilin & Raiko 2011; the weight
            ``visible_log_variance`` holds log sigma^2, trained by CD with the other weights).
        kernel_initializer: initializer of the (n_visible, units) weight matrix ``kernel``;
            small random weights by default (normal, stddev 0.01, as Hinton's guide suggests).
        hidden: hidden unit family, any name :func:`tfrbm.units.get_units` takes:
            ``"bernoulli"`` (default, binary), ``"gaussian"`` (linear, unit variance, energy
            1/2 ||h - c||^2) or ``"relu"`` (stepped-sigmoid rectified units,
            :class:`tfrbm.units.SteppedSigmoidUnits`; ``{"name": "relu", "n_copies": N}``).
            ``call`` returns E[h | v] (p(h = 1 | v) for Bernoulli units).
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

    def __init__(self, units, visible="bernoulli", hidden="bernoulli", visible_variance="unit",
                 kernel_initializer=None, visible_bias_initializer="zeros",
                 hidden_bias_initializer="zeros", kernel_regularizer=None, matmul_dtype="float32",
                 **kwargs):
        super().__init__(**kwargs)
        self.units = check_param("units", units, POSITIVE_INT)
        self.matmul_dtype = check_matmul_dtype(matmul_dtype)
        self._product_kernel = None   # see shared_product_kernel
        self.visible_units = get_units(visible)
        self.hidden_units = get_units(hidden)
        if visible_variance not in ("unit", "learned"):
            raise UserError(f"visible_variance must be 'unit' or 'learned', got {visible_variance!r}")
        if visible_variance == "learned" and not self.visible_units.quadratic:
            raise UserError("visible_variance='learned' needs Gaussian visible units "
                             f"(visible='gaussian'), not {self.visible_units.name!r}")
        self.visible_variance = visible_variance
        self.kernel_initializer = get_kernel_initializer(kernel_initializer)
        self.visible_bias_initializer = keras.initializers.get(visible_bias_initializer)
        self.hidden_bias_initializer = keras.initializers.get(hidden_bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.supports_masking = False

    # ----------------------------------------------------------------- weights
    def build(self, input_shape):
        n_visible = input_shape[-1]
        if n_visible is None:
            raise UserError("RBMLayer needs a known number of visible units (last input dimension)")
        n_visible = visible_size(n_visible)
        # checked here, before any weight exists: a .keras file's build_config (a layer's own
        # included, which Keras builds while deserializing, before the model's check) is data
        check_allocation(f"an RBM layer of {n_visible:,} visible x {self.units:,} hidden units",
                         4 * (n_visible * self.units + n_visible + self.units))
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
        if self.visible_variance == "learned":
            self.visible_log_variance = self.add_weight(
                name="visible_log_variance", shape=(n_visible,), initializer="zeros",
                constraint=LogVarianceBounds())
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: n_visible})

    @property
    def n_visible(self):
        return int(self.kernel.shape[0])

    @property
    def visible_shape(self):
        """The shape of one visible vector, (n_visible,)."""
        return (self.n_visible,)

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

    def product_kernel(self):
        """The kernel the conditionals' products use (the shared ``matmul_dtype`` copy inside
        :meth:`shared_product_kernel`)."""
        return self.kernel if self._product_kernel is None else self._product_kernel

    @property
    def learns_variance(self):
        return self.visible_variance == "learned"

    def visible_precision(self):
        """1 / sigma^2 per visible unit (a tensor), or None for unit variances."""
        if not self.learns_variance:
            return None
        return tf.exp(-self.visible_log_variance)

    def scaled_visible(self, v):
        """v / sigma^2: what the weights see (``v`` itself for unit variances)."""
        precision = self.visible_precision()
        return v if precision is None else v * tf.cast(precision, v.dtype)

    def hidden_input(self, v):
        """Total input to the hidden units, c + (v / sigma^2) W (the product in ``matmul_dtype``)."""
        return (matmul(self.scaled_visible(v), self.product_kernel(), self.matmul_dtype)
                + self.hidden_bias)

    def visible_input(self, h):
        """Total input to the visible units, b + h W^T (the product in ``matmul_dtype``)."""
        return (matmul(h, self.product_kernel(), self.matmul_dtype, transpose_b=True)
                + self.visible_bias)

    def hidden_probs(self, v):
        """E[h | v] = hidden.mean(c + v W): p(h = 1 | v) = sigmoid(c + v W) for Bernoulli units."""
        return self.hidden_units.mean(self.hidden_input(v))

    def visible_probs(self, h):
        """E[v | h]: sigmoid(b + h W^T) for Bernoulli units, b + h W^T for Gaussian units."""
        return self.visible_units.mean(self.visible_input(h))

    def sample_hidden(self, v, seed):
        """Return (E[h|v], h ~ p(h|v)); ``seed`` is a stateless seed, shape (2,)."""
        a = self.hidden_input(v)
        return self.hidden_units.mean(a), self.hidden_units.draw(a, seed)

    def sample_visible(self, h, seed):
        """Return (E[v|h], v ~ p(v|h))."""
        return self.draw_visible(self.visible_input(h), seed)

    def draw_visible(self, a, seed):
        """(E[v | a], v ~ p(v | a)) given the visible units' total input ``a``."""
        if self.learns_variance:             # N(a, sigma^2) = sigma * N(a / sigma, 1)
            sigma = tf.exp(0.5 * self.visible_log_variance)
            return a, sigma * self.visible_units.draw(a / sigma, seed)
        return self.visible_units.mean(a), self.visible_units.draw(a, seed)

    # ----------------------------------------------------------------- energies
    def free_energy(self, v):
        """F(v) = e_v(v; b) - hidden.log_marginal(v W, c), one value per row (for Bernoulli
        hidden units e_v(v; b) - sum_j softplus(c_j + v W_:j), softplus, not log1p(exp))."""
        v = tf.convert_to_tensor(v, dtype=self.kernel.dtype)
        exact_input = tf.matmul(self.scaled_visible(v), self.kernel) + self.hidden_bias  # float32
        return (self.visible_energy(v)
                - self.hidden_units.log_marginal_of_total(exact_input, self.hidden_bias))

    def visible_energy(self, v):
        """e_v(v; b), or sum_i (v_i - b_i)^2 / (2 sigma_i^2) with learned variances."""
        if self.learns_variance:
            sigma = tf.exp(0.5 * self.visible_log_variance)
            return self.visible_units.energy_term(v / sigma, self.visible_bias / sigma)
        return self.visible_units.energy_term(v, self.visible_bias)

    def energy(self, v, h):
        """E(v, h) = e_v(v; b) + e_h(h; c) - v^T W h, one value per row."""
        v = tf.convert_to_tensor(v, dtype=self.kernel.dtype)
        h = tf.convert_to_tensor(h, dtype=self.kernel.dtype)
        return (self.visible_energy(v)
                + self.hidden_units.energy_term(h, self.hidden_bias)
                - tf.reduce_sum(tf.matmul(self.scaled_visible(v), self.kernel) * h, axis=-1))

    def unit_variance_equivalent(self):
        """(layer, log_sigma_sum): the unit-variance RBM on u = v / sigma (weights W / sigma,
        visible biases b / sigma) and sum_i log sigma_i, so that F(v) = F_u(v / sigma) and
        log Z = log Z_u + sum_i log sigma_i. For unit variances: (self, 0.0)."""
        if not self.learns_variance:
            return self, 0.0
        sigma = tf.exp(0.5 * self.visible_log_variance)
        twin = RBMLayer(self.units, visible=self.visible_units, hidden=self.hidden_units)
        twin.build((None, self.n_visible))
        twin.kernel.assign(self.kernel / sigma[:, None])
        twin.visible_bias.assign(self.visible_bias / sigma)
        twin.hidden_bias.assign(self.hidden_bias)
        return twin, float(tf.reduce_sum(0.5 * self.visible_log_variance).numpy())

    def check_normalizable(self):
        """Raise a UserError when this layer has no finite partition function.

        Only unit-variance Gaussian units on both sides can lack one: the joint density is a
        Gaussian with precision [[I, -W], [-W^T, I]], proper only while the largest singular
        value of W is below 1. Every other pairing has at least one bounded (discrete) side.
        """
        if not (self.built and self.visible_units.quadratic and self.hidden_units.quadratic):
            return
        kernel = self.unit_variance_equivalent()[0].kernel
        top = float(tf.reduce_max(tf.linalg.svd(kernel, compute_uv=False)).numpy())
        if not top < 1.0:
            raise UserError(
                f"a Gaussian-Gaussian RBM has a finite partition function only while the largest "
                f"singular value of W is below 1; this one's is {top:.4g}, so p(v) is not a "
                "distribution (no log Z, no likelihood, and Gibbs chains diverge). Use smaller "
                "weights (a smaller learning rate, weight_decay) or Bernoulli/relu hidden units")

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
            "hidden": keras.saving.serialize_keras_object(self.hidden_units),
            "visible_variance": self.visible_variance,
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
