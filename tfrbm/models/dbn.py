"""DBNModel: a deep belief network, a stack of RBMs trained greedily, one layer at a time.

Layer l is an RBM whose visible units are layer l-1's hidden units. Greedy pre-training
(Hinton, Osindero & Teh 2006) fits RBM 1 to the data, then RBM 2 to p(h1 | v), and so on; each
layer is trained by :class:`tfrbm.RBMModel` (CD-k or PCD-k) on features streamed through tf.data:
    x_l = sigmoid(c_l + x_{l-1} W_l)      (or a Bernoulli sample of it).
The trained stack then initialises ordinary Keras networks: a sigmoid classifier with a softmax
head (:meth:`DBNModel.to_classifier`) or a deep autoencoder unrolled with tied initial weights,
decoder kernels W_l^T (Hinton & Salakhutdinov 2006, :meth:`DBNModel.to_autoencoder`).
"""
import numbers
import sys

import keras
import numpy as np
import tensorflow as tf

from tfrbm import gibbs
from tfrbm.layers import RBMLayer
from tfrbm.errors import UserError
from tfrbm.safety import AtomicSaveMixin
from tfrbm.serving import ServingMixin
from tfrbm.validation import POSITIVE_INT, check_param

__all__ = ["DBNModel", "mlp_classifier", "deep_autoencoder"]

#: keys of ``layer_options`` that go to the RBMModel constructor
_RBM_KEYS = ("cd_k", "persistent", "n_chains", "hidden_statistics", "weight_decay",
             "sparsity_target", "sparsity_cost", "sparsity_decay", "init_visible_bias",
             "monitor_reconstruction")
#: keys of ``layer_options`` that ``pretrain`` itself reads
_FIT_KEYS = ("epochs", "optimizer", "learning_rate", "sample", "callbacks", "verbose")


def _fresh_optimizer(optimizer, learning_rate=None):
    """A new optimizer for one layer: every RBM needs its own slots (momentum, Adam moments)."""
    if optimizer is None:
        optimizer = keras.optimizers.SGD(learning_rate=0.05 if learning_rate is None else learning_rate,
                                         momentum=0.5)
        return optimizer
    if isinstance(optimizer, keras.optimizers.Optimizer):
        optimizer = optimizer.__class__.from_config(optimizer.get_config())
    else:
        optimizer = keras.optimizers.get(optimizer)
    if learning_rate is not None:
        optimizer.learning_rate = learning_rate
    return optimizer


class _LayerProgress(keras.callbacks.Callback):
    """Adds ``layer`` (1-based) to each epoch's logs so one callback can follow every layer."""

    def __init__(self, index):
        super().__init__()
        self.index = index

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["layer"] = self.index + 1


