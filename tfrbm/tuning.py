"""keras-tuner HyperModels for the RBM and the DBN classifier.

    import keras_tuner as kt
    hypermodel = RBMHyperModel(units=(64, 128, 256))
    tuner = kt.RandomSearch(hypermodel, objective=hypermodel.get_objective(),
                            max_trials=10, directory="tuning", project_name="rbm_mnist")
    tuner.search(x_train, validation_data=x_val, epochs=5)
    best = tuner.get_best_models(1)[0]

The RBM has no loss to validate, so :class:`RBMHyperModel` scores a trial on held-out data with
the pseudo-log-likelihood (``val_pseudo_log_likelihood``, higher is better; PLL(v) ~= n_visible *
log sigmoid(F(v with one unit flipped) - F(v))) and also reports the free-energy gap
mean F(val) - mean F(train slice) and the reconstruction error; pass ``objective="free_energy_gap"``
to minimise |gap| instead (useful for Gaussian visible units, where the PLL is undefined).

The course companions' hypermodels (the CNN and the LSTM language model) are in
:mod:`tfrbm.course.tuning`; they share :func:`hypermodel_base` and :func:`search_values`.
"""
import keras
import numpy as np

from tfrbm import monitors
from tfrbm.data.pipeline import check_array
from tfrbm.errors import UserError
from tfrbm.layers import RBMLayer
from tfrbm.models.dbn import DBNModel
from tfrbm.models.rbm import RBMModel

__all__ = ["RBMHyperModel", "TuningDataError", "DBNClassifierHyperModel", "tuner_objective",
           "hypermodel_base", "search_values"]

_OBJECTIVES = {"pseudo_log_likelihood": ("val_pseudo_log_likelihood", "max"),
               "free_energy_gap": ("abs_free_energy_gap", "min"),
               "reconstruction_error": ("val_reconstruction_error", "min")}


def tuner_objective(name="pseudo_log_likelihood"):
    """The keras_tuner.Objective matching an :class:`RBMHyperModel` objective name."""
    import keras_tuner as kt
    if name not in _OBJECTIVES:
        raise UserError(f"unknown objective {name!r}; choose one of {sorted(_OBJECTIVES)}")
    return kt.Objective(*_OBJECTIVES[name])


def hypermodel_base():
    """keras_tuner.HyperModel (keras-tuner is optional: imported when a hypermodel is defined)."""
    import keras_tuner as kt
    return kt.HyperModel


def _fatal_base():
    import keras_tuner as kt
    return kt.errors.FatalError


class TuningDataError(UserError, _fatal_base()):
    """Bad search data (empty, wrong width, NaN/Inf): a user mistake that no other trial can fix,
    so keras-tuner stops the search with this message instead of recording failed trials."""


def _checked(x, name, n_features=None):
    try:
        return check_array(x, name=name, n_features=n_features)
    except UserError as exc:
        raise TuningDataError(str(exc)) from None


def search_values(name, values):
    """``values`` as a list of the choices to search; a UserError when there is none."""
    values = list(values)
    if not values:
        raise UserError(f"{name} needs at least one value to search")
    return values


