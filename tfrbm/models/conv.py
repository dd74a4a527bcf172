"""Convolutional RBMs (Lee, Grosse, Ranganath & Ng 2009; Norouzi, Ranjbar & Mori 2009).

Visible images v (height H, width W, C channels) and F feature maps of hidden units h^f of
size (H - k + 1) x (W - k + 1), one shared k x k x C filter W^f per map:

    E(v, h) = e_v(v; b) + e_h(h; c) - sum_f h^f . (W^f * v)

where ``*`` is the "valid" cross-correlation (``tf.nn.conv2d``), b holds one bias per visible
channel and c one per feature map, and e_v, e_h are any unit families of :mod:`tfrbm.units`
applied to every pixel / hidden position. It is exactly the fully connected RBM whose weight
matrix ties W[(y+i, x+j, c), (y, x, f)] = W^f[i, j, c] (:meth:`ConvRBMLayer.to_dense`, what
the tests compare against). Conditionals: E[h | v] = hidden.mean(c + W * v) and
E[v | h] = visible.mean(b + sum_f W^f (full conv) h^f) (``conv2d_transpose``).

Probabilistic max-pooling (``pooling=P``, Bernoulli hidden units): the detector units of each
map fall into P x P blocks B_alpha with at most one unit on per block, and the pooling unit
p_alpha is on when one of them is. Given v, each block is a (P^2 + 1)-way softmax:
    p(h_i = 1 | v) = exp(I_i) / (1 + sum_{i' in B} exp(I_i')),  p(p_alpha = 0 | v) = 1 / (1 + ...)
with I = c + W * v, and the free energy is exact: F(v) = e_v(v; b) - sum_alpha log(1 + sum_B exp(I)).

CD statistics (:meth:`ConvRBMLayer.cd_statistics`) are averaged over the hidden positions (and
the visible bias's over the pixels), as Lee et al. do, so a learning rate does not grow with
the image size. :class:`ConvRBMModel` trains the layer under ``fit`` with the same compiled
CD-k / PCD-k step as :class:`tfrbm.RBMModel` (``RBMModel(ConvRBMLayer(...))`` builds one).
"""
import contextlib

import keras
import numpy as np
import tensorflow as tf

from tfrbm import gibbs, likelihood, serving
from tfrbm.errors import UserError
from tfrbm.layers import RBMLayer, get_kernel_initializer
from tfrbm.models.rbm import RBMModel
from tfrbm.units import get_units
from tfrbm.validation import POSITIVE_INT, Instance, check_param

__all__ = ["ConvRBMLayer", "ConvRBMModel"]


def _flat(x):
    return tf.reshape(x, tf.stack([tf.shape(x)[0], -1]))


