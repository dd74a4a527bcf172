"""Recurrent language models: the PTB word-level LSTM of the course and of Zaremba et al. (2014).

The model reads token ids ``x`` of shape ``[batch, steps]`` and returns next-token logits of shape
``[batch, steps, vocab]``: embedding -> stacked LSTMs -> dense. Training is stateful truncated
backpropagation through time: the LSTM states at the end of one batch are the initial states of
the next (row r of batch i+1 continues row r of batch i, see :mod:`tfrbm.data.text`), gradients
stop at batch boundaries, and :class:`ResetStatesCallback` zeroes the states at each epoch.

Loss (as in the TF1 labs): cross-entropy summed over the steps and averaged over the batch,
``L = (1/B) sum_b sum_t -log p(y_bt | x_b,<=t)``. Perplexity = exp(mean per-token cross-entropy).

References: W. Zaremba, I. Sutskever, O. Vinyals, "Recurrent Neural Network Regularization",
arXiv:1409.2329 (2014): test perplexity 114.5 (small) and 82.7 (medium).
"""
import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfrbm import serving
from tfrbm.errors import UserError
from tfrbm.export import ServingMixin
from tfrbm.validation import (BOOLEAN, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, SIZES, Integral, Interval, Predicate, Real,
                              validate_params)

__all__ = [
    "LM_CONFIGS", "lm_config",
    "StatefulLSTMModel", "WordLanguageModel", "build_word_lm", "compile_word_lm",
    "SummedSequenceLoss", "Perplexity", "StepDecaySchedule", "ResetStatesCallback",
    "evaluate_perplexity", "choose_next",
]

# Each configuration: architecture, optimizer (SGD), clipping and learning-rate schedule.
# lr(epoch) = learning_rate * lr_decay ** max(epoch - decay_start + 1, 0), epoch counted from 0.
LM_CONFIGS = {
    # The course lab: 2 LSTMs of 256 and 128, embeddings 200, lr 1.0 halved after epoch 4
    # (its formula decay ** max(i - 4, 0) first decays at 0-based epoch 5).
    "course": dict(hidden_sizes=(256, 128), embedding_dim=200, num_steps=20, batch_size=60,
                   learning_rate=1.0, lr_decay=0.5, decay_start=5, clipnorm=5.0, epochs=15,
                   dropout=0.0, init_scale=0.1),
    # Zaremba et al. small: 2x200, 13 epochs, lr decays by 0.5 from the 5th epoch.
    "small": dict(hidden_sizes=(200, 200), embedding_dim=200, num_steps=20, batch_size=20,
                  learning_rate=1.0, lr_decay=0.5, decay_start=4, clipnorm=5.0, epochs=13,
                  dropout=0.0, init_scale=0.1),
    # Zaremba et al. medium: 2x650, dropout 0.5, 39 epochs, lr decays by 0.8 from the 7th epoch.
    "medium": dict(hidden_sizes=(650, 650), embedding_dim=650, num_steps=35, batch_size=20,
                   learning_rate=1.0, lr_decay=0.8, decay_start=6, clipnorm=5.0, epochs=39,
                   dropout=0.5, init_scale=0.05),
}


def lm_config(name):
    """A copy of one of :data:`LM_CONFIGS` ("course", "small", "medium")."""
    if name not in LM_CONFIGS:
        raise UserError(f"unknown language-model config {name!r}; choose one of "
                         + ", ".join(repr(k) for k in LM_CONFIGS))
    return dict(LM_CONFIGS[name])


@keras.saving.register_keras_serializable(package="tfrbm")
class SummedSequenceLoss(keras.losses.Loss):
    """Cross-entropy from logits summed over time steps, then averaged over the batch (TF1 PTB cost)."""

    def __init__(self, name="summed_sequence_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        ce = keras.losses.sparse_categorical_crossentropy(
            ops.cast(y_true, "int32"), y_pred, from_logits=True)
        return ops.sum(ce, axis=-1)