class RBMHyperModel(hypermodel_base()):
    """Searches hidden units, learning rate, CD-k, persistent or not and weight decay.

    Args:
        units, cd_k, weight_decay: the values to choose from.
        learning_rate: (low, high), sampled log-uniformly.
        persistent: values of the ``persistent`` flag to try (``(False, True)`` by default).
        visible: the visible unit family passed to :class:`tfrbm.RBMLayer`.
        objective: ``"pseudo_log_likelihood"`` (default), ``"free_energy_gap"`` or
            ``"reconstruction_error"``; :meth:`get_objective` gives the tuner's Objective.
        batch_size, momentum, n_chains, seed: fixed training settings.

    ``fit(hp, model, x, validation_data=x_val, epochs=...)`` trains by CD and returns the
    History, whose epochs also hold "val_pseudo_log_likelihood", "free_energy_gap",
    "abs_free_energy_gap" and "val_reconstruction_error" measured on the validation rows (the
    tuner scores a trial by its best epoch and checkpoints that epoch's weights).
    """

    def __init__(self, units=(32, 64, 128), learning_rate=(1e-3, 0.3), cd_k=(1, 3),
                 persistent=(False, True), weight_decay=(0.0, 1e-4, 1e-3), visible="bernoulli",
                 objective="pseudo_log_likelihood", batch_size=100, momentum=0.5, n_chains=100,
                 n_visible=None, seed=0, name="rbm", **kwargs):
        super().__init__(name=name, **kwargs)
        if objective not in _OBJECTIVES:
            raise UserError(f"unknown objective {objective!r}; choose one of {sorted(_OBJECTIVES)}")
        lo, hi = (float(v) for v in learning_rate)
        if not 0 < lo <= hi:
            raise UserError(f"learning_rate must be a (low, high) range with 0 < low <= high, got {learning_rate!r}")
        self.units = search_values("units", units)
        self.learning_rate = (lo, hi)
        self.cd_k = search_values("cd_k", cd_k)
        self.persistent = search_values("persistent", persistent)
        self.weight_decay = search_values("weight_decay", weight_decay)
        self.visible = visible
        self.objective_name = objective
        self.batch_size = int(batch_size)
        self.momentum = float(momentum)
        self.n_chains = int(n_chains)
        self.n_visible = None if n_visible is None else int(n_visible)
        self.seed = seed

    def get_objective(self):
        """The keras_tuner.Objective for this hypermodel's ``objective``."""
        return tuner_objective(self.objective_name)

    def build(self, hp):
        units = hp.Choice("units", self.units)
        lr = hp.Float("learning_rate", *self.learning_rate, sampling="log") \
            if self.learning_rate[0] < self.learning_rate[1] else self.learning_rate[0]
        cd_k = hp.Choice("cd_k", self.cd_k)
        persistent = hp.Choice("persistent", [bool(p) for p in self.persistent])
        weight_decay = hp.Choice("weight_decay", [float(w) for w in self.weight_decay])
        model = RBMModel(RBMLayer(int(units), visible=self.visible), cd_k=int(cd_k),
                         persistent=bool(persistent), n_chains=self.n_chains,
                         weight_decay=float(weight_decay), seed=self.seed)
        model.compile(optimizer=keras.optimizers.SGD(lr, momentum=self.momentum))
        if self.n_visible is not None:
            # built, optimizer included, so that the tuner loads a checkpoint's weights and
            # optimizer state (get_best_models) without "Skipping variable loading for optimizer"
            model.build((None, self.n_visible))
            model.optimizer.build(model.trainable_variables)
        return model

    def fit(self, hp, model, x, validation_data=None, epochs=5, batch_size=None, verbose=0,
            callbacks=None, **kwargs):
        if validation_data is None:
            raise UserError("RBMHyperModel.fit needs validation_data (held-out visible rows)")
        val = validation_data[0] if isinstance(validation_data, (tuple, list)) else validation_data
        x = _checked(x, "x (training rows)")
        val = _checked(val, "validation_data", n_features=x.shape[-1])
        kwargs.pop("y", None)
        if self.n_visible is None:
            self.n_visible = int(x.shape[-1])
        callbacks = list(callbacks or [])
        for callback in callbacks:
            _declare_tuner_batch_hooks(callback)
        # the monitors go into each epoch's logs BEFORE keras-tuner's own callbacks (its
        # best-epoch checkpoint reads the objective there) and the History, which the tuner scores
        return model.fit(x, epochs=epochs, batch_size=batch_size or self.batch_size,
                         verbose=verbose, callbacks=[_MonitorLogs(x[:len(val)], val)]
                         + callbacks, **kwargs)


