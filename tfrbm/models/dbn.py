"""DBNModel: a deep belief network, a stack of RBMs trained greedily, one layer at a time.

Layer l is an RBM whose visible units are layer l-1's hidden units. Greedy pre-training
(Hinton, Osindero & Teh 2006) fits RBM 1 to the data, then RBM 2 to p(h1 | v), and so on.
``dbn.fit(x)`` does this inside compiled Keras steps: the epochs of one ``fit`` run layer by
layer, and each step propagates the batch up to the layer being trained, in the same graph,
    x_l = sigmoid(c_l + x_{l-1} W_l)      (or a Bernoulli sample of it),
then applies that layer's :class:`tfrbm.RBMModel` CD-k/PCD-k step (its statistics, Gibbs
kernels, persistent chains, random stream and optimizer) to x_{l-1}.

With ``n_labels`` the top RBM is trained on [penultimate features | one-hot label] with a softmax
label group (``tfrbm.units.CompositeUnits``); ``generate(label, n, steps)`` then clamps the label,
runs Gibbs sampling in the top RBM and passes the features down (Hinton, Osindero & Teh 2006).

The trained stack also initialises ordinary Keras networks: a sigmoid classifier with a softmax
head (:meth:`DBNModel.to_classifier`) or a deep autoencoder unrolled with tied initial weights,
decoder kernels W_l^T (Hinton & Salakhutdinov 2006, :meth:`DBNModel.to_autoencoder`).
"""
import math
import numbers
import sys

import keras
import numpy as np
import tensorflow as tf

from tfrbm import _compat, anomaly, gibbs, serving
from tfrbm.anomaly import AnomalyReferenceMixin
from tfrbm.data.pipeline import check_array
from tfrbm.errors import UserError
from tfrbm.export import ServingMixin
from tfrbm.fastpath import (check_steps_per_execution, choose_steps_per_execution, train_in_memory,
                            with_progbar)
from tfrbm.layers import RBMLayer, visible_size
from tfrbm.limits import check_allocation
from tfrbm.models.rbm import RBMModel
from tfrbm.models.training import AUTO_STEPS_PER_EXECUTION, named_data_errors
from tfrbm.resume import SeedStateMixin, epoch_keyed_dataset
from tfrbm.safety import AtomicSaveMixin, check_learning_rate
from tfrbm.stages import stage_callbacks
from tfrbm.summary import ModelSummary, layer_row
from tfrbm.tracing import OneTracePerModel
from tfrbm.units import CompositeUnits
from tfrbm.validation import (POSITIVE_INT, STEPS, Integral, Interval, Options, Predicate, check_param,
                              validate_init)

__all__ = ["DBNModel", "mlp_classifier", "deep_autoencoder", "default_schedule"]

#: keys of ``layer_options`` that go to the RBMModel constructor
_RBM_KEYS = ("cd_k", "persistent", "n_chains", "hidden_statistics", "weight_decay",
             "sparsity_target", "sparsity_cost", "sparsity_decay", "init_visible_bias",
             "monitor_reconstruction", "centering", "centering_rate")
#: keys of ``layer_options`` that ``pretrain`` itself reads
_FIT_KEYS = ("epochs", "optimizer", "learning_rate", "sample", "callbacks", "verbose")
#: keys of the constructor's ``layer_options`` (kept in the model's config)
_LAYER_KEYS = _RBM_KEYS + ("sample", "epochs")

#: rows of the training data kept at the start of ``fit`` for each layer's data-dependent
#: initialisation (visible biases = log-odds of its input's means, persistent chains)
_INIT_ROWS = 10000
#: the default number of CD updates per layer (see :func:`default_schedule`)
DEFAULT_UPDATES_PER_LAYER = 3000


def _is_list(value):
    return not isinstance(value, (str, bytes, dict)) and hasattr(value, "__len__")


