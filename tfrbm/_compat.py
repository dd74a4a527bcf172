"""Every use of Keras internals in tfrbm, in one place.

Tested with Keras 3.15 (TensorFlow 2.21 backend): :data:`TESTED_KERAS` is the inclusive
(major, minor) range this module was checked against. Everything else in tfrbm uses public Keras
API only. When Keras moves one of these, this is the one file to change; the tests in
``tests/test_compat.py`` and ``tests/test_distribute.py`` say which piece broke.

Private pieces used:

- ``keras.src.backend.tensorflow.trainer``: ``reduce_per_replica``,
  ``_collective_all_reduce_multi_worker`` and ``TensorFlowTrainer._maybe_symbolic_build``
  and ``_symbolic_build`` (wrapped by :func:`install_multi_worker_fixes`, under a multi-worker
  strategy only);
- ``keras.src.trainers.compile_utils.MetricsList`` and ``Metric._direction``: the only way Keras
  3's monitoring callbacks (``EarlyStopping``, ``ModelCheckpoint``, ``ReduceLROnPlateau``) learn a
  custom metric's direction for ``mode="auto"`` (``MonitorCallback._set_monitor_op`` looks for
  ``_direction`` on metrics held in a ``MetricsList`` or ``CompileMetrics``);
- ``Layer._track_variable`` and ``Trainer._compile_config`` (used by ``RBMModel``);
- ``TensorBoard._start_batch`` (whether it profiles batches; :mod:`tfrbm.fastpath`).
"""
import logging
import re

import keras
import tensorflow as tf

#: inclusive (major, minor) range of Keras versions these shims were tested with
TESTED_KERAS = ((3, 15), (3, 15))


def keras_version():
    """The installed Keras version as a (major, minor) tuple."""
    match = re.match(r"(\d+)\.(\d+)", keras.__version__)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def tensorflow_trainer():
    """Keras' TensorFlow trainer module, or None when Keras is laid out differently."""
    try:
        from keras.src.backend.tensorflow import trainer
    except ImportError:
        return None
    return trainer


def is_multi_worker(strategy):
    """Whether ``strategy`` is a MultiWorkerMirroredStrategy running with more than one worker."""
    if strategy is None:
        return False
    trainer = tensorflow_trainer()
    check = getattr(trainer, "_collective_all_reduce_multi_worker", None)
    if check is not None:
        return bool(check(strategy))
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.extended._in_multi_worker_mode())


def set_direction(metric, direction):
    """Tell Keras' monitoring callbacks whether ``metric`` improves going "up" or "down"."""
    if direction not in ("up", "down"):
        raise ValueError(f"direction must be 'up' or 'down', got {direction!r}")
    metric._direction = direction
    return metric


def directed_metrics(metrics, name="tfrbm_metrics"):
    """A Keras metric holding ``metrics`` whose result is the dict of their results.

    Listing this container in ``Model.metrics`` (instead of the metrics themselves) is what lets
    ``mode="auto"`` find each metric's :func:`set_direction`; the logs are unchanged.
    """
    from keras.src.trainers.compile_utils import MetricsList

    class DirectedMetrics(MetricsList):
        def result(self):
            return {m.name: m.result() for m in self.metrics}

    return DirectedMetrics(list(metrics), name=name)


def profiles_batches(callback):
    """Whether a TensorBoard callback was asked to profile a range of batches (``profile_batch``)."""
    return bool(getattr(callback, "_start_batch", 0))


def track_variable(layer, variable):
    """Make ``layer`` own ``variable`` (saved with its weights) although it is not a weight."""
    layer._track_variable(variable)


def set_compile_config_value(model, key, value):
    """Record ``key=value`` in the compile config that ``.keras`` files store (if there is one)."""
    config = getattr(model, "_compile_config", None)
    if config is not None:
        config.config[key] = value


# ---------------------------------------------------------------------------------------------
# Fixes for Keras 3 under MultiWorkerMirroredStrategy
#
# Narrow fixes for two Keras 3 bugs that stop models training under MultiWorkerMirroredStrategy.
#
# 1. Keras 3's TensorFlow trainer reduces the logs of each step with
#    ``strategy.reduce("MEAN", value, axis=0)`` when the strategy is a multi-worker collective
#    all-reduce. Step logs are scalars, so TensorFlow raises "Invalid reduction dimension 0 for
#    input with 0 dimensions" on the first step of ``fit`` (tensorflow/tensorflow#72388). The fix
#    gives scalar logs a length-1 axis before that reduction, so the mean over axis 0 across workers
#    is the mean of the workers' scalars, which is what the reduction means.
# 2. Before the first step, ``fit`` builds the model from one batch and, for distributed batches,
#    passes the whole (x, y) structure to ``strategy.reduce``, which accepts one value, not a
#    tuple: "Attempt to convert a value (PerReplica...) to a Tensor". Only the batch's shapes are
#    needed there, so the fix builds from the first local replica's batch.
#
# When they are applied: ``import tfrbm`` changes nothing in Keras. The fixes are installed the
# first time an RBM or DBN is compiled or fitted under a multi-worker MultiWorkerMirroredStrategy,
# or when :func:`install_multi_worker_fixes` is called with such a strategy (do that for your own
# Keras models), and only for the Keras versions up to :data:`TESTED_KERAS`. Once installed,
# each wrapper still acts only under a multi-worker collective strategy, exactly where the
# unpatched code raises.
# ``tests/test_distribute.py`` holds a canary that fails when the installed Keras no longer needs
# them.

