"""How many training steps ``fit`` may run per call into the compiled graph, given its callbacks.

Running many CD steps per graph call (``steps_per_execution``) removes Keras' per-batch Python
overhead. Keras then calls the batch hooks of callbacks once per call, with the index of the
call's last step. That is harmless for a callback that acts per epoch or only reads the logs,
and wrong for one that must see every step (a batch-level TensorBoard, a checkpoint every N
steps). The decision is made from each callback's *settings*:

* ``update_freq`` / ``save_freq`` (TensorBoard, ModelCheckpoint, BackupAndRestore,
  ``tfrbm.resume.TrainingBackup``, or any callback with such an attribute): ``"epoch"`` (or
  ``False``) works at any granularity, an integer needs single steps;
* TensorBoard's ``profile_batch``: profiling a batch range needs single steps;
* ``check_every`` (``tfrbm.safety.StopOnNonFinite``): 1 needs single steps; N > 1 caps a call
  at N steps (a callback's ``max_steps_per_execution`` attribute), so it still checks every N;
* a callback may state it itself with an attribute ``needs_single_steps`` (True or False);
* callbacks whose batch hook only reads the logs and stays correct at any granularity:
  Keras' ``TerminateOnNaN`` (the logged ``loss`` is a running mean over the epoch, so a NaN
  stays NaN until the next check), the progress bar and the History;
* any other callback that overrides a batch hook gets single steps (the safe default).

When a callback forces single steps, one warning per process and reason names it and the setting
that would keep the fast path.

:class:`StepProgbar` is Keras' progress bar counting real steps: Keras reports a call's last step
as ``first + steps_per_execution - 1`` even when the epoch ends sooner ("32/13").
"""
import json
import logging
import sys
import weakref

import keras
import numpy as np
import tensorflow as tf

from tfrbm import _compat
from tfrbm.tracing import mark_traced_once
from tfrbm.validation import Integral, Interval, Options, check_param

__all__ = ["single_step_reason", "choose_steps_per_execution", "check_steps_per_execution",
           "StepProgbar", "with_progbar", "train_in_memory", "fits_in_memory", "fit_arrays",
           "compiled_loops"]

_log = logging.getLogger("tfrbm")
_warned = set()

_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_train_batch_begin", "on_train_batch_end",
                "on_test_batch_begin", "on_test_batch_end")

#: callbacks whose batch hooks only read the logs (correct at any granularity)
_LOG_READERS = (keras.callbacks.History, keras.callbacks.ProgbarLogger,
                keras.callbacks.TerminateOnNaN)


def check_steps_per_execution(value):
    """``compile``'s ``steps_per_execution`` as ``(auto, n)``: "auto" (or None) gives
    ``(True, 1)``, fit then picks the number (:func:`choose_steps_per_execution`); a positive
    integer gives ``(False, value)``; anything else is a UserError."""
    if value is None or (isinstance(value, str) and value == "auto"):
        return True, 1
    return False, check_param("steps_per_execution", value,
                              [Options("auto"), Interval(Integral, 1, None)])


def _overrides_batch_hooks(callback):
    base = keras.callbacks.Callback
    return any(name in vars(callback)                      # e.g. LambdaCallback(on_batch_end=...)
               or getattr(type(callback), name, None) is not getattr(base, name)
               for name in _BATCH_HOOKS)


def single_step_reason(callback):
    """Why ``callback`` needs one step per graph call, or None when it works with many."""
    name = type(callback).__name__
    declared = getattr(callback, "needs_single_steps", None)
    if declared is not None:
        return f"{name} sets needs_single_steps=True" if declared else None
    if isinstance(callback, _LOG_READERS) or not _overrides_batch_hooks(callback):
        return None
    has_setting = False
    for setting in ("update_freq", "save_freq"):
        if hasattr(callback, setting):
            has_setting = True
            value = getattr(callback, setting)
            if value not in ("epoch", False, None):
                return f"{name}({setting}={value!r}); {setting}='epoch' keeps the fast path"
    if _compat.profiles_batches(callback):            # TensorBoard(profile_batch=...)
        return f"{name} profiles batches; profile_batch=0 keeps the fast path"
    if hasattr(callback, "check_every"):
        has_setting = True
        if getattr(callback, "check_every") == 1:
            return f"{name}(check_every=1)"
    if has_setting:
        return None
    return f"{name} overrides a per-batch hook"


