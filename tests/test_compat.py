"""Each Keras internal that tfrbm._compat uses still exists and still does what tfrbm relies on.

When Keras moves one of them, the test named after that piece fails (the multi-worker fixes
themselves are exercised in tests/test_distribute.py).
"""
import keras
import numpy as np

from tfrbm import _compat


def test_installed_keras_is_within_the_tested_range_or_says_so():
    low, high = _compat.TESTED_KERAS
    version = _compat.keras_version()
    assert version >= low, f"Keras {keras.__version__} is older than tfrbm._compat was tested with"
    # a newer Keras is allowed; the multi-worker fixes then stay off unless forced
    assert _compat.multi_worker_fixes_needed() == (version <= high)


def test_trainer_internals_of_the_multi_worker_fixes_exist():
    trainer = _compat.tensorflow_trainer()
    assert trainer is not None, "keras.src.backend.tensorflow.trainer moved"
    assert callable(trainer.reduce_per_replica)
    assert callable(trainer._collective_all_reduce_multi_worker)
    for name in ("_maybe_symbolic_build", "_symbolic_build"):
        assert callable(getattr(trainer.TensorFlowTrainer, name)), name


def test_directed_metrics_reach_the_monitoring_callbacks():
    """EarlyStopping(mode="auto") learns a custom metric's direction only through MetricsList."""
    up = _compat.set_direction(keras.metrics.Mean(name="score"), "up")
    container = _compat.directed_metrics([up])
    up.update_state(3.0)
    assert {k: float(v) for k, v in container.result().items()} == {"score": 3.0}

    class Model(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(1)
            self.container = container

        def call(self, x):
            return self.dense(x)

        @property
        def metrics(self):
            return [self.container]

    model = Model()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.zeros((4, 2), "float32"), np.zeros((4, 1), "float32"), epochs=1, verbose=0)
    stop = keras.callbacks.EarlyStopping(monitor="score", mode="auto")
    stop.set_model(model)
    stop._set_monitor_op()
    assert stop.monitor_op is np.greater or stop.monitor_op(2.0, 1.0), \
        "a metric marked 'up' must count as improving when it grows"


def test_layer_and_trainer_internals_exist():
    layer = keras.layers.Dense(2)
    counter = keras.Variable(0, trainable=False, name="counter")
    _compat.track_variable(layer, counter)          # as RBMModel does, before it is built
    layer.build((None, 3))
    assert any(v is counter for v in layer.variables)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    _compat.set_compile_config_value(model, "steps_per_execution", "auto")
    assert model._compile_config.config["steps_per_execution"] == "auto"
    board = keras.callbacks.TensorBoard(profile_batch=(2, 3))
    assert _compat.profiles_batches(board) and not _compat.profiles_batches(
        keras.callbacks.TensorBoard(profile_batch=0))