def _declare_tuner_batch_hooks(callback):
    """keras-tuner's ``TunerCallback`` forwards every batch to its tuner's ``on_batch_begin``/
    ``on_batch_end``, which ``kt.Tuner`` leaves empty: unless the tuner's class overrides them,
    the callback works at any number of steps per graph call, so it keeps ``fit``'s fast path
    (:mod:`tfrbm.fastpath`) instead of forcing one step per call."""
    import keras_tuner as kt
    try:
        from keras_tuner.src.engine.tuner_utils import TunerCallback
    except ImportError:              # another keras-tuner layout: the safe default (one step)
        return
    if not isinstance(callback, TunerCallback) or hasattr(callback, "needs_single_steps"):
        return
    tuner = type(callback.tuner)
    hooks_used = (tuner.on_batch_begin is not kt.Tuner.on_batch_begin
                  or tuner.on_batch_end is not kt.Tuner.on_batch_end)
    callback.needs_single_steps = bool(hooks_used)


def _monitor_values(model, train_slice, val):
    gap = monitors.free_energy_gap(model, train_slice, val)
    out = {"free_energy_gap": gap, "abs_free_energy_gap": abs(gap),
           "val_reconstruction_error": monitors.reconstruction_error(model, val)}
    if model.layer.visible_units.name == "bernoulli":
        out["val_pseudo_log_likelihood"] = float(np.mean(
            monitors.pseudo_log_likelihood(model, val, seed=0)))
    return out


class _MonitorLogs(keras.callbacks.Callback):
    """Writes the held-out monitors into each epoch's logs (so checkpoints can track them)."""

    def __init__(self, train_slice, val):
        super().__init__()
        self.train_slice, self.val = train_slice, val

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs.update(_monitor_values(self.model, self.train_slice, self.val))


class DBNClassifierHyperModel(hypermodel_base()):
    """Searches the DBN's layer sizes, pre-training epochs and the fine-tuning learning rate.

    ``fit(hp, model, x, y, validation_data=(x_val, y_val), epochs=...)`` pre-trains the stack
    greedily (unlabelled), converts it to a classifier and fine-tunes it; returns the
    classifier's History (objective ``val_accuracy``).
    """

    def __init__(self, n_classes=10, layer_sizes=((64,), (128, 64)), pretrain_epochs=(1, 3),
                 learning_rate=(1e-4, 1e-2), batch_size=64, seed=0, name="dbn_classifier", **kwargs):
        super().__init__(name=name, **kwargs)
        self.n_classes = int(n_classes)
        self.layer_sizes = [tuple(int(u) for u in s) for s in search_values("layer_sizes", layer_sizes)]
        self.pretrain_epochs = search_values("pretrain_epochs", pretrain_epochs)
        self.learning_rate = tuple(float(v) for v in learning_rate)
        self.batch_size = int(batch_size)
        self.seed = seed

    def build(self, hp):
        index = hp.Choice("layer_sizes", list(range(len(self.layer_sizes))))
        hp.Choice("pretrain_epochs", self.pretrain_epochs)
        hp.Float("learning_rate", *self.learning_rate, sampling="log")
        return DBNModel([RBMLayer(u) for u in self.layer_sizes[index]], seed=self.seed)

    def fit(self, hp, model, x, y=None, validation_data=None, epochs=5, batch_size=None,
            verbose=0, callbacks=None, **kwargs):
        model.pretrain(np.asarray(x, np.float32), epochs=hp.get("pretrain_epochs"),
                       batch_size=batch_size or self.batch_size, verbose=0)
        clf = model.to_classifier(self.n_classes, compile=False)
        clf.compile(optimizer=keras.optimizers.Adam(hp.get("learning_rate")),
                    loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return clf.fit(x, y, validation_data=validation_data, epochs=epochs,
                       batch_size=batch_size or self.batch_size, verbose=verbose,
                       callbacks=callbacks, **kwargs)