@keras.saving.register_keras_serializable(package="tfrbm")
class Perplexity(keras.metrics.Metric):
    """exp(mean per-token cross-entropy) of next-token logits; ``base=2`` with ``log=True`` gives bits.

    With ``log=True`` the metric reports the mean cross-entropy itself in the chosen base
    (``log2`` of perplexity is bits per token).
    """

    def __init__(self, name="perplexity", log=False, base=math.e, **kwargs):
        super().__init__(name=name, **kwargs)
        self.log = bool(log)
        self.base = float(base)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total", dtype="float64")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count", dtype="float64")

    def update_state(self, y_true, y_pred, sample_weight=None):
        ce = keras.losses.sparse_categorical_crossentropy(
            ops.cast(y_true, "int32"), y_pred, from_logits=True)
        self.total.assign_add(ops.cast(ops.sum(ce), "float64"))
        self.count.assign_add(ops.cast(ops.size(ce), "float64"))

    def result(self):
        mean = self.total / ops.maximum(self.count, 1.0)
        if self.log:
            return ops.cast(mean / math.log(self.base), "float32")
        return ops.cast(ops.exp(mean), "float32")

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "log": self.log, "base": self.base}


@keras.saving.register_keras_serializable(package="tfrbm")
class StepDecaySchedule:
    """Epoch-wise learning rate ``lr0 * decay ** max(epoch - start + 1, 0)`` (epoch from 0).

    Use with ``keras.callbacks.LearningRateScheduler(StepDecaySchedule(...))``; ``start=0`` gives a
    decay every epoch from the first (the char model's 0.97 per epoch uses ``start=1``).
    """

    _parameter_constraints = {
        "initial_learning_rate": POSITIVE,
        "decay": [Interval(Real, 0, 1, closed="right")],
        "start": NON_NEGATIVE_INT,
    }

    def __init__(self, initial_learning_rate, decay, start):
        p = validate_params({"initial_learning_rate": initial_learning_rate, "decay": decay,
                             "start": start}, self._parameter_constraints, type(self))
        self.initial_learning_rate = p["initial_learning_rate"]
        self.decay = p["decay"]
        self.start = p["start"]

    def __call__(self, epoch, lr=None):
        return self.initial_learning_rate * self.decay ** max(epoch - self.start + 1, 0)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay": self.decay,
                "start": self.start}


class ResetStatesCallback(keras.callbacks.Callback):
    """Zero the recurrent states of a stateful model at the start of every epoch, evaluation and
    prediction, so each pass starts from the beginning of its token streams."""

    def _reset(self):
        if hasattr(self.model, "reset_states"):
            self.model.reset_states()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()

    def on_test_begin(self, logs=None):
        self._reset()

    def on_predict_begin(self, logs=None):
        self._reset()