def choose_steps_per_execution(callbacks, fast_steps, distributed=False):
    """``fast_steps`` unless a callback (see :func:`single_step_reason`) or ``distributed``
    training needs one step per call; warns once per reason when falling back."""
    if distributed:
        # Keras' multi-step loop leaves a placeholder unfed under tf.distribute strategies
        return 1
    for callback in _as_list(callbacks):
        # a callback that acts every N real steps (StopOnNonFinite(check_every=N)) caps the call
        limit = getattr(callback, "max_steps_per_execution", None)
        if limit is not None:
            fast_steps = max(1, min(fast_steps, int(limit)))
    for callback in _as_list(callbacks):
        reason = single_step_reason(callback)
        if reason is not None:
            if reason not in _warned:
                _warned.add(reason)
                _log.warning("tfrbm: fit runs one step per graph call (slower) because %s", reason)
            return 1
    return fast_steps


def _as_list(callbacks):
    if callbacks is None:
        return []
    if isinstance(callbacks, (list, tuple)):
        return list(callbacks)
    return list(getattr(callbacks, "callbacks", [callbacks]))


class StepProgbar(keras.callbacks.ProgbarLogger):
    """Keras' progress bar, counting real steps.

    With several steps per graph call Keras reports each call's last step as ``first +
    steps_per_execution - 1``, past the epoch's end on its last call ("64/59"). A known number
    of steps clips the index to it. When the data's length is unknown (a ``tf.data`` pipeline
    of unknown cardinality: Keras would also take the inflated count as the epoch's length),
    the model's own count of the steps it ran (``model.progress_steps()``, where the model has
    one) is used instead.
    """

    def _clip(self, batch, counted=True):
        if batch is None:
            return batch
        if self.target is None:
            count = getattr(self.model, "progress_steps", None) if counted else None
            real = count() if callable(count) else None
            return real - 1 if real else batch
        return min(batch, self.target - 1)

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(self._clip(batch), logs)

    def on_test_batch_end(self, batch, logs=None):
        super().on_test_batch_end(self._clip(batch), logs)

    def on_predict_batch_end(self, batch, logs=None):
        # prediction updates no metric: no count of its own steps (a known length still clips)
        super().on_predict_batch_end(self._clip(batch, counted=False), logs)


def with_progbar(callbacks):
    """``callbacks`` plus a :class:`StepProgbar`, unless they already hold a progress bar.

    A ``CallbackList`` passes through unchanged: that is ``fit`` calling ``evaluate`` on its
    validation data with its own callbacks, whose progress bar must stay the same object."""
    if isinstance(callbacks, keras.callbacks.CallbackList):
        return callbacks
    callbacks = _as_list(callbacks)
    if not any(isinstance(cb, keras.callbacks.ProgbarLogger) for cb in callbacks):
        callbacks.append(StepProgbar())
    return callbacks


#: per model, its compiled batch loops (see :func:`_batch_loop`); dropped with the model
_LOOPS = weakref.WeakKeyDictionary()

#: the structure (TensorSpecs) of the logs a model's ``train_step`` returns, by
#: :func:`_logs_key`: a new model of a known kind traces its step once, not twice
_LOG_SPECS = {}
#: the most kinds :data:`_LOG_SPECS` remembers (a search over many configs stays bounded)
_MAX_LOG_SPECS = 256


def _without_names(config):
    """A config with every ``name`` entry dropped (each model and layer has its own)."""
    if isinstance(config, dict):
        return {k: _without_names(v) for k, v in config.items() if k != "name"}
    if isinstance(config, (list, tuple)):
        return [_without_names(v) for v in config]
    return config


def _logs_key(model, x):
    """What fixes the structure of ``model.train_step``'s logs: its class, its config (names
    aside), the part it trains (``training_stage``) and the data's row shape; None when the config cannot be
    read (the loop then learns the structure from a first step, every time)."""
    try:
        config = json.dumps(_without_names(model.get_config()), sort_keys=True, default=repr)
    except (NotImplementedError, TypeError, ValueError):
        return None
    return (type(model), config, str(getattr(model, "training_stage", None)),
            tuple(x.shape[1:]))