def default_schedule(n_examples, batch_size=None, updates=DEFAULT_UPDATES_PER_LAYER):
    """(batch_size, epochs per layer) for greedy pre-training on ``n_examples`` rows.

    Each layer gets about ``updates`` CD updates whatever the data size: a small set (1,797
    digits) takes smaller batches and more epochs, a large one (60,000 MNIST images) batches of
    100 and few epochs. The default batch is 100, or n/50 (at least 10) for smaller sets, so a
    small set still sees several hundred distinct batches; epochs = ceil(updates / batches per
    epoch), at least 1.
    """
    n = int(n_examples)
    if batch_size is None:
        batch_size = int(min(100, max(10, n // 50)))
    steps = max(1, math.ceil(n / batch_size))
    return batch_size, max(1, math.ceil(updates / steps))




def _fresh_optimizer(optimizer, learning_rate=None):
    """A new optimizer for one layer: every RBM needs its own slots (momentum, Adam moments)."""
    if optimizer is None:
        optimizer = keras.optimizers.SGD(learning_rate=0.1 if learning_rate is None else learning_rate,
                                         momentum=0.5)
        return optimizer
    if isinstance(optimizer, keras.optimizers.Optimizer):
        optimizer = optimizer.__class__.from_config(optimizer.get_config())
    else:
        optimizer = keras.optimizers.get(optimizer)
    if learning_rate is not None:
        optimizer.learning_rate = learning_rate
    return optimizer


def _label_units(base, n_labels):
    """The top RBM's visible family with labels: ``base`` units, then one n_labels-way softmax."""
    return CompositeUnits([(base, None), ({"name": "softmax", "k": int(n_labels)}, int(n_labels))])


class _LayerSchedule(keras.callbacks.Callback):
    """Switches the DBN's trained layer at epoch boundaries (epoch e trains ``layers[e]``).

    When a layer starts for the first time it gets RBMModel's data-dependent initialisation
    (visible biases from its input's log-odds, persistent chains from the base-rate model).
    """

    def __init__(self, dbn, layers, verbose):
        super().__init__()
        self.dbn, self.layers, self.verbose = dbn, list(layers), verbose
        self._current = None

    def on_epoch_begin(self, epoch, logs=None):
        i = self.layers[min(epoch, len(self.layers) - 1)]
        if i != self._current:
            self._current = i
            self.dbn._start_layer(i, verbose=self.verbose, epochs=self.layers.count(i))


@keras.saving.register_keras_serializable(package="tfrbm")
class DBNModel(AnomalyReferenceMixin, SeedStateMixin, AtomicSaveMixin, ServingMixin,
               OneTracePerModel, ModelSummary, keras.Model):
    """A stack of RBMs: greedy pre-training with ``fit``, then conversion into Keras models.

    Args:
        layers: list of :class:`RBMLayer` (or ints, taken as hidden sizes), bottom first. Only the
            first layer may have non-Bernoulli (e.g. ``visible="gaussian"``) visible units; the
            others see the hidden probabilities of the layer below. Only the top layer may have
            non-Bernoulli hidden units (``hidden="relu"`` or ``"gaussian"``).
        seed: seed of the model's random streams (feature samples, each layer's CD noise,
            generation).
        n_labels: train the top RBM jointly on the penultimate features and a softmax group of
            ``n_labels`` label units (``fit(x, y)`` with integer labels); enables
            :meth:`generate`. The top layer's visible units become
            ``CompositeUnits([(bernoulli, None), (softmax k=n_labels, n_labels)])``. For
            samples of the requested class, train the top RBM by PCD with an SGD rate that
            falls to about 1 % over its epochs (the main factor), e.g. ``layer_options=[{}, {},
            {"persistent": True, "centering": True}]`` and a ``PolynomialDecay`` rate in
            ``layer_optimizers``: on MNIST (200 top epochs) this took the worst class from 0.02
            to 0.87-0.93 (benchmarks/RESULTS.md, issue 15).
        layer_options: optional list with one dict per layer of training options kept in the
            model's config: any RBMModel argument (cd_k, persistent, n_chains,
            hidden_statistics, weight_decay, sparsity_target, sparsity_cost, sparsity_decay,
            init_visible_bias, monitor_reconstruction, centering, centering_rate), ``sample``
            (train on Bernoulli samples of the layers below instead of their probabilities) and
            ``epochs`` (that layer's default number of epochs).

    Training: ``compile(optimizer)`` (each layer gets its own fresh copy; ``layer_optimizers``
    sets them one by one) then ``fit(x, epochs=...)``: ``epochs`` counts epochs *per layer* (an
    int, or a list with one entry per layer); the History holds one entry per epoch, with
    ``loss`` (= the trained layer's reconstruction error, lower is better),
    ``reconstruction_error``, ``free_energy`` and ``layer`` (1-based). Without ``epochs`` and
    batch size both follow from the data size (:func:`default_schedule`). Uncompiled, ``fit``
    uses SGD(0.1, momentum 0.5) for every layer.

    ``call(x)`` is the mean-field upward pass x_l = sigmoid(c_l + x_{l-1} W_l) and returns the top
    layer's probabilities (with the label units off in a labelled DBN).

    Example:
        >>> dbn = DBNModel([RBMLayer(500), RBMLayer(200), RBMLayer(50)], seed=0)
        >>> history = dbn.fit(x_train, epochs=5)
        >>> clf = dbn.to_classifier(10)
        >>> clf.fit(x_train, y_train, epochs=10)
    """

    _parameter_constraints = {
        "layers": [Predicate(lambda v: _is_list(v) and len(v) > 0,
                             "a non-empty list of RBMLayers (or hidden sizes), "
                             "e.g. DBNModel([RBMLayer(500), RBMLayer(200)])")],
        "seed": [None, Interval(Integral, None, None)],
        "n_labels": [None, Interval(Integral, 2, None)],
        "layer_options": [None, Predicate(_is_list, "a list with one dict per layer")],
    }

    def __init__(self, layers=None, seed=None, n_labels=None, layer_options=None, **kwargs):
        super().__init__(**kwargs)
        p = validate_init(self, {"layers": layers, "seed": seed, "n_labels": n_labels,
                                 "layer_options": layer_options})
        self.n_labels = n_labels = p["n_labels"]
        rbms = []
        top = len(layers) - 1
        for i, layer in enumerate(layers):
            if isinstance(layer, dict):
                layer = keras.saving.deserialize_keras_object(layer)
            if isinstance(layer, numbers.Integral) and not isinstance(layer, bool):
                layer = RBMLayer(int(layer), name=f"rbm_{i + 1}")
            if not isinstance(layer, RBMLayer):
                raise UserError(f"layer {i + 1} must be an RBMLayer or an int, "
                                f"got {type(layer).__name__}")
            units = layer.visible_units
            if i == top and n_labels:
                base = units.parts[0][0] if units.name == "composite" else units
                wanted = _label_units(base, n_labels)
                if units.name == "composite" and units != wanted:
                    raise UserError(f"layer {i + 1} has visible units {units.get_config()}, which "
                                    f"do not end in a {n_labels}-way softmax label group")
                if layer.built and units.name != "composite":
                    raise UserError("give n_labels before the top layer is built: its weights "
                                    "need rows for the label units")
                layer.visible_units = units = wanted
                units = base
            elif units.name == "composite":
                raise UserError(f"layer {i + 1} has composite visible units; only the top layer "
                                "of a DBN with n_labels has a label group")
            if i > 0 and units.name != "bernoulli":
                raise UserError(
                    f"layer {i + 1} has {units.name} visible units, but only the "
                    "first layer may: the layers above see the hidden probabilities of the layer "
                    "below, which are Bernoulli")
            hidden = layer.hidden_units.name
            if i < top and hidden != "bernoulli":
                raise UserError(
                    f"layer {i + 1} has {hidden} hidden units, but only the top layer may: the "
                    f"layer above sees its hidden means as Bernoulli visible units, which take "
                    f"values in [0, 1]; make layer {i + 1} Bernoulli or the top one")
            rbms.append(layer)
        self.rbms = rbms
        self.seed = p["seed"]
        self.seed_generator = keras.random.SeedGenerator(seed, name="dbn_seed")
        self.layer_options = self._check_layer_options(layer_options, _LAYER_KEYS)
        self._check_chain()
        self.histories = []
        self._training_layer = len(rbms) - 1
        self._init_rows = None

    # ------------------------------------------------------------------ structure
    @property
    def sizes(self):
        """[n_visible, h_1, ..., h_L] (n_visible is None until the model is built)."""
        first = self.rbms[0]
        n = None
        if first.built:
            n = first.n_visible - (self.n_labels or 0 if len(self.rbms) == 1 else 0)
        return [n] + [l.units for l in self.rbms]

    @property
    def n_visible(self):
        return self.sizes[0]

    def _n_labels_into(self, i):
        """Label units on layer ``i``'s visible side (only the top layer of a labelled DBN)."""
        return self.n_labels or 0 if i == len(self.rbms) - 1 else 0

    def _check_chain(self):
        """Layers that are already built must chain: layer l's visible count = layer l-1's units."""
        for i in range(1, len(self.rbms)):
            below, layer = self.rbms[i - 1], self.rbms[i]
            expected = below.units + self._n_labels_into(i)
            if layer.built and layer.n_visible != expected:
                raise UserError(
                    f"layer sizes do not chain: layer {i + 1} ({layer.name}) has "
                    f"{layer.n_visible} visible units but layer {i} ({below.name}) has "
                    f"{below.units} hidden units"
                    + (f" (+ {self.n_labels} label units)" if self._n_labels_into(i) else ""))

    def _check_layer_options(self, layer_options, allowed):
        n_layers = len(self.rbms)
        if layer_options is None:
            return [{} for _ in self.rbms]
        if isinstance(layer_options, dict) or not hasattr(layer_options, "__len__") \
                or len(layer_options) != n_layers:
            raise UserError(f"layer_options must be a list of {n_layers} dicts (one per layer), "
                            f"got {layer_options!r}")
        out = []
        for i, opts in enumerate(layer_options):
            opts = dict(opts or {})
            unknown = set(opts) - set(allowed)
            if unknown:
                raise UserError(f"layer_options[{i}] has unknown keys {sorted(unknown)}; allowed: "
                                f"{sorted(allowed)}")
            out.append(opts)
        return out

    def build(self, input_shape):
        n = input_shape[-1]
        if n is None:
            raise UserError("DBNModel needs a known number of input features")
        n = visible_size(n)
        # the whole stack is checked before any layer builds (a .keras config is data)
        widths = [n] + [layer.units for layer in self.rbms]
        check_allocation(f"a DBN of layers {' x '.join(f'{w:,}' for w in widths)}",
                         4 * 3 * sum((a + self._n_labels_into(i)) * b + a + b
                                     for i, (a, b) in enumerate(zip(widths, widths[1:]))))
        first = self.rbms[0]
        first_width = first.n_visible - self._n_labels_into(0) if first.built else None
        if first.built and first_width != n:
            raise UserError(f"data width does not match the first layer: the data has {n} "
                            f"features but layer 1 ({first.name}) has {first_width} visible units")
        for i, layer in enumerate(self.rbms):
            n_in = n + self._n_labels_into(i)
            if not layer.built:
                layer.build((None, n_in))
            elif layer.n_visible != n_in:
                self._check_chain()
                raise UserError(f"layer {layer.name} has {layer.n_visible} visible units, "
                                f"expected {n_in}")
            n = layer.units
        self._build_trainers()
        self.built = True

    def _build_trainers(self):
        """One RBMModel per layer, sharing the layer's weights: its CD step trains the layer."""
        if getattr(self, "trainers", None):
            return
        trainers = []
        for i, layer in enumerate(self.rbms):
            args = {k: v for k, v in self.layer_options[i].items() if k in _RBM_KEYS}
            # a DBN layer trains by plain CD unless its options ask for centering (RBMModel's
            # default is centering); saved DBNs, whose options lack the key, load as saved
            args.setdefault("centering", False)
            rbm_seed = None if self.seed is None else int(self.seed) * 1009 + i
            trainer = RBMModel(layer, seed=rbm_seed, name=f"{self.name}_rbm_{i + 1}", **args)
            trainer.build((None, layer.n_visible))
            trainers.append(trainer)
        self.trainers = trainers

    def call(self, inputs, training=False):
        return self.features(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.rbms[-1].units,)

    def _require_built(self):
        if not self.built:
            raise UserError("the DBN is not built yet: call fit(...) or build((None, n_visible)) first")

    def _check_width(self, n_features, what="the data"):
        if self.built and n_features is not None and int(n_features) != self.n_visible:
            raise UserError(f"data width does not match the first layer: {what} has {n_features} "
                            f"features but the DBN expects {self.n_visible}")

    # ------------------------------------------------------------------ features
    def features(self, x, upto=None, sample=False, seed=None, labels=None):
        """Mean-field features of ``x`` after ``upto`` layers (all by default), as a tensor.

        With ``sample=True`` each layer's output is a Bernoulli sample of its probabilities.
        ``seed`` is a stateless seed (shape (2,)) used when sampling. In a labelled DBN the top
        layer also sees ``labels`` (one-hot rows; all label units off when None).
        """
        upto = len(self.rbms) if upto is None else upto
        x = tf.cast(x, self.rbms[0].kernel.dtype)
        for i, layer in enumerate(self.rbms[:upto]):
            if self._n_labels_into(i):
                x = self._with_labels(x, labels)
            if sample:
                _, x = layer.sample_hidden(x, gibbs.fold(seed, i))
            else:
                x = layer.hidden_probs(x)
        return x

    def _with_labels(self, x, one_hot=None):
        if one_hot is None:
            one_hot = tf.zeros(tf.concat([tf.shape(x)[:-1], [self.n_labels]], 0), x.dtype)
        return tf.concat([x, tf.cast(one_hot, x.dtype)], axis=-1)

    def transform(self, x, upto=None, batch_size=1000):
        """Numpy top-layer (or layer ``upto``) mean-field features of numpy rows ``x``."""
        x = check_array(x, name="x", n_features=self.n_visible if self.built else None)
        if not self.built:
            self.build((None, x.shape[-1]))
        # eager: a few products per batch; a tf.function made here would be traced anew on
        # every call (and TF warns about retracing after five)
        return np.concatenate([self.features(x[i:i + batch_size], upto).numpy()
                               for i in range(0, len(x), batch_size)], axis=0)

    # ------------------------------------------------------------------ labels
    def _check_labels(self, y, n=None, what="labels"):
        """Integer label ids in [0, n_labels) as an int32 numpy vector (``n`` rows if given)."""
        if not self.n_labels:
            raise UserError(f"this DBN has no label units (it was built without n_labels), so it "
                            f"cannot take {what}; use DBNModel(..., n_labels=K) and fit(x, y)")
        y = np.asarray(y)
        if y.ndim == 0 and n is not None:
            y = np.full((n,), y.item() if y.dtype != object else y.item())
        if y.ndim != 1 or y.size == 0:
            raise UserError(f"{what} must be a non-empty vector of integer class ids, got shape "
                            f"{y.shape}")
        if y.dtype.kind not in "iu":
            if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
                y = y.astype(np.int64)
            else:
                raise UserError(f"{what} must be integer class ids in [0, {self.n_labels}), "
                                f"got dtype {y.dtype}")
        bad = (y < 0) | (y >= self.n_labels)
        if bad.any():
            raise UserError(f"{what} must be class ids in [0, {self.n_labels}); got "
                            f"{sorted(set(y[bad].tolist()))[:5]}")
        if n is not None and len(y) != n:
            raise UserError(f"{what} has {len(y)} entries but {n} were asked for")
        return y.astype(np.int32)

    # ------------------------------------------------------------------ training
    def compile(self, optimizer=None, layer_optimizers=None, steps_per_execution="auto", **kwargs):
        """Set each layer's optimizer (a fresh copy of ``optimizer``, or ``layer_optimizers[i]``).

        ``optimizer``: an instance, name or config; default SGD(0.1, momentum=0.5).
        ``layer_optimizers``: optional list with one entry per layer (None: use ``optimizer``).
        ``steps_per_execution="auto"`` (default) runs several CD steps per graph call, as for
        :class:`RBMModel`. ``loss`` is never used: the update is each layer's CD statistic.
        """
        auto, steps = check_steps_per_execution(steps_per_execution)
        if optimizer is None:
            optimizer = keras.optimizers.SGD(learning_rate=0.1, momentum=0.5)
        if layer_optimizers is not None and (isinstance(layer_optimizers, (str, dict))
                                             or len(layer_optimizers) != len(self.rbms)):
            raise UserError(f"layer_optimizers must be a list of {len(self.rbms)} optimizers "
                            f"(None for the default), got {layer_optimizers!r}")
        layer_optimizers = [_fresh_optimizer(o if o is not None else optimizer)
                            for o in (layer_optimizers or [None] * len(self.rbms))]
        super().compile(optimizer=_fresh_optimizer(optimizer),
                        steps_per_execution=steps, **kwargs)
        self._auto_steps_per_execution = auto
        self._layer_optimizers = layer_optimizers
        if auto:
            _compat.set_compile_config_value(self, "steps_per_execution", "auto")
        _compat.set_compile_config_value(self, "layer_optimizers", layer_optimizers)
        _compat.install_multi_worker_fixes(self.distribute_strategy)
        if self.built:
            self._attach_optimizers()

    def _attach_optimizers(self):
        """Give each layer's RBMModel its optimizer, built on that layer's weights."""
        # the model-level optimizer is only the template; building it on no variables keeps
        # Keras from allocating slots for every weight (saved and restored the same way)
        if not self.optimizer.built:
            with self.distribute_strategy.scope():
                self.optimizer.build([])
        for trainer, opt in zip(self.trainers, self._layer_optimizers):
            if getattr(trainer, "optimizer", None) is not opt:
                with self.distribute_strategy.scope():
                    trainer.compile(optimizer=opt, steps_per_execution=1)
            if not opt.built:
                with self.distribute_strategy.scope():
                    opt.build(trainer.trainable_variables)

    def compile_from_config(self, config):
        """Re-compile from a saved compile config (needed because ``compile`` is overridden)."""
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)

    @property
    def metrics(self):
        return [m for t in getattr(self, "trainers", None) or [] for m in t.metrics]

    def summary_rows(self):
        """One row per RBM layer (not the internal per-layer trainers, which share the layers'
        weights) and each layer's training state in use (see :mod:`tfrbm.summary`)."""
        state = {}
        for trainer in getattr(self, "trainers", None) or []:
            for what, n in trainer.summary_rows()[1]:
                state[what] = state.get(what, 0) + n
        return [layer_row(layer) for layer in self.rbms], list(state.items())

    @property
    def training_stage(self):
        """The index of the layer being trained (``train_step`` trains one layer at a time)."""
        return getattr(self, "_training_layer", None)

    def progress_steps(self):
        """Steps the trained layer ran this epoch (see :meth:`RBMModel.progress_steps`)."""
        return self.trainers[self._training_layer].progress_steps()

    def _start_layer(self, i, verbose=0, epochs=None):
        """Make layer ``i`` the trained one; initialise it from its input on its first epoch."""
        self._training_layer = int(i)
        trainer = self.trainers[i]
        if verbose:
            layer = self.rbms[i]
            print(f"DBN layer {i + 1}/{len(self.rbms)}: {layer.n_visible} -> {layer.units} "
                  f"({layer.visible_units.name} visible, CD-{trainer.cd_k}"
                  f"{', persistent' if trainer.persistent else ''}"
                  f"{f', {epochs} epochs' if epochs else ''})", file=sys.stdout, flush=True)
        if float(trainer.initialized.numpy()) > 0 or self._init_rows is None:
            return
        x, y = self._init_rows
        one_hot = None
        if self._n_labels_into(i):
            one_hot = tf.one_hot(y, self.n_labels)
        v = np.concatenate([self.features(x[j:j + 1000], upto=i).numpy() for j in
                            range(0, len(x), 1000)], axis=0)
        if one_hot is not None:
            v = np.concatenate([v, one_hot.numpy()], axis=1)
        trainer.initialize_from_data(v)

    def _layer_input(self, x, y, i, seed, sample=False):
        """The visible vectors layer ``i`` trains on: the batch propagated up (in the graph)."""
        v = self.features(x, upto=i, sample=sample, seed=seed)
        if self._n_labels_into(i):
            if y is None:
                raise UserError("this DBN has label units: fit it with labels, fit(x, y)")
            v = self._with_labels(v, tf.one_hot(tf.cast(tf.reshape(y, [-1]), tf.int32),
                                                self.n_labels, dtype=v.dtype))
        return tf.stop_gradient(v)

    def train_step(self, data):
        """One CD(-k)/PCD step of the layer being trained, on the batch propagated up to it."""
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        i = self._training_layer
        seed = self.seed_generator.next()
        ctx = tf.distribute.get_replica_context()
        if ctx is not None and ctx.num_replicas_in_sync > 1:
            seed = gibbs.fold(seed, ctx.replica_id_in_sync_group)
        v = self._layer_input(x, y, i, seed, sample=bool(self.layer_options[i].get("sample")))
        logs = dict(self.trainers[i].train_step(v))
        logs["loss"] = logs["reconstruction_error"]
        logs["layer"] = tf.constant(i + 1, tf.float32)
        return logs

    def test_step(self, data):
        """The held-out reconstruction error and free energy of the layer being trained."""
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        i = self._training_layer
        v = self._layer_input(x, y, i, None)
        logs = dict(self.trainers[i].test_step(v))
        logs["loss"] = logs["reconstruction_error"]
        logs["layer"] = tf.constant(i + 1, tf.float32)
        return logs

    def _per_layer_function(self, attr, make, force):
        """A Python dispatcher in ``self.<attr>`` that runs the compiled function of the layer being
        trained (each layer's step is traced once, with that layer's index fixed in the graph).
        Wrappers other code puts around ``self.<attr>`` (e.g. TrainingBackup's batch skipping)
        keep working: the dispatcher itself never changes during a fit."""
        if getattr(self, attr) is not None and not force:
            return getattr(self, attr)
        compiled = {}

        def dispatch(iterator):
            i = self._training_layer
            fn = compiled.get(i)
            if fn is None:
                current = getattr(self, attr)
                make(force=True)                 # Keras stores the new function in self.<attr>
                fn = getattr(self, attr)
                setattr(self, attr, current)
                compiled[i] = fn
            return fn(iterator)
        setattr(self, attr, dispatch)
        return dispatch

    def make_train_function(self, force=False):
        return self._per_layer_function("train_function", super().make_train_function, force)

    def make_test_function(self, force=False):
        return self._per_layer_function("test_function", super().make_test_function, force)

    def _epochs_per_layer(self, epochs, n_rows, batch_size):
        """Per-layer epochs from ``epochs`` (int or list), ``layer_options`` or the data size."""
        n_layers = len(self.rbms)
        if epochs is None:
            default = (default_schedule(n_rows, batch_size)[1] if n_rows else 5)
            epochs = [self.layer_options[i].get("epochs", default) for i in range(n_layers)]
        elif isinstance(epochs, (list, tuple)):
            if len(epochs) != n_layers:
                raise UserError(f"epochs must be an int or a list of {n_layers} ints (one per "
                                f"layer), got {epochs!r}")
        else:
            epochs = [epochs] * n_layers
        return [check_param(f"epochs of layer {i + 1}", e, POSITIVE_INT) for i, e in enumerate(epochs)]

    def _keep_init_rows(self, x, y):
        """Rows of the training data for each layer's data-dependent initialisation."""
        if isinstance(x, tf.data.Dataset):
            xs, ys, count = [], [], 0
            for element in x:
                if isinstance(element, (tuple, list)):
                    xs.append(np.asarray(element[0]))
                    ys.append(np.asarray(element[1]) if len(element) > 1 else None)
                else:
                    xs.append(np.asarray(element))
                    ys.append(None)
                count += len(xs[-1])
                if count >= _INIT_ROWS:
                    break
            if not xs:
                raise UserError("the training data set is empty")
            x0 = np.concatenate(xs)[:_INIT_ROWS]
            y0 = None if any(v is None for v in ys) else np.concatenate(ys)[:_INIT_ROWS]
        else:
            x0, y0 = x[:_INIT_ROWS], None if y is None else y[:_INIT_ROWS]
        if self.n_labels:
            if y0 is None:
                raise UserError("this DBN has label units: fit it with labels, fit(x, y)")
            y0 = self._check_labels(np.reshape(y0, [-1]), what="training labels")
        self._init_rows = (np.asarray(x0, np.float32), y0)

    def fit(self, x=None, y=None, batch_size=None, epochs=None, verbose="auto", callbacks=None,
            shuffle=True, **kwargs):
        """Greedy layer-wise pre-training in compiled Keras steps; returns the Keras History.

        Args:
            x: numpy (N, n_visible) rows, or a batched tf.data.Dataset of visible vectors or
                (x, y) pairs (labels are used only by a DBN with ``n_labels``).
            y: integer class ids, for a DBN with ``n_labels`` (its top RBM learns them).
            batch_size: numpy input only; default from :func:`default_schedule`.
            epochs: epochs per layer: an int (every layer) or a list (one per layer); default
                from ``layer_options`` or :func:`default_schedule` (about 3,000 updates a layer).
            callbacks, verbose, validation_data, initial_epoch, ...: as in ``keras.Model.fit``;
                epochs are numbered over all layers (layer 1's epochs first). Learning-rate
                callbacks act on the layer being trained, ``ReduceLROnPlateau`` per layer,
                ``EarlyStopping`` and ``ModelCheckpoint(save_best_only=True)`` on the last
                layer's epochs only (see :mod:`tfrbm.stages`).

        Returns the Keras History (one entry per epoch, with ``layer``); ``self.histories``
        then holds one History per layer.
        """
        if x is None:
            raise UserError("fit needs training data x (a numpy array or a tf.data.Dataset)")
        n_rows = None
        if isinstance(x, tf.data.Dataset):
            spec = x.element_spec
            spec = spec[0] if isinstance(spec, (tuple, list)) else spec
            if isinstance(spec, dict) or len(spec.shape) != 2:
                raise UserError("fit expects a batched dataset of 2-D (batch, features) tensors "
                                f"(or (x, y) pairs of them), got element spec {x.element_spec}")
            if not spec.dtype.is_floating:
                raise UserError(f"the data set yields {spec.dtype.name} batches; DBNs need floating "
                                "point visible vectors (cast with dataset.map)")
            if y is not None:
                raise UserError("give the labels inside the dataset, as (x, y) pairs")
            width = spec.shape[-1]
            if width is None:
                raise UserError("the dataset's feature dimension is unknown; give it a static shape")
            if isinstance(x.element_spec, (tuple, list)) and not self.n_labels:
                x = x.map(lambda *e: e[0])       # labels are not used by an unlabelled DBN
        else:
            x = check_array(x, name="training data")
            width, n_rows = x.shape[-1], len(x)
            if y is not None and not self.n_labels:
                raise UserError("this DBN has no label units (n_labels=None), so fit takes no y; "
                                "build it with DBNModel(..., n_labels=K) to learn labels")
            if self.n_labels:
                if y is None:
                    raise UserError("this DBN has label units: fit it with labels, fit(x, y)")
                y = self._check_labels(np.reshape(y, [-1]), what="training labels")
                if len(y) != n_rows:
                    raise UserError(f"x has {n_rows} rows but y has {len(y)} labels")
        self._check_width(width, "the training data")
        if not self.built:
            with self.distribute_strategy.scope():
                self.build((None, int(width)))
        if n_rows is not None:
            units = self.rbms[0].visible_units
            (units.parts[0][0] if self._n_labels_into(0) else units).validate(x)
        if batch_size is not None:
            batch_size = check_param("batch_size", batch_size, POSITIVE_INT)
        schedule_batch = batch_size
        if n_rows is not None and batch_size is None:
            schedule_batch = default_schedule(n_rows)[0]
        per_layer = self._epochs_per_layer(epochs, n_rows, schedule_batch)
        self._keep_init_rows(x, y)
        if not isinstance(x, tf.data.Dataset):
            seed = None if self.seed is None else int(self.seed) + 104729
            # keyed on the epoch fit runs: a fit resumed by a backup replays the right order
            x, callbacks = epoch_keyed_dataset(x, y, callbacks, batch_size=schedule_batch,
                                               shuffle=bool(shuffle), seed=seed, cache=False)
        if not self.compiled:
            self.compile()
        self._attach_optimizers()
        for i, trainer in enumerate(self.trainers):
            check_learning_rate(trainer.optimizer, name=f"learning rate of layer {i + 1}")
        # every layer's traced step reads the options it was traced with: retrace per fit
        self.train_function = self.test_function = None
        if getattr(self, "_auto_steps_per_execution", False):
            distributed = (tf.distribute.has_strategy()
                           or getattr(self.distribute_strategy, "num_replicas_in_sync", 1) > 1)
            self.steps_per_execution = choose_steps_per_execution(
                callbacks, AUTO_STEPS_PER_EXECUTION, distributed)
        _compat.install_multi_worker_fixes(self.distribute_strategy)
        schedule = [i for i, e in enumerate(per_layer) for _ in range(e)]
        verbose_flag = 1 if verbose == "auto" else verbose
        cbs = with_progbar(stage_callbacks(self, schedule,
                                           _LayerSchedule(self, schedule, verbose_flag), callbacks))
        with named_data_errors("training data", self.rbms[0].visible_units):
            history = super().fit(x, epochs=len(schedule), verbose=verbose, callbacks=cbs,
                                  shuffle=False, **kwargs)
        self.histories = _split_history(history, len(self.rbms))
        if self.n_labels:     # issue 35: the label-aware anomaly scores' training summary
            self.fit_anomaly_reference(self._init_rows[0], strict=False)
        return history

    def fit_in_memory(self, x, epochs=5, batch_size=100, shuffle=True, verbose=0):
        """Greedy pre-training on an in-memory array by the same per-layer CD step as ``fit``,
        without ``fit``'s per-call machinery (no callbacks, History or tf.data pipeline): each
        epoch is one compiled loop over its batches (:func:`tfrbm.fastpath.train_in_memory`).

        ``epochs``: an int (every layer) or one per layer. For small data and many short fits
        (scikit-learn's ``DBNTransformer`` uses it). Each layer's epoch order is drawn from (the
        model's seed, layer, epoch); the orders differ from ``fit``'s. An unlabelled DBN only
        (``fit(x, y)`` trains label units). ``verbose``: 0 silent, else a line per epoch.
        Returns the last epoch's logs of each layer (floats).
        """
        if self.n_labels:
            raise UserError("fit_in_memory trains an unlabelled DBN; use fit(x, y) for label units")
        batch_size = check_param("batch_size", batch_size, POSITIVE_INT)
        x = check_array(x, name="training data")
        self._check_width(x.shape[-1], "the training data")
        if not self.built:
            self.build((None, int(x.shape[-1])))
        self.rbms[0].visible_units.validate(x)
        per_layer = self._epochs_per_layer(epochs, len(x), batch_size)
        self._keep_init_rows(x, None)
        if not self.compiled:
            self.compile()
        self._attach_optimizers()
        for i, trainer in enumerate(self.trainers):
            check_learning_rate(trainer.optimizer, name=f"learning rate of layer {i + 1}")
        base = None if self.seed is None else int(self.seed) + 104729
        logs = []
        for i, layer_epochs in enumerate(per_layer):
            self._start_layer(i, verbose=verbose, epochs=layer_epochs)
            with named_data_errors("training data", self.rbms[0].visible_units):
                logs.append(train_in_memory(
                    self, x, layer_epochs, batch_size, shuffle=bool(shuffle),
                    seed=None if base is None else base + 7919 * i, verbose=verbose,
                    what=f"layer {i + 1}", monitor=self.trainers[i]))
        self.train_function = self.test_function = None
        return logs

    def pretrain(self, data, epochs=None, cd_k=None, persistent=None, optimizer=None,
                 learning_rate=None, layer_options=None, sample=None, batch_size=None,
                 shuffle=True, callbacks=None, verbose=1, labels=None, seed=None, **rbm_kwargs):
        """Greedy layer-wise training in one :meth:`fit`; returns one History per layer.

        A convenience over ``compile`` + ``fit`` with the options of the older API:

        Args:
            data: numpy (N, n_visible) array, or a batched tf.data.Dataset yielding visible
                vectors or (x, y) pairs.
            epochs, cd_k, persistent, optimizer, learning_rate, sample: defaults for every layer
                (None: the layer's own option, else the defaults: epochs from the data size,
                CD-1, SGD(learning_rate or 0.1, momentum 0.5), mean-field features).
                ``optimizer`` may be an instance (each layer gets a fresh copy), a name or a config.
            layer_options: optional list with one dict per layer overriding the defaults; keys:
                epochs, optimizer, learning_rate, sample, callbacks, verbose and any RBMModel
                argument (cd_k, persistent, n_chains, weight_decay, sparsity_target, ...).
            callbacks: Keras callbacks for the ``fit`` (logs carry ``layer``).
            verbose: 0 silent, 1 a header per layer plus Keras' progress, 2 one line per epoch.
            labels: integer class ids for a DBN with ``n_labels``.
            seed: accepted for older code only if it equals the model's seed (the DBN's own
                ``seed`` drives shuffling and sampling; give it to ``DBNModel(seed=...)``).
            rbm_kwargs: further RBMModel arguments for every layer (weight_decay, n_chains, ...).

        Returns:
            a list of ``keras.callbacks.History``, one per layer (also kept in ``self.histories``),
            each with ``loss``, ``reconstruction_error`` and ``free_energy`` per epoch.
        """
        if seed is not None and seed != self.seed:
            raise UserError(f"pretrain(seed={seed!r}) differs from the model's seed {self.seed!r}: "
                            "give the seed to DBNModel(seed=...)")
        layer_options = self._check_layer_options(layer_options, _RBM_KEYS + _FIT_KEYS)
        unknown = set(rbm_kwargs) - set(_RBM_KEYS)
        if unknown:
            raise TypeError(f"pretrain got unexpected arguments {sorted(unknown)}")
        common = {k: v for k, v in (("cd_k", cd_k), ("persistent", persistent), ("sample", sample))
                  if v is not None}
        merged = []
        for i, opts in enumerate(layer_options):
            m = {**self.layer_options[i], **common, **rbm_kwargs,
                 **{k: v for k, v in opts.items() if k in _LAYER_KEYS}}
            rbm_args = {k: v for k, v in m.items() if k in _RBM_KEYS}
            RBMModel(RBMLayer(1), **rbm_args)   # validates the options (raises on bad values)
            merged.append(m)
        for i, m in enumerate(merged):
            for key in ("callbacks", "verbose"):
                if key in layer_options[i]:
                    raise UserError(f"layer_options[{i}]['{key}'] is no longer supported: the "
                                    f"layers train in one fit; pass {key} to pretrain")
        if self.built:
            for trainer, m in zip(self.trainers, merged):
                if int(m.get("n_chains", trainer.n_chains)) != trainer.n_chains:
                    raise UserError("n_chains of a built DBN's layer cannot change (its persistent "
                                    "chains exist); build a new DBNModel")
                for k in _RBM_KEYS:
                    if k in m and k != "n_chains":
                        setattr(trainer, k, m[k])
        self.layer_options = [{k: v for k, v in m.items() if k in _LAYER_KEYS} for m in merged]
        per_layer_epochs = None
        if epochs is not None or any("epochs" in o for o in layer_options):
            per_layer_epochs = [o.get("epochs", m.get("epochs", epochs)) for o, m
                                in zip(layer_options, merged)]
            if any(e is None for e in per_layer_epochs):
                per_layer_epochs = None if all(e is None for e in per_layer_epochs) else [
                    e if e is not None else 5 for e in per_layer_epochs]
        optimizers = [_fresh_optimizer(o.get("optimizer", optimizer),
                                       o.get("learning_rate", learning_rate))
                      for o in layer_options]
        self.compile(optimizer=optimizers[0], layer_optimizers=optimizers)
        history = self.fit(data, y=labels, epochs=per_layer_epochs, batch_size=batch_size,
                           shuffle=shuffle, callbacks=callbacks, verbose=verbose)
        self.histories = _split_history(history, len(self.rbms))
        return self.histories



    # ------------------------------------------------------------------ conversions
    def _weights(self):
        """[(W_l, c_l, b_l)] bottom first; a labelled top layer without its label rows."""
        self._require_built()
        out = []
        for i, l in enumerate(self.rbms):
            n_in = l.n_visible - self._n_labels_into(i)
            out.append((l.kernel.numpy()[:n_in], l.hidden_bias.numpy(), l.visible_bias.numpy()[:n_in]))
        return out

    def to_classifier(self, n_classes, init="pretrained", dropout=0.0, optimizer="adam",
                      compile=True, name=None):
        """A Keras Sequential classifier: Dense sigmoid layers with the RBMs' weights + softmax head.

        Hidden layer l starts with kernel W_l and bias c_l (so its output is p(h_l | x) exactly),
        the head is a fresh Dense(n_classes, softmax). ``init="random"`` gives the same network
        from Keras' default (Glorot) initialisation, the baseline for pre-training. Compiled
        with sparse categorical cross-entropy and accuracy unless ``compile=False``.
        """
        n_classes = check_param("n_classes", n_classes, POSITIVE_INT)
        init = check_param("init", init, Options("pretrained", "random"))
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
        init = check_param("init", init, Options("pretrained", "random"))
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
    def _down(self, top_visible, sample=False, seed=None):
        """The top RBM's visible vectors (feature part) passed down to the data layer."""
        x = top_visible
        if self.n_labels:
            x = x[:, :self.rbms[-1].n_visible - self.n_labels]
        for j, layer in enumerate(reversed(self.rbms[:-1])):
            if sample:
                _, x = layer.sample_visible(x, gibbs.fold(seed, 100 + j))
            else:
                x = layer.visible_probs(x)
        return x

    def sample(self, n, steps=1000, seed=None, init=None):
        """Fantasies: ``steps`` Gibbs steps in the top RBM, then one mean-field top-down pass.

        Chains start from ``init`` (visible rows, propagated up to the top RBM's visible layer)
        or from samples of the top RBM's visible-bias-only model. Returns (n, n_visible) means.
        In a labelled DBN the label units run free (see :meth:`generate` to choose the class).
        """
        n = check_param("n", n, POSITIVE_INT)
        steps = check_param("steps", steps, STEPS)
        self._require_built()
        seed_t = self.next_seed(seed)
        top = self.rbms[-1]
        if init is not None:
            init = check_array(init, name="init", n_features=self.n_visible)
            v0 = self.features(init[:n], len(self.rbms) - 1)
            if self.n_labels:
                v0 = self._with_labels(v0, tf.fill([tf.shape(v0)[0], self.n_labels],
                                                   1.0 / self.n_labels))
            v0 = tf.cast(v0, top.kernel.dtype)
        else:
            v0 = self._fantasy_start(n, seed_t)
        return self._sample_fn()(v0, tf.constant(steps), seed_t).numpy()

    # ------------------------------------------------------------------ steps shared with serving
    def _fantasy_start(self, n, seed):
        """The top RBM's first chain states: draws of its visible-bias-only model (seed fold 1)."""
        top = self.rbms[-1]
        units = top.visible_units
        b = tf.broadcast_to(top.visible_bias, tf.stack([n, top.n_visible]))
        return units.sample(units.mean(b), gibbs.fold(seed, 1))

    def _fantasize_down(self, v0, steps, seed):
        """``steps`` Gibbs steps in the top RBM from ``v0`` (seed fold 2), then a mean-field
        top-down pass to the data layer: the means of the fantasies."""
        v_mean, _ = gibbs.run_chain(self.rbms[-1], v0, steps, gibbs.fold(seed, 2))
        return self._down(v_mean)

    def _sample_fn(self):
        fn = getattr(self, "_sample_compiled", None)
        if fn is None:
            fn = tf.function(self._fantasize_down, reduce_retracing=True)
            self._sample_compiled = fn
        return fn

    def serving_endpoints(self):
        """``features(inputs)`` (top-layer probabilities), ``sample(n_samples, steps, seed)`` and,
        with label units, ``generate(labels, steps, seed)`` (one class-conditional sample per
        int32 label id, as :meth:`generate`).

        ``inputs`` must be finite states of the first layer's visible units; ``n_samples`` and
        ``steps`` >= 1 and label ids in [0, n_labels) (checked in the graph).
        """
        serving.require_built(self.built, "DBN")
        dtype = self.rbms[0].kernel.dtype
        first_units = self.rbms[0].visible_units
        if self._n_labels_into(0):
            first_units = first_units.parts[0][0]

        def features(inputs):
            x = first_units.check_tensor(inputs, "inputs")
            return {"features": tf.cast(self.features(tf.cast(x, dtype)), tf.float32)}

        def sample(n_samples, steps, seed):
            n = serving.check_at_least(n_samples, 1, "n_samples")
            steps = serving.check_at_least(steps, 1, "steps")
            return {"visible_mean": tf.cast(
                self._fantasize_down(self._fantasy_start(n, seed), steps, seed), tf.float32)}

        steps_seed = [serving.spec((), tf.int32, "steps"), serving.spec((2,), tf.int64, "seed")]
        endpoints = [
            ("features", features, [serving.spec((None, self.n_visible), tf.float32, "inputs")]),
            ("sample", sample, [serving.spec((), tf.int32, "n_samples")] + steps_seed)]
        if self.n_labels:
            n_labels = self.n_labels

            def generate(labels, steps, seed):
                steps = serving.check_at_least(steps, 1, "steps")
                ok = tf.reduce_all((labels >= 0) & (labels < n_labels))
                check = tf.debugging.Assert(ok, [f"labels must be class ids in [0, {n_labels})"])
                with tf.control_dependencies([check]):
                    labels = tf.identity(labels)
                return {"visible_mean": tf.cast(self.generate_graph(labels, steps, seed),
                                                tf.float32)}
            endpoints.append(("generate", generate,
                              [serving.spec((None,), tf.int32, "labels")] + steps_seed))
        return serving.Endpoints(self, endpoints)

    def generate_graph(self, labels, steps, seed, sample=False):
        """Graph version of :meth:`generate`: int ``labels`` (n,), int ``steps``, seed (2,).

        Gibbs sampling in the top RBM with the label group clamped to one-hot(labels): each
        step draws h ~ p(h | v_features, label) and v_features ~ p(v_features | h); the label
        units never change, so the chain's stationary law is p(v_features | label). The
        features start from the top RBM's feature biases (a base-rate sample). Returns the
        last step's feature means passed down by mean field (or, with ``sample``, the last
        sampled features passed down by sampling each layer: ancestral sampling).
        """
        top = self.rbms[-1]
        n_features = top.n_visible - self.n_labels
        labels = tf.cast(labels, tf.int32)
        n = tf.shape(labels)[0]
        dtype = top.kernel.dtype
        one_hot = tf.one_hot(labels, self.n_labels, dtype=dtype)
        p0 = tf.broadcast_to(tf.sigmoid(top.visible_bias[:n_features]), tf.stack([n, n_features]))
        v0 = tf.cast(tf.random.stateless_uniform(tf.shape(p0), gibbs.fold(seed, 1), dtype=dtype)
                     < p0, dtype)
        v0 = tf.concat([v0, one_hot], axis=-1)
        mask = tf.concat([tf.zeros([n_features], dtype), tf.ones([self.n_labels], dtype)], 0)
        v_mean, v = gibbs.clamped_chain(top, v0, mask, steps, gibbs.fold(seed, 2))
        return self._down(v if sample else v_mean, sample=sample, seed=seed)

    def generate(self, label, n=10, steps=1000, seed=None, sample=False):
        """Class-conditional samples (Hinton, Osindero & Teh 2006) from a DBN with ``n_labels``.

        Args:
            label: a class id (every sample) or a vector of ``n`` class ids.
            n: number of samples.
            steps: Gibbs steps in the top RBM with the label clamped.
            seed: int seed (default: the model's random stream).
            sample: return sampled states instead of mean-field probabilities.

        Returns:
            (n, n_visible) numpy rows (pixel probabilities, or states with ``sample``).
        """
        if not self.n_labels:
            raise UserError("generate(label, ...) needs a DBN trained with labels: this one has "
                            "no label units (build it with DBNModel(..., n_labels=K) and fit(x, y))")
        n = check_param("n", n, POSITIVE_INT)
        steps = check_param("steps", steps, STEPS)
        self._require_built()
        check_allocation(f"generate(n={n:,})",
                         8 * n * sum(rbm.n_visible + rbm.units for rbm in self.rbms))
        labels = self._check_labels(label, n, what="label")
        fn = getattr(self, "_generate_compiled", None)
        if fn is None:
            fn = {}
            self._generate_compiled = fn
        key = bool(sample)
        if key not in fn:
            fn[key] = tf.function(lambda l, s, sd: self.generate_graph(l, s, sd, sample=key),
                                  reduce_retracing=True)
        return fn[key](tf.constant(labels), tf.constant(steps), self.next_seed(seed)).numpy()

    def classify(self, x, batch_size=1000):
        """p(label | x) from the top RBM of a labelled DBN: softmax over -F([features, one-hot]).

        The free energy of the top RBM with each label clamped in turn scores the classes
        (Hinton, Osindero & Teh 2006, before fine-tuning). Returns (N, n_labels) probabilities.
        """
        neg_f = -self.class_free_energies(x, batch_size=batch_size, what="classify")
        return np.exp(neg_f - np.logaddexp.reduce(neg_f, axis=1, keepdims=True)).astype(np.float32)

    def class_free_energies(self, x, batch_size=1000, what="class_free_energies"):
        """F_k = F_top([features(x), e_k]) for each label k: shape (N, n_labels), float64."""
        if not self.n_labels:
            raise UserError(f"{what} needs a DBN trained with labels (n_labels)")
        self._require_built()
        x = check_array(x, name="x", n_features=self.n_visible)
        top = self.rbms[-1]
        eye = tf.eye(self.n_labels, dtype=top.kernel.dtype)

        def energies(b):
            f = self.features(b, len(self.rbms) - 1)
            return tf.stack([top.free_energy(self._with_labels(f, tf.broadcast_to(
                eye[k], [tf.shape(f)[0], self.n_labels]))) for k in range(self.n_labels)], axis=-1)
        fn = getattr(self, "_class_energies_fn", None)
        if fn is None:     # traced once per model (weights are read when it runs)
            fn = self._class_energies_fn = tf.function(energies, reduce_retracing=True)
        return np.concatenate([fn(x[i:i + batch_size]).numpy().astype(np.float64)
                               for i in range(0, len(x), batch_size)], axis=0)

    def anomaly_scores(self, x, method="auto", batch_size=1000):
        """Label-aware anomaly scores of a labelled DBN (higher = more anomalous) from the
        class-conditional free energies: ``"guarded_entropy"`` (``"auto"``,
        :data:`tfrbm.anomaly.AUTO_LABEL_METHOD`), ``"entropy"`` of p(label | x), ``"margin"``
        between the two best classes, ``"class_free_energy"`` (the best one); see
        :mod:`tfrbm.anomaly` for the formulas and when each helps."""
        method = anomaly.resolve_method(method, anomaly.LABEL_METHODS, anomaly.AUTO_LABEL_METHOD)
        return anomaly.label_scores(method, self.class_free_energies(
            x, batch_size=batch_size, what="DBNModel.anomaly_scores"), self.anomaly_reference)

    def fit_anomaly_reference(self, x, strict=True):
        """Summarise training rows ``x`` for the anomaly scores: the mean and spread of the
        label-marginal free energy -log sum_k exp(-F_k); ``fit`` calls it at its end (on up to
        10,000 rows); call it for a labelled DBN saved without one. Fewer than 2 rows: a
        UserError, or with ``strict=False`` no summary (None); so are non-finite free energies
        (a diverged model), which ``fit`` leaves to its own guard."""
        if not strict and len(x) < 2:
            self.anomaly_reference = None
            return None
        free_energy = anomaly.marginal_free_energy(
            self.class_free_energies(x, what="fit_anomaly_reference"))
        if not strict and not np.isfinite(free_energy).all():
            self.anomaly_reference = None
            return None
        self.anomaly_reference = anomaly.AnomalyReference.from_free_energies(free_energy)
        return self.anomaly_reference

    # ------------------------------------------------------------------ serialisation
    def get_config(self):
        config = super().get_config()
        options = []
        for i, opts in enumerate(self.layer_options):
            opts = dict(opts)
            trainer = (getattr(self, "trainers", None) or [None] * len(self.rbms))[i]
            if trainer is not None:
                opts.update({k: getattr(trainer, k) for k in _RBM_KEYS})
            options.append(opts)
        config.update({
            "layers": [keras.saving.serialize_keras_object(l) for l in self.rbms],
            "seed": self.seed,
            "n_labels": self.n_labels,
            "layer_options": options,
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


def _split_history(history, n_layers):
    """One ``keras.callbacks.History`` per layer from the History of a DBN ``fit``."""
    layers = [int(round(v)) for v in history.history.get("layer", [])]
    out = []
    for i in range(n_layers):
        h = keras.callbacks.History()
        h.layer = i + 1
        rows = [e for e, l in enumerate(layers) if l == i + 1]
        h.epoch = list(range(len(rows)))
        h.history = {k: [v[e] for e in rows] for k, v in history.history.items()}
        h.set_model(history.model)
        out.append(h)
    return out
