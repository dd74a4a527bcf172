"""Stock Keras callbacks on a DBN's greedy pre-training: one ``fit``, one layer after another.

A DBN's ``fit`` trains layer 1 for its epochs, then layer 2, ... in one Keras ``fit`` (epochs
are numbered over all layers; the logs carry ``layer``). Each layer has its own optimizer;
``model.optimizer`` is a template that the layers' optimizers were copied from. What the stock
callbacks do there:

* **Learning-rate callbacks** (``ReduceLROnPlateau``, ``LearningRateScheduler``, anything that
  sets ``model.optimizer.learning_rate``) act on the layer being trained: when a layer starts,
  ``model.optimizer.learning_rate`` shows that layer's rate, and a rate a callback sets there
  is passed on to that layer's optimizer (at each epoch's start and end). A layer whose
  optimizer follows a ``LearningRateSchedule`` cannot take a rate: a warning says so.
  ``LearningRateScheduler``'s ``epoch`` counts over all layers.
* **Per layer:** ``ReduceLROnPlateau`` starts afresh with each layer (the layers' losses are
  on different scales: the next layer's first epoch is not a plateau of the last one's).
* **Final layer only:** ``EarlyStopping`` and ``ModelCheckpoint(save_best_only=True)`` watch
  the epochs of the last layer trained by the ``fit``, starting afresh there: stopping earlier
  would leave the layers above untrained, and a checkpoint is never "best" while a layer is
  untrained. Given to a fit of several layers, they warn once that this is what they do.
  ``ModelCheckpoint`` without ``save_best_only`` saves every epoch, as usual.
* **History:** the ``History`` has one entry per epoch with ``layer``; ``DBNModel.histories``
  holds one ``History`` per layer after ``fit``.
* Every other callback sees every epoch and batch, unchanged.
"""
import warnings

import keras
import numpy as np

__all__ = ["stage_callbacks"]


def _rate(optimizer):
    return float(np.asarray(keras.ops.convert_to_numpy(optimizer.learning_rate)))


def _set_rate(optimizer, value):
    """Set a plain learning rate; False when the optimizer follows a schedule."""
    try:
        optimizer.learning_rate = value
    except (TypeError, ValueError):
        return False
    return True


def _final_stage_only(callback):
    return (isinstance(callback, keras.callbacks.EarlyStopping)
            or (isinstance(callback, keras.callbacks.ModelCheckpoint)
                and getattr(callback, "save_best_only", False)))


def _per_layer(callback):
    return isinstance(callback, keras.callbacks.ReduceLROnPlateau)


class _FinalStage(keras.callbacks.Callback):
    """Forwards epoch and batch hooks to ``callback`` during the final stage only; it starts
    afresh there (as at the start of a ``fit``). Train begin/end always reach it."""

    def __init__(self, callback):
        super().__init__()
        self.callback = callback
        self.active = False
        self._initial_best = getattr(callback, "best", None)

    def set_model(self, model):
        super().set_model(model)
        self.callback.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        self.callback.set_params(params)

    def start(self):
        self.active = True
        if isinstance(self.callback, keras.callbacks.EarlyStopping):
            self.callback.on_train_begin()
        else:
            self.callback.best = self._initial_best

    def on_train_begin(self, logs=None):
        self.active = False
        self.callback.on_train_begin(logs)

    def on_train_end(self, logs=None):
        self.callback.on_train_end(logs)


def _forward(name):
    def hook(self, *args, **kwargs):
        if self.active:
            return getattr(self.callback, name)(*args, **kwargs)
    hook.__name__ = name
    return hook


for _name in ("on_epoch_begin", "on_epoch_end", "on_train_batch_begin", "on_train_batch_end",
              "on_batch_begin", "on_batch_end"):
    setattr(_FinalStage, _name, _forward(_name))


class _Stages:
    """The state shared by the two callbacks that frame the user's: which layer trains, the
    rate last passed between the template and that layer's optimizer."""

    def __init__(self, dbn, schedule, per_layer, final_only):
        self.dbn, self.schedule = dbn, list(schedule)
        self.per_layer, self.final_only = per_layer, final_only
        self.layer, self.synced, self.warned = None, None, set()

    def begin_epoch(self, epoch):
        layer = self.schedule[min(epoch, len(self.schedule) - 1)]
        if layer == self.layer:
            return
        self.layer = layer
        template = self.dbn.optimizer
        rate = _rate(self.dbn.trainers[layer].optimizer)
        self.synced = rate if _set_rate(template, rate) else None
        for callback in self.per_layer:
            callback.on_train_begin()
        if layer == self.schedule[-1]:
            for wrapper in self.final_only:
                wrapper.start()

    def push_rate(self):
        """A rate a callback set on the template goes to the trained layer's optimizer."""
        if self.layer is None or self.synced is None:
            return
        rate = _rate(self.dbn.optimizer)
        if rate == self.synced:
            return
        self.synced = rate
        if not _set_rate(self.dbn.trainers[self.layer].optimizer, rate) \
                and self.layer not in self.warned:
            self.warned.add(self.layer)
            warnings.warn(
                f"a callback set the learning rate to {rate:.4g}, but layer {self.layer + 1}'s "
                "optimizer follows a LearningRateSchedule, which a callback cannot change; "
                "that layer keeps its schedule", UserWarning, stacklevel=2)


class _StageStart(keras.callbacks.Callback):
    def __init__(self, stages):
        super().__init__()
        self.stages = stages

    def on_epoch_begin(self, epoch, logs=None):
        self.stages.begin_epoch(epoch)


class _RateSync(keras.callbacks.Callback):
    def __init__(self, stages):
        super().__init__()
        self.stages = stages

    def on_epoch_begin(self, epoch, logs=None):
        self.stages.push_rate()

    def on_epoch_end(self, epoch, logs=None):
        self.stages.push_rate()


def stage_callbacks(dbn, schedule, first, callbacks):
    """The callback list of a DBN ``fit``: ``first`` (the layer switch), the stage start, the
    user's ``callbacks`` as the module docstring says, and the rate hand-over last.

    ``schedule[e]`` is the layer trained in epoch ``e``."""
    callbacks = list(callbacks or [])
    n_stages = len(set(schedule))
    adapted, final_only = [], []
    for callback in callbacks:
        if _final_stage_only(callback):
            wrapper = _FinalStage(callback)
            final_only.append(wrapper)
            adapted.append(wrapper)
            if n_stages > 1:
                warnings.warn(
                    f"{type(callback).__name__} on a DBN acts on the epochs of the last layer "
                    f"trained (layer {schedule[-1] + 1}) only: stopping or keeping a 'best' "
                    "model earlier would leave the layers above untrained "
                    "(see tfrbm.stages)", UserWarning, stacklevel=3)
        else:
            adapted.append(callback)
    stages = _Stages(dbn, schedule, [c for c in callbacks if _per_layer(c)], final_only)
    return [first, _StageStart(stages)] + adapted + [_RateSync(stages)]
