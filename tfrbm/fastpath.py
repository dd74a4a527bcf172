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
import logging

import keras

from tfrbm import _compat

__all__ = ["single_step_reason", "choose_steps_per_execution", "check_steps_per_execution",
           "StepProgbar", "with_progbar"]

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
    from tfrbm.validation import Integral, Interval, Options, check_param
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
    """Keras' progress bar, with each batch index clipped to the real number of steps."""

    def _clip(self, batch):
        if self.target is not None and batch is not None:
            return min(batch, self.target - 1)
        return batch

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(self._clip(batch), logs)

    def on_test_batch_end(self, batch, logs=None):
        super().on_test_batch_end(self._clip(batch), logs)

    def on_predict_batch_end(self, batch, logs=None):
        super().on_predict_batch_end(self._clip(batch), logs)


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
