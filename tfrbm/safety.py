"""Training that fails loudly and saves safely: a divergence guard and atomic saves.

* :class:`StopOnNonFinite` checks the weights (and the batch metrics) every ``check_every``
  batches and ends ``fit`` with :class:`TrainingDivergedError` naming the epoch and step where a
  NaN or Inf first appeared; by default it puts back the last finite weights it saw.
* :func:`atomic_save` and :func:`atomic_save_weights` (and :func:`tfrbm.export.atomic_export`,
  which uses :func:`current_umask` and :func:`check_finite_weights` from here) write to a temporary
  path in the target's directory and then rename it over the target (``os.replace`` is atomic on
  POSIX), so a crash or SIGKILL mid-save leaves the previous file intact and loadable. They refuse
  to write weights that contain NaN or Inf (:class:`NonFiniteWeightsError`). The temporary is
  created exclusively (mkstemp) and written in place; a symlinked target is written through (the
  link stays a link); the target keeps its permission bits; temporaries left by a killed process
  are removed by the next save to the same target (see :func:`atomic_path`).
* :class:`AtomicSaveMixin` makes a model's own ``save`` go through :func:`atomic_save`; tfrbm's
  models (RBMModel, DBNModel) use it, so a plain ``model.save(path)`` is atomic and NaN-refusing.
* :class:`AtomicModelCheckpoint` is ``keras.callbacks.ModelCheckpoint`` with both properties.
"""
import contextlib
import math
import os
import pathlib
import re
import shutil
import stat
import tempfile
import warnings

import keras
import numpy as np

from tfrbm.errors import UserError
from tfrbm.validation import POSITIVE_INT, check_param

__all__ = [
    "AtomicModelCheckpoint",
    "AtomicSaveMixin",
    "NonFiniteWeightsError",
    "StopOnNonFinite",
    "TrainingDivergedError",
    "atomic_path",
    "atomic_save",
    "atomic_save_weights",
    "check_finite_weights",
    "current_umask",
    "check_learning_rate",
    "non_finite_variables",
    "remove_stale_temporaries",
]


class TrainingDivergedError(UserError, FloatingPointError):
    """Training produced NaN or Inf weights or metrics. ``epoch`` and ``step`` say where."""

    def __init__(self, message, epoch=None, step=None, global_step=None, names=()):
        super().__init__(message)
        self.epoch = epoch
        self.step = step
        self.global_step = global_step
        self.names = tuple(names)


class NonFiniteWeightsError(UserError):
    """A save was refused because the model's weights contain NaN or Inf."""


# ----------------------------------------------------------------------------- finiteness
def _variable_name(variable):
    return getattr(variable, "path", None) or getattr(variable, "name", "?")


def non_finite_variables(model, trainable_only=False):
    """Names of the model's float variables that hold a NaN or Inf (an empty list if none)."""
    variables = model.trainable_variables if trainable_only else model.variables
    bad = []
    for variable in variables:
        value = keras.ops.convert_to_numpy(variable)
        if np.issubdtype(value.dtype, np.floating) and not np.isfinite(value).all():
            bad.append(_variable_name(variable))
    return bad


def check_finite_weights(model, what="save"):
    """Raise :class:`NonFiniteWeightsError` if any of ``model``'s variables is NaN or Inf."""
    bad = non_finite_variables(model)
    if bad:
        raise NonFiniteWeightsError(
            f"refusing to {what}: the model's weights contain NaN or Inf in {', '.join(bad)}; "
            "training diverged (try a smaller learning rate)")


def check_loaded_weights(model, path):
    """Return ``model`` (just loaded from ``path``), or raise :class:`NonFiniteWeightsError` if
    its weights hold NaN or Inf: running it would only print NaN."""
    bad = non_finite_variables(model)
    if bad:
        raise NonFiniteWeightsError(
            f"model file {path} has NaN or Inf weights in {', '.join(bad)}; it cannot be used "
            "(it was saved from a diverged training run); retrain it or use an earlier backup")
    return model


# ----------------------------------------------------------------------------- atomic writes
#: every temporary file or folder of an atomic write is named ``.<target>.<pid>.<random><TAG><ext>``
#: so that one left by a killed process can be recognised (and is removed by the next save)
TEMP_TAG = ".tfrbm-tmp"
_TEMP_RE = re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)\.[^.]+" + re.escape(TEMP_TAG))


