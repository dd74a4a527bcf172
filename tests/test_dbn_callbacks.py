"""Issue 30 item 3: stock Keras callbacks on a DBN, ``DBNModel([RBMLayer(64), RBMLayer(32)])``
with SGD(0.05) on the embedded digits (tfrbm.stages says what each callback does).

Before: ReduceLROnPlateau logged a falling rate but only the template optimizer changed;
EarlyStopping("loss") ended pre-training when layer 2 started (its loss is on another scale);
ModelCheckpoint(save_best_only=True) kept a file whose top layer was never trained."""
import keras
import numpy as np
import pytest

from tfrbm import DBNModel, RBMLayer
from tfrbm.data import load_digits

X = load_digits("train")[0][:600]          # 6 batches of 100 an epoch


def _dbn(**compile_kwargs):
    dbn = DBNModel([RBMLayer(64), RBMLayer(32)], seed=0)
    dbn.compile(optimizer=keras.optimizers.SGD(0.05), **compile_kwargs)
    return dbn


def _rates(dbn):
    return [float(t.optimizer.learning_rate.numpy()) for t in dbn.trainers]


def _fit(dbn, callbacks, epochs=2):
    return dbn.fit(X, epochs=epochs, batch_size=100, verbose=0, callbacks=callbacks)


def test_reduce_lr_on_plateau_reaches_each_layers_optimizer_per_layer():
    # min_delta=10: no epoch counts as an improvement but the first of each layer
    rop = keras.callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=0, min_delta=10.0)
    history = _fit(_dbn(), [rop])
    # each layer: epoch 1 sets its own best (a fresh start), epoch 2 halves its rate
    assert _rates(history.model) == pytest.approx([0.025, 0.025])
    assert history.history["layer"] == [1, 1, 2, 2]
    # the rate each epoch trained with (logged before the cut): layer 2 starts from its own 0.05
    assert history.history["learning_rate"] == pytest.approx([0.05] * 4)


def test_learning_rate_scheduler_sets_the_trained_layers_rate():
    sched = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.05 * 0.5 ** epoch)
    history = _fit(_dbn(), [sched])
    assert history.history["learning_rate"] == pytest.approx([0.05, 0.025, 0.0125, 0.00625])
    assert _rates(history.model) == pytest.approx([0.025, 0.00625])


def test_rate_callbacks_warn_when_a_layer_follows_a_schedule():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.05, 100, 0.9)
    dbn = _dbn(layer_optimizers=[None, keras.optimizers.SGD(schedule)])
    rop = keras.callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=0, min_delta=10.0)
    with pytest.warns(UserWarning, match="layer 2's optimizer follows a LearningRateSchedule"):
        _fit(dbn, [rop])
    assert _rates(dbn)[0] == pytest.approx(0.025)


def test_early_stopping_lets_every_layer_below_the_top_train_fully():
    # at its defaults: layer 2's first loss is not "worse" than layer 1's last one
    with pytest.warns(UserWarning, match="last layer trained"):
        history = _fit(_dbn(), [keras.callbacks.EarlyStopping("loss")], epochs=3)
    assert history.history["layer"][:4] == [1, 1, 1, 2]
    # no epoch improves by 10: layer 1 still gets its 3 epochs, the top layer stops after 2
    stop = keras.callbacks.EarlyStopping("loss", min_delta=10.0, patience=0)
    with pytest.warns(UserWarning, match="last layer trained"):
        history = _fit(_dbn(), [stop], epochs=3)
    assert history.history["layer"] == [1, 1, 1, 2, 2]
    assert [len(h.history["loss"]) for h in history.model.histories] == [3, 2]


def test_best_checkpoint_is_never_taken_before_the_top_layer_trains(tmp_path):
    path = tmp_path / "best.keras"
    seen, top_kernels = [], []

    def record(epoch, logs):
        seen.append((int(logs["layer"]), path.exists()))
        top_kernels.append(dbn.rbms[1].kernel.numpy().copy())

    dbn = _dbn()
    checkpoint = keras.callbacks.ModelCheckpoint(str(path), monitor="loss", save_best_only=True)
    with pytest.warns(UserWarning, match="ModelCheckpoint on a DBN"):
        _fit(dbn, [checkpoint, keras.callbacks.LambdaCallback(on_epoch_end=record)])
    assert seen == [(1, False), (1, False), (2, True), (2, True)]
    losses = dbn.histories[1].history["loss"]
    assert checkpoint.best == pytest.approx(min(losses))
    saved = keras.saving.load_model(path)
    # the file: trained layer 1 (frozen since) and the top layer at its best epoch
    np.testing.assert_array_equal(saved.rbms[0].kernel.numpy(), dbn.rbms[0].kernel.numpy())
    np.testing.assert_array_equal(saved.rbms[1].kernel.numpy(), top_kernels[2 + np.argmin(losses)])


def test_every_epoch_checkpoint_and_history_per_layer(tmp_path):
    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "e{epoch}.weights.h5"),
                                                 save_weights_only=True)
    history = _fit(_dbn(), [checkpoint, keras.callbacks.TerminateOnNaN()])
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"e{i}.weights.h5" for i in (1, 2, 3, 4)]
    per_layer = history.model.histories
    assert [h.layer for h in per_layer] == [1, 2]
    assert [h.history["layer"] for h in per_layer] == [[1, 1], [2, 2]]
    assert per_layer[1].history["loss"] == history.history["loss"][2:]
