"""RBMModel: a restricted Boltzmann machine trained by contrastive divergence under ``model.fit``.

The CD-k update for W is the negative CD statistic
    grad W = -(<v h>_data - <v h>_model),
where <.>_data uses p(h | v_data) and <.>_model uses the end of a k-step Gibbs chain that starts
at the data (CD) or continues from persistent fantasy particles (PCD, Tieleman 2008). The
gradients go through the compiled Keras optimizer, so momentum, Adam, schedules and the
optimizer's own weight decay behave as in any Keras model.
"""
import math

import keras
import numpy as np
import tensorflow as tf

from tfrbm import gibbs
from tfrbm.layers import RBMLayer

__all__ = ["RBMModel"]

_LOG_ODDS_CLIP = 1e-3

#: CD steps ``fit`` runs per call into the compiled graph when ``compile`` gets
#: ``steps_per_execution="auto"`` (the default) and no callback hooks single batches. It removes
#: Keras' per-batch Python overhead (about a third of a 100 x 784 x 500 CD-1 step on 2 CPU cores,
#: see benchmarks/RESULTS.md) and computes exactly the same updates in the same order.
AUTO_STEPS_PER_EXECUTION = 32

_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_train_batch_begin", "on_train_batch_end",
                "on_test_batch_begin", "on_test_batch_end")


def _hooks_batches(callback):
    """Whether a Keras callback overrides a per-batch hook (Keras' own History/progress bar excepted)."""
    if isinstance(callback, (keras.callbacks.History, keras.callbacks.ProgbarLogger)):
        return False
    base = keras.callbacks.Callback
    return any(getattr(type(callback), name, None) is not getattr(base, name)
               for name in _BATCH_HOOKS)


def choose_steps_per_execution(model, callbacks):
    """Apply a model's ``compile(steps_per_execution="auto")`` for one ``fit`` (a new value retraces).

    :data:`AUTO_STEPS_PER_EXECUTION` steps per graph call, or 1 when a callback hooks single
    batches or under a tf.distribute strategy (Keras' multi-step loop fails there: a placeholder
    is left unfed). Models compiled with an integer keep it.
    """
    if not getattr(model, "_auto_steps_per_execution", False):
        return
    if callbacks is None:
        callbacks = []
    elif not isinstance(callbacks, (list, tuple)):
        callbacks = getattr(callbacks, "callbacks", [callbacks])
    distributed = (tf.distribute.has_strategy()
                   or getattr(model.distribute_strategy, "num_replicas_in_sync", 1) > 1)
    steps = (1 if distributed or any(_hooks_batches(cb) for cb in callbacks)
             else AUTO_STEPS_PER_EXECUTION)
    if steps != model.steps_per_execution:
        model.steps_per_execution = steps
        model.train_function = None
        model.test_function = None
        model.predict_function = None