def _batch_loop(model, batch_size):
    """The model's compiled loop ``(x, order, first, last)`` running ``model.train_step`` on
    batches ``first .. last - 1`` (``first < last``) of the rows ``order`` of ``x`` and
    returning the last step's logs: traced once per model,
    batch size, optimizer and product dtype, and per shape of ``x`` (a second fit of the same
    model on data of the same shape reuses the trace; a recompiled optimizer retraces).

    Without autograph (tfrbm's steps use explicit ``tf.cond``/``tf.while_loop``); batches are
    consecutive slices of ``batch_size`` rows of ``order``, the last holding the remainder."""
    # a model whose step trains different parts in turn (a DBN: one layer at a time) names the
    # part in ``training_stage``; each part gets its own loop, since the trace bakes it in
    key = (int(batch_size), str(getattr(getattr(model, "layer", None), "matmul_dtype", "")),
           getattr(model, "training_stage", None))
    loops = _LOOPS.setdefault(model, {})
    entry = loops.get(key)
    if entry is not None and entry[0] is model.optimizer:
        return entry[1]
    batch_size = int(batch_size)

    def loop(x, order, first, last):
        n = tf.shape(order, out_type=tf.int64)[0]

        def step(b):
            return model.train_step(tf.gather(x, order[b * batch_size:
                                                       tf.minimum((b + 1) * batch_size, n)]))

        # the loop carries the last step's logs out, as Keras' train function returns them
        # (first < last, so at least one step runs). Their structure comes from an earlier
        # model of the same class, config and data width; the first such model runs its first
        # step outside the loop to learn it, which traces the step twice
        key = _logs_key(model, x)
        specs = _LOG_SPECS.get(key) if key is not None else None
        if specs is None:
            logs = step(first)
            if key is not None:
                if len(_LOG_SPECS) >= _MAX_LOG_SPECS:     # a long search: forget the oldest kind
                    del _LOG_SPECS[next(iter(_LOG_SPECS))]
                _LOG_SPECS[key] = tf.nest.map_structure(
                    lambda t: tf.TensorSpec(t.shape, t.dtype), logs)
            start = first + 1
        else:
            logs = tf.nest.map_structure(lambda spec: tf.zeros(spec.shape, spec.dtype), specs)
            start = first
        return tf.while_loop(lambda b, logs: b < last, lambda b, logs: (b + 1, step(b)),
                             (start, logs))[1]

    # one trace per model (the step closes over it): exempt from TF's cross-call retracing
    # count, which would warn after five fits (a GridSearchCV) (tfrbm.tracing)
    compiled = mark_traced_once(tf.function(loop, autograph=False))
    loops[key] = (model.optimizer, compiled)
    return compiled


def compiled_loops(model):
    """The compiled batch loops cached for ``model`` (see :func:`_batch_loop`), e.g. to check
    that they are traced once and marked by :func:`tfrbm.tracing.mark_traced_once`."""
    return [compiled for _, compiled in _LOOPS.get(model, {}).values()]


def _prepare(model, x, seed):
    if seed is None:
        seed = int(np.random.randint(0, 2 ** 31 - 1))
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    return tf.convert_to_tensor(x, dtype=tf.float32), seed