def current_umask():
    """The process's umask, read without changing it where /proc allows."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)   # fallback: the classic read-by-setting (not thread-safe)
    os.umask(mask)
    return mask


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(path):
    """Remove temporaries of earlier atomic writes to ``path`` whose process no longer runs.

    A SIGKILL between creating the temporary and the rename cannot be cleaned up by the dying
    process; the next atomic write to the same target calls this. Only names of the form
    ``.<target>.<pid>.<random>.tfrbm-tmp...`` whose pid is not a live process (or is this
    process) are touched. Returns the paths removed.
    """
    path = pathlib.Path(path)
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_RE.match(entry.name)
        if not match or match.group("target") != path.name:
            continue
        pid = int(match.group("pid"))
        if pid != os.getpid() and _pid_alive(pid):
            continue                 # another process is writing right now
        if pid == os.getpid() and entry.name in _LIVE_TEMPS:
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
            removed.append(pathlib.Path(entry.path))
        except OSError:
            pass
    return removed


_LIVE_TEMPS = set()


def _make_temp(path):
    """Create (O_EXCL, via mkstemp) a fresh temporary file beside ``path``.

    The file really exists when this returns and belongs to this process: it is written in place
    by name (Keras and h5py truncate it), never unlinked and re-created, so no other user can
    slip a symlink in between. Its name keeps the extension Keras checks for.
    """
    path = pathlib.Path(path)
    suffix = "".join(pathlib.Path(path.name).suffixes[-2:])
    prefix = f".{path.name}.{os.getpid()}."
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=TEMP_TAG + suffix, dir=path.parent)
    os.close(fd)
    _LIVE_TEMPS.add(os.path.basename(tmp))
    return pathlib.Path(tmp)


def _fsync_path(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _resolve_target(path):
    """Where an atomic write to ``path`` really goes: a symlink's final target (the link stays)."""
    path = pathlib.Path(path)
    if path.is_symlink():
        return pathlib.Path(os.path.realpath(path))
    return path


def _final_mode(target, is_dir):
    """The mode the new file gets: the existing target's, else what open()/mkdir() would give."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return (0o777 if is_dir else 0o666) & ~current_umask()


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``.

    Files are renamed with ``os.replace`` (atomic: readers see the old or the new file, never a
    half-written one). It writes files only: a folder (a SavedModel) is published by
    :func:`tfrbm.export.export_model`, which never replaces a folder it did not make. On error (an
    exception or Ctrl-C) the temporary is removed and the target is left untouched.

    * The temporary is created exclusively (``mkstemp``) in the target's folder and handed
      over as an existing, empty file that the
      caller overwrites in place; it is never unlinked and re-created by name.
    * If ``path`` is a symlink, the write goes to the link's final target and the link stays.
    * The result keeps the existing target's permission bits (a private 0600 model stays 0600);
      a new file gets the umask's default, as ``open`` would give.
    * Temporaries left by a process killed mid-write (SIGKILL cannot be cleaned up) carry the
      pid in their name and are removed by the next atomic write to the same target.
    """
    path = _resolve_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = _make_temp(path)
    try:
        yield tmp
        os.chmod(tmp, _final_mode(path, False))
        _fsync_path(tmp)
        os.replace(tmp, path)
        _fsync_path(path.parent)
    finally:
        _LIVE_TEMPS.discard(tmp.name)
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists() or tmp.is_symlink():
            tmp.unlink()


def _atomic_write(model, path, method, what, check_finite, kwargs):
    """Call ``model.<method>(tmp)`` beside ``path`` and rename it into place; refuse NaN/Inf."""
    if check_finite:
        check_finite_weights(model, what=f"{what} {path}")
    with atomic_path(path) as tmp:
        getattr(model, method)(str(tmp), **kwargs)
    return pathlib.Path(path)


def atomic_save(model, path, check_finite=True, **kwargs):
    """``model.save(path)`` (a ``.keras`` file) written atomically; refuses NaN/Inf weights.

    ``overwrite=False`` refuses (FileExistsError) when ``path`` exists instead of Keras's
    interactive prompt.
    """
    if not kwargs.pop("overwrite", True) and os.path.exists(path):
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    method = "_plain_save" if hasattr(model, "_plain_save") else "save"
    return _atomic_write(model, path, method, "save", check_finite, kwargs)


def atomic_save_weights(model, path, check_finite=True, **kwargs):
    """``model.save_weights(path)`` (a ``.weights.h5`` file) written atomically."""
    return _atomic_write(model, path, "save_weights", "save weights to", check_finite, kwargs)


