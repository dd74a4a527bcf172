"""The fast training path computes exactly what the plain path computes.

RBMModel.compile defaults to steps_per_execution="auto": fit runs AUTO_STEPS_PER_EXECUTION CD
steps per call into the graph unless a callback hooks single batches. These tests check that the
weights, chains, optimizer state and metrics are bit-for-bit those of steps_per_execution=1, that
batch callbacks still see every batch, and that the setting survives a .keras round trip.
"""
import keras
import numpy as np
import pytest

import tfrbm
from tfrbm import fastpath
from tfrbm.models import rbm as rbm_module


def _data(n=230, d=12, seed=0):
    return (np.random.default_rng(seed).random((n, d)) < 0.4).astype("float32")


def _train(steps_per_execution, persistent=False, optimizer=None, callbacks=None, epochs=2):
    keras.utils.set_random_seed(5)  # the kernel initializer draws from the global stream
    model = tfrbm.RBMModel(tfrbm.RBMLayer(7), persistent=persistent, n_chains=9, seed=3)
    model.compile(optimizer=optimizer or keras.optimizers.SGD(0.1, momentum=0.5),
                  steps_per_execution=steps_per_execution)
    history = model.fit(_data(), batch_size=20, epochs=epochs, verbose=0, shuffle=False,
                        callbacks=callbacks)
    return model, history


@pytest.mark.parametrize("persistent", [False, True])
def test_auto_steps_per_execution_gives_identical_updates(persistent):
    fast, fast_hist = _train("auto", persistent)
    plain, plain_hist = _train(1, persistent)
    assert fast.steps_per_execution == rbm_module.AUTO_STEPS_PER_EXECUTION
    assert plain.steps_per_execution == 1
    for a, b in zip(fast.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)   # weights, chains, flags: bit for bit
    np.testing.assert_array_equal(fast.seed_generator.state.numpy(),
                                  plain.seed_generator.state.numpy())
    assert int(fast.optimizer.iterations.numpy()) == int(plain.optimizer.iterations.numpy()) == 24
    assert fast_hist.history == plain_hist.history


def test_batch_callbacks_fall_back_to_one_step_per_call():
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

    model, _ = _train("auto", callbacks=[Record()], epochs=1)
    assert seen == list(range(12))          # 230 rows / batch 20: every batch is reported
    assert model.steps_per_execution == 1
    # the next fit without batch hooks goes back to the fast setting, with the same results
    model.fit(_data(), batch_size=20, epochs=1, verbose=0, shuffle=False)
    assert model.steps_per_execution == rbm_module.AUTO_STEPS_PER_EXECUTION
    reference, _ = _train(1, epochs=2)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_explicit_steps_per_execution_is_kept_and_checked():
    model, _ = _train(5, epochs=1)
    assert model.steps_per_execution == 5
    with pytest.raises(ValueError, match="steps_per_execution"):
        tfrbm.RBMModel(tfrbm.RBMLayer(3)).compile(optimizer="sgd", steps_per_execution=0)


def test_auto_setting_and_optimizer_survive_keras_round_trip(tmp_path):
    model, _ = _train("auto", epochs=1)
    path = tmp_path / "fast.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.compiled and loaded._auto_steps_per_execution
    assert int(loaded.optimizer.iterations.numpy()) == 12
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    loaded.fit(_data(), batch_size=20, epochs=1, verbose=0, shuffle=False)
    assert loaded.steps_per_execution == rbm_module.AUTO_STEPS_PER_EXECUTION


def test_loss_scale_optimizer_applies_the_plain_cd_update():
    plain, _ = _train("auto", optimizer=keras.optimizers.SGD(0.1), epochs=1)
    scaled, _ = _train("auto", optimizer=keras.optimizers.LossScaleOptimizer(
        keras.optimizers.SGD(0.1)), epochs=1)
    np.testing.assert_allclose(scaled.layer.kernel.numpy(), plain.layer.kernel.numpy(),
                               rtol=1e-5, atol=1e-7)