def _check_positive_int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_nonnegative(name, value):
    if value is None:
        return 0.0
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number >= 0, got {value!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


@keras.saving.register_keras_serializable(package="tfrbm")
class RBMModel(keras.Model):
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
        seed: seed of the model's random stream (its state is a variable, saved with the model).

    Compile it like any Keras model (``loss`` is unused: the update is the CD statistic); if
    ``fit`` finds it uncompiled it uses SGD(0.05, momentum=0.5).

    Speed: ``compile(steps_per_execution="auto")`` (the default here) runs
    ``AUTO_STEPS_PER_EXECUTION`` CD steps per call into the compiled graph, falling back to one
    step per call for a ``fit`` whose callbacks hook single batches or under a tf.distribute
    strategy; the updates are identical
    to ``steps_per_execution=1``. XLA (``jit_compile=True``) is allowed but is slower on CPU and
    draws different random numbers (XLA's stateless RNG differs from TF's kernels).

    Metrics: ``reconstruction_error`` (mean squared error of the one-step reconstruction's
    probabilities) and ``free_energy`` (mean F(v) of the batch), in the History and ``evaluate``.
    """

    def __init__(self, layer=None, cd_k=1, persistent=False, n_chains=100,
                 hidden_statistics="probabilities", weight_decay=0.0, sparsity_target=None,
                 sparsity_cost=0.0, sparsity_decay=0.9, init_visible_bias="log_odds",
                 monitor_reconstruction=True, seed=None, **kwargs):
        super().__init__(**kwargs)
        if layer is None:
            raise ValueError("RBMModel needs an RBMLayer, e.g. RBMModel(RBMLayer(500))")
        if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
            layer = RBMLayer(int(layer))
        if not isinstance(layer, RBMLayer):
            raise ValueError(f"layer must be an RBMLayer, got {type(layer).__name__}")
        self.layer = layer
        self.cd_k = _check_positive_int("cd_k", cd_k)
        self.persistent = bool(persistent)
        self.n_chains = _check_positive_int("n_chains", n_chains)
        if hidden_statistics not in ("probabilities", "states"):
            raise ValueError("hidden_statistics must be 'probabilities' or 'states', "
                             f"got {hidden_statistics!r}")
        self.hidden_statistics = hidden_statistics
        self.weight_decay = _check_nonnegative("weight_decay", weight_decay)
        if sparsity_target is not None and not 0.0 < float(sparsity_target) < 1.0:
            raise ValueError(f"sparsity_target must lie in (0, 1), got {sparsity_target!r}")
        self.sparsity_target = None if sparsity_target is None else float(sparsity_target)
        self.sparsity_cost = _check_nonnegative("sparsity_cost", sparsity_cost)
        if not 0.0 <= float(sparsity_decay) < 1.0:
            raise ValueError(f"sparsity_decay must lie in [0, 1), got {sparsity_decay!r}")
        self.sparsity_decay = float(sparsity_decay)
        if init_visible_bias not in ("log_odds", None):
            raise ValueError(f"init_visible_bias must be 'log_odds' or None, got {init_visible_bias!r}")
        self.init_visible_bias = init_visible_bias
        self.monitor_reconstruction = bool(monitor_reconstruction)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="rbm_seed")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_error")
        self.free_energy_tracker = keras.metrics.Mean(name="free_energy")
        self._compiled_fns = {}

    # ------------------------------------------------------------------ building
    def build(self, input_shape):
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
        self._track_variable(self.persistent_chains)
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
        return [self.reconstruction_tracker, self.free_energy_tracker]

    # ------------------------------------------------------------------ input checks
    def _check_visible(self, v, name="v"):
        """Validate user data for the visible layer and return it as float32 numpy."""
        from tfrbm.data.pipeline import check_array
        n_features = self.layer.n_visible if self.layer.built else None
        v = check_array(v, name=name, n_features=n_features)
        self.layer.visible_units.validate(v)
        return v

    def _check_hidden(self, h):
        from tfrbm.data.pipeline import check_array
        self._require_built()
        return check_array(h, name="h", n_features=self.layer.units, bernoulli=True)

    def _require_built(self):
        if not self.built:
            raise ValueError("the RBM is not built yet: call fit(...) or build((None, n_visible)) first")

    # ------------------------------------------------------------------ data-dependent init
    def _first_batches(self, x, max_rows=20000):
        """Up to ``max_rows`` training rows as numpy, from an array or a tf.data dataset."""
        if isinstance(x, tf.data.Dataset):
            rows, count = [], 0
            for element in x:
                batch = element[0] if isinstance(element, (tuple, list)) else element
                if isinstance(batch, dict):
                    raise ValueError("RBMModel.fit expects batches of visible vectors, got a dict")
                batch = np.asarray(batch)
                rows.append(batch)
                count += len(batch)
                if count >= max_rows:
                    break
            if not rows:
                raise ValueError("the training data set is empty")
            return np.concatenate(rows, axis=0)
        return x[:max_rows]

    def initialize_from_data(self, x):
        """Set visible biases to the data's log-odds and start the chains from the base-rate model.

        Runs once (the ``initialized`` flag is saved with the model), on the first ``fit``.
        """
        sample = self._check_visible(self._first_batches(x), name="training data")
        if not self.built:
            with self.distribute_strategy.scope():
                self.build((None, sample.shape[-1]))
        if float(self.initialized.numpy()) > 0:
            return
        units = self.layer.visible_units
        from tfrbm.ais import base_rate_biases
        self.base_rate_bias.assign(base_rate_biases(sample, units).astype(np.float32))
        if self.init_visible_bias == "log_odds":
            mean = sample.mean(axis=0).astype(np.float64)
            if units.name == "gaussian":
                bias = mean
            elif units.name == "softmax":
                groups = mean.reshape(-1, units.k)
                groups = np.clip(groups, _LOG_ODDS_CLIP, None)
                bias = np.log(groups / groups.sum(axis=1, keepdims=True)).reshape(-1)
            else:
                p = np.clip(mean, _LOG_ODDS_CLIP, 1 - _LOG_ODDS_CLIP)
                bias = np.log(p / (1 - p))
            self.layer.visible_bias.assign(bias.astype(np.float32))
        # persistent chains start as samples of the visible-bias-only (base-rate) model
        seed = self.seed_generator.next()
        b = tf.broadcast_to(self.layer.visible_bias, self.persistent_chains.shape)
        self.persistent_chains.assign(units.sample(units.mean(b), seed))
        self.initialized.assign(1.0)

    def fit(self, x=None, y=None, **kwargs):
        """``keras.Model.fit`` plus input checks and, on the first call, data-dependent init."""
        if x is None:
            raise ValueError("fit needs training data x (a numpy array or a tf.data.Dataset)")
        if not isinstance(x, tf.data.Dataset):
            x = self._check_visible(x, name="training data")
        else:
            kwargs.setdefault("shuffle", False)  # a dataset shuffles itself; Keras would warn
            spec = x.element_spec
            spec = spec[0] if isinstance(spec, (tuple, list)) else spec
            if not getattr(spec, "dtype", tf.float32).is_floating:
                raise ValueError(f"the data set yields {spec.dtype.name} batches; RBMs need floating "
                                 "point visible vectors (cast with dataset.map)")
        self.initialize_from_data(x)
        if not isinstance(x, tf.data.Dataset):
            x, kwargs = self._array_dataset(x, y, kwargs)
        if not self.compiled:
            # the RBM default: plain SGD with a little momentum; ``loss`` is never used
            self.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.5))
        from tfrbm.safety import check_learning_rate
        check_learning_rate(self.optimizer)
        self._choose_steps_per_execution(kwargs.get("callbacks"))
        validation_data = kwargs.get("validation_data")
        if validation_data is not None and not isinstance(validation_data, tf.data.Dataset):
            val = validation_data[0] if isinstance(validation_data, (tuple, list)) else validation_data
            kwargs["validation_data"] = (self._check_visible(val, name="validation data"),)
        return super().fit(x, y, **kwargs)

    def _array_dataset(self, x, y, kwargs):
        """In-memory training arrays go through tfrbm's pipeline (``make_dataset``: tf.data's
        autotuner off, which keeps CPU epochs from slowing down 1.8x at random, see its docstring),
        batched with ``batch_size`` (Keras's default 32) and reshuffled each epoch when ``shuffle``.
        With the seed of the model the order of a fit's epochs is reproducible. Arguments only Keras's
        array adapter understands (y, sample_weight, validation_split, steps_per_epoch) keep
        Keras's path."""
        if (y is not None or kwargs.get("sample_weight") is not None
                or kwargs.get("validation_split") or kwargs.get("steps_per_epoch") is not None):
            return x, kwargs
        from tfrbm.data.pipeline import make_dataset
        kwargs = dict(kwargs)
        batch_size = kwargs.pop("batch_size", None) or 32
        shuffle = bool(kwargs.pop("shuffle", True))
        seed = None if self.seed is None else int(self.seed) + 104729
        kwargs["shuffle"] = False
        return make_dataset(x, batch_size=batch_size, shuffle=shuffle, seed=seed, cache=False), kwargs

    # ------------------------------------------------------------------ compile / speed
    def compile(self, *args, steps_per_execution="auto", **kwargs):
        """``keras.Model.compile``; ``steps_per_execution="auto"`` (default) lets ``fit`` pick it.

        "auto" runs :data:`AUTO_STEPS_PER_EXECUTION` steps per graph call unless a callback of
        that ``fit`` hooks single batches (then 1). An integer is used as given.
        """
        auto = steps_per_execution in ("auto", None)
        if not auto and (isinstance(steps_per_execution, bool)
                         or not isinstance(steps_per_execution, (int, np.integer))
                         or steps_per_execution < 1):
            raise ValueError("steps_per_execution must be 'auto' or an integer >= 1, "
                             f"got {steps_per_execution!r}")
        super().compile(*args, steps_per_execution=1 if auto else int(steps_per_execution),
                        **kwargs)
        self._auto_steps_per_execution = auto
        if auto and getattr(self, "_compile_config", None) is not None:
            self._compile_config.config["steps_per_execution"] = "auto"

    def compile_from_config(self, config):
        """Re-compile from a saved compile config (needed because ``compile`` is overridden)."""
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if getattr(self, "optimizer", None) is not None and self.built:
            self.optimizer.build(self.trainable_variables)

    def _choose_steps_per_execution(self, callbacks):
        """Apply the "auto" steps_per_execution for this fit (a new value retraces)."""
        choose_steps_per_execution(self, callbacks)

    def evaluate(self, x=None, y=None, **kwargs):
        if x is not None and not isinstance(x, tf.data.Dataset):
            x = self._check_visible(x, name="evaluation data")
        return super().evaluate(x, y, **kwargs)

    # ------------------------------------------------------------------ training
    def cd_gradients(self, v0, seed):
        """The CD-k (or PCD-k) gradients for a batch, plus monitoring values.

        Returns (grads, recon_error, mean_free_energy) with grads = [dW, db, dc] matching
        [kernel, visible_bias, hidden_bias]. Pure function of the weights, the chains and ``seed``
        apart from the persistent-chain and sparsity updates it makes.
        """
        layer = self.layer
        dtype = layer.kernel.dtype
        v0 = tf.cast(v0, dtype)
        pre0 = layer.hidden_input(v0)
        ph0 = tf.sigmoid(pre0)
        h0 = layer.hidden_units.sample(ph0, gibbs.fold(seed, 1))
        if self.persistent:
            _, h_start = layer.sample_hidden(self.persistent_chains, gibbs.fold(seed, 2))
        else:
            h_start = h0
        v_mean1, vk, phk, hk = gibbs.k_steps(
            layer, h_start, self.cd_k, gibbs.fold(seed, 3),
            sample_last_hidden=self.hidden_statistics != "probabilities")
        if self.persistent:
            self.persistent_chains.assign(vk)

        if self.hidden_statistics == "probabilities":
            pos_h, neg_h = ph0, phk
        else:
            pos_h, neg_h = h0, hk
        n_pos = tf.cast(tf.shape(v0)[0], dtype)
        n_neg = tf.cast(tf.shape(vk)[0], dtype)
        # both phases' <v h> in one matmul: [v0/B ; -vk/N]^T [pos_h ; neg_h]
        stacked_v = tf.concat([v0 / n_pos, -vk / n_neg], axis=0)
        stacked_h = tf.concat([pos_h, neg_h], axis=0)
        d_kernel = -tf.matmul(stacked_v, stacked_h, transpose_a=True)
        d_visible = -(tf.reduce_mean(v0, axis=0) - tf.reduce_mean(vk, axis=0))
        d_hidden = -(tf.reduce_mean(pos_h, axis=0) - tf.reduce_mean(neg_h, axis=0))
        if self.weight_decay:
            d_kernel += self.weight_decay * layer.kernel
        if self.sparsity_target is not None and self.sparsity_cost:
            q = self.sparsity_decay * self.sparsity_q + (1 - self.sparsity_decay) * tf.reduce_mean(ph0, 0)
            self.sparsity_q.assign(q)
            penalty = self.sparsity_cost * (q - self.sparsity_target)
            d_hidden += penalty
            d_kernel += tf.tensordot(tf.reduce_mean(v0, axis=0), penalty, axes=0)

        if self.monitor_reconstruction:
            recon = v_mean1 if not self.persistent else layer.visible_probs(h0)
            recon_error = tf.reduce_mean(tf.square(v0 - recon))
        else:
            recon_error = tf.constant(float("nan"), dtype)
        free_energy = tf.reduce_mean(layer.visible_units.energy_term(v0, layer.visible_bias)
                                     - tf.reduce_sum(tf.math.softplus(pre0), axis=-1))
        return [d_kernel, d_visible, d_hidden], recon_error, free_energy

    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        seed = self.seed_generator.next()
        ctx = tf.distribute.get_replica_context()
        n_replicas = 1 if ctx is None else ctx.num_replicas_in_sync
        if n_replicas > 1:
            seed = gibbs.fold(seed, ctx.replica_id_in_sync_group)  # each replica its own noise
        grads, recon_error, free_energy = self.cd_gradients(x, seed)
        if n_replicas > 1:
            # Keras all-reduces with SUM; each replica's statistic is a mean over its local batch
            grads = [g / n_replicas for g in grads]
        layer = self.layer
        # CD gradients are never loss-scaled; scale them so that a LossScaleOptimizer's apply
        # (mixed precision) divides the scale back out (a no-op for every other optimizer)
        grads = [self.optimizer.scale_loss(g) for g in grads]
        self.optimizer.apply(grads, [layer.kernel, layer.visible_bias, layer.hidden_bias])
        self.reconstruction_tracker.update_state(recon_error)
        self.free_energy_tracker.update_state(free_energy)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        v = tf.cast(x, self.layer.kernel.dtype)
        recon = self.layer.visible_probs(self.layer.hidden_probs(v))
        self.reconstruction_tracker.update_state(tf.reduce_mean(tf.square(v - recon)))
        self.free_energy_tracker.update_state(tf.reduce_mean(self.layer.free_energy(v)))
        return {m.name: m.result() for m in self.metrics}

    # ------------------------------------------------------------------ inference helpers
    def _fn(self, name, python_fn):
        """A cached tf.function for an inference verb (one trace per input signature)."""
        fn = self._compiled_fns.get(name)
        if fn is None:
            fn = tf.function(python_fn, reduce_retracing=True)
            self._compiled_fns[name] = fn
        return fn

    def _seed(self, seed):
        if seed is None:
            return self.seed_generator.next()
        return tf.constant([int(seed), 0], dtype=tf.int64)

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
            v, self._seed(seed)).numpy()

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
            h, self._seed(seed)).numpy()

    def reconstruct(self, v, sample=False, seed=None):
        """Reconstruct ``v``: mean-field p(v | p(h | v)) or, with ``sample``, one Gibbs step's v1."""
        v = self._check_visible(v)
        self._ensure_built_for(v)
        if not sample:
            return self._fn("reconstruct", lambda v: self.layer.visible_probs(
                self.layer.hidden_probs(v)))(v).numpy()

        def one_step(v, s):
            _, h = self.layer.sample_hidden(v, gibbs.fold(s, 0))
            return self.layer.sample_visible(h, gibbs.fold(s, 1))[1]
        return self._fn("reconstruct_sample", one_step)(v, self._seed(seed)).numpy()

    def gibbs(self, v, steps, sample=True, seed=None):
        """Run ``steps`` Gibbs steps from ``v``; the final states (or means with ``sample=False``)."""
        steps = _check_positive_int("steps", steps)
        v = self._check_visible(v)
        self._ensure_built_for(v)
        v_mean, v_out = self._fn("gibbs", lambda v, n, s: gibbs.run_chain(self.layer, v, n, s))(
            v, tf.constant(steps), self._seed(seed))
        return (v_out if sample else v_mean).numpy()

    def daydream(self, n_samples, steps=1000, trace=False, sample=False, seed=None, init=None):
        """Samples from the model: ``n_samples`` chains run ``steps`` steps from random visibles.

        Returns the final visible means (states if ``sample``), shape (n_samples, n_visible);
        with ``trace=True`` returns (final, trace) where trace has shape (steps, n_samples, n_visible)
        and holds each step's means (each step's sampled states if ``sample``).
        Chains start from ``init`` rows if given, else from samples of the visible-bias-only model.
        """
        n_samples = _check_positive_int("n_samples", n_samples)
        steps = _check_positive_int("steps", steps)
        self._require_built()
        seed_t = self._seed(seed)
        units = self.layer.visible_units
        if init is None:
            b = tf.broadcast_to(self.layer.visible_bias, (n_samples, self.layer.n_visible))
            v0 = units.sample(units.mean(b), gibbs.fold(seed_t, 7))
        else:
            v0 = tf.constant(self._check_visible(init, name="init"))
        if trace:
            kind = "sample" if sample else "mean"
            v_mean, v_out, tr = self._fn(
                f"daydream_trace_{kind}", lambda v, n, s: gibbs.run_chain(self.layer, v, n, s, trace=kind))(
                v0, tf.constant(steps), seed_t)
            return (v_out if sample else v_mean).numpy(), tr.numpy()
        v_mean, v_out = self._fn("gibbs", lambda v, n, s: gibbs.run_chain(self.layer, v, n, s))(
            v0, tf.constant(steps), seed_t)
        return (v_out if sample else v_mean).numpy()

    def inpaint(self, v, mask, steps=100, sample=False, seed=None):
        """Recall missing units: clamped Gibbs sampling with ``mask`` = 1 where ``v`` is known.

        Returns ``v`` with its unknown entries replaced by the last step's conditional means (or
        sampled states with ``sample=True``).
        """
        steps = _check_positive_int("steps", steps)
        v = self._check_visible(v)
        self._ensure_built_for(v)
        mask = np.asarray(mask)
        if mask.shape != v.shape and mask.shape != v.shape[1:]:
            raise ValueError(f"mask has shape {mask.shape}; it must match the data's shape {v.shape} "
                             f"or one row's shape {v.shape[1:]}")
        if not np.isin(mask, (0, 1)).all():
            raise ValueError("mask must contain only 0 (missing) and 1 (known)")
        mask = np.broadcast_to(mask, v.shape).astype(np.float32)
        v_mean, v_out = self._fn("inpaint", lambda v, m, n, s: gibbs.clamped_chain(self.layer, v, m, n, s))(
            v, mask, tf.constant(steps), self._seed(seed))
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
        from tfrbm import likelihood
        log_z = self.log_partition(method=method, **kwargs)
        return -self.free_energy(v) - float(log_z if np.ndim(log_z) == 0 else log_z[0])

    def log_partition(self, method="exact", **kwargs):
        """log Z: ``"exact"`` enumerates the smaller layer (<= 25 units); ``"ais"`` estimates it."""
        from tfrbm import likelihood
        self._require_built()
        if method == "exact":
            return likelihood.exact_log_partition(self.layer, **kwargs)
        if method == "ais":
            if ("base_data" not in kwargs and "base_biases" not in kwargs
                    and float(self.initialized.numpy()) > 0):
                # the paper's base-rate model, fitted to the training data at the first fit
                kwargs["base_biases"] = self.base_rate_bias.numpy()
            return likelihood.ais_log_partition(self.layer, **kwargs)
        raise ValueError(f"unknown method {method!r}; use 'exact' or 'ais'")

    def log_likelihood(self, v, method="exact", **kwargs):
        """Mean log p(v) = mean(-F(v)) - log Z over the rows of ``v``."""
        log_z = self.log_partition(method=method, **kwargs)
        if isinstance(log_z, tuple):
            log_z = log_z[0]
        return float(np.mean(-self.free_energy(v).astype(np.float64)) - float(log_z))

    def export(self, filepath, format="tf_saved_model", **kwargs):
        """Write a SavedModel with named signatures (see :func:`tfrbm.export.export_model`)."""
        from tfrbm import export
        return export.export_model(self, filepath, format=format, **kwargs)

    # ------------------------------------------------------------------ serialisation
    def save_own_variables(self, store):
        """Also save the random stream's state, so a restored model does not replay its noise."""
        super().save_own_variables(store)
        store["seed_generator_state"] = keras.ops.convert_to_numpy(self.seed_generator.state)

    def load_own_variables(self, store):
        keys = list(store.keys())
        if "seed_generator_state" in keys:
            self.seed_generator.state.assign(store["seed_generator_state"])
            store = {k: store[k] for k in keys if k != "seed_generator_state"}
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
        })
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"])
        return cls(**config)