def train_in_memory(model, x, epochs, batch_size, shuffle=True, seed=None, verbose=0,
                    what="training", monitor=None):
    """Run ``model.train_step`` over the rows of the in-memory array ``x``: each epoch is one
    call into one compiled ``tf.while_loop`` over its batches (:func:`_batch_loop`, cached).

    For small data, where ``fit``'s fixed costs dominate (a tf.data pipeline and its iterator
    per epoch, Keras' callbacks and autograph-traced multi-step function): on the 1,347 digits
    of benchmarks/bench_sklearn.py they were about 90% of a 2 s ``fit``. The step is the
    model's own ``train_step`` (its CD update, optimizer, seed stream and metrics).

    Batches are consecutive slices of ``batch_size`` rows of a permutation of the rows, drawn
    per epoch from ``(seed, epoch)`` (``shuffle=False``: the rows in order); the last batch of
    an epoch holds the remainder, as in ``fit``. The model must be compiled (its optimizer is
    built here) and initialised for the data; ``x`` is validated by the caller (the model's
    step still runs its own per-batch check). ``verbose``: 0 silent, else
    one line per epoch with the epoch's mean logs (of ``monitor``, default the model: the
    Keras model whose metrics the step updates). Returns the last epoch's logs as floats.
    """
    n = int(x.shape[0])
    n_batches = -(-n // int(batch_size))
    x, seed = _prepare(model, x, seed)
    monitor = model if monitor is None else monitor
    loop = _batch_loop(model, batch_size)
    first, last = tf.constant(0, tf.int64), tf.constant(n_batches, tf.int64)
    logs = {}
    for epoch in range(int(epochs)):
        monitor.reset_metrics()
        if shuffle:
            order = tf.argsort(tf.random.stateless_uniform(
                (n,), tf.constant([seed, epoch], tf.int64)))
        else:
            order = tf.range(n)
        loop(x, order, first, last)
        logs = {k: float(v) for k, v in monitor.get_metrics_result().items()}
        if verbose:
            shown = " - ".join(f"{k}: {v:.4g}" for k, v in logs.items())
            print(f"{what} epoch {epoch + 1}/{epochs}: {n_batches} steps - {shown}",
                  file=sys.stdout, flush=True)
    return logs


#: ``fit`` arguments :func:`fit_arrays` handles (any other one keeps Keras' loop)
_FIT_ARGUMENTS = {"batch_size", "epochs", "verbose", "callbacks", "shuffle", "initial_epoch"}


def fits_in_memory(model, x, y, kwargs):
    """Whether ``fit(x, y, **kwargs)`` can run :func:`fit_arrays`: an in-memory array without
    targets, validation, weights or ``steps_per_epoch``, callbacks given as a list (not a
    ``CallbackList``) none of which needs single steps (:func:`single_step_reason`), one
    replica, no XLA and no eager debugging."""
    if isinstance(x, tf.data.Dataset) or y is not None:
        return False
    if any(value is not None and name not in _FIT_ARGUMENTS
           and not (name == "validation_split" and not value)
           and not (name == "validation_freq" and value == 1)
           for name, value in kwargs.items()):
        return False
    callbacks = kwargs.get("callbacks")
    if isinstance(callbacks, keras.callbacks.CallbackList):
        return False
    # a callback that needs single steps may also drive Keras' train function itself
    # (tfrbm.resume.TrainingBackup skips the done batches of a resumed epoch through it)
    if any(single_step_reason(cb) is not None for cb in _as_list(callbacks)):
        return False
    if tf.distribute.has_strategy() or getattr(model.distribute_strategy,
                                               "num_replicas_in_sync", 1) > 1:
        return False
    return not (model.jit_compile is True or model.run_eagerly)


def fit_arrays(model, x, *, epochs=1, batch_size=None, shuffle=True, seed=None, verbose="auto",
               callbacks=None, initial_epoch=0):
    """Keras' ``fit`` loop over an in-memory array, without the tf.data pipeline.

    Callbacks, History, the progress bar, ``initial_epoch`` and ``stop_training`` behave as in
    ``keras.Model.fit`` (its loop is mirrored: the same hooks, in the same order, with the same
    step numbers): each call into the compiled loop (:func:`_batch_loop`) runs
    ``model.steps_per_execution`` steps, then the batch hooks see its first and last step, as
    Keras calls them. The batches are those of ``tfrbm.data.make_dataset(..., epoch=e)``: a
    permutation keyed on ``(seed, epoch)`` by ``index_shuffle`` (``shuffle=False``: in order),
    consecutive slices of ``batch_size`` rows (default 32), so the updates are bit for bit
    those of Keras' loop over that pipeline (tests/test_speed_paths.py). ``x`` is validated
    by the caller. Returns the History."""
    n = int(x.shape[0])
    batch_size = int(batch_size or 32)
    steps = -(-n // batch_size)
    per_call = max(1, int(model.steps_per_execution))
    x, seed = _prepare(model, x, seed)
    loop = _batch_loop(model, batch_size)
    callbacks = keras.callbacks.CallbackList(
        callbacks, add_history=True, add_progbar=verbose != 0, verbose=verbose,
        epochs=epochs, steps=steps, model=model)
    model.stop_training = False
    model._eval_epoch_iterator = None
    callbacks.on_train_begin()
    training_logs, logs = None, {}
    initial_epoch = model._initial_epoch or initial_epoch
    index = tf.range(n, dtype=tf.int64)
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        callbacks.on_epoch_begin(epoch)
        order = index
        if shuffle and n > 1:
            order = tf.random.experimental.index_shuffle(
                index, seed=tf.constant([seed, epoch], tf.int64), max_index=n - 1)
        for begin in range(0, steps, per_call):
            callbacks.on_train_batch_begin(begin)
            logs = loop(x, order, tf.constant(begin, tf.int64),
                        tf.constant(min(begin + per_call, steps), tf.int64))
            callbacks.on_train_batch_end(begin + per_call - 1, logs)
            if model.stop_training:
                break
        epoch_logs = dict(model._get_metrics_result_or_logs(logs))
        callbacks.on_epoch_end(epoch, epoch_logs)
        training_logs = epoch_logs
        if model.stop_training:
            break
    if isinstance(model.optimizer, keras.optimizers.Optimizer) and epochs > 0:
        model.optimizer.finalize_variable_values(model.trainable_weights)
    model._eval_epoch_iterator = None
    callbacks.on_train_end(logs=training_logs)
    return model.history
