"""RBMModel: a restricted Boltzmann machine trained by contrastive divergence under ``model.fit``.

The CD-k update for W is the negative CD statistic
    grad W = -(<v h>_data - <v h>_model),
where <.>_data uses p(h | v_data) and <.>_model uses the end of a k-step Gibbs chain that starts
at the data (CD) or continues from persistent fantasy particles (PCD, Tieleman 2008). The
gradients go through the compiled Keras optimizer, so momentum, Adam, schedules and the
optimizer's own weight decay behave as in any Keras model.
"""
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from tfrbm import _compat, anomaly, centering, gibbs, likelihood, serving, tempering
from tfrbm.anomaly import AnomalyReferenceMixin
from tfrbm.data.pipeline import check_array, make_dataset
from tfrbm.dropout import DropoutView, dropout_mask
from tfrbm.errors import UserError
from tfrbm.export import ServingMixin
from tfrbm.fastpath import (check_steps_per_execution, choose_steps_per_execution, fit_arrays,
                            fits_in_memory, train_in_memory, with_progbar)
from tfrbm.interrupt import CHUNK_MULTIPLY_ADDS, between_chunks, steps_per_chunk
from tfrbm.layers import RBMLayer, check_matmul_dtype, matmul, visible_size
from tfrbm.likelihood.ais import base_rate_biases
from tfrbm.limits import check_allocation
from tfrbm.models.training import (AUTO_STEPS_PER_EXECUTION, batch_problem, named_data_errors,
                                   warn_if_unscaled)
from tfrbm.resume import EpochCounter, SeedStateMixin
from tfrbm.safety import AtomicSaveMixin, check_learning_rate
from tfrbm.summary import ModelSummary, layer_row
from tfrbm.tempering import temperature_ladder
from tfrbm.tracing import OneTracePerModel, cached_function
from tfrbm.validation import (BOOLEAN, POSITIVE_INT, STEPS, Instance, Integral, Interval, Options, Real,
                              check_param, validate_init)

__all__ = ["RBMModel"]

#: a long Gibbs run (daydream, gibbs, inpaint) is cut into compiled calls of at most
#: :data:`tfrbm.interrupt.CHUNK_MULTIPLY_ADDS` multiply-adds and at most CHUNK_MAX_STEPS steps
#: (the loop's own overhead, for tiny models), so Ctrl-C stops it between calls and progress can
#: be shown; a run that fits in one chunk is exactly what one call would compute
CHUNK_MAX_STEPS = 500

#: CD-k runs k Gibbs steps inside one compiled training step, which Ctrl-C cannot interrupt;
#: k is capped (beyond a few hundred steps CD-k is a long-chain sampler, use PCD instead)
MAX_CD_K = 10_000


def _chunk_steps(n_rows, layer, steps):
    """Gibbs steps per compiled call (:func:`tfrbm.interrupt.steps_per_chunk`)."""
    return steps_per_chunk(n_rows, layer.n_visible, layer.units, min(steps, CHUNK_MAX_STEPS))


class _Progress:
    """Progress of a chunked run: ``progress=True`` prints to stderr (after 2 s, then every 5 s),
    a callable gets ``(steps_done, steps_total)`` after every chunk, None is silent."""

    def __init__(self, what, total, progress):
        self.what, self.total, self.progress = what, total, progress
        self.start = self.last = time.monotonic()
        self.printed = False

    def update(self, done):
        if self.progress is None or self.progress is False:
            return
        if callable(self.progress):
            self.progress(done, self.total)
            return
        now = time.monotonic()
        if now - self.start < 2.0 or (now - self.last < 5.0 and done < self.total):
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        eta = (self.total - done) / max(rate, 1e-9)
        print(f"{self.what}: {done:,}/{self.total:,} Gibbs steps, {rate:,.0f} steps/s, "
              f"about {eta:,.0f} s left (Ctrl-C stops)", file=sys.stderr, flush=True)
        self.printed = True


