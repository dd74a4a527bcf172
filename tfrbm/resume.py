"""Resumable training: a BackupAndRestore that survives SIGKILL mid-epoch and resumes exactly.

Keras' ``BackupAndRestore`` (Keras 3) saves ``model.save_weights`` plus the epoch, and on restart
starts again at the *beginning* of the interrupted epoch. ``save_weights`` holds the model's own
variables (for RBMModel: the weights, the persistent chains, the ``initialized`` flag, the
sparsity running mean) and the optimizer's (iterations, momentum slots). Keras leaves out the
state of ``keras.random.SeedGenerator`` objects (RBMModel now adds its own; DBNModel's and
Dropout layers' are still left out), so a resumed model could replay old random numbers.
:class:`TrainingBackup` closes those gaps:

* it also saves every SeedGenerator state of the model (the RNG of the Gibbs sampler);
* it records how many batches of the current epoch were done and, on resume, skips exactly those
  batches (they are drawn from the data iterator and discarded) so that with the same data order
  (``shuffle=False`` or a seeded tf.data pipeline) the resumed run matches an uninterrupted one;
* it writes the weights and the metadata atomically (the metadata rename is the commit point),
  so a kill during a backup leaves the previous backup usable; it never backs up NaN weights;
* it treats its metadata file as untrusted data: file names in it must be plain names inside the
  backup folder (no ``..``, absolute paths or symlinks leading out), else it refuses before
  loading or deleting anything;
* it keeps tracking the epoch after a resume (Keras' callback restarts its count at 0).

:class:`DBNPretrainBackup` is the same callback under its older name: ``DBNModel.fit`` trains
every layer in one Keras ``fit``, which TrainingBackup resumes exactly.
"""
import json
import os
import pathlib
import warnings

import keras
import numpy as np
import tensorflow as tf

from tfrbm.backupdir import check_backup_dir, claim_backup_dir, is_backup_file, remove_backup
from tfrbm.data.pipeline import make_dataset
from tfrbm.errors import UserError
from tfrbm.safety import atomic_path, non_finite_variables

__all__ = ["TrainingBackup", "DBNPretrainBackup", "EpochCounter", "epoch_keyed_dataset", "SeedStateMixin", "backup_file",
           "seed_generator_states", "set_seed_generator_states", "read_backup_metadata"]

_META = "training_metadata.json"


# ----------------------------------------------------------------------------- RNG state
def _seed_state_variables(model):
    return [v for v in model.variables if "seed_generator_state" in (getattr(v, "path", "") or v.name)]


def seed_generator_states(model):
    """[(path, state array)] of every keras.random.SeedGenerator tracked by ``model``, in order."""
    return [(v.path, keras.ops.convert_to_numpy(v)) for v in _seed_state_variables(model)]


def set_seed_generator_states(model, states):
    """Restore states from :func:`seed_generator_states` (matched by position; paths checked)."""
    variables = _seed_state_variables(model)
    if len(variables) != len(states):
        raise UserError(f"the backup holds {len(states)} random-generator states but the model "
                         f"has {len(variables)}: it is not the model that was backed up")
    for variable, (path, value) in zip(variables, states):
        if tuple(variable.shape) != tuple(np.shape(value)):
            raise UserError(f"random-generator state {path} has shape {np.shape(value)}, the "
                             f"model's {variable.path} has {tuple(variable.shape)}")
        variable.assign(value)


class SeedStateMixin:
    """Saves a model's own ``self.seed_generator`` state with its weights (``.keras`` and
    ``save_weights``), so that a restored model continues its random stream instead of
    replaying the noise it has already drawn."""

    _SEED_KEY = "seed_generator_state"

    def next_seed(self, seed=None):
        """The stateless samplers' seed tensor: the next of the model's own stream (``seed``
        None, so repeated calls differ) or ``[seed, 0]`` (the same draw for the same seed)."""
        if seed is None:
            return self.seed_generator.next()
        return tf.constant([int(seed), 0], dtype=tf.int64)

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store[self._SEED_KEY] = keras.ops.convert_to_numpy(self.seed_generator.state)

    def load_own_variables(self, store):
        keys = list(store.keys())
        if self._SEED_KEY in keys:
            self.seed_generator.state.assign(store[self._SEED_KEY])
            store = {k: store[k] for k in keys if k != self._SEED_KEY}
        super().load_own_variables(store)


def read_backup_metadata(backup_dir):
    """The metadata of the latest backup in ``backup_dir`` (a dict), or None if there is none."""
    path = pathlib.Path(backup_dir) / _META
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"backup metadata {path} is unreadable ({exc}); delete {backup_dir} "
                         "to start training from scratch") from None