class AtomicSaveMixin:
    """Make ``model.save(path)`` itself atomic and NaN-refusing (mix in before ``keras.Model``).

    ``save`` goes through :func:`atomic_save`: a kill, Ctrl-C or a full disk mid-save leaves the
    previous file intact; weights with NaN/Inf raise :class:`NonFiniteWeightsError` (pass
    ``allow_non_finite=True`` to write them anyway, e.g. to debug a divergence). Saving to a
    folder (``zipped=False``) or to ``hf://`` is not atomic and only gets the NaN check.
    """

    def save(self, filepath, overwrite=True, zipped=None, allow_non_finite=False, **kwargs):
        self._tfrbm_allow_non_finite = bool(allow_non_finite)
        try:
            return self._checked_save(filepath, overwrite, zipped, allow_non_finite, **kwargs)
        finally:
            self._tfrbm_allow_non_finite = False

    def save_own_variables(self, store):
        # every Keras writer (``keras.saving.save_model``, ``save_weights``, checkpoints) comes
        # through here, so none of them writes NaN/Inf weights unless ``save`` allowed it
        if not getattr(self, "_tfrbm_allow_non_finite", False):
            check_finite_weights(self, what="save")
        return super().save_own_variables(store)

    def _checked_save(self, filepath, overwrite, zipped, allow_non_finite, **kwargs):
        if isinstance(filepath, (str, os.PathLike)) and zipped is not False \
                and not str(filepath).startswith("hf://"):
            return atomic_save(self, filepath, check_finite=not allow_non_finite,
                               overwrite=overwrite, zipped=zipped, **kwargs)
        if not allow_non_finite:
            check_finite_weights(self, what=f"save {filepath}")
        return self._plain_save(filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def _plain_save(self, filepath, overwrite=True, zipped=None, **kwargs):
        return keras.Model.save(self, filepath, overwrite=overwrite, zipped=zipped, **kwargs)


# ----------------------------------------------------------------------------- callbacks
class StopOnNonFinite(keras.callbacks.Callback):
    """Stop ``fit`` as soon as a weight or a batch metric becomes NaN or Inf.

    Every ``check_every`` batches it tests the batch logs and the model's variables with
    ``isfinite``. On a failure it (optionally) restores the last finite weights it saw and
    raises :class:`TrainingDivergedError` whose message names the epoch, the step within the
    epoch, the global step and the offending variables/metrics. With ``raise_error=False`` it only
    sets ``model.stop_training`` and records the same facts in ``self.diverged``.

    Args:
        check_every: check after every N-th batch (1 = every batch; a weight check costs one
            device-to-host copy of the weights).
        restore_last_finite: keep a host copy of the weights at each passing check and put it
            back when divergence is found, so that later saves write usable weights.
        raise_error: raise (default) or stop quietly.
        monitor_metrics: also check the batch metrics (e.g. ``free_energy``); a metric that is
            NaN by design (``reconstruction_error`` with monitoring off) is skipped if it was
            NaN from the first batch.
    """

    def __init__(self, check_every=1, restore_last_finite=True, raise_error=True,
                 monitor_metrics=True):
        super().__init__()
        self.check_every = check_param("check_every", check_every, POSITIVE_INT)
        self.restore_last_finite = bool(restore_last_finite)
        self.raise_error = bool(raise_error)
        self.monitor_metrics = bool(monitor_metrics)
        self.diverged = None
        self._epoch = 0
        self._global_step = 0
        self._last_checked = 0
        self._first_step = 0
        self._last_good = None
        self._nan_by_design = None

    def on_train_begin(self, logs=None):
        self.diverged = None
        self._global_step = 0
        self._last_checked = 0
        self._first_step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        self._nan_by_design = None
        if self.restore_last_finite and not non_finite_variables(self.model):
            self._last_good = self.model.get_weights()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def _bad_metrics(self, logs):
        if not self.monitor_metrics or not logs:
            return []
        values = {}
        for key, value in logs.items():
            try:
                values[key] = float(keras.ops.convert_to_numpy(value))
            except (TypeError, ValueError):
                continue
        if self._nan_by_design is None:
            self._nan_by_design = {k for k, v in values.items() if math.isnan(v)}
        return [f"metric {k}={v}" for k, v in values.items()
                if not math.isfinite(v) and k not in self._nan_by_design]

    @property
    def max_steps_per_execution(self):
        """``fit`` runs at most ``check_every`` steps per graph call (see :mod:`tfrbm.fastpath`)."""
        return self.check_every

    def on_train_batch_end(self, batch, logs=None):
        # count real optimizer steps: with several steps per graph call the hook runs once a call
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        self._global_step = max(self._global_step + 1, step - self._first_step)
        if self._global_step - self._last_checked < self.check_every:
            return
        unchecked = self._global_step - self._last_checked - 1
        self._last_checked = self._global_step
        bad = non_finite_variables(self.model) + self._bad_metrics(logs)
        if not bad:
            if self.restore_last_finite:
                self._last_good = self.model.get_weights()
            return
        restored = False
        if self.restore_last_finite and self._last_good is not None:
            self.model.set_weights(self._last_good)
            restored = True
        where = (f"epoch {self._epoch + 1}, step {batch + 1} of the epoch "
                 f"(global step {self._global_step})")
        if unchecked > 0:
            where += f"; checked every {self.check_every} steps, so it appeared at most " \
                     f"{unchecked} steps earlier"
        message = (f"training diverged: NaN/Inf found at {where} in {', '.join(bad)}. "
                   + ("The last finite weights were restored. " if restored else "")
                   + "Lower the learning rate, add weight decay or use fewer Gibbs steps.")
        self.diverged = {"epoch": self._epoch, "step": batch, "global_step": self._global_step,
                         "names": bad, "restored": restored, "message": message}
        self.model.stop_training = True
        if self.raise_error:
            raise TrainingDivergedError(message, epoch=self._epoch, step=batch,
                                        global_step=self._global_step, names=bad)


class AtomicModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """``keras.callbacks.ModelCheckpoint`` that writes atomically and never saves NaN weights.

    Same arguments as ModelCheckpoint. Each save goes to a temporary file beside the target and
    is renamed over it, so killing the process mid-save leaves the previous checkpoint loadable.
    If the weights contain NaN/Inf the save is skipped with a warning (``skipped`` counts them),
    or raises :class:`NonFiniteWeightsError` with ``on_non_finite="raise"``.
    """

    def __init__(self, filepath, *args, on_non_finite="skip", **kwargs):
        super().__init__(filepath, *args, **kwargs)
        if on_non_finite not in ("skip", "raise"):
            raise UserError(f"on_non_finite must be 'skip' or 'raise', got {on_non_finite!r}")
        self.on_non_finite = on_non_finite
        self.skipped = 0

    def _save_model(self, epoch, batch, logs):
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, batch, logs, filepath):
            return
        bad = non_finite_variables(self.model)
        if bad:
            self.skipped += 1
            message = (f"checkpoint {filepath} not written at epoch {epoch + 1}: NaN/Inf in "
                       f"{', '.join(bad)}")
            if self.on_non_finite == "raise":
                raise NonFiniteWeightsError(message)
            warnings.warn(message, RuntimeWarning, stacklevel=2)
            return
        with atomic_path(filepath) as tmp:
            if self.save_weights_only:
                self.model.save_weights(str(tmp), overwrite=True)
            else:   # the plain Keras save: this is already the atomic write
                getattr(self.model, "_plain_save", self.model.save)(str(tmp), overwrite=True)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saved model to {filepath}")