class _Seen(keras.callbacks.Callback):
    """Records the hooks fit calls (reads only: it keeps the multi-step path)."""
    needs_single_steps = False

    def __init__(self):
        super().__init__()
        self.calls = []

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch", epoch))

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(("batch", batch, float(logs["loss"])))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("end", epoch, dict(logs)))


def _fit(monkeypatch, fast, persistent, shuffle, seed, steps_per_execution="auto"):
    monkeypatch.setattr(rbm_module, "fits_in_memory",
                        (lambda *a: False) if not fast else fastpath.fits_in_memory)
    keras.utils.set_random_seed(5)
    model = tfrbm.RBMModel(tfrbm.RBMLayer(7), persistent=persistent, n_chains=9, seed=seed)
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.5),
                  steps_per_execution=steps_per_execution)
    seen = _Seen()
    # 700 rows in batches of 20: 35 steps, more than one call of 32 steps per epoch
    history = model.fit(_data(n=700), batch_size=20, epochs=2, verbose=0, shuffle=shuffle,
                        callbacks=[seen], initial_epoch=0)
    return model, history, seen.calls


@pytest.mark.parametrize("persistent,shuffle,seed,spe", [(False, True, 3, "auto"),
                                                         (True, False, 3, "auto"),
                                                         (False, True, None, 4)])
def test_fit_on_arrays_takes_the_in_memory_loop_with_identical_results(monkeypatch, persistent,
                                                                       shuffle, seed, spe):
    """fit on an in-memory array runs tfrbm.fastpath.fit_arrays: the same weights, chains,
    seed state, History and callback calls as Keras' loop over the tf.data pipeline."""
    fast, fast_hist, fast_calls = _fit(monkeypatch, True, persistent, shuffle, seed, spe)
    plain, plain_hist, plain_calls = _fit(monkeypatch, False, persistent, shuffle, seed, spe)
    for a, b in zip(fast.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fast.seed_generator.state.numpy(),
                                  plain.seed_generator.state.numpy())
    assert int(fast.optimizer.iterations.numpy()) == int(plain.optimizer.iterations.numpy()) == 70
    assert fast_hist.history == plain_hist.history
    assert fast_calls == plain_calls
    assert fast.history is fast_hist


def test_fit_in_memory_loop_is_traced_once_per_model(monkeypatch):
    """A second fit of the same model on same-shaped data reuses the compiled loop."""
    model = tfrbm.RBMModel(tfrbm.RBMLayer(5), seed=1)
    model.fit(_data(), batch_size=20, epochs=1, verbose=0)
    loops = dict(fastpath._LOOPS[model])
    traces = [fn.experimental_get_tracing_count() for _, fn in loops.values()]
    model.fit(_data(seed=1), batch_size=20, epochs=2, verbose=0)
    assert dict(fastpath._LOOPS[model]).keys() == loops.keys()
    assert [fn.experimental_get_tracing_count() for _, fn in fastpath._LOOPS[model].values()] == traces


def test_a_second_model_of_the_same_kind_traces_its_step_once(monkeypatch):
    """The in-memory loop learns the structure of the step's logs from the first model of a
    class, config and data width (its first step runs outside the loop: two traces); a later
    such model traces its step once, with the same updates and logs bit for bit."""
    traced = []
    original = rbm_module.RBMModel.train_step

    def counting(self, data):
        traced.append(self.name)
        return original(self, data)

    monkeypatch.setattr(rbm_module.RBMModel, "train_step", counting)
    x = _data(d=13)
    results = []
    for _ in range(2):
        keras.utils.set_random_seed(0)     # the same initial weights
        model = tfrbm.RBMModel(tfrbm.RBMLayer(7), weight_decay=0.0123, seed=5)  # a kind no other test fits
        model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.5))
        history = model.fit(x, epochs=2, batch_size=40, verbose=0)
        results.append(([w.copy() for w in model.get_weights()], history.history))
    first, second = (traced.count(name) for name in dict.fromkeys(traced))
    assert (first, second) == (2, 1)
    for a, b in zip(results[0][0], results[1][0]):
        np.testing.assert_array_equal(a, b)
    assert results[0][1] == results[1][1]