def choose_next(probs, mode="weighted", previous=None, space_id=None, rng=None):
    """Pick the next token id from a probability vector.

    ``mode``: ``"argmax"`` (most probable), ``"weighted"`` (draw from ``probs``) or
    ``"weighted-after-space"`` (draw only when ``previous == space_id``, else argmax: the char
    lab's sampling type 2).
    """
    probs = np.asarray(probs, dtype=np.float64).ravel()
    if mode == "argmax":
        return int(np.argmax(probs))
    if mode == "weighted-after-space":
        if space_id is None:
            raise UserError("mode 'weighted-after-space' needs the id of the space token")
        if previous != space_id:
            return int(np.argmax(probs))
    elif mode != "weighted":
        raise UserError(f"unknown sampling mode {mode!r}; choose 'argmax', 'weighted' or "
                         "'weighted-after-space'")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    cdf = np.cumsum(probs)
    return int(min(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"), len(probs) - 1))


@keras.saving.register_keras_serializable(package="tfrbm")
class StatefulLSTMModel(ServingMixin, keras.Model):
    """Embedding -> stacked LSTMs -> dense next-token logits, with states carried across batches.

    Args:
        vocab_size: number of tokens.
        hidden_sizes: units of each LSTM layer, bottom first.
        embedding_dim: size of the token embeddings.
        batch_size: the fixed batch size of stateful training (state variables are
            ``[batch_size, units]``); inference through :meth:`step` takes any batch size.
        dropout: dropout rate on the non-recurrent connections (Zaremba et al.), 0 for none.
        init_scale: if given, every weight starts uniform in ``[-init_scale, init_scale]``
            (the TF1 labs); None keeps the Keras defaults.
        forget_bias: 1.0 adds one to the forget-gate bias (Keras default), 0.0 does not (labs).
        stateful: carry the states across calls (training); False starts every call from zeros.
        vocabulary: optional list of the tokens (words or characters) for generation.

    Input ``[batch, steps]`` integer ids; output ``[batch, steps, vocab_size]`` logits.
    """

    _parameter_constraints = {
        "vocab_size": [Interval(Integral, 2, None)],
        "hidden_sizes": [SIZES],
        "embedding_dim": POSITIVE_INT,
        "batch_size": POSITIVE_INT,
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "init_scale": [None, Interval(Real, 0, None, closed="neither")],
        "forget_bias": [Predicate(lambda v: not isinstance(v, (bool, str)) and v in (0, 1),
                                  "0.0 or 1.0", convert=float)],
        "stateful": [BOOLEAN],
        "vocabulary": [None, Predicate(lambda v: not isinstance(v, (str, bytes)) and len(v) >= 0,
                                       "a list of tokens", convert=list)],
    }

    def __init__(self, vocab_size, hidden_sizes=(256, 128), embedding_dim=200, batch_size=20,
                 dropout=0.0, init_scale=None, forget_bias=1.0, stateful=True, vocabulary=None,
                 **kwargs):
        super().__init__(**kwargs)
        p = validate_params(
            {"vocab_size": vocab_size, "hidden_sizes": hidden_sizes, "embedding_dim": embedding_dim,
             "batch_size": batch_size, "dropout": dropout, "init_scale": init_scale,
             "forget_bias": forget_bias, "stateful": stateful, "vocabulary": vocabulary},
            self._parameter_constraints, type(self))
        if p["vocabulary"] is not None and len(p["vocabulary"]) != p["vocab_size"]:
            raise UserError(f"vocabulary has {len(vocabulary)} entries but vocab_size={vocab_size}")
        self.vocab_size = vocab_size = p["vocab_size"]
        self.hidden_sizes = hidden_sizes = p["hidden_sizes"]
        self.embedding_dim = p["embedding_dim"]
        self.batch_size = p["batch_size"]
        self.dropout_rate = p["dropout"]
        self.init_scale = p["init_scale"]
        self.forget_bias = p["forget_bias"]
        self.stateful = p["stateful"]
        self.vocabulary = p["vocabulary"]

        def init(default):
            if self.init_scale is None:
                return default
            return keras.initializers.RandomUniform(-self.init_scale, self.init_scale)

        self.embedding = keras.layers.Embedding(
            vocab_size, self.embedding_dim, embeddings_initializer=init("uniform"), name="embedding")
        self.lstms = [
            keras.layers.LSTM(h, return_sequences=True, return_state=True,
                              unit_forget_bias=self.forget_bias == 1.0,
                              kernel_initializer=init("glorot_uniform"),
                              recurrent_initializer=init("orthogonal"),
                              bias_initializer=init("zeros"), name=f"lstm_{i}")
            for i, h in enumerate(hidden_sizes)]
        self.drop = keras.layers.Dropout(self.dropout_rate, name="dropout")
        self.head = keras.layers.Dense(vocab_size, kernel_initializer=init("glorot_uniform"),
                                       bias_initializer=init("zeros"), name="logits")
        self.state_vars = []

    def build(self, input_shape):
        steps = input_shape[1] if len(input_shape) > 1 else None
        self.embedding.build((None, steps))
        width = self.embedding_dim
        for lstm in self.lstms:
            lstm.build((None, steps, width))
            width = lstm.units
        self.head.build((None, steps, width))
        self.state_vars = [
            [self.add_weight(shape=(self.batch_size, lstm.units), initializer="zeros",
                             trainable=False, name=f"state_{i}_{kind}") for kind in ("h", "c")]
            for i, lstm in enumerate(self.lstms)]
        self.built = True

    def initial_states(self, batch_size):
        """Zero states for :meth:`step`: a list of ``[h, c]`` per layer."""
        return [[ops.zeros((batch_size, lstm.units)), ops.zeros((batch_size, lstm.units))]
                for lstm in self.lstms]

    def step(self, ids, states, training=False):
        """Run the stack from explicit ``states``; returns ``(logits, new_states)`` (any batch size)."""
        h = self.embedding(ops.cast(ids, "int32"))
        h = self.drop(h, training=training)
        new_states = []
        for lstm, state in zip(self.lstms, states):
            h, hh, cc = lstm(h, initial_state=list(state), training=training)
            h = self.drop(h, training=training)
            new_states.append([hh, cc])
        return self.head(h), new_states

    def call(self, ids, training=False):
        if not self.stateful:
            return self.step(ids, self.initial_states(ops.shape(ids)[0]), training)[0]
        states = [[ops.stop_gradient(v.value) for v in pair] for pair in self.state_vars]
        logits, new_states = self.step(ids, states, training)
        for pair, new in zip(self.state_vars, new_states):
            for var, value in zip(pair, new):
                var.assign(value)
        return logits

    def reset_states(self):
        """Zero the carried states (start of an epoch or of a new stream)."""
        for pair in self.state_vars:
            for var in pair:
                var.assign(ops.zeros(var.shape))

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "hidden_sizes": list(self.hidden_sizes), "embedding_dim": self.embedding_dim,
                "batch_size": self.batch_size, "dropout": self.dropout_rate,
                "init_scale": self.init_scale, "forget_bias": self.forget_bias,
                "stateful": self.stateful, "vocabulary": self.vocabulary}

    # ------------------------------------------------------------------ inference helpers
    def _next_probs_fn(self):
        if getattr(self, "_probs_fn", None) is None:
            @tf.function(input_signature=[tf.TensorSpec([None, None], "int32"),
                                          self._state_signature()])
            def fn(ids, states):
                return self._last_logits(ids, states)
            self._probs_fn = fn
        return self._probs_fn

    def _last_logits(self, ids, states):
        """(logits of the token after ``ids``, states after it): the inference step."""
        logits, new = self.step(ids, states, training=False)
        return logits[:, -1, :], new

    def serving_endpoints(self):
        """``next_token(ids) -> log_probabilities``: log p(next | ids) from zero states.

        ``ids`` must lie in [0, vocab_size) with at least one step (checked in the graph).
        """
        serving.require_built(self.built, "language model")

        def next_token(ids):
            ids = serving.check_range(ids, 0, self.vocab_size - 1, "ids")
            with tf.control_dependencies([tf.debugging.assert_positive(
                    tf.shape(ids)[1], message="ids need at least one step per row")]):
                logits, _ = self._last_logits(ids, self.initial_states(tf.shape(ids)[0]))
            return {"log_probabilities": tf.nn.log_softmax(tf.cast(logits, tf.float32))}

        return serving.Endpoints(self, [
            ("next_token", next_token, [serving.spec((None, None), tf.int32, "ids")])])

    def _state_signature(self):
        return [[tf.TensorSpec([None, lstm.units], "float32")] * 2 for lstm in self.lstms]

    def _chunk_loss_fn(self):
        """A traced function ``(x, y, states) -> (summed cross-entropy, new states)`` for any length."""
        if getattr(self, "_loss_fn", None) is None:
            ids_spec = tf.TensorSpec([None, None], "int32")

            @tf.function(input_signature=[ids_spec, ids_spec, self._state_signature()])
            def fn(x, y, states):
                logits, new = self.step(x, states, training=False)
                ce = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
                return ops.sum(ce), new
            self._loss_fn = fn
        return self._loss_fn

    def next_token_probs(self, ids, states=None, temperature=1.0):
        """Probabilities of the token after the id sequence ``ids`` (1-D), and the states after it."""
        if temperature <= 0:
            raise UserError(f"temperature must be positive, got {temperature!r}")
        ids = np.asarray(ids, dtype=np.int32).reshape(1, -1)
        if ids.size == 0:
            raise UserError("need at least one token to condition on")
        if ids.max() >= self.vocab_size or ids.min() < 0:
            raise UserError(f"token ids must be in [0, {self.vocab_size}), got {ids.min()}..{ids.max()}")
        states = self.initial_states(1) if states is None else states
        logits, states = self._next_probs_fn()(ids, states)
        logits = np.asarray(logits[0], dtype=np.float64) / temperature
        probs = np.exp(logits - logits.max())
        return probs / probs.sum(), states

    def sample_ids(self, prime_ids, n, mode="weighted", temperature=1.0, space_id=None, seed=None):
        """Continue ``prime_ids`` with ``n`` ids chosen by :func:`choose_next`; returns the new ids."""
        if not isinstance(n, int) or n < 0:
            raise UserError(f"n must be a non-negative integer, got {n!r}")
        rng = np.random.default_rng(seed)
        probs, states = self.next_token_probs(prime_ids, temperature=temperature)
        previous = int(np.asarray(prime_ids).ravel()[-1])
        out = []
        for i in range(n):
            nxt = choose_next(probs, mode, previous=previous, space_id=space_id, rng=rng)
            out.append(nxt)
            previous = nxt
            if i + 1 < n:
                probs, states = self.next_token_probs([nxt], states, temperature)
        return out


@keras.saving.register_keras_serializable(package="tfrbm")
class WordLanguageModel(StatefulLSTMModel):
    """The PTB word-level LSTM language model, with next-word prediction and generation.

    Build one from a named configuration with :func:`build_word_lm`. ``vocabulary`` (the list of
    words, id = position) lets :meth:`predict_next` and :meth:`generate` take and return words.
    """

    def _ids(self, prime):
        if self.vocabulary is None:
            raise UserError("this model has no vocabulary; pass vocabulary= when building it")
        words = prime.split() if isinstance(prime, str) else list(prime)
        if not words:
            raise UserError("prime must contain at least one word")
        lookup = {w: i for i, w in enumerate(self.vocabulary)}
        unk = lookup.get("<unk>")
        ids = []
        for w in words:
            if w in lookup:
                ids.append(lookup[w])
            elif unk is not None:
                ids.append(unk)
            else:
                raise UserError(f"word {w!r} is not in the vocabulary")
        return ids

    def predict_next(self, prime, k=5):
        """The ``k`` most probable next words after ``prime`` (a string or word list): [(word, p)]."""
        probs, _ = self.next_token_probs(self._ids(prime))
        top = np.argsort(-probs)[:k]
        return [(self.vocabulary[i], float(probs[i])) for i in top]

    def generate(self, prime, n=20, mode="argmax", temperature=1.0, seed=None):
        """Continue ``prime`` with ``n`` words (``mode`` as in :func:`choose_next`); returns the words."""
        ids = self.sample_ids(self._ids(prime), n, mode=mode, temperature=temperature, seed=seed)
        return [self.vocabulary[i] for i in ids]


def build_word_lm(config="course", vocab_size=10000, vocabulary=None, **overrides):
    """A :class:`WordLanguageModel` for a named configuration of :data:`LM_CONFIGS`.

    ``overrides`` replace configuration entries (e.g. ``hidden_sizes=(32, 32)`` for a tiny model).
    Returns ``(model, cfg)``; compile it with :func:`compile_word_lm`.
    """
    cfg = lm_config(config) if isinstance(config, str) else dict(config)
    unknown = set(overrides) - set(LM_CONFIGS["course"])
    if unknown:
        raise UserError(f"unknown configuration keys {sorted(unknown)}")
    cfg.update(overrides)
    model = WordLanguageModel(
        vocab_size=vocab_size, hidden_sizes=cfg["hidden_sizes"], embedding_dim=cfg["embedding_dim"],
        batch_size=cfg["batch_size"], dropout=cfg["dropout"], init_scale=cfg["init_scale"],
        forget_bias=0.0, stateful=True, vocabulary=vocabulary)
    model.build((cfg["batch_size"], cfg["num_steps"]))
    return model, cfg


def compile_word_lm(model, cfg):
    """Compile with SGD, global-norm clipping, the summed sequence loss and :class:`Perplexity`.

    Returns the callbacks training needs: the learning-rate schedule and :class:`ResetStatesCallback`.
    """
    model.compile(optimizer=keras.optimizers.SGD(cfg["learning_rate"], global_clipnorm=cfg["clipnorm"]),
                  loss=SummedSequenceLoss(), metrics=[Perplexity()])
    schedule = StepDecaySchedule(cfg["learning_rate"], cfg["lr_decay"], cfg["decay_start"])
    return [keras.callbacks.LearningRateScheduler(schedule), ResetStatesCallback()]


def evaluate_perplexity(model, ids, num_steps=100):
    """Perplexity of an id stream read in one pass with batch 1 and the state carried throughout
    (so every token sees its whole history, as the TF1 labs' test run with batch 1)."""
    ids = np.asarray(ids, dtype=np.int32).ravel()
    if ids.size < 2:
        raise UserError("need at least two tokens to measure perplexity")
    chunk = model._chunk_loss_fn()
    states = model.initial_states(1)
    total, count = 0.0, 0
    for start in range(0, ids.size - 1, num_steps):
        stop = min(start + num_steps, ids.size - 1)
        x = ids[start:stop].reshape(1, -1)
        y = ids[start + 1:stop + 1].reshape(1, -1)
        ce, states = chunk(x, y, states)
        total += float(ce)
        count += stop - start
    return math.exp(total / count)