def backup_file(backup_dir, name, what="file"):
    """The path of ``name`` inside ``backup_dir``, refusing any name that could point elsewhere.

    The metadata file is data, not code: a name with a path separator, ``.``/``..``, an absolute
    path, or a symlink (which could lead out of the folder) is refused with UserError before
    anything is loaded or deleted.
    """
    folder = pathlib.Path(backup_dir)
    if (not isinstance(name, str) or not name or name in (".", "..") or "/" in name
            or "\\" in name or "\0" in name or os.path.isabs(name)
            or pathlib.PurePath(name).name != name):
        raise UserError(f"backup metadata in {folder} names the {what} {name!r}, which is not a "
                         "plain file name inside the backup folder; refusing to use it (delete "
                         f"{folder} to start training from scratch)")
    path = folder / name
    if path.is_symlink() or (path.exists() and
                             path.resolve().parent != folder.resolve()):
        raise UserError(f"backup {what} {path} is a symlink or leads outside {folder}; refusing "
                         f"to use it (delete {folder} to start training from scratch)")
    return path


def _check_count(meta, key, folder):
    value = meta.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UserError(f"backup metadata in {folder}: {key} must be an integer >= 0, got "
                         f"{value!r}; delete {folder} to start training from scratch")
    return value


def _write_json(path, data):
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data))


# ----------------------------------------------------------------------------- epoch-keyed data
class EpochCounter(keras.callbacks.Callback):
    """Holds the epoch number ``fit`` is in, for pipelines whose order depends on (seed, epoch).

    ``variable`` (a non-trainable int64 ``tf.Variable``, not part of any model) is set in
    ``on_epoch_begin`` to the epoch Keras runs, which after a resume by ``BackupAndRestore`` or
    :class:`TrainingBackup` is the resumed epoch. Pass it to
    ``tfrbm.data.pipeline.make_dataset(..., epoch=counter.variable)`` and to ``fit``'s callbacks;
    ``RBMModel.fit`` on arrays does both itself.
    """

    def __init__(self):
        super().__init__()
        with tf.init_scope():
            self.variable = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch_counter")

    def on_epoch_begin(self, epoch, logs=None):
        self.variable.assign(int(epoch))


def epoch_keyed_dataset(x, y=None, callbacks=None, **kwargs):
    """``(dataset, callbacks)`` for ``fit``: :func:`make_dataset` keyed on the epoch ``fit`` runs.

    Each epoch's order (and stochastic binarization) is a function of (seed, epoch), so a fit
    resumed from a backup at epoch e sees the uninterrupted run's epoch e, not epoch 0's order
    again. Pass both to ``fit``: the callbacks are ``callbacks`` plus the :class:`EpochCounter`
    the dataset reads. A ``keras.callbacks.CallbackList`` (no place for the counter) keeps the
    per-pass reshuffle.
    """
    if callbacks is not None and not isinstance(callbacks, (list, tuple)):
        return make_dataset(x, y, **kwargs), callbacks
    counter = EpochCounter()
    return (make_dataset(x, y, epoch=counter.variable, **kwargs),
            [*(callbacks or []), counter])


# ----------------------------------------------------------------------------- batch skipping
def _skip_batches(model, n, before_first=None):
    """Make the next ``n`` calls of ``model.train_function`` draw a batch and discard it."""
    original = model.train_function
    state = {"left": int(n), "first": True}

    def skipping(iterator):
        if state["left"] <= 0:
            model.train_function = original
            return original(iterator)
        if state["first"] and before_first is not None:
            before_first()
        state["first"] = False
        next(iterator)
        state["left"] -= 1
        if state["left"] <= 0:
            model.train_function = original
        return {}

    model.train_function = skipping
    return state