@keras.saving.register_keras_serializable(package="tfrbm")
class DBNModel(AtomicSaveMixin, ServingMixin, keras.Model):
    """A stack of RBMs: greedy pre-training, then conversion into fine-tunable Keras models.

    Args:
        layers: list of :class:`RBMLayer` (or ints, taken as hidden sizes), bottom first. Only the
            first layer may have non-Bernoulli (e.g. ``visible="gaussian"``) visible units; the
            others see the hidden probabilities of the layer below.
        seed: seed of the model's random stream (sampling features and fantasies).

    ``call(x)`` is the mean-field upward pass x_l = sigmoid(c_l + x_{l-1} W_l) and returns the top
    layer's probabilities.

    Example:
        >>> dbn = DBNModel([RBMLayer(500), RBMLayer(200), RBMLayer(50)])
        >>> histories = dbn.pretrain(x_train, epochs=5)
        >>> clf = dbn.to_classifier(10)
        >>> clf.fit(x_train, y_train, epochs=10)
    """

    def __init__(self, layers=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if layers is None or isinstance(layers, (str, bytes)) or not hasattr(layers, "__len__") \
                or len(layers) == 0:
            raise UserError("DBNModel needs a non-empty list of RBMLayers, "
                             "e.g. DBNModel([RBMLayer(500), RBMLayer(200)])")
        rbms = []
        for i, layer in enumerate(layers):
            if isinstance(layer, dict):
                layer = keras.saving.deserialize_keras_object(layer)
            if isinstance(layer, numbers.Integral) and not isinstance(layer, bool):
                layer = RBMLayer(int(layer), name=f"rbm_{i + 1}")
            if not isinstance(layer, RBMLayer):
                raise UserError(f"layer {i + 1} must be an RBMLayer or an int, "
                                 f"got {type(layer).__name__}")
            if i > 0 and layer.visible_units.name != "bernoulli":
                raise UserError(
                    f"layer {i + 1} has {layer.visible_units.name} visible units, but only the "
                    "first layer may: the layers above see the hidden probabilities of the layer "
                    "below, which are Bernoulli")
            rbms.append(layer)
        self.rbms = rbms
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="dbn_seed")
        self._check_chain()
        self.histories = []

    # ------------------------------------------------------------------ structure
    @property
    def sizes(self):
        """[n_visible, h_1, ..., h_L] (n_visible is None until the model is built)."""
        first = self.rbms[0]
        return [first.n_visible if first.built else None] + [l.units for l in self.rbms]

    @property
    def n_visible(self):
        return self.sizes[0]

    def _check_chain(self):
        """Layers that are already built must chain: layer l's visible count = layer l-1's units."""
        for i in range(1, len(self.rbms)):
            below, layer = self.rbms[i - 1], self.rbms[i]
            if layer.built and layer.n_visible != below.units:
                raise UserError(
                    f"layer sizes do not chain: layer {i + 1} ({layer.name}) has "
                    f"{layer.n_visible} visible units but layer {i} ({below.name}) has "
                    f"{below.units} hidden units")

    def build(self, input_shape):
        n = input_shape[-1]
        if n is None:
            raise UserError("DBNModel needs a known number of input features")
        n = int(n)
        first = self.rbms[0]
        if first.built and first.n_visible != n:
            raise UserError(f"data width does not match the first layer: the data has {n} "
                             f"features but layer 1 ({first.name}) has {first.n_visible} visible units")
        for layer in self.rbms:
            if not layer.built:
                layer.build((None, n))
            elif layer.n_visible != n:
                self._check_chain()
                raise UserError(f"layer {layer.name} has {layer.n_visible} visible units, "
                                 f"expected {n}")
            n = layer.units
        self.built = True

    def call(self, inputs, training=False):
        x = tf.cast(inputs, self.compute_dtype)
        for layer in self.rbms:
            x = layer(x)
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.rbms[-1].units,)

    def _require_built(self):
        if not self.built:
            raise UserError("the DBN is not built yet: call pretrain(...) or build((None, n_visible)) first")

    def _check_width(self, n_features, what="the data"):
        if self.built and n_features is not None and int(n_features) != self.n_visible:
            raise UserError(f"data width does not match the first layer: {what} has {n_features} "
                             f"features but the DBN expects {self.n_visible}")

    # ------------------------------------------------------------------ features
    def features(self, x, upto=None, sample=False, seed=None):
        """Mean-field features of ``x`` after ``upto`` layers (all by default), as a tensor.

        With ``sample=True`` each layer's output is a Bernoulli sample of its probabilities.
        ``seed`` is a stateless seed (shape (2,)) used when sampling.
        """
        upto = len(self.rbms) if upto is None else upto
        x = tf.cast(x, self.rbms[0].kernel.dtype)
        for i, layer in enumerate(self.rbms[:upto]):
            if sample:
                _, x = layer.sample_hidden(x, gibbs.fold(seed, i))
            else:
                x = layer.hidden_probs(x)
        return x

    def transform(self, x, upto=None, batch_size=1000):
        """Numpy top-layer (or layer ``upto``) mean-field features of numpy rows ``x``."""
        from tfrbm.data.pipeline import check_array
        x = check_array(x, name="x", n_features=self.n_visible if self.built else None)
        if not self.built:
            self.build((None, x.shape[-1]))
        fn = tf.function(lambda b: self.features(b, upto), reduce_retracing=True)
        return np.concatenate([fn(x[i:i + batch_size]).numpy()
                               for i in range(0, len(x), batch_size)], axis=0)

    # ------------------------------------------------------------------ pre-training
    def _as_dataset(self, data, batch_size, shuffle, seed):
        """A batched dataset of visible vectors (labels dropped) and the data's width."""
        if isinstance(data, tf.data.Dataset):
            ds = data
            spec = ds.element_spec
            if isinstance(spec, (tuple, list)):
                ds = ds.map(lambda *e: e[0])
                spec = spec[0]
            if isinstance(spec, dict):
                raise UserError("pretrain expects a dataset of visible vectors (or (x, y) pairs), "
                                 "got a dict")
            if len(spec.shape) != 2:
                raise UserError("pretrain expects a batched dataset of 2-D (batch, features) "
                                 f"tensors, got element shape {spec.shape}")
            if not spec.dtype.is_floating:
                ds = ds.map(lambda b: tf.cast(b, tf.float32))
            return ds, spec.shape[-1]
        from tfrbm.data.pipeline import check_array, make_dataset
        x = check_array(data, name="training data")
        self._check_width(x.shape[-1], "the training data")
        self.rbms[0].visible_units.validate(x)
        return make_dataset(x, batch_size=batch_size, shuffle=shuffle, seed=seed), x.shape[-1]

    def layer_dataset(self, dataset, index, sample=False, seed=None):
        """``dataset`` (batches of visible vectors) mapped through layers 0..index-1.

        Features are computed batch by batch inside tf.data, never materialised. With ``sample``
        each lower layer's output is a Bernoulli sample, drawn afresh on every pass.
        """
        if index == 0:
            return dataset
        if not sample:
            return dataset.map(lambda b: self.features(b, index),
                               num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        return tf.data.Dataset.zip((dataset, seeds)).map(
            lambda b, s: self.features(b, index, sample=True, seed=s),
            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    def pretrain(self, data, epochs=5, cd_k=1, persistent=False, optimizer=None,
                 learning_rate=None, layer_options=None, sample=False, batch_size=100,
                 shuffle=True, callbacks=None, verbose=1, seed=None, **rbm_kwargs):
        """Greedy layer-wise training: each RBM by CD-k/PCD-k on the features of the layers below.

        Args:
            data: numpy (N, n_visible) array, or a batched tf.data.Dataset yielding visible
                vectors or (x, y) pairs (labels ignored). Numpy data is batched and shuffled here.
            epochs, cd_k, persistent, optimizer, learning_rate, sample: defaults for every layer.
                ``optimizer`` may be an instance (each layer gets a fresh copy), a name or a
                config; default SGD(learning_rate or 0.05, momentum=0.5).
            layer_options: optional list with one dict per layer overriding the defaults; keys:
                epochs, optimizer, learning_rate, sample, callbacks, verbose and any RBMModel
                argument (cd_k, persistent, n_chains, weight_decay, sparsity_target, ...).
            sample: train layer l on Bernoulli samples of the lower layers instead of their
                probabilities.
            callbacks: Keras callbacks passed to every layer's ``fit`` (logs carry ``layer``).
            verbose: 0 silent, 1 a header per layer plus Keras' progress, 2 one line per epoch.
            rbm_kwargs: further RBMModel arguments for every layer (weight_decay, n_chains, ...).

        Returns:
            a list of ``keras.callbacks.History``, one per layer (also kept in ``self.histories``),
            each with ``reconstruction_error`` and ``free_energy`` per epoch.
        """
        from tfrbm.models.rbm import RBMModel
        n_layers = len(self.rbms)
        if layer_options is None:
            layer_options = [{} for _ in self.rbms]
        if isinstance(layer_options, dict) or len(layer_options) != n_layers:
            raise UserError(f"layer_options must be a list of {n_layers} dicts (one per layer), "
                             f"got {layer_options!r}")
        for i, opts in enumerate(layer_options):
            unknown = set(opts or {}) - set(_RBM_KEYS) - set(_FIT_KEYS)
            if unknown:
                raise UserError(f"layer_options[{i}] has unknown keys {sorted(unknown)}; allowed: "
                                 f"{sorted(_RBM_KEYS + _FIT_KEYS)}")
        unknown = set(rbm_kwargs) - set(_RBM_KEYS)
        if unknown:
            raise TypeError(f"pretrain got unexpected arguments {sorted(unknown)}")
        batch_size = check_param("batch_size", batch_size, POSITIVE_INT)
        seed = self.seed if seed is None else seed
        base, width = self._as_dataset(data, batch_size, shuffle, seed)
        if width is None:
            raise UserError("the dataset's feature dimension is unknown; give it a static shape")
        self._check_width(width, "the training data")
        if not self.built:
            self.build((None, int(width)))

        self.histories = []
        for i, layer in enumerate(self.rbms):
            opts = {"epochs": epochs, "cd_k": cd_k, "persistent": persistent, "sample": sample,
                    "optimizer": optimizer, "learning_rate": learning_rate, "verbose": verbose,
                    "callbacks": callbacks, **rbm_kwargs, **(layer_options[i] or {})}
            layer_epochs = check_param(f"epochs of layer {i + 1}", opts["epochs"], POSITIVE_INT)
            rbm_args = {k: opts[k] for k in _RBM_KEYS if k in opts}
            rbm_seed = None if seed is None else int(seed) * 1009 + i
            rbm = RBMModel(layer, seed=rbm_seed, name=f"{self.name}_rbm_{i + 1}", **rbm_args)
            rbm.compile(optimizer=_fresh_optimizer(opts["optimizer"], opts["learning_rate"]))
            ds = self.layer_dataset(base, i, sample=bool(opts["sample"]),
                                    seed=None if seed is None else int(seed) + 7919 * (i + 1))
            layer_verbose = opts["verbose"]
            if layer_verbose:
                print(f"DBN layer {i + 1}/{n_layers}: {layer.n_visible} -> {layer.units} "
                      f"({layer.visible_units.name} visible, CD-{rbm.cd_k}"
                      f"{', persistent' if rbm.persistent else ''}, {layer_epochs} epochs)",
                      file=sys.stdout, flush=True)
            cbs = [_LayerProgress(i)] + list(opts["callbacks"] or [])
            history = rbm.fit(ds, epochs=layer_epochs, verbose=layer_verbose, callbacks=cbs,
                              shuffle=False)
            history.layer = i + 1
            self.histories.append(history)
        return self.histories

    # ------------------------------------------------------------------ conversions
    def _weights(self):
        self._require_built()
        return [(l.kernel.numpy(), l.hidden_bias.numpy(), l.visible_bias.numpy()) for l in self.rbms]

    def to_classifier(self, n_classes, init="pretrained", dropout=0.0, optimizer="adam",
                      compile=True, name=None):
        """A Keras Sequential classifier: Dense sigmoid layers with the RBMs' weights + softmax head.

        Hidden layer l starts with kernel W_l and bias c_l (so its output is p(h_l | x) exactly),
        the head is a fresh Dense(n_classes, softmax). ``init="random"`` gives the same network
        from Keras' default (Glorot) initialisation, the baseline for pre-training. Compiled
        with sparse categorical cross-entropy and accuracy unless ``compile=False``.
        """
        n_classes = check_param("n_classes", n_classes, POSITIVE_INT)
        if init not in ("pretrained", "random"):
            raise UserError(f"init must be 'pretrained' or 'random', got {init!r}")
        self._require_built()
        model = mlp_classifier(self.sizes, n_classes, dropout=dropout,
                               name=name or f"{self.name}_classifier")
        if init == "pretrained":
            hidden = [l for l in model.layers if isinstance(l, keras.layers.Dense)][:-1]
            for dense, (w, c, _) in zip(hidden, self._weights()):
                dense.set_weights([w, c])
        if compile:
            model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                          metrics=["accuracy"])
        return model

    def to_autoencoder(self, init="pretrained", code_activation="linear", loss="binary_crossentropy",
                       optimizer="adam", compile=True, name=None):
        """The deep autoencoder of Hinton & Salakhutdinov (2006), unrolled from the stack.

        Encoder: x -> sigmoid(c_1 + x W_1) -> ... -> code = c_L + h_{L-1} W_L (linear code layer
        by default, ``code_activation="sigmoid"`` for a logistic one). Decoder: the mirror image
        with tied initial weights, kernel W_l^T and bias b_l, logistic units throughout (the
        output is the reconstruction's pixel probabilities). Fine-tune with
        ``fit(x, x)``; compiled with ``loss`` (cross-entropy, as in the paper) and MSE.
        ``init="random"`` gives the same architecture from Glorot initialisation.
        """
        if init not in ("pretrained", "random"):
            raise UserError(f"init must be 'pretrained' or 'random', got {init!r}")
        self._require_built()
        output_activation = "linear" if self.rbms[0].visible_units.name == "gaussian" else "sigmoid"
        model = deep_autoencoder(self.sizes, code_activation=code_activation,
                                 output_activation=output_activation,
                                 name=name or f"{self.name}_autoencoder")
        if init == "pretrained":
            encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
            weights = self._weights()
            for dense, (w, c, _) in zip(encoder.layers, weights):
                dense.set_weights([w, c])
            for dense, (w, _, b) in zip(decoder.layers, reversed(weights)):
                dense.set_weights([w.T, b])
        if compile:
            model.compile(optimizer=optimizer, loss=loss, metrics=["mse"])
        return model

    # ------------------------------------------------------------------ generation
    def sample(self, n, steps=1000, seed=None, init=None):
        """Fantasies: ``steps`` Gibbs steps in the top RBM, then one mean-field top-down pass.

        Chains start from ``init`` (visible rows, propagated up to the top RBM's visible layer)
        or from samples of the top RBM's visible-bias-only model. Returns (n, n_visible) means.
        """
        n = check_param("n", n, POSITIVE_INT)
        steps = check_param("steps", steps, POSITIVE_INT)
        self._require_built()
        seed_t = self.seed_generator.next() if seed is None else tf.constant([int(seed), 0], tf.int64)
        top = self.rbms[-1]
        if init is not None:
            from tfrbm.data.pipeline import check_array
            init = check_array(init, name="init", n_features=self.n_visible)
            v0 = self.features(init[:n], len(self.rbms) - 1)
            v0 = tf.cast(v0, top.kernel.dtype)
        else:
            v0 = self._fantasy_start(n, seed_t)
        return self._sample_fn()(v0, tf.constant(steps), seed_t).numpy()

    # ------------------------------------------------------------------ steps shared with serving
    def _fantasy_start(self, n, seed):
        """The top RBM's first chain states: draws of its visible-bias-only model (seed fold 1)."""
        top = self.rbms[-1]
        return gibbs.base_rate_samples(top.visible_units, top.visible_bias, n, gibbs.fold(seed, 1))

    def _fantasize_down(self, v0, steps, seed):
        """``steps`` Gibbs steps in the top RBM from ``v0`` (seed fold 2), then a mean-field
        top-down pass to the data layer: the means of the fantasies."""
        v_mean, _ = gibbs.run_chain(self.rbms[-1], v0, steps, gibbs.fold(seed, 2))
        x = v_mean
        for layer in reversed(self.rbms[:-1]):
            x = layer.visible_probs(x)
        return x

    def _sample_fn(self):
        fn = getattr(self, "_sample_compiled", None)
        if fn is None:
            fn = tf.function(self._fantasize_down, reduce_retracing=True)
            self._sample_compiled = fn
        return fn

    def serving_endpoints(self):
        """``features(inputs)`` (top-layer probabilities) and ``sample(n_samples, steps, seed)``.

        ``inputs`` must be finite states of the first layer's visible units; ``n_samples`` and
        ``steps`` >= 1 (checked in the graph).
        """
        from tfrbm import serving
        serving.require_built(self.built, "DBN")
        dtype = self.rbms[0].kernel.dtype

        def features(inputs):
            x = self.rbms[0].visible_units.check_tensor(inputs, "inputs")
            return {"features": tf.cast(self.features(tf.cast(x, dtype)), tf.float32)}

        def sample(n_samples, steps, seed):
            n = serving.check_at_least(n_samples, 1, "n_samples")
            steps = serving.check_at_least(steps, 1, "steps")
            return {"visible_mean": self._fantasize_down(self._fantasy_start(n, seed), steps, seed)}

        return serving.Endpoints(self, [
            ("features", features, [serving.spec((None, self.n_visible), tf.float32, "inputs")]),
            ("sample", sample, [serving.spec((), tf.int32, "n_samples"),
                                serving.spec((), tf.int32, "steps"),
                                serving.spec((2,), tf.int64, "seed")])])

    # ------------------------------------------------------------------ serialisation
    def get_config(self):
        config = super().get_config()
        config.update({
            "layers": [keras.saving.serialize_keras_object(l) for l in self.rbms],
            "seed": self.seed,
        })
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layers"] = [keras.saving.deserialize_keras_object(l) for l in config["layers"]]
        return cls(**config)


def mlp_classifier(sizes, n_classes, dropout=0.0, name="dbn_classifier"):
    """Sequential [Input(sizes[0]), Dense(sizes[1], sigmoid), ..., Dense(n_classes, softmax)]."""
    model = keras.Sequential(name=name)
    model.add(keras.Input((sizes[0],)))
    for i, units in enumerate(sizes[1:]):
        model.add(keras.layers.Dense(units, activation="sigmoid", name=f"hidden_{i + 1}"))
        if dropout:
            model.add(keras.layers.Dropout(dropout, name=f"dropout_{i + 1}"))
    model.add(keras.layers.Dense(n_classes, activation="softmax", name="softmax"))
    return model


def deep_autoencoder(sizes, code_activation="linear", output_activation="sigmoid",
                     name="dbn_autoencoder"):
    """Functional model x -> encoder (sigmoid ... code) -> decoder (sigmoid ... output).

    ``sizes`` = [n_visible, h_1, ..., h_L]; the decoder mirrors the encoder.
    """
    n_layers = len(sizes) - 1
    encoder = keras.Sequential(name="encoder")
    encoder.add(keras.Input((sizes[0],)))
    for i, units in enumerate(sizes[1:]):
        act = code_activation if i == n_layers - 1 else "sigmoid"
        encoder.add(keras.layers.Dense(units, activation=act, name=f"encode_{i + 1}"))
    decoder = keras.Sequential(name="decoder")
    decoder.add(keras.Input((sizes[-1],)))
    rev = sizes[::-1]
    for i, units in enumerate(rev[1:]):
        act = output_activation if i == n_layers - 1 else "sigmoid"
        decoder.add(keras.layers.Dense(units, activation=act, name=f"decode_{n_layers - i}"))
    inputs = keras.Input((sizes[0],), name="x")
    return keras.Model(inputs, decoder(encoder(inputs)), name=name)
