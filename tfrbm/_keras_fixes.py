"""Narrow fixes for two Keras 3 bugs that stop models training under MultiWorkerMirroredStrategy.

1. Keras 3's TensorFlow trainer reduces the logs of each step with
   ``strategy.reduce("MEAN", value, axis=0)`` when the strategy is a multi-worker collective
   all-reduce. Step logs are scalars, so TensorFlow raises "Invalid reduction dimension 0 for
   input with 0 dimensions" on the first step of ``fit`` (tensorflow/tensorflow#72388). The fix
   gives scalar logs a length-1 axis before that reduction, so the mean over axis 0 across workers
   is the mean of the workers' scalars, which is what the reduction means.
2. Before the first step, ``fit`` builds the model from one batch and, for distributed batches,
   passes the whole (x, y) structure to ``strategy.reduce``, which accepts one value, not a
   tuple: "Attempt to convert a value (PerReplica...) to a Tensor". Only the batch's shapes are
   needed there, so the fix builds from the first local replica's batch.

Nothing changes for any other strategy: each wrapper acts only under a multi-worker collective
strategy, exactly where the unpatched code raises.
"""
import tensorflow as tf

_INSTALLED_FLAG = "_tfrbm_scalar_fix"


def _needs_axis(strategy, reduction, trainer):
    if reduction not in ("auto", "mean"):
        return False
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return False
    return bool(trainer._collective_all_reduce_multi_worker(strategy))


def _scalar_with_axis(value, strategy):
    """A scalar (or a per-replica scalar) as shape [1]; anything else unchanged."""
    if isinstance(value, tf.distribute.DistributedValues):
        if all(v.shape.rank == 0 for v in strategy.experimental_local_results(value)):
            return strategy.run(lambda v: tf.reshape(v, [1]), args=(value,))
        return value
    if isinstance(value, tf.Tensor) and value.shape.rank == 0:
        return tf.reshape(value, [1])
    return value


def install():
    """Wrap ``keras.src.backend.tensorflow.trainer.reduce_per_replica`` once (idempotent).

    Returns True when the wrapper is in place, False when this Keras has no such function (a
    Keras whose trainer is laid out differently needs no fix from us).
    """
    try:
        from keras.src.backend.tensorflow import trainer
    except ImportError:                               # another backend or layout
        return False
    original = getattr(trainer, "reduce_per_replica", None)
    if original is None or not hasattr(trainer, "_collective_all_reduce_multi_worker"):
        return False
    if getattr(original, _INSTALLED_FLAG, False):
        return True

    def reduce_per_replica(values, strategy, reduction):
        if _needs_axis(strategy, reduction, trainer):
            values = tf.nest.map_structure(lambda v: _scalar_with_axis(v, strategy), values)
        return original(values, strategy, reduction)

    reduce_per_replica.__doc__ = original.__doc__
    reduce_per_replica.__wrapped__ = original
    setattr(reduce_per_replica, _INSTALLED_FLAG, True)
    trainer.reduce_per_replica = reduce_per_replica
    _install_symbolic_build_fix(trainer)
    return True


def _install_symbolic_build_fix(trainer):
    cls = getattr(trainer, "TensorFlowTrainer", None)
    original = getattr(cls, "_maybe_symbolic_build", None)
    if original is None or getattr(original, _INSTALLED_FLAG, False):
        return

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if (strategy is None or iterator is None
                or not trainer._collective_all_reduce_multi_worker(strategy)):
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