# ----------------------------------------------------------------------------- arguments
def check_learning_rate(optimizer, name="learning rate"):
    """Raise ValueError unless ``optimizer``'s learning rate is a finite number > 0 (and its
    momentum, betas, rho, epsilon and weight decay, where it has them, are finite).

    A schedule (``keras.optimizers.schedules.LearningRateSchedule`` or a callable) is checked
    at step 0. Keras itself accepts a negative or zero rate silently (training then climbs the
    energy or does nothing), so models call this before ``fit``. Returns the rate checked.
    """
    if optimizer is None:
        return None
    if isinstance(optimizer, (int, float, np.number)) and not isinstance(optimizer, bool):
        rate = float(optimizer)
    else:
        lr = getattr(optimizer, "learning_rate", None)
        if lr is None:
            return None
        if isinstance(lr, keras.optimizers.schedules.LearningRateSchedule) or callable(lr):
            try:
                lr = lr(0)
            except TypeError:
                lr = lr()
        try:
            rate = float(keras.ops.convert_to_numpy(lr))
        except (TypeError, ValueError):
            raise UserError(f"the {name} must be a number, got {lr!r}") from None
    if not math.isfinite(rate) or rate <= 0:
        raise UserError(f"the {name} must be a finite number > 0, got {rate!r}")
    for setting in ("momentum", "beta_1", "beta_2", "rho", "epsilon", "weight_decay"):
        value = getattr(optimizer, setting, None)
        if isinstance(value, (int, float, np.number)) and not isinstance(value, bool) \
                and not math.isfinite(float(value)):
            raise UserError(f"the optimizer's {setting} must be a finite number, got {value!r}")
    return rate