@keras.saving.register_keras_serializable(package="tfrbm")
class ConvRBMLayer(keras.layers.Layer):
    """A convolutional RBM's shared filters and conditionals, usable as a Keras layer.

    Args:
        filters: number of feature maps F.
        kernel_size: the filters' size k (an int, square filters).
        visible, hidden: unit families (names or configs of :func:`tfrbm.units.get_units`).
        pooling: None (default) or the block size P of probabilistic max-pooling (Bernoulli
            hidden units; the feature maps' height and width must be multiples of P).
        kernel_initializer: initializer of the (k, k, C, F) filters (normal, stddev 0.01).

    ``call(v)`` on (batch, H, W, C) images returns E[h | v] (batch, H-k+1, W-k+1, F), or with
    pooling the pooling units' p(p = 1 | v) (batch, (H-k+1)/P, (W-k+1)/P, F).
    """

    def __init__(self, filters, kernel_size, visible="bernoulli", hidden="bernoulli",
                 pooling=None, kernel_initializer=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_param("filters", filters, POSITIVE_INT)
        self.kernel_size = check_param("kernel_size", kernel_size, POSITIVE_INT)
        self.visible_units = get_units(visible)
        self.hidden_units = get_units(hidden)
        if pooling is not None:
            pooling = check_param("pooling", pooling, POSITIVE_INT)
            if self.hidden_units.name != "bernoulli":
                raise UserError("probabilistic max-pooling needs Bernoulli hidden units, not "
                                f"{self.hidden_units.name!r}")
        self.pooling = pooling
        self.kernel_initializer = get_kernel_initializer(kernel_initializer)
        self.matmul_dtype = "float32"
        self.learns_variance = False

    def build(self, input_shape):
        if len(input_shape) != 4 or any(d is None for d in input_shape[1:]):
            raise UserError("ConvRBMLayer needs images of a known shape (batch, height, width, "
                            f"channels), got {tuple(input_shape)}")
        self.image_shape = tuple(int(d) for d in input_shape[1:])
        height, width, channels = self.image_shape
        k = self.kernel_size
        if k > min(height, width):
            raise UserError(f"kernel_size {k} is larger than the {height}x{width} images")
        self.hidden_shape = (height - k + 1, width - k + 1, self.filters)
        if self.pooling and (self.hidden_shape[0] % self.pooling or
                             self.hidden_shape[1] % self.pooling):
            raise UserError(
                f"pooling={self.pooling} needs feature maps whose height and width are multiples "
                f"of it; {height}x{width} images and {k}x{k} filters give "
                f"{self.hidden_shape[0]}x{self.hidden_shape[1]}")
        self.kernel = self.add_weight(name="kernel", shape=(k, k, channels, self.filters),
                                      initializer=self.kernel_initializer)
        self.visible_bias = self.add_weight(name="visible_bias", shape=(channels,),
                                            initializer="zeros")
        self.hidden_bias = self.add_weight(name="hidden_bias", shape=(self.filters,),
                                           initializer="zeros")

    # sizes used by cost estimates (chunking), monitors and serving
    @property
    def visible_shape(self):
        return self.image_shape

    @property
    def n_visible(self):
        return int(np.prod(self.image_shape))

    @property
    def units(self):
        return int(np.prod(self.hidden_shape))

    # ------------------------------------------------------------------ conditionals
    def hidden_input(self, v):
        """I = c + W * v: (batch, H-k+1, W-k+1, F)."""
        return tf.nn.conv2d(v, self.kernel, strides=1, padding="VALID") + self.hidden_bias

    def visible_input(self, h):
        """b + sum_f W^f (full convolution) h^f: (batch, H, W, C)."""
        shape = tf.concat([tf.shape(h)[:1], tf.constant(self.image_shape)], axis=0)
        return tf.nn.conv2d_transpose(h, self.kernel, shape, strides=1,
                                      padding="VALID") + self.visible_bias

    def _blocks(self, x):
        """(batch, H', W', F) -> (batch, H'/P, W'/P, F, P*P): each pooling block's units."""
        p = self.pooling
        hh, ww, f = self.hidden_shape
        x = tf.reshape(x, [-1, hh // p, p, ww // p, p, f])
        return tf.reshape(tf.transpose(x, [0, 1, 3, 5, 2, 4]), [-1, hh // p, ww // p, f, p * p])

    def _unblocks(self, x):
        p = self.pooling
        hh, ww, f = self.hidden_shape
        x = tf.reshape(x, [-1, hh // p, ww // p, f, p, p])
        return tf.reshape(tf.transpose(x, [0, 1, 4, 2, 5, 3]), [-1, hh, ww, f])

    def _block_logits(self, a):
        """Each block's P^2 + 1 logits: [0 (all off), I_1, ..., I_{P^2}]."""
        blocks = self._blocks(a)
        return tf.concat([tf.zeros_like(blocks[..., :1]), blocks], axis=-1)

    def hidden_probs(self, v):
        """E[h | v] of the detector units (with pooling: the block softmax)."""
        a = self.hidden_input(v)
        if not self.pooling:
            return self.hidden_units.mean(a)
        return self._unblocks(tf.nn.softmax(self._block_logits(a), axis=-1)[..., 1:])

    def pool_probs(self, v):
        """p(p_alpha = 1 | v) of the pooling units, (batch, H'/P, W'/P, F)."""
        if not self.pooling:
            raise UserError("pool_probs needs a ConvRBMLayer with pooling")
        return 1.0 - tf.nn.softmax(self._block_logits(self.hidden_input(v)), axis=-1)[..., 0]

    def sample_hidden(self, v, seed):
        a = self.hidden_input(v)
        if not self.pooling:
            return self.hidden_units.mean(a), self.hidden_units.draw(a, seed)
        logits = self._block_logits(a)
        probs = tf.nn.softmax(logits, axis=-1)
        flat = tf.reshape(logits, [-1, logits.shape[-1]])
        index = tf.random.stateless_categorical(flat, 1, seed)[:, 0]
        onehot = tf.reshape(tf.one_hot(index, logits.shape[-1], dtype=a.dtype), tf.shape(logits))
        return self._unblocks(probs[..., 1:]), self._unblocks(onehot[..., 1:])

    def visible_probs(self, h):
        return self.visible_units.mean(self.visible_input(h))

    def sample_visible(self, h, seed):
        return self.draw_visible(self.visible_input(h), seed)

    def draw_visible(self, a, seed):
        return self.visible_units.mean(a), self.visible_units.draw(a, seed)

    def scaled_visible(self, v):
        return v

    @contextlib.contextmanager
    def shared_product_kernel(self):
        """A no-op (the convolutions run in float32); RBMModel's verbs enter it."""
        yield

    def check_normalizable(self):
        if self.visible_units.quadratic and self.hidden_units.quadratic:
            self.to_dense().check_normalizable()

    # ------------------------------------------------------------------ energies
    def _tiled_visible_bias(self, v):
        return tf.reshape(tf.broadcast_to(self.visible_bias, self.image_shape), [-1])

    def _tiled_hidden_bias(self):
        return tf.reshape(tf.broadcast_to(self.hidden_bias, self.hidden_shape), [-1])

    def visible_energy(self, v):
        v = tf.convert_to_tensor(v, self.kernel.dtype)
        return self.visible_units.energy_term(_flat(v), self._tiled_visible_bias(v))

    def free_energy(self, v):
        """F(v), one value per image (exact, with or without pooling)."""
        v = tf.convert_to_tensor(v, self.kernel.dtype)
        a = self.hidden_input(v)
        if self.pooling:
            hidden = tf.reduce_sum(tf.reduce_logsumexp(self._block_logits(a), axis=-1),
                                   axis=[1, 2, 3])
        else:
            hidden = self.hidden_units.log_marginal_of_total(_flat(a), self._tiled_hidden_bias())
        return self.visible_energy(v) - hidden

    def energy(self, v, h):
        """E(v, h) per image (with pooling, h must have at most one unit on per block)."""
        v = tf.convert_to_tensor(v, self.kernel.dtype)
        h = tf.convert_to_tensor(h, self.kernel.dtype)
        interaction = tf.reduce_sum(h * (self.hidden_input(v) - self.hidden_bias), axis=[1, 2, 3])
        return (self.visible_energy(v)
                + self.hidden_units.energy_term(_flat(h), self._tiled_hidden_bias())
                - interaction)

    def cd_statistics(self, v0, pos_h, vk, neg_h):
        """(dW, db, dc): the negated CD statistic, averaged over the batch and the positions."""
        n_hidden_positions = float(self.hidden_shape[0] * self.hidden_shape[1])
        n_pixels = float(self.image_shape[0] * self.image_shape[1])
        size = tf.shape(self.kernel)

        def corr(v, h):
            grad = tf.raw_ops.Conv2DBackpropFilter(input=v, filter_sizes=size, out_backprop=h,
                                                   strides=[1, 1, 1, 1], padding="VALID")
            return grad / tf.cast(tf.shape(v)[0], v.dtype)
        d_kernel = -(corr(v0, pos_h) - corr(vk, neg_h)) / n_hidden_positions
        d_visible = -(tf.reduce_mean(tf.reduce_sum(v0, axis=[1, 2]), 0)
                      - tf.reduce_mean(tf.reduce_sum(vk, axis=[1, 2]), 0)) / n_pixels
        d_hidden = -(tf.reduce_mean(tf.reduce_sum(pos_h, axis=[1, 2]), 0)
                     - tf.reduce_mean(tf.reduce_sum(neg_h, axis=[1, 2]), 0)) / n_hidden_positions
        return d_kernel, d_visible, d_hidden

    def to_dense(self):
        """The fully connected :class:`tfrbm.RBMLayer` with the tied weights of these filters
        (pixels and hidden positions in row-major (y, x, channel) order); no pooling constraint."""
        height, width, channels = self.image_shape
        hh, ww, f = self.hidden_shape
        k = self.kernel_size
        kernel = self.kernel.numpy()
        dense = np.zeros((height, width, channels, hh, ww, f), np.float32)
        for y in range(hh):
            for x in range(ww):
                dense[y:y + k, x:x + k, :, y, x, :] = kernel
        layer = RBMLayer(hh * ww * f, visible=self.visible_units, hidden=self.hidden_units)
        layer.build((None, height * width * channels))
        layer.kernel.assign(dense.reshape(height * width * channels, hh * ww * f))
        layer.visible_bias.assign(self._tiled_visible_bias(None))
        layer.hidden_bias.assign(self._tiled_hidden_bias())
        return layer

    # ------------------------------------------------------------------ keras
    def call(self, inputs):
        v = tf.cast(inputs, self.compute_dtype)
        return self.pool_probs(v) if self.pooling else self.hidden_probs(v)

    def compute_output_shape(self, input_shape):
        k = self.kernel_size
        hh, ww = input_shape[1] - k + 1, input_shape[2] - k + 1
        if self.pooling:
            hh, ww = hh // self.pooling, ww // self.pooling
        return (input_shape[0], hh, ww, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters, "kernel_size": self.kernel_size,
            "visible": keras.saving.serialize_keras_object(self.visible_units),
            "hidden": keras.saving.serialize_keras_object(self.hidden_units),
            "pooling": self.pooling,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("kernel_initializer") is not None:
            config["kernel_initializer"] = keras.initializers.deserialize(config["kernel_initializer"])
        return cls(**config)

    #: :class:`tfrbm.RBMModel` trains this layer as a :class:`ConvRBMModel`
    @property
    def model_class(self):
        return ConvRBMModel


@keras.saving.register_keras_serializable(package="tfrbm")
class ConvRBMModel(RBMModel):
    """:class:`tfrbm.RBMModel` for a :class:`ConvRBMLayer`: the same ``fit``, CD-k / PCD-k
    step, optimizer, metrics and inference verbs, on (batch, H, W, C) images.

    ``sparsity_target`` / ``sparsity_cost`` (Lee et al. 2009's regularisation) push each feature
    map's mean activation towards the target through its hidden bias. ``log_partition`` and
    likelihoods go through the equivalent fully connected RBM (:meth:`ConvRBMLayer.to_dense`;
    without pooling). Not supported: tempering, centering, dropout, bfloat16 products.
    """

    _parameter_constraints = {**RBMModel._parameter_constraints,
                              "layer": [Instance(ConvRBMLayer, "a ConvRBMLayer")]}
    #: centering defaults to False and True is a UserError: its step has no centering offsets
    supports_centering = False

    def __init__(self, layer=None, **kwargs):
        for name in ("tempering", "centering", "dropout"):
            if kwargs.get(name):
                raise UserError(f"ConvRBMModel does not support {name}")
        if kwargs.get("matmul_dtype") not in (None, "float32"):
            raise UserError("ConvRBMModel runs its convolutions in float32 only")
        super().__init__(layer, **kwargs)

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        with keras.name_scope(self.name, caller=self):
            self.persistent_chains = keras.Variable(
                initializer=keras.initializers.Zeros(),
                shape=(self.n_chains,) + self.layer.image_shape, trainable=False,
                name="persistent_chains")
        self.initialized = self.add_weight(name="initialized", shape=(), initializer="zeros",
                                           trainable=False)
        self.sparsity_q = self.add_weight(name="sparsity_running_mean",
                                          shape=(self.layer.filters,), initializer="zeros",
                                          trainable=False)
        self.base_rate_bias = self.add_weight(name="base_rate_bias",
                                              shape=(self.layer.image_shape[-1],),
                                              initializer="zeros", trainable=False)
        self.built = True

    def _check_visible(self, v, name="v"):
        if isinstance(v, tf.data.Dataset):
            return v
        v = np.asarray(v, dtype=np.float32)
        if v.ndim != 4:
            raise UserError(f"{name} must be images of shape (batch, height, width, channels), "
                             f"got shape {v.shape}")
        if self.layer.built and v.shape[1:] != self.layer.image_shape:
            raise UserError(f"{name} has images of shape {v.shape[1:]}; the model's are "
                             f"{self.layer.image_shape}")
        if not np.all(np.isfinite(v)):
            raise UserError(f"{name} holds NaN or Inf values")
        self.layer.visible_units.validate(v.reshape(len(v), -1))
        return v

    def _check_hidden(self, h):
        self._require_built()
        h = np.asarray(h, dtype=np.float32)
        if h.shape[1:] != self.layer.hidden_shape:
            raise UserError(f"h must have shape (batch,) + {self.layer.hidden_shape}, got {h.shape}")
        return h

    def _initialize_from_sample(self, sample):
        # RBMModel.initialize_from_data and fit's in-memory path hand over checked images
        if not self.built:
            self.build((None,) + sample.shape[1:])
        if float(self.initialized.numpy()) > 0:
            return
        mean = sample.reshape(-1, sample.shape[-1]).mean(axis=0).astype(np.float64)
        if self.layer.visible_units.binary:
            p = np.clip(mean, 1e-3, 1 - 1e-3)
            bias = np.log(p / (1 - p))
        else:
            bias = mean
        self.base_rate_bias.assign(bias.astype(np.float32))
        if self.init_visible_bias == "log_odds":
            self.layer.visible_bias.assign(bias.astype(np.float32))
        self.persistent_chains.assign(self._fantasy_start(self.n_chains,
                                                          self.seed_generator.next()))
        self.initialized.assign(1.0)

    def _fantasy_start(self, n_samples, seed):
        b = tf.broadcast_to(self.layer.visible_bias,
                            tf.concat([[n_samples], tf.constant(self.layer.image_shape)], 0))
        return self.layer.visible_units.draw(b, gibbs.fold(seed, 7))

    def _ensure_built_for(self, v):
        if not self.built:
            self.build((None,) + v.shape[1:])

    def _cd_gradients(self, v0, seed):
        layer = self.layer
        v0 = tf.cast(v0, layer.kernel.dtype)
        ph0, h0 = layer.sample_hidden(v0, gibbs.fold(seed, 1))
        v_mean1, vk, phk, hk = self._negative_phase(h0, seed, layer)
        pos_h, neg_h = (ph0, phk) if self.hidden_statistics == "probabilities" else (h0, hk)
        d_kernel, d_visible, d_hidden = layer.cd_statistics(v0, pos_h, vk, neg_h)
        if self.weight_decay:
            d_kernel += self.weight_decay * layer.kernel
        if self.sparsity_target is not None and self.sparsity_cost:
            q = (self.sparsity_decay * self.sparsity_q
                 + (1 - self.sparsity_decay) * tf.reduce_mean(ph0, axis=[0, 1, 2]))
            self.sparsity_q.assign(q)
            d_hidden += self.sparsity_cost * (q - self.sparsity_target)
        if self.monitor_reconstruction:
            recon = v_mean1 if not self.persistent else layer.visible_probs(h0)
            recon_error = tf.reduce_mean(tf.square(v0 - recon))
        else:
            recon_error = tf.constant(float("nan"), v0.dtype)
        free_energy = tf.reduce_mean(layer.free_energy(v0))
        return [d_kernel, d_visible, d_hidden], recon_error, free_energy

    def pool_probs(self, v):
        """p(pooling unit = 1 | v) for images ``v`` (numpy out; layers with pooling)."""
        v = self._check_visible(v)
        self._ensure_built_for(v)
        return self._fn("pool_probs", self.layer.pool_probs)(v).numpy()

    def log_partition(self, method="exact", **kwargs):
        """log Z of the equivalent fully connected RBM (no pooling); see RBMModel.log_partition."""
        self._require_built()
        if self.layer.pooling:
            raise UserError("log Z is implemented for ConvRBMLayer without pooling")
        dense = self.layer.to_dense()
        if method == "exact":
            return likelihood.exact_log_partition(dense, **kwargs)
        if method == "ais":
            return likelihood.ais_log_partition(dense, **kwargs)
        raise UserError(f"unknown method {method!r}; use 'exact' or 'ais'")

    def serving_endpoints(self):
        """RBMModel's SavedModel signatures on (batch, H, W, C) images (hidden_probabilities,
        reconstruct, free_energy, sample, inpaint), plus ``pool_probabilities`` with pooling."""
        endpoints = super().serving_endpoints()
        layer = self.layer
        if layer.pooling:
            visible = serving.spec((None,) + layer.image_shape, tf.float32, "visible")

            def pool_probabilities(visible):
                checked = layer.visible_units.check_tensor(visible, "visible")
                return {"pool_probabilities": layer.pool_probs(checked)}
            endpoints.endpoints.append(("pool_probabilities", pool_probabilities, [visible]))
        return endpoints