_INSTALLED_FLAG = "_tfrbm_scalar_fix"
_log = logging.getLogger("tfrbm")
_warned = []


def multi_worker_fixes_needed():
    """Whether the installed Keras is one these fixes are tested for (and known to need them)."""
    high = TESTED_KERAS[1]
    return (3, 0) <= keras_version() <= high


def multi_worker_fixes_installed():
    """Whether the fixes are in place in this process."""
    trainer = tensorflow_trainer()
    return bool(trainer is not None
                and getattr(getattr(trainer, "reduce_per_replica", None), _INSTALLED_FLAG, False))


def _needs_axis(strategy, reduction):
    if reduction not in ("auto", "mean"):
        return False
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return False
    return is_multi_worker(strategy)


def _scalar_with_axis(value, strategy):
    """A scalar (or a per-replica scalar) as shape [1]; anything else unchanged."""
    if isinstance(value, tf.distribute.DistributedValues):
        if all(v.shape.rank == 0 for v in strategy.experimental_local_results(value)):
            return strategy.run(lambda v: tf.reshape(v, [1]), args=(value,))
        return value
    if isinstance(value, tf.Tensor) and value.shape.rank == 0:
        return tf.reshape(value, [1])
    return value


def install_multi_worker_fixes(strategy=None, force=False):
    """Install both fixes if ``strategy`` is a multi-worker strategy (idempotent).

    ``strategy`` defaults to the current ``tf.distribute`` strategy. ``force=True`` installs them
    whatever the strategy (still version-gated). Returns True when the fixes are in place.
    """
    if multi_worker_fixes_installed():
        return True
    if not force:
        if strategy is None:
            strategy = tf.distribute.get_strategy()
        if not is_multi_worker(strategy):
            return False
    if not multi_worker_fixes_needed():
        if not _warned:
            _warned.append(True)
            _log.warning("tfrbm's fixes for Keras' multi-worker bugs are tested with Keras %s-%s; "
                         "not applied to this Keras (%s.%s)", *TESTED_KERAS,
                         *keras_version())
        return False
    trainer = tensorflow_trainer()
    original = getattr(trainer, "reduce_per_replica", None)
    if original is None:                              # another backend or layout
        return False
    _install_reduce_fix(trainer, original)
    _install_symbolic_build_fix(trainer)
    return True


def _install_reduce_fix(trainer, original):
    def reduce_per_replica(values, strategy, reduction):
        if _needs_axis(strategy, reduction):
            values = tf.nest.map_structure(lambda v: _scalar_with_axis(v, strategy), values)
        return original(values, strategy, reduction)

    reduce_per_replica.__doc__ = original.__doc__
    reduce_per_replica.__wrapped__ = original
    setattr(reduce_per_replica, _INSTALLED_FLAG, True)
    trainer.reduce_per_replica = reduce_per_replica


def _install_symbolic_build_fix(trainer):
    cls = getattr(trainer, "TensorFlowTrainer", None)
    original = getattr(cls, "_maybe_symbolic_build", None)
    if original is None or getattr(original, _INSTALLED_FLAG, False):
        return

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self.distribute_strategy
        if strategy is None or iterator is None or not is_multi_worker(strategy):
            return original(self, iterator=iterator, data_batch=data_batch)
        for _, _, it in iterator:
            data_batch = tf.nest.map_structure(
                lambda v: strategy.experimental_local_results(v)[0]
                if isinstance(v, tf.distribute.DistributedValues) else v, next(it))
            break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    _maybe_symbolic_build.__wrapped__ = original
    setattr(_maybe_symbolic_build, _INSTALLED_FLAG, True)
    cls._maybe_symbolic_build = _maybe_symbolic_build


# ---------------------------------------------------------------------------------------------
# tf.functions inside the functions Keras' trainer makes
#
# ``make_train_function``/``make_test_function`` store a plain Python closure whose cells hold
# the tf.functions (``multi_step_on_iterator``, ``one_step_on_data``); ``make_predict_function``
# stores a tf.function. :mod:`tfrbm.tracing` marks them (see there why).

def traced_functions(fn, depth=4):
    """The ``tf.function`` objects reachable from ``fn`` through closures and ``__wrapped__``."""
    found, seen, todo = [], set(), [(fn, 0)]
    while todo:
        obj, level = todo.pop()
        if obj is None or id(obj) in seen or level > depth:
            continue
        seen.add(id(obj))
        if isinstance(obj, tf.types.experimental.PolymorphicFunction):
            found.append(obj)
            obj = getattr(obj, "_python_function", None)
            if obj is None:
                continue
        for cell in getattr(obj, "__closure__", None) or ():
            try:
                todo.append((cell.cell_contents, level + 1))
            except ValueError:                       # an empty cell
                pass
        todo.append((getattr(obj, "__wrapped__", None), level + 1))
    return found