@keras.saving.register_keras_serializable(package="tfrbm")
class RBMModel(AnomalyReferenceMixin, SeedStateMixin, AtomicSaveMixin, ServingMixin,
               OneTracePerModel, ModelSummary, keras.Model):
    """An RBM that trains with ``fit``: CD-k or persistent CD through the compiled optimizer.

    Args:
        layer: an :class:`RBMLayer` (or an int, taken as its number of hidden units).
        cd_k: Gibbs steps per update (k >= 1).
        persistent: use persistent CD: the negative chains continue across batches and epochs
            from fantasy particles kept in the non-trainable variable ``persistent_chains``.
        n_chains: number of persistent chains, independent of the batch size.
        hidden_statistics: ``"probabilities"`` (default, lower variance) or ``"states"``: what
            the <v h> statistics use for the hidden units.
        weight_decay: L2 coefficient added to the weight gradient (Hinton's guide, section 10).
        sparsity_target, sparsity_cost, sparsity_decay: Hinton's sparsity penalty (section 11):
            a running mean q of p(h|v) is pushed towards the target with gradient cost*(q - target).
        init_visible_bias: ``"log_odds"`` (default) sets the visible biases from the first
            training data to log(p / (1 - p)) (Hinton's guide, section 8), ``None`` keeps the
            layer's initializer.
        monitor_reconstruction: compute the reconstruction error each step (one extra matmul
            under PCD).
        tempering: None, or the number M >= 2 of replicas for parallel tempering (Desjardins et
            al. 2010, :mod:`tfrbm.tempering`; needs ``persistent=True``): the negative phase
            comes from the beta = 1 replica of M x ``n_chains`` tempered chains kept in
            ``tempered_chains``, each of the ``cd_k`` steps a Gibbs sweep of every replica and
            Metropolis swaps of the even, then the odd, neighbour pairs. The temperatures are
            spaced linearly from beta = 1 to ``tempering_min_beta`` along the family that AIS
            anneals through (towards the base-rate model, which mixes freely).
        tempering_min_beta: the hottest replica's inverse temperature, in [0, 1).
        centering: use the centering trick (None, the default, turns it on where it is the
            measured recipe: the best at an equal CPU budget, benchmarks/RESULTS.md issue 14,
            i.e. Bernoulli hidden units, no learned visible variances, no ``dropout``, and a
            model whose training step centers (``supports_centering``; not ConvRBMModel,
            RatingsRBM or ImplicitRBM); elsewhere it resolves to False. ``centering=False``
            gives plain CD/PCD; ``get_config`` holds the resolved True/False; a model saved
            before centering became the default, whose config lacks the key, loads as
            ``centering=False``) (Melchior, Fischer & Wiskott 2016,
            :mod:`tfrbm.centering`): each update is the gradient with respect to the centered
            parameters, with offsets mu (visible) and lambda (hidden) subtracted from the units,
            mapped back to the stored natural parameters (W, b, c) -- sampling, free energy and
            AIS are unchanged. The offsets (non-trainable ``visible_offset``, ``hidden_offset``)
            start at the first training data's mean of v and of p(h | v) and then follow moving
            averages of each batch's means at rate ``centering_rate``.
        centering_rate: the offsets' sliding factor nu in (0, 1] (the paper's 0.01 by default).
        seed: seed of the model's random stream (its state is a variable, saved with the model).
        dropout: the Dropout RBM (Srivastava et al. 2014, :mod:`tfrbm.dropout`): the
            probability in [0, 1) that a hidden unit is dropped from a training case (0, the
            default, is the plain RBM). Each case's CD runs on its sub-RBM; the layer's kernel
            holds the test-time weights (scaled by the retain probability 1 - dropout), so
            features, sampling and likelihoods use every unit. Not with ``persistent``,
            ``tempering`` or learned visible variances.
        matmul_dtype: ``"bfloat16"`` runs the matrix products of training and sampling (the
            conditionals and the <v h> statistic) in bfloat16 with float32 accumulation; the
            weights, chains, statistics' means, sampling and the update stay float32. Sets the
            layer's ``matmul_dtype`` (saved in its config); None (default) keeps the layer's
            setting ("float32" unless the layer says otherwise). See benchmarks/RESULTS.md
            (issue 21) for its speed and quality.

    Compile it like any Keras model (``loss`` is unused: the update is the CD statistic); if
    ``fit`` finds it uncompiled it uses SGD(0.05, momentum=0.5).

    Speed: ``compile(steps_per_execution="auto")`` (the default here) runs
    ``AUTO_STEPS_PER_EXECUTION`` CD steps per call into the compiled graph, falling back to one
    step per call for a ``fit`` whose callbacks need every step (decided from their settings,
    see :mod:`tfrbm.fastpath`) or under a tf.distribute strategy; the updates are identical
    to ``steps_per_execution=1``. XLA (``jit_compile=True``) is allowed but is slower on CPU and
    draws different random numbers (XLA's stateless RNG differs from TF's kernels).

    Metrics: ``loss`` and ``reconstruction_error`` (the same number: the mean squared error of the
    one-step reconstruction's probabilities, lower is better) and ``free_energy`` (mean F(v) of
    the batch), in the History and ``evaluate``. ``loss`` is what stock Keras callbacks
    (``EarlyStopping()``, ``ReduceLROnPlateau()``, ``ModelCheckpoint(save_best_only=True)``)
    and keras-tuner watch by default (as ``val_loss`` with validation data); it is not what CD
    minimises (CD follows an approximate log-likelihood gradient), but it falls as the model
    learns to reproduce its data. With ``monitor_reconstruction=False`` training logs no ``loss``.

    Data checks: arrays are validated in full before ``fit``/``evaluate``; a ``tf.data`` input
    is checked batch by batch inside the compiled step (``check_batches``, on by default): every
    value must be finite, and within [0, 1] for Bernoulli/softmax visible units. A bad batch
    stops ``fit``/``evaluate`` with a :class:`tfrbm.errors.UserError` naming the batch, the
    training step, the row, the column and the value, before the weights see it. The check
    costs one comparison and one reduction per batch (measured in benchmarks/RESULTS.md, issue
    20). XLA compiles the assertion out, so ``jit_compile=True`` is refused while
    ``check_batches`` is on (set ``model.check_batches = False`` to train under XLA unchecked),
    and ``jit_compile="auto"`` does not pick XLA.
    """

    _parameter_constraints = {
        "layer": [Instance(RBMLayer, "an RBMLayer"), Interval(Integral, None, None)],
        "cd_k": POSITIVE_INT,
        "persistent": [BOOLEAN],
        "n_chains": POSITIVE_INT,
        "hidden_statistics": [Options("probabilities", "states")],
        "weight_decay": [None, Interval(Real, 0, None)],
        "sparsity_target": [None, Interval(Real, 0, 1, closed="neither")],
        "sparsity_cost": [None, Interval(Real, 0, None)],
        "sparsity_decay": [Interval(Real, 0, 1, closed="left")],
        "init_visible_bias": [Options("log_odds", None)],
        "monitor_reconstruction": [BOOLEAN],
        "seed": [None, Interval(Integral, None, None)],
        "tempering": [None, Interval(Integral, 2, None)],
        "tempering_min_beta": [Interval(Real, 0, 1, closed="left")],
        "centering": [None, Instance((bool, np.bool_), "True or False")],
        "centering_rate": [Interval(Real, 0, 1, closed="right")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
    }

    #: check each batch inside the compiled train/test step (see "Data checks" above)
    check_batches = True

    #: whether the model's training step implements the centering trick (a subclass with its
    #: own step sets False: its ``centering`` then defaults to False and True is a UserError)
    supports_centering = True

    def __new__(cls, *args, **kwargs):
        # a layer that needs its own training step names its model class (ConvRBMLayer:
        # tfrbm.models.conv.ConvRBMModel), so that RBMModel(layer) trains any RBM layer
        layer = args[0] if args else kwargs.get("layer")
        target = getattr(layer, "model_class", None)
        if cls is RBMModel and target is not None:
            cls = target
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, layer=None, cd_k=1, persistent=False, n_chains=100,
                 hidden_statistics="probabilities", weight_decay=0.0, sparsity_target=None,
                 sparsity_cost=0.0, sparsity_decay=0.9, init_visible_bias="log_odds",
                 monitor_reconstruction=True, seed=None, tempering=None, tempering_min_beta=0.0,
                 matmul_dtype=None, centering=None, centering_rate=0.01, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        p = validate_init(
            self,
            {"layer": layer, "cd_k": cd_k, "persistent": persistent, "n_chains": n_chains,
             "hidden_statistics": hidden_statistics, "weight_decay": weight_decay,
             "sparsity_target": sparsity_target, "sparsity_cost": sparsity_cost,
             "sparsity_decay": sparsity_decay, "init_visible_bias": init_visible_bias,
             "monitor_reconstruction": monitor_reconstruction, "seed": seed,
             "tempering": tempering, "tempering_min_beta": tempering_min_beta,
             "centering": centering, "centering_rate": centering_rate, "dropout": dropout},
            required=("layer", "an RBMLayer, e.g. RBMModel(RBMLayer(500))"))
        self.layer = (p["layer"] if isinstance(p["layer"], keras.layers.Layer)
                      else RBMLayer(p["layer"]))
        if matmul_dtype is not None:
            self.layer.matmul_dtype = check_matmul_dtype(matmul_dtype)
        self.cd_k = p["cd_k"]
        if self.cd_k > MAX_CD_K:
            raise UserError(f"cd_k={self.cd_k:,} is above the cap of {MAX_CD_K:,}: the k Gibbs steps "
                            "of CD-k run inside one compiled training step that Ctrl-C cannot "
                            "stop; use persistent=True (PCD) for long-chain statistics")
        self.persistent = bool(persistent)
        self.n_chains = p["n_chains"]
        self.hidden_statistics = hidden_statistics
        self.weight_decay = p["weight_decay"] or 0.0
        self.sparsity_target = p["sparsity_target"]
        self.sparsity_cost = p["sparsity_cost"] or 0.0
        self.sparsity_decay = p["sparsity_decay"]
        self.init_visible_bias = init_visible_bias
        self.monitor_reconstruction = bool(monitor_reconstruction)
        if tempering is not None:
            tempering = p["tempering"]
            if not self.persistent:
                raise UserError("tempering (parallel tempering) replaces the persistent chains: "
                                 "use it with persistent=True")
            if self.layer.hidden_units.name != "bernoulli":
                raise UserError("parallel tempering (tempering=...) is implemented for Bernoulli "
                                f"hidden units only, not {self.layer.hidden_units.name!r}")
            self._tempering_betas = temperature_ladder(tempering, p["tempering_min_beta"])
        self.tempering = tempering
        self.tempering_min_beta = float(p["tempering_min_beta"])
        self.centering_rate = float(p["centering_rate"])
        self.dropout = float(p["dropout"])
        if self.dropout and (self.persistent or self.layer.learns_variance):
            raise UserError("dropout (the Dropout RBM) drops hidden units per training case, so "
                            "it works with CD-k only, not with persistent chains, tempering or "
                            "learned visible variances")
        if centering is None:
            centering = self._centering_by_default()
        elif centering and not self.supports_centering:
            raise UserError(f"{type(self).__name__} does not support centering: its training "
                            "step does not implement it (centering=False)")
        self.centering = bool(centering)
        self.seed = p["seed"]
        self.seed_generator = keras.random.SeedGenerator(seed, name="rbm_seed")
        # ``loss`` (what stock callbacks and keras-tuner watch by default) is the reconstruction
        # error; both say "lower is better" to Keras' mode="auto". The mean free energy has no
        # direction: log Z moves as the model learns, so a lower F(v) is not a better model.
        self.loss_tracker = _compat.set_direction(keras.metrics.Mean(name="loss"), "down")
        self.reconstruction_tracker = _compat.set_direction(
            keras.metrics.Mean(name="reconstruction_error"), "down")
        self.free_energy_tracker = keras.metrics.Mean(name="free_energy")
        self._metric_container = _compat.directed_metrics(
            [self.loss_tracker, self.reconstruction_tracker, self.free_energy_tracker],
            name="rbm_metrics")
        self._compiled_fns = {}

    def _centering_by_default(self):
        """What ``centering=None`` resolves to: on where centering is the measured recipe (a
        model whose step centers, Bernoulli hidden units, no learned visible variances, no
        dropout), off elsewhere (see ``centering`` in ``__init__``)."""
        layer = self.layer
        return bool(self.supports_centering and not self.dropout
                    and getattr(layer, "hidden_units", None) is not None
                    and layer.hidden_units.name == "bernoulli"
                    and not getattr(layer, "learns_variance", False))

    # ------------------------------------------------------------------ building
    def build(self, input_shape):
        n_in, n_hidden = visible_size(input_shape[-1]), int(self.layer.units)
        # weights, their gradient and an optimizer slot, plus the persistent chains
        check_allocation(f"an RBM of {n_in:,} visible x {n_hidden:,} hidden units",
                         4 * (3 * (n_in * n_hidden + n_in + n_hidden) + self.n_chains * n_in))
        if not self.layer.built:
            self.layer.build(input_shape)
        n_visible = self.layer.n_visible
        # sync-on-read: under tf.distribute every replica keeps its own fantasy particles
        # (saved and read as the first replica's)
        with keras.name_scope(self.name, caller=self):
            self.persistent_chains = keras.Variable(
                initializer=keras.initializers.Zeros(), shape=(self.n_chains, n_visible),
                dtype=self.layer.kernel.dtype, trainable=False, synchronization="on_read",
                aggregation="only_first_replica", name="persistent_chains")
        _compat.track_variable(self, self.persistent_chains)
        if self.tempering:
            with keras.name_scope(self.name, caller=self):
                self.tempered_chains = keras.Variable(
                    initializer=keras.initializers.Zeros(),
                    shape=(self.tempering, self.n_chains, n_visible), dtype=self.layer.kernel.dtype,
                    trainable=False, synchronization="on_read", aggregation="only_first_replica",
                    name="tempered_chains")
            _compat.track_variable(self, self.tempered_chains)
        if self.centering:
            # the centering offsets mu, lambda (tfrbm.centering)
            self.visible_offset = self.add_weight(name="visible_offset", shape=(n_visible,),
                                                  initializer="zeros", trainable=False)
            self.hidden_offset = self.add_weight(name="hidden_offset", shape=(n_hidden,),
                                                 initializer="zeros", trainable=False)
        # 1.0 once the data-dependent initialisation (visible biases, chains) has run
        self.initialized = self.add_weight(name="initialized", shape=(), initializer="zeros",
                                           trainable=False)
        self.sparsity_q = self.add_weight(name="sparsity_running_mean", shape=(self.layer.units,),
                                          initializer="zeros", trainable=False, aggregation="mean")
        # visible biases of the base-rate model fitted to the training data (AIS starts there)
        self.base_rate_bias = self.add_weight(name="base_rate_bias", shape=(n_visible,),
                                              initializer="zeros", trainable=False)
        self.built = True

    def call(self, inputs, training=False):
        return self.layer(inputs)

    @property
    def metrics(self):
        # one container, so that Keras' monitoring callbacks see each metric's direction
        return [self._metric_container]

    def training_state(self):
        """[(what, variable)]: the non-trainable variables this model's training uses (the
        persistent chains only under PCD, the offsets only with centering, ...)."""
        if not self.built:
            return []
        state = [("base-rate biases", self.base_rate_bias), ("initialised flag", self.initialized)]
        if self.persistent:
            state.append(("persistent chains", self.persistent_chains))
        if self.tempering:
            state.append(("tempered chains", self.tempered_chains))
        if self.centering:
            state += [("visible offsets", self.visible_offset),
                      ("hidden offsets", self.hidden_offset)]
        if self.sparsity_target is not None and self.sparsity_cost:
            state.append(("sparsity running mean", self.sparsity_q))
        return state

    def summary_rows(self):
        """The layer row and the non-trainable numbers in use (see :mod:`tfrbm.summary`)."""
        return [layer_row(self.layer)], [(what, int(np.prod(v.shape)))
                                         for what, v in self.training_state()]

    def progress_steps(self):
        """Steps run since the metrics were last reset (this epoch, or this evaluation): the
        progress bar's count when the data's length is unknown (:class:`tfrbm.fastpath.StepProgbar`)."""
        return int(self.free_energy_tracker.count.numpy())

    def _log_values(self, recon_error, free_energy):
        """Update the trackers; ``loss`` is the reconstruction error (omitted when it is not
        monitored, rather than logged as NaN, which TerminateOnNaN would stop on)."""
        self.reconstruction_tracker.update_state(recon_error)
        self.free_energy_tracker.update_state(free_energy)
        logs = {}
        if self.monitor_reconstruction:
            self.loss_tracker.update_state(recon_error)
            logs["loss"] = self.loss_tracker.result()
        logs["reconstruction_error"] = self.reconstruction_tracker.result()
        logs["free_energy"] = self.free_energy_tracker.result()
        return logs

    # ------------------------------------------------------------------ input checks
    def _check_visible(self, v, name="v"):
        """Validate user data for the visible layer and return it as float32 numpy."""
        n_features = self.layer.n_visible if self.layer.built else None
        v = check_array(v, name=name, n_features=n_features)
        self.layer.visible_units.validate(v)
        return v

    def _check_hidden(self, h):
        self._require_built()
        units = self.layer.hidden_units
        h = check_array(h, name="h", n_features=self.layer.units, bernoulli=units.binary)
        units.validate(h)
        return h

    def _require_built(self):
        if not self.built:
            raise UserError("the RBM is not built yet: call fit(...) or build((None, n_visible)) first")

    # ------------------------------------------------------------------ data-dependent init
    def _first_batches(self, x, max_rows=20000):
        """Up to ``max_rows`` training rows as numpy, from an array or a tf.data dataset."""
        if isinstance(x, tf.data.Dataset):
            rows, count = [], 0
            for element in x:
                batch = element[0] if isinstance(element, (tuple, list)) else element
                if isinstance(batch, dict):
                    raise UserError("RBMModel.fit expects batches of visible vectors, got a dict")
                batch = np.asarray(batch)
                rows.append(batch)
                count += len(batch)
                if count >= max_rows:
                    break
            if not rows:
                raise UserError("the training data set is empty")
            return np.concatenate(rows, axis=0)
        return x[:max_rows]

    def initialize_from_data(self, x):
        """Set visible biases to the data's log-odds and start the chains from the base-rate model.

        Runs once (the ``initialized`` flag is saved with the model), on the first ``fit``.
        """
        self._initialize_from_sample(
            self._check_visible(self._first_batches(x), name="training data"))

    def _initialize_from_sample(self, sample):
        """:meth:`initialize_from_data` on up to 20,000 rows already checked (float32 numpy)."""
        if not self.layer.visible_units.binary:
            warn_if_unscaled(sample)
        if not self.built:
            with self.distribute_strategy.scope():
                self.build((None, sample.shape[-1]))
        if float(self.initialized.numpy()) > 0:
            return
        units = self.layer.visible_units
        # the base-rate model's biases: the data's log-odds (Hinton's guide, section 8)
        bias = base_rate_biases(sample, units).astype(np.float32)
        self.base_rate_bias.assign(bias)
        if self.init_visible_bias == "log_odds":
            self.layer.visible_bias.assign(bias)
        # persistent chains start as samples of the visible-bias-only (base-rate) model
        self.persistent_chains.assign(gibbs.base_rate_samples(
            units, self.layer.visible_bias, self.n_chains, self.seed_generator.next()))
        if self.layer.learns_variance:
            # sigma^2 starts at the data's variance (standardised data: about 1)
            self.layer.visible_log_variance.assign(self.layer.visible_log_variance.constraint(
                np.log(np.maximum(sample.var(axis=0), 1e-30)).astype(np.float32)))
        if self.centering:
            self.visible_offset.assign(sample.mean(axis=0).astype(np.float32))
            self.hidden_offset.assign(tf.reduce_mean(self.layer.hidden_probs(sample), axis=0))
        if self.tempering:
            self.tempered_chains.assign(tf.broadcast_to(self.persistent_chains,
                                                        self.tempered_chains.shape))
        self.initialized.assign(1.0)

    def fit(self, x=None, y=None, **kwargs):
        """``keras.Model.fit`` plus input checks and, on the first call, data-dependent init."""
        self._check_xla_keeps_data_check()
        if x is None:
            raise UserError("fit needs training data x (a numpy array or a tf.data.Dataset)")
        for name in ("sample_weight", "class_weight"):
            if kwargs.get(name) is not None:
                raise UserError(
                    f"RBMModel.fit does not support {name}: the CD statistics are unweighted "
                    "means over the batch. To weight examples, repeat or subsample rows.")
        if not isinstance(x, tf.data.Dataset):
            x = self._check_visible(x, name="training data")
        else:
            kwargs.setdefault("shuffle", False)  # a dataset shuffles itself; Keras would warn
            spec = x.element_spec
            spec = spec[0] if isinstance(spec, (tuple, list)) else spec
            if not getattr(spec, "dtype", tf.float32).is_floating:
                raise UserError(f"the data set yields {spec.dtype.name} batches; RBMs need floating "
                                 "point visible vectors (cast with dataset.map)")
        training_data = x
        if isinstance(x, tf.data.Dataset):
            self.initialize_from_data(x)
        else:
            self._initialize_from_sample(self._first_batches(x))  # checked above: no second pass
        if not self.compiled:
            # the RBM default: plain SGD with a little momentum; ``loss`` is never used
            self.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.5))
        check_learning_rate(self.optimizer)
        self._choose_steps_per_execution(kwargs.get("callbacks"))
        _compat.install_multi_worker_fixes(self.distribute_strategy)
        kwargs["callbacks"] = with_progbar(kwargs.get("callbacks"))  # counts real steps
        validation_data = kwargs.get("validation_data")
        if validation_data is not None and not isinstance(validation_data, tf.data.Dataset):
            val = validation_data[0] if isinstance(validation_data, (tuple, list)) else validation_data
            kwargs["validation_data"] = (self._check_visible(val, name="validation data"),)
        if fits_in_memory(self, x, y, kwargs):
            # the fast path: Keras' loop without the tf.data pipeline, the same updates
            seed = None if self.seed is None else int(self.seed) + 104729
            with named_data_errors("training data", self.layer.visible_units):
                history = fit_arrays(self, x, seed=seed, **kwargs)
        else:
            if not isinstance(x, tf.data.Dataset):
                x, kwargs = self._array_dataset(x, y, kwargs)
            with named_data_errors("training data", self.layer.visible_units):
                history = super().fit(x, y, **kwargs)
        self.fit_anomaly_reference(training_data, strict=False)   # issue 35: the scores' summary
        return history

    def fit_in_memory(self, x, epochs=1, batch_size=32, shuffle=True, verbose=0):
        """Train on an in-memory array by the same CD step as ``fit``, without ``fit``'s
        per-call machinery: no callbacks, History, validation or tf.data pipeline; each epoch
        is one compiled loop over its batches (:func:`tfrbm.fastpath.train_in_memory`).

        For small data sets and many short fits (scikit-learn's ``RBMTransformer`` uses it):
        on the 1,347 digits of benchmarks/bench_sklearn.py it takes a fit of 10 epochs from
        about 2 s to well under one (benchmarks/RESULTS.md, issue 17). Each epoch's order is
        drawn from (the model's seed, epoch), so a seeded model trains reproducibly; the orders
        differ from ``fit``'s. Uncompiled, it uses ``fit``'s default optimizer. ``verbose``: 0
        silent, 1 or 2 one line per epoch. Returns the last epoch's mean logs (floats).
        """
        epochs = check_param("epochs", epochs, POSITIVE_INT)
        batch_size = check_param("batch_size", batch_size, POSITIVE_INT)
        x = self._check_visible(x, name="training data")
        self.initialize_from_data(x)
        if not self.compiled:
            self.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.5))
        check_learning_rate(self.optimizer)
        seed = None if self.seed is None else int(self.seed) + 104729
        with named_data_errors("training data", self.layer.visible_units):
            logs = train_in_memory(self, x, epochs, batch_size, shuffle=bool(shuffle), seed=seed,
                                   verbose=verbose)
        self.fit_anomaly_reference(x, strict=False)   # issue 35: the anomaly scores' summary
        return logs

    def _array_dataset(self, x, y, kwargs):
        """In-memory training arrays go through tfrbm's pipeline (``make_dataset``: tf.data's
        autotuner off, which keeps CPU epochs from slowing down 1.8x at random, see its docstring),
        batched with ``batch_size`` (Keras's default 32) and reshuffled each epoch when ``shuffle``.

        Each epoch's order is a function of (seed, epoch number) (an :class:`EpochCounter`
        callback tells the pipeline which epoch ``fit`` is in), so a fit resumed at epoch e by
        Keras's ``BackupAndRestore`` or :class:`tfrbm.resume.TrainingBackup` sees the same
        orders as the uninterrupted run, with the default ``shuffle=True``. The seed is the
        model's (or, without one, a draw from numpy's global generator, reproducible under
        ``keras.utils.set_random_seed``). Arguments only Keras's array adapter understands (y,
        sample_weight, validation_split, steps_per_epoch) keep Keras's path."""
        if (y is not None or kwargs.get("sample_weight") is not None
                or kwargs.get("validation_split") or kwargs.get("steps_per_epoch") is not None):
            return x, kwargs
        kwargs = dict(kwargs)
        batch_size = kwargs.pop("batch_size", None) or 32
        shuffle = bool(kwargs.pop("shuffle", True))
        seed = None if self.seed is None else int(self.seed) + 104729
        kwargs["shuffle"] = False
        callbacks = kwargs.get("callbacks")
        if callbacks is not None and not isinstance(callbacks, (list, tuple)):
            # a CallbackList: keep the per-pass reshuffle (no epoch number to key on)
            return make_dataset(x, batch_size=batch_size, shuffle=shuffle, seed=seed,
                                cache=False), kwargs
        counter = EpochCounter()
        kwargs["callbacks"] = list(callbacks or []) + [counter]
        return make_dataset(x, batch_size=batch_size, shuffle=shuffle, seed=seed, cache=False,
                            epoch=counter.variable), kwargs

    # ------------------------------------------------------------------ compile / speed
    def compile(self, *args, steps_per_execution="auto", **kwargs):
        """``keras.Model.compile``; ``steps_per_execution="auto"`` (default) lets ``fit`` pick it.

        "auto" runs :data:`AUTO_STEPS_PER_EXECUTION` steps per graph call unless a callback of
        that ``fit`` hooks single batches (then 1). An integer is used as given.
        """
        auto, steps = check_steps_per_execution(steps_per_execution)
        super().compile(*args, steps_per_execution=steps,
                        **kwargs)
        if self.check_batches and self.jit_compile and kwargs.get("jit_compile") is not True:
            self.jit_compile = False   # "auto" chose XLA (a GPU): keep the per-batch data check
        self._check_xla_keeps_data_check()
        self._auto_steps_per_execution = auto
        if auto:
            _compat.set_compile_config_value(self, "steps_per_execution", "auto")
        _compat.install_multi_worker_fixes(self.distribute_strategy)

    def _check_xla_keeps_data_check(self):
        """XLA compiles the per-batch data check's assertion out (a NaN at row 25,000 of a
        stream would silently make the weights NaN): refuse ``jit_compile=True`` while the check
        is on."""
        if self.check_batches and getattr(self, "compiled", False) and self.jit_compile:
            raise UserError(
                "jit_compile=True would compile out RBMModel's per-batch data check (NaN/Inf or "
                "out-of-range values would reach the weights silently); leave jit_compile off, "
                "or set model.check_batches = False to train under XLA without the check")

    def compile_from_config(self, config):
        """Re-compile from a saved compile config (needed because ``compile`` is overridden)."""
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if getattr(self, "optimizer", None) is not None and self.built:
            self.optimizer.build(self.trainable_variables)

    def _choose_steps_per_execution(self, callbacks):
        """Apply the "auto" steps_per_execution for this fit (a new value retraces)."""
        if not getattr(self, "_auto_steps_per_execution", False):
            return
        distributed = (tf.distribute.has_strategy()
                       or getattr(self.distribute_strategy, "num_replicas_in_sync", 1) > 1)
        steps = choose_steps_per_execution(callbacks, AUTO_STEPS_PER_EXECUTION, distributed)
        if steps != self.steps_per_execution:
            self.steps_per_execution = steps
            self.train_function = None
            self.test_function = None
            self.predict_function = None

    def evaluate(self, x=None, y=None, **kwargs):
        if x is not None and not isinstance(x, tf.data.Dataset):
            x = self._check_visible(x, name="evaluation data")
        kwargs["callbacks"] = with_progbar(kwargs.get("callbacks"))
        with named_data_errors("evaluation data", self.layer.visible_units):
            return super().evaluate(x, y, **kwargs)

    def predict(self, x, *args, **kwargs):
        """``keras.Model.predict``: p(h = 1 | v) for each row (its progress bar counts real steps)."""
        if len(args) < 4:    # callbacks not given positionally
            kwargs["callbacks"] = with_progbar(kwargs.get("callbacks"))
        return super().predict(x, *args, **kwargs)

    # ------------------------------------------------------------------ training
    def cd_gradients(self, v0, seed):
        """The CD-k (or PCD-k) gradients for a batch, plus monitoring values.

        Returns (grads, recon_error, mean_free_energy) with grads = [dW, db, dc] matching
        [kernel, visible_bias, hidden_bias]. Pure function of the weights, the chains and ``seed``
        apart from the persistent-chain and sparsity updates it makes.
        """
        with self.layer.shared_product_kernel():   # bfloat16 products: the kernel rounded once
            return self._cd_gradients(v0, seed)

    def _cd_gradients(self, v0, seed):
        dtype = self.layer.kernel.dtype
        v0 = tf.cast(v0, dtype)
        layer = self.layer
        if self.dropout:
            # each case's sub-RBM (tfrbm.dropout): masked hidden units, weights kernel / retain
            mask = dropout_mask(tf.stack([tf.shape(v0)[0], self.layer.units]), self.dropout,
                                gibbs.fold(seed, 11), dtype)
            layer = DropoutView(self.layer, mask, 1.0 - self.dropout)
        pre0 = layer.hidden_input(v0)
        ph0 = layer.hidden_units.mean(pre0)                     # sigmoid for Bernoulli units
        h0 = layer.hidden_units.draw(pre0, gibbs.fold(seed, 1))
        if self.dropout:
            ph0, h0 = ph0 * layer.mask, h0 * layer.mask
        v_mean1, vk, phk, hk = self._negative_phase(h0, seed, layer)

        if self.hidden_statistics == "probabilities":
            pos_h, neg_h = ph0, phk
        else:
            pos_h, neg_h = h0, hk
        n_pos = tf.cast(tf.shape(v0)[0], dtype)
        n_neg = tf.cast(tf.shape(vk)[0], dtype)
        # both phases' <v h> in one matmul, already negated: [-v0 ; vk]^T [pos_h/B ; neg_h/N]
        # (the states stay exact in bfloat16; the cancellation happens in the kernel's float32
        # accumulator; negating the B x V states, not the V x H product, saves a pass).
        # With learned visible variances the statistics are of v / sigma^2 (Cho et al. 2011).
        s0, sk = layer.scaled_visible(v0), layer.scaled_visible(vk)
        stacked_v = tf.concat([-s0, sk], axis=0)
        stacked_h = tf.concat([pos_h / n_pos, neg_h / n_neg], axis=0)
        d_kernel = matmul(stacked_v, stacked_h, layer.matmul_dtype, transpose_a=True)
        if self.dropout:
            # the statistic is the gradient in W = kernel / retain; in the kernel it is / retain
            d_kernel = d_kernel / (1.0 - self.dropout)
            layer = self.layer
        d_visible = -(tf.reduce_mean(s0, axis=0) - tf.reduce_mean(sk, axis=0))
        d_hidden = -(tf.reduce_mean(pos_h, axis=0) - tf.reduce_mean(neg_h, axis=0))
        if self.weight_decay:
            d_kernel += self.weight_decay * layer.kernel
        if self.sparsity_target is not None and self.sparsity_cost:
            q = self.sparsity_decay * self.sparsity_q + (1 - self.sparsity_decay) * tf.reduce_mean(ph0, 0)
            self.sparsity_q.assign(q)
            penalty = self.sparsity_cost * (q - self.sparsity_target)
            d_hidden += penalty
            d_kernel += tf.tensordot(tf.reduce_mean(s0, axis=0), penalty, axes=0)
        if self.centering:
            rate = self.centering_rate
            self.visible_offset.assign(centering.slide_offset(
                self.visible_offset, tf.reduce_mean(v0, axis=0), rate))
            self.hidden_offset.assign(centering.slide_offset(
                self.hidden_offset, tf.reduce_mean(ph0, axis=0), rate))
            d_kernel, d_visible, d_hidden = centering.centered_gradients(
                d_kernel, d_visible, d_hidden, self.visible_offset, self.hidden_offset)

        if self.monitor_reconstruction:
            recon = v_mean1 if not self.persistent else layer.visible_probs(h0)
            recon_error = tf.reduce_mean(tf.square(v0 - recon))
        else:
            recon_error = tf.constant(float("nan"), dtype)
        if self.dropout:
            pre0 = layer.hidden_input(v0)    # the test-time model's (all units, the kernel)
        free_energy = tf.reduce_mean(
            layer.visible_energy(v0)
            - layer.hidden_units.log_marginal_of_total(pre0, layer.hidden_bias))
        grads = [d_kernel, d_visible, d_hidden]
        if layer.learns_variance:
            grads.append(self._log_variance_gradient(v0, pos_h, vk, neg_h))
        return grads, recon_error, free_energy

    def _log_variance_gradient(self, v0, pos_h, vk, neg_h):
        """<dE/dz>_data - <dE/dz>_model for z = log sigma^2 (Cho, Ilin & Raiko 2011), where
        dE/dz_i = -(v_i - b_i)^2 / (2 sigma_i^2) + v_i (W h)_i / sigma_i^2."""
        layer = self.layer
        precision = layer.visible_precision()

        def d_energy(v, h):
            down = matmul(h, layer.kernel, "float32", transpose_b=True)
            return tf.reduce_mean((-0.5 * tf.square(v - layer.visible_bias) + v * down)
                                  * precision, axis=0)
        return d_energy(v0, pos_h) - d_energy(vk, neg_h)

    def cd_variables(self):
        """The variables CD updates, in the order of :meth:`cd_gradients`' gradients."""
        layer = self.layer
        out = [layer.kernel, layer.visible_bias, layer.hidden_bias]
        if layer.learns_variance:
            out.append(layer.visible_log_variance)
        return out

    def _negative_phase(self, h0, seed, layer):
        """The negative phase: ``(v_mean1, vk, phk, hk)`` from the tempered chains, the persistent
        chains (advanced, and stored back) or CD-k started at the data's hidden sample ``h0``,
        sampled through ``layer`` (the model's layer, or a dropout step's view of it); seed folds
        2 and 3. ``_cd_gradients`` of every RBM model uses this one."""
        if self.tempering:
            v_mean1, vk, phk, hk = self._tempered_negative(gibbs.fold(seed, 3))
        else:
            if self.persistent:
                _, h_start = layer.sample_hidden(self.persistent_chains, gibbs.fold(seed, 2))
            else:
                h_start = h0
            v_mean1, vk, phk, hk = gibbs.k_steps(
                layer, h_start, self.cd_k, gibbs.fold(seed, 3),
                sample_last_hidden=self.hidden_statistics != "probabilities")
        if self.persistent:
            self.persistent_chains.assign(vk)
        return v_mean1, vk, phk, hk

    def _tempered_negative(self, seed):
        """The negative phase under parallel tempering: cd_k PT steps, the beta = 1 replica."""
        layer = self.layer
        v, betas, b_a = self.tempered_chains, self._tempering_betas, self.base_rate_bias
        v = tf.convert_to_tensor(v)
        for i in range(self.cd_k):
            step = gibbs.fold(seed, i)
            v = tempering.tempered_gibbs(layer, v, betas, b_a, gibbs.fold(step, 0))
            v, _ = tempering.swap_replicas(layer, v, betas, b_a, gibbs.fold(step, 1), 0)
            v, _ = tempering.swap_replicas(layer, v, betas, b_a, gibbs.fold(step, 2), 1)
        self.tempered_chains.assign(v)
        vk = v[0]
        phk, hk = layer.sample_hidden(vk, gibbs.fold(seed, -1))
        return layer.visible_probs(hk), vk, phk, hk

    def _checked(self, x, step=None):
        if not self.check_batches:
            return x
        batch_number = tf.cast(self.free_energy_tracker.count, tf.int64) + 1
        step = tf.constant(0, tf.int64) if step is None else tf.cast(step, tf.int64) + 1
        return batch_problem(tf.convert_to_tensor(x), self.layer.visible_units, batch_number, step)

    def train_step(self, data):
        x, _, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:   # a dataset yielding (x, y, w): refuse rather than ignore
            raise UserError("RBMModel does not support sample weights: the CD statistics are "
                            "unweighted means over the batch; drop the weights from the data set")
        x = self._checked(x, self.optimizer.iterations)
        seed = self.seed_generator.next()
        ctx = tf.distribute.get_replica_context()
        n_replicas = 1 if ctx is None else ctx.num_replicas_in_sync
        if n_replicas > 1:
            seed = gibbs.fold(seed, ctx.replica_id_in_sync_group)  # each replica its own noise
        grads, recon_error, free_energy = self.cd_gradients(x, seed)
        if n_replicas > 1:
            # Keras all-reduces with SUM; each replica's statistic is a mean over its local batch
            grads = [g / n_replicas for g in grads]
        # CD gradients are never loss-scaled; scale them so that a LossScaleOptimizer's apply
        # (mixed precision) divides the scale back out (a no-op for every other optimizer)
        grads = [self.optimizer.scale_loss(g) for g in grads]
        self.optimizer.apply(grads, self.cd_variables())
        return self._log_values(recon_error, free_energy)

    def test_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        v = tf.cast(self._checked(x), self.layer.kernel.dtype)
        recon = self.layer.visible_probs(self.layer.hidden_probs(v))
        error = tf.reduce_mean(tf.square(v - recon))
        self.reconstruction_tracker.update_state(error)
        self.free_energy_tracker.update_state(tf.reduce_mean(self.layer.free_energy(v)))
        self.loss_tracker.update_state(error)
        return {"loss": self.loss_tracker.result(),
                "reconstruction_error": self.reconstruction_tracker.result(),
                "free_energy": self.free_energy_tracker.result()}

    # ------------------------------------------------------------------ inference helpers
    def _fn(self, name, python_fn):
        """A cached tf.function for an inference verb (one trace per input signature)."""
        def traced(*args):
            with self.layer.shared_product_kernel():   # weights are fixed in a verb
                return python_fn(*args)
        # a changed product dtype retraces (string key: the cache is tracked)
        return cached_function(self._compiled_fns, f"{name}/{self.layer.matmul_dtype}", traced)

    def _ensure_built_for(self, v):
        if not self.built:
            self.build((None, v.shape[-1]))

    # ------------------------------------------------------------------ inference verbs
    def hidden_probs(self, v):
        """p(h = 1 | v) for each row of ``v`` (numpy out)."""
        v = self._check_visible(v)
        self._ensure_built_for(v)
        return self._fn("hidden_probs", self.layer.hidden_probs)(v).numpy()

    def run_visible(self, v, sample=False, seed=None):
        """echen's run_visible: the hidden units for visible rows; probabilities, or states if ``sample``."""
        if not sample:
            return self.hidden_probs(v)
        v = self._check_visible(v)
        self._ensure_built_for(v)
        return self._fn("sample_hidden", lambda v, s: self.layer.sample_hidden(v, s)[1])(
            v, self.next_seed(seed)).numpy()

    def visible_probs(self, h):
        """E[v | h] for each row of hidden states ``h``."""
        h = self._check_hidden(h)
        return self._fn("visible_probs", self.layer.visible_probs)(h).numpy()

    def run_hidden(self, h, sample=False, seed=None):
        """echen's run_hidden: the visible units for hidden rows; means, or states if ``sample``."""
        if not sample:
            return self.visible_probs(h)
        h = self._check_hidden(h)
        return self._fn("sample_visible", lambda h, s: self.layer.sample_visible(h, s)[1])(
            h, self.next_seed(seed)).numpy()

    def reconstruct(self, v, sample=False, seed=None):
        """Reconstruct ``v``: mean-field p(v | p(h | v)) or, with ``sample``, one Gibbs step's v1."""
        v = self._check_visible(v)
        self._ensure_built_for(v)
        if not sample:
            return self._fn("reconstruct", self._reconstruct_means)(v).numpy()

        def one_step(v, s):
            _, h = self.layer.sample_hidden(v, gibbs.fold(s, 0))
            return self.layer.sample_visible(h, gibbs.fold(s, 1))[1]
        return self._fn("reconstruct_sample", one_step)(v, self.next_seed(seed)).numpy()

    def _chain_in_chunks(self, v0, steps, seed_t, what, progress, trace=None):
        """``gibbs.run_chain`` for ``steps`` steps, run as compiled chunks of bounded cost.

        Chunk 0 uses ``seed_t`` itself (so a run of one chunk equals one ``run_chain`` call);
        chunk c > 0 continues from the previous chunk's sampled states with ``fold(seed_t, c)``.
        Python regains control between chunks, so Ctrl-C (KeyboardInterrupt) stops the run.
        """
        chunk = _chunk_steps(int(v0.shape[0]), self.layer, steps)
        if trace:
            fn = self._fn(f"daydream_trace_{trace}", lambda v, n, s: gibbs.run_chain(
                self.layer, v, n, s, trace=trace))
        else:
            fn = self._fn("gibbs", lambda v, n, s: gibbs.run_chain(self.layer, v, n, s))
        meter = _Progress(what, steps, progress)
        v_out, traces, done, c = v0, [], 0, 0
        with between_chunks() as interrupt:
            while done < steps:
                n = min(chunk, steps - done)
                out = fn(v_out, tf.constant(n), seed_t if c == 0 else gibbs.fold(seed_t, c))
                v_mean, v_out = out[0], out[1]
                if trace:
                    traces.append(out[2].numpy())
                done, c = done + n, c + 1
                meter.update(done)
                interrupt.check()
        if trace:
            return v_mean, v_out, np.concatenate(traces, axis=0)
        return v_mean, v_out

    def gibbs(self, v, steps, sample=True, seed=None, progress=None):
        """Run ``steps`` Gibbs steps from ``v``; the final states (or means with ``sample=False``).

        Long runs go in compiled chunks (see :data:`CHUNK_MULTIPLY_ADDS`): Ctrl-C stops them and
        ``progress`` (True: stderr; or a callable(done, total)) reports on them.
        """
        steps = check_param("steps", steps, STEPS)
        v = self._check_visible(v)
        self._ensure_built_for(v)
        v_mean, v_out = self._chain_in_chunks(tf.constant(v), steps, self.next_seed(seed), "gibbs",
                                              progress)
        return (v_out if sample else v_mean).numpy()

    def daydream(self, n_samples, steps=1000, trace=False, sample=False, seed=None, init=None,
                 progress=None):
        """Samples from the model: ``n_samples`` chains run ``steps`` steps from random visibles.

        Returns the final visible means (states if ``sample``), shape (n_samples, n_visible);
        with ``trace=True`` returns (final, trace) where trace has shape (steps, n_samples, n_visible)
        and holds each step's means (each step's sampled states if ``sample``).
        Chains start from ``init`` rows if given, else from samples of the visible-bias-only model.
        Memory is checked before anything is allocated; long runs go in compiled chunks that
        Ctrl-C can stop, with ``progress`` (True: stderr; or a callable(done, total)).
        """
        n_samples = check_param("n_samples", n_samples, POSITIVE_INT)
        steps = check_param("steps", steps, STEPS)
        self._require_built()
        check_allocation("daydream chains", 4 * n_samples * (self.layer.n_visible + self.layer.units))
        if trace:
            check_allocation("daydream trace (steps x samples x visible units)",
                             4 * steps * n_samples * self.layer.n_visible)
        seed_t = self.next_seed(seed)
        if init is None:
            v0 = self._fantasy_start(n_samples, seed_t)
        else:
            v0 = tf.constant(self._check_visible(init, name="init"))
        if trace:
            kind = "sample" if sample else "mean"
            v_mean, v_out, tr = self._chain_in_chunks(v0, steps, seed_t, "daydream", progress,
                                                      trace=kind)
            return (v_out if sample else v_mean).numpy(), tr
        v_mean, v_out = self._chain_in_chunks(v0, steps, seed_t, "daydream", progress)
        return (v_out if sample else v_mean).numpy()

    def inpaint(self, v, mask, steps=100, sample=False, seed=None, progress=None):
        """Recall missing units: clamped Gibbs sampling with ``mask`` = 1 where ``v`` is known.

        Returns ``v`` with its unknown entries replaced by the last step's conditional means (or
        sampled states with ``sample=True``). Long runs go in compiled chunks (Ctrl-C stops
        them; ``progress`` as in :meth:`daydream`); a run of one chunk equals one call.
        """
        steps = check_param("steps", steps, STEPS)
        v = self._check_visible(v)
        self._ensure_built_for(v)
        mask = np.asarray(mask)
        if mask.shape != v.shape and mask.shape != v.shape[1:]:
            raise UserError(f"mask has shape {mask.shape}; it must match the data's shape {v.shape} "
                             f"or one row's shape {v.shape[1:]}")
        if not np.isin(mask, (0, 1)).all():
            raise UserError("mask must contain only 0 (missing) and 1 (known)")
        mask = np.broadcast_to(mask, v.shape).astype(np.float32)
        fn = self._fn("inpaint", self._inpaint_chain)
        seed_t = self.next_seed(seed)
        chunk = _chunk_steps(len(v), self.layer, steps)
        meter = _Progress("inpaint", steps, progress)
        v_out, done, c = tf.constant(v), 0, 0
        with between_chunks() as interrupt:
            while done < steps:
                n = min(chunk, steps - done)
                v_mean, v_out = fn(v_out, mask, tf.constant(n),
                                   seed_t if c == 0 else gibbs.fold(seed_t, c))
                done, c = done + n, c + 1
                meter.update(done)
                interrupt.check()
        return (v_out if sample else v_mean).numpy()

    def free_energy(self, v):
        """F(v) for each row (lower means more probable under the model)."""
        v = self._check_visible(v)
        self._ensure_built_for(v)
        return self._fn("free_energy", self.layer.free_energy)(v).numpy()

    def score_samples(self, v, method="free_energy", **kwargs):
        """Higher means more like the training data: -F(v), or log p(v) with ``method='exact'``/``'ais'``."""
        if method == "free_energy":
            return -self.free_energy(v)
        log_z = self.log_partition(method=method, **kwargs)
        return -self.free_energy(v) - float(log_z if np.ndim(log_z) == 0 else log_z[0])

    def log_partition(self, method="exact", **kwargs):
        """log Z: ``"exact"`` enumerates the smaller layer (<= 25 units); ``"ais"`` estimates it."""
        self._require_built()
        # learned visible variances: log Z = log Z_u + sum log sigma of the unit-variance twin
        layer, log_sigma = self.layer.unit_variance_equivalent()
        if method == "exact":
            return likelihood.exact_log_partition(layer, **kwargs) + log_sigma
        if method == "ais":
            if ("base_data" not in kwargs and "base_biases" not in kwargs
                    and float(self.initialized.numpy()) > 0):
                # the paper's base-rate model, fitted to the training data at the first fit
                kwargs["base_biases"] = self.base_rate_bias.numpy()
            if self.layer.learns_variance:
                sigma = np.exp(0.5 * self.layer.visible_log_variance.numpy())
                if kwargs.get("base_biases") is not None:
                    kwargs["base_biases"] = np.asarray(kwargs["base_biases"]) / sigma
                if kwargs.get("base_data") is not None:
                    kwargs["base_data"] = np.asarray(kwargs["base_data"]) / sigma
                r = likelihood.ais_log_partition(layer, **kwargs)
                return likelihood.AISResult(r[0] + log_sigma, r[1] + log_sigma, r[2] + log_sigma,
                                 log_weights=r.log_weights, log_z0=r.log_z0 + log_sigma,
                                 betas=r.betas, history=r.history, converged=r.converged,
                                 stop_reason=r.stop_reason)
            return likelihood.ais_log_partition(layer, **kwargs)
        raise UserError(f"unknown method {method!r}; use 'exact' or 'ais'")

    def log_likelihood(self, v, method="exact", **kwargs):
        """Mean log p(v) = mean(-F(v)) - log Z over the rows of ``v``.

        ``method="sandwich"`` returns a :class:`tfrbm.likelihood.SandwichResult` instead of a
        float: the RAISE lower and AIS upper estimates with their spreads and AIS diagnostics
        (keyword arguments as :func:`tfrbm.likelihood.sandwich_log_likelihood`).
        """
        if method == "sandwich":
            self._require_built()
            if self.layer.learns_variance:
                raise UserError("method='sandwich' does not handle learned visible variances yet; "
                                "use method='ais' or 'exact'")
            v = self._check_visible(v)
            if ("base_data" not in kwargs and "base_biases" not in kwargs
                    and float(self.initialized.numpy()) > 0):
                kwargs["base_biases"] = self.base_rate_bias.numpy()
            return likelihood.sandwich_log_likelihood(self.layer, v, **kwargs)
        log_z = self.log_partition(method=method, **kwargs)
        if isinstance(log_z, tuple):
            log_z = log_z[0]
        return float(np.mean(-self.free_energy(v).astype(np.float64)) - float(log_z))

    # ------------------------------------------------------------------ anomaly scores (issue 35)
    def anomaly_scores(self, v, method="auto", batch_size=1):
        """Anomaly scores of the rows of ``v``: higher means more anomalous (unlike
        :meth:`score_samples`). ``method``: ``"auto"`` (:data:`tfrbm.anomaly.AUTO_METHOD`, the
        best measured; ``AUTO_METHOD_REAL`` for real-valued visible units), ``"free_energy"``, ``"ratio"`` (against the pixel model fitted to the
        training data), ``"complexity"`` (minus the compression length) or ``"typicality"`` (on
        consecutive batches of ``batch_size`` rows); :mod:`tfrbm.anomaly` says when each helps.
        """
        units = self.layer.visible_units
        method = anomaly.resolve_method(method, anomaly.METHODS, anomaly.AUTO_METHOD
                                        if units.binary else anomaly.AUTO_METHOD_REAL)
        batch_size = check_param("batch_size", batch_size, POSITIVE_INT)
        v = self._check_visible(v)
        self._require_built()
        background = None
        if method == "ratio":
            if float(self.initialized.numpy()) <= 0:
                raise UserError("the 'ratio' anomaly score needs the pixel model fitted to the "
                                "training data: fit the model first")
            background = anomaly.background_log_prob(units, self.base_rate_bias, v)
        if method == "complexity" and not units.binary:
            raise UserError(f"the 'complexity' anomaly score compresses binary states; these "
                            f"visible units are {units.name}")
        return anomaly.unlabelled_scores(method, self.free_energy(v), v, background,
                                         self.anomaly_reference, batch_size)

    def fit_anomaly_reference(self, x, strict=True):
        """Summarise training data ``x`` (array or tf.data, its first 20,000 rows) for the
        anomaly scores: ``fit`` calls it at its end; call it for a model saved without one.
        Fewer than 2 rows or non-finite free energies (a diverged model): a UserError, or with
        ``strict=False`` no summary (None), so that ``fit`` leaves divergence to its own guard."""
        sample = self._check_visible(self._first_batches(x), name="training data")
        free_energy = self.free_energy(sample) if len(sample) else np.zeros(0)
        if not strict and (len(sample) < 2 or not np.isfinite(free_energy).all()):
            self.anomaly_reference = None
            return None
        self.anomaly_reference = anomaly.AnomalyReference.from_free_energies(free_energy)
        return self.anomaly_reference

    # ------------------------------------------------------------------ steps shared with serving
    def _reconstruct_means(self, v):
        """E[v | p(h | v)]: the mean-field reconstruction (``reconstruct`` and its signature)."""
        return self.layer.visible_probs(self.layer.hidden_probs(v))

    def _fantasy_start(self, n_samples, seed):
        """Chains' first states: ``n_samples`` draws of the visible-bias-only model (seed fold 7)."""
        return gibbs.base_rate_samples(self.layer.visible_units, self.layer.visible_bias,
                                       n_samples, gibbs.fold(seed, 7))

    def _fantasize(self, n_samples, steps, seed):
        """(means, states) after ``steps`` Gibbs steps from :meth:`_fantasy_start` (``daydream``)."""
        return self._chunked_in_graph(lambda v, n, s: gibbs.run_chain(self.layer, v, n, s),
                                      self._fantasy_start(n_samples, seed), steps, seed)

    def _chunked_in_graph(self, step, v0, steps, seed):
        """In-graph twin of the verbs' Python chunk loops, for serving: the same chunk length
        (:func:`_chunk_steps`) and chunk seeds (``seed``, then ``fold(seed, c)``), so a served
        chain equals ``daydream``/``inpaint`` for any number of steps. ``step(v, n, seed)``
        returns (means, states) after ``n`` steps."""
        n_rows = tf.cast(tf.maximum(tf.shape(v0)[0], 1), tf.int64)
        per_step = 2 * n_rows * max(1, self.layer.n_visible) * max(1, self.layer.units)
        chunk = tf.maximum(tf.constant(1, tf.int64), tf.minimum(
            tf.minimum(tf.cast(steps, tf.int64), CHUNK_MAX_STEPS), CHUNK_MULTIPLY_ADDS // per_step))
        chunk = tf.cast(chunk, steps.dtype)

        def body(c, done, v_mean, v):
            n = tf.minimum(chunk, steps - done)
            chunk_seed = tf.cond(tf.equal(c, 0), lambda: seed,
                                 lambda: tf.cast(gibbs.fold(seed, c), seed.dtype))
            v_mean, v = step(v, n, chunk_seed)
            return c + 1, done + n, v_mean, v

        zero = tf.zeros((), steps.dtype)
        _, _, v_mean, v = tf.while_loop(lambda c, done, *_: done < steps, body,
                                        (tf.constant(0), zero, v0, v0))
        return v_mean, v

    def _inpaint_chain(self, v, mask, steps, seed):
        """(means, states) of clamped Gibbs sampling: ``mask`` = 1 keeps ``v`` (``inpaint``)."""
        return gibbs.clamped_chain(self.layer, v, mask, steps, seed)

    def serving_endpoints(self):
        """The RBM's SavedModel signatures (see :mod:`tfrbm.export`), validated in the graph.

        ``visible`` must be finite and a state of the visible units (Bernoulli/softmax in
        [0, 1]); ``mask`` only 0 and 1 and the shape of ``visible``; ``n_samples``, ``steps`` >= 1.
        """
        serving.require_built(self.built, "RBM")
        layer, dtype = self.layer, self.layer.kernel.dtype
        shape = (None,) + tuple(layer.visible_shape)       # (None, n_visible) for RBMLayer
        visible = serving.spec(shape, tf.float32, "visible")
        mask = serving.spec(shape, tf.float32, "mask")
        steps = serving.spec((), tf.int32, "steps")
        seed = serving.spec((2,), tf.int64, "seed")
        n_samples = serving.spec((), tf.int32, "n_samples")

        def checked(v):
            return tf.cast(layer.visible_units.check_tensor(v, "visible"), dtype)

        def hidden_probabilities(visible):
            return {"hidden_probabilities": layer.hidden_probs(checked(visible))}

        def reconstruct(visible):
            return {"reconstruction": self._reconstruct_means(checked(visible))}

        def free_energy(visible):
            return {"free_energy": layer.free_energy(checked(visible))}

        def sample(n_samples, steps, seed):
            v_mean, v = self._fantasize(serving.check_at_least(n_samples, 1, "n_samples"),
                                        serving.check_at_least(steps, 1, "steps"), seed)
            return {"visible_mean": v_mean, "visible_sample": v}

        def inpaint(visible, mask, steps, seed):
            mask = serving.check_binary(mask, "mask")
            with tf.control_dependencies([tf.debugging.assert_equal(
                    tf.shape(mask), tf.shape(visible), message="mask must have visible's shape")]):
                mask = tf.cast(mask, dtype)
                v_mean, v = self._chunked_in_graph(
                    lambda v, n, s: self._inpaint_chain(v, mask, n, s), checked(visible),
                    serving.check_at_least(steps, 1, "steps"), seed)
            return {"visible_mean": v_mean, "visible_sample": v}

        return serving.Endpoints(self, [
            ("hidden_probabilities", hidden_probabilities, [visible]),
            ("reconstruct", reconstruct, [visible]),
            ("free_energy", free_energy, [visible]),
            ("sample", sample, [n_samples, steps, seed]),
            ("inpaint", inpaint, [visible, mask, steps, seed])])

    # ------------------------------------------------------------------ serialisation
    def load_own_variables(self, store):
        """Keras loading of the training state (chains, offsets, flags); a file that holds none
        of it while this model has some gets a clear error instead of Keras' variable count."""
        expected = [v.path for v in self._trainable_variables + self._non_trainable_variables]
        if expected and not list(store.keys()):
            raise UserError(
                f"the saved file holds none of {self.name}'s training state "
                f"({', '.join(sorted(set(p.rsplit('/', 1)[-1] for p in expected)))}): it was "
                "written by an older tfrbm whose layout this version cannot read (DBNs saved "
                "before DBNModel got its own train_step, 2026-11-29, store no per-layer training "
                "state). Train the model again with this version and save it anew")
        super().load_own_variables(store)

    def get_config(self):
        config = super().get_config()
        config.update({
            "layer": keras.saving.serialize_keras_object(self.layer),
            "cd_k": self.cd_k,
            "persistent": self.persistent,
            "n_chains": self.n_chains,
            "hidden_statistics": self.hidden_statistics,
            "weight_decay": self.weight_decay,
            "sparsity_target": self.sparsity_target,
            "sparsity_cost": self.sparsity_cost,
            "sparsity_decay": self.sparsity_decay,
            "init_visible_bias": self.init_visible_bias,
            "monitor_reconstruction": self.monitor_reconstruction,
            "seed": self.seed,
            "tempering": self.tempering,
            "tempering_min_beta": self.tempering_min_beta,
            "matmul_dtype": self.layer.matmul_dtype,
            "centering": self.centering,
            "centering_rate": self.centering_rate,
            "dropout": self.dropout,
        })
        return config

    @property
    def matmul_dtype(self):
        """The dtype of the matrix products (the layer's ``matmul_dtype``; see ``__init__``)."""
        return self.layer.matmul_dtype

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        # configs written before centering became the default (no "centering" key) trained
        # without it and hold no offsets: they load as they were saved
        config.setdefault("centering", False)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"])
        return cls(**config)