class TrainingBackup(keras.callbacks.BackupAndRestore):
    """Back up the complete training state every epoch or every ``save_freq`` steps; resume exactly.

    Args:
        backup_dir: folder for this run's backup only: a new or empty folder (created and
            marked as a tfrbm backup), or the folder of an earlier tfrbm backup. A folder holding
            anything else is refused (UserError), so a user's files are never in it.
        save_freq: ``"epoch"`` or an integer number of training steps between backups.
        delete_checkpoint: remove the backup when ``fit`` completes (default True): only the
            files the backup wrote are deleted, by name (:func:`tfrbm.backupdir.remove_backup`),
            and the folder itself only when it is then empty and the backup created it.

    Use it like ``keras.callbacks.BackupAndRestore``: pass it to ``fit`` and, after a crash, run
    the same script again. The model must be built (RBMModel builds itself in ``fit``).
    Metrics of the resumed epoch only average the batches run after the resume.
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)
                                     or save_freq < 1):
            raise UserError(f"save_freq must be 'epoch' or a positive integer, got {save_freq!r}")
        check_backup_dir(backup_dir, "backup folder")
        super().__init__(backup_dir, save_freq=save_freq, delete_checkpoint=delete_checkpoint)
        self.backup_dir = str(backup_dir)
        self._epoch = 0
        self._batches_done = 0
        self._since_save = 0
        self._skipping = None
        self.restored_from = None

    # -- state files
    def _meta_path(self):
        return pathlib.Path(self.backup_dir) / _META

    def _save_model(self, epoch_done=False):
        bad = non_finite_variables(self.model)
        if bad:
            warnings.warn(f"backup skipped at epoch {self._epoch + 1}, step {self._batches_done}: "
                          f"NaN/Inf in {', '.join(bad)}; the previous backup is kept",
                          RuntimeWarning, stacklevel=2)
            return
        folder = claim_backup_dir(self.backup_dir, "backup folder")
        old = read_backup_metadata(folder) or {}
        serial = int(old.get("serial", 0)) + 1
        weights = f"state-{serial}.weights.h5"
        rng = f"rng-{serial}.npz"
        with atomic_path(folder / weights) as tmp:
            self.model.save_weights(str(tmp))
        states = seed_generator_states(self.model)
        with atomic_path(folder / rng) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **{f"s{i}": s for i, (_, s) in enumerate(states)})
        epoch, batches = (self._epoch + 1, 0) if epoch_done else (self._epoch, self._batches_done)
        _write_json(self._meta_path(), {
            "serial": serial, "epoch": epoch, "batches_done": batches, "weights": weights,
            "rng": rng, "rng_paths": [p for p, _ in states]})
        for name in (old.get("weights"), old.get("rng")):   # the commit is done: drop the old files
            # only a name of tfrbm's own pattern: tampered metadata naming a user's file in
            # the folder (say notes.txt) is never followed to delete it
            if name and name not in (weights, rng) and is_backup_file(str(name)):
                try:
                    backup_file(folder, name).unlink()
                except (FileNotFoundError, UserError):
                    pass   # a tampered name is never followed

    def _restore(self, meta):
        folder = pathlib.Path(self.backup_dir)
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(str(backup_file(folder, meta["weights"], "weights file")))
        with np.load(backup_file(folder, meta["rng"], "random-state file")) as data:
            states = [(p, data[f"s{i}"]) for i, p in enumerate(meta["rng_paths"])]
        set_seed_generator_states(self.model, states)

    # -- callback hooks
    def on_train_begin(self, logs=None):
        self._since_save = 0
        self._skipping = None
        claim_backup_dir(self.backup_dir, "backup folder")   # before anything is written there
        meta = read_backup_metadata(self.backup_dir)
        if meta is None:
            return
        folder = pathlib.Path(self.backup_dir)
        for key, what in (("weights", "weights file"), ("rng", "random-state file")):
            backup_file(folder, meta.get(key), what)
        _check_count(meta, "epoch", folder)
        _check_count(meta, "batches_done", folder)
        if not isinstance(meta.get("rng_paths"), list):
            raise UserError(f"backup metadata in {folder} has no list of random-state names; "
                             f"delete {folder} to start training from scratch")
        if not self.model.built:
            raise UserError("TrainingBackup needs a built model: build it (or call it on a batch) "
                             "before fit")
        self._restore(meta)
        epoch, done = int(meta["epoch"]), int(meta["batches_done"])
        steps = (self.params or {}).get("steps")
        if steps and done >= steps:
            epoch, done = epoch + 1, 0
        self.model._initial_epoch = epoch
        self.restored_from = {"epoch": epoch, "batches_done": done}
        if done:
            # other callbacks' on_epoch_begin (e.g. resetting an LSTM's states) run after this:
            # restore again just before the first skipped batch, then discard the done batches
            self._skipping = _skip_batches(self.model, done, before_first=lambda: self._restore(meta))

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._batches_done = 0

    def on_train_batch_end(self, batch, logs=None):
        self._batches_done = batch + 1
        if self._skipping is not None and self._skipping["left"] > 0:
            return   # the restored state is already past this batch
        if self.save_freq == "epoch":
            return
        self._since_save += 1
        if self._since_save >= self.save_freq:
            self._since_save = 0
            self._save_model()

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save_model(epoch_done=True)

    def on_train_end(self, logs=None):
        self.model._initial_epoch = None
        if self.model.stop_training and non_finite_variables(self.model):
            return   # diverged: keep the last good backup
        if self.delete_checkpoint:
            remove_backup(self.backup_dir)   # tfrbm's own files only, never the user's


class DBNPretrainBackup(TrainingBackup):
    """``TrainingBackup`` for a DBN (kept for older code; ``dbn`` is not needed any more).

    ``DBNModel.fit`` (and ``pretrain``, built on it) trains every layer in one Keras ``fit``, so
    the ordinary :class:`TrainingBackup` backs it up and resumes it exactly, mid-layer and
    mid-epoch included.
    """

    def __init__(self, dbn, backup_dir, save_freq="epoch", delete_checkpoint=True):
        super().__init__(backup_dir, save_freq=save_freq, delete_checkpoint=delete_checkpoint)
