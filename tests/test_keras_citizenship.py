"""Stock Keras callbacks and keras-tuner work on RBMModel unchanged, on the fast path.

* ``loss`` (the reconstruction error, lower is better) is in the logs, so EarlyStopping(),
  ReduceLROnPlateau() and ModelCheckpoint(save_best_only=True) act on ``val_loss`` without
  warnings, and keras-tuner's usual objective "val_loss" scores trials;
* the custom metrics tell Keras their direction, so ``mode="auto"`` works;
* TensorBoard / ModelCheckpoint / BackupAndRestore with per-epoch settings and TerminateOnNaN keep
  the multi-step fast path; per-step settings fall back with one warning naming the setting;
* the progress bars count real steps.
"""
import logging
import re
import warnings

import keras
import numpy as np
import pytest

import tfrbm
from tfrbm import fastpath
from tfrbm.models import rbm as rbm_module

X = (np.random.default_rng(0).random((260, 16)) < 0.3).astype("float32")


def _rbm(seed=0):
    model = tfrbm.RBMModel(tfrbm.RBMLayer(6), seed=seed)
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.5))
    return model


def test_loss_is_the_reconstruction_error_and_stock_callbacks_act(tmp_path):
    model = _rbm()
    path = str(tmp_path / "best.keras")
    callbacks = [keras.callbacks.EarlyStopping(patience=1),
                 keras.callbacks.ReduceLROnPlateau(patience=1),
                 keras.callbacks.ModelCheckpoint(path, save_best_only=True)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(X, epochs=3, batch_size=20, validation_data=X[:60], verbose=0,
                            callbacks=callbacks)
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "val_loss" in m or "not available" in m], messages
    h = history.history
    assert h["loss"] == h["reconstruction_error"] and h["val_loss"] == h["val_reconstruction_error"]
    assert all(0 < v < 1 for v in h["loss"])
    assert callbacks[0].best == min(h["val_loss"])          # EarlyStopping tracked val_loss
    assert callbacks[2].best == min(h["val_loss"])          # the checkpoint kept the best epoch
    assert keras.saving.load_model(path).layer.units == 6
    assert model.steps_per_execution == rbm_module.AUTO_STEPS_PER_EXECUTION
    # evaluate reports the same quantity under the same name
    scores = model.evaluate(X[:60], verbose=0, return_dict=True)
    assert scores["loss"] == pytest.approx(scores["reconstruction_error"])


def test_mode_auto_knows_the_direction_of_custom_metrics():
    model = _rbm()
    stop = keras.callbacks.EarlyStopping(monitor="val_reconstruction_error", patience=5)
    model.fit(X, epochs=1, batch_size=20, validation_data=X[:60], verbose=0, callbacks=[stop])
    assert stop.monitor_op == keras.ops.less
    # the mean free energy has no direction (log Z moves): Keras asks for an explicit mode
    with pytest.raises(ValueError, match="mode"):
        model.fit(X, epochs=1, batch_size=20, validation_data=X[:60], verbose=0,
                  callbacks=[keras.callbacks.EarlyStopping(monitor="val_free_energy")])


def test_monitor_reconstruction_off_logs_no_loss_rather_than_nan():
    model = tfrbm.RBMModel(tfrbm.RBMLayer(4), monitor_reconstruction=False, seed=0)
    model.compile(optimizer="sgd")
    history = model.fit(X, epochs=1, batch_size=20, verbose=0,
                        callbacks=[keras.callbacks.TerminateOnNaN()])
    assert "loss" not in history.history and len(history.history["free_energy"]) == 1


def test_keras_tuner_default_objective_val_loss(tmp_path):
    kt = pytest.importorskip("keras_tuner")

    def build(hp):
        model = tfrbm.RBMModel(tfrbm.RBMLayer(hp.Choice("units", [4, 8])), seed=0)
        model.compile(optimizer=keras.optimizers.SGD(0.1))
        return model

    tuner = kt.RandomSearch(build, objective="val_loss", max_trials=2, seed=0,
                            directory=str(tmp_path), project_name="rbm")
    tuner.search(X, validation_data=(X[:60],), epochs=1, batch_size=20, verbose=0)
    trials = tuner.oracle.get_best_trials(2)
    assert len(trials) == 2 and all(np.isfinite(t.score) for t in trials)
    assert trials[0].score <= trials[1].score


@pytest.mark.parametrize("callback, single", [
    (lambda d: keras.callbacks.TensorBoard(d), False),
    (lambda d: keras.callbacks.TensorBoard(d, update_freq=5), True),
    (lambda d: keras.callbacks.TensorBoard(d, profile_batch=(2, 3)), True),
    (lambda d: keras.callbacks.ModelCheckpoint(d + "/m.keras"), False),
    (lambda d: keras.callbacks.ModelCheckpoint(d + "/m.keras", save_freq=3), True),
    (lambda d: keras.callbacks.BackupAndRestore(d + "/b"), False),
    (lambda d: keras.callbacks.BackupAndRestore(d + "/b", save_freq=7), True),
    (lambda d: keras.callbacks.TerminateOnNaN(), False),
    (lambda d: keras.callbacks.EarlyStopping(), False),
    (lambda d: keras.callbacks.CSVLogger(d + "/log.csv"), False),
    (lambda d: keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: None), True),
])
def test_single_steps_are_decided_from_callback_settings(tmp_path, callback, single):
    cb = callback(str(tmp_path))
    assert (fastpath.single_step_reason(cb) is not None) == single


def test_falling_back_warns_once_naming_the_setting(tmp_path, caplog):
    fastpath._warned.clear()
    tb = keras.callbacks.TensorBoard(str(tmp_path), update_freq=4)
    model = _rbm()
    with caplog.at_level(logging.WARNING, logger="tfrbm"):
        model.fit(X, epochs=1, batch_size=20, verbose=0, callbacks=[tb])
        model.fit(X, epochs=1, batch_size=20, verbose=0, callbacks=[tb])
    lines = [r.getMessage() for r in caplog.records if "one step per graph call" in r.getMessage()]
    assert len(lines) == 1 and "update_freq=4" in lines[0]
    assert model.steps_per_execution == 1
    model.fit(X, epochs=1, batch_size=20, verbose=0,
              callbacks=[keras.callbacks.TensorBoard(str(tmp_path / "epoch"))])
    assert model.steps_per_execution == rbm_module.AUTO_STEPS_PER_EXECUTION


def _counts(text):
    return [tuple(map(int, m)) for m in re.findall(r"(\d+)/(\d+) ", re.sub(r"\x1b\[[0-9;]*m", "", text))]


def test_progress_bars_count_real_steps(capsys):
    model = _rbm()
    model.fit(X, epochs=1, batch_size=20, verbose=1)            # 13 steps, 32 per graph call
    model.evaluate(X, batch_size=20, verbose=1)
    model.predict(X, batch_size=20, verbose=1)
    counts = _counts(capsys.readouterr().out)
    assert counts and all(done <= total for done, total in counts), counts
    assert (13, 13) in counts
