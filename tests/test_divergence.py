"""Divergence is caught and named, NaN models are never written, saves are atomic, F(v) stays finite."""
import os
import pathlib
import re
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest

from tfrbm.layers import RBMLayer
from tfrbm.models.rbm import RBMModel
from tfrbm.safety import (AtomicModelCheckpoint, NonFiniteWeightsError, StopOnNonFinite,
                          TrainingDivergedError, atomic_save, atomic_save_weights,
                          non_finite_variables)

REPO = pathlib.Path(__file__).resolve().parents[1]


def _data(n=64, d=12, seed=0):
    return (np.random.RandomState(seed).rand(n, d) > 0.5).astype("float32")


def _exploding_model():
    model = RBMModel(RBMLayer(5), cd_k=1, seed=2)
    # CD gradients are O(1): a learning rate of 1e38 overflows float32 within a few steps
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e38, momentum=0.9))
    return model


def test_huge_learning_rate_stops_with_the_step_named(tmp_path):
    model = _exploding_model()
    guard = StopOnNonFinite()
    ckpt = AtomicModelCheckpoint(str(tmp_path / "ckpt.keras"), save_freq=1)
    with pytest.raises(TrainingDivergedError) as info:
        model.fit(_data(), epochs=3, batch_size=8, verbose=0, callbacks=[guard, ckpt])
    err = info.value
    message = str(err)
    assert "NaN/Inf" in message and "learning rate" in message
    match = re.search(r"epoch (\d+), step (\d+) of the epoch \(global step (\d+)\)", message)
    assert match, message
    assert int(match.group(1)) == err.epoch + 1 and int(match.group(2)) == err.step + 1
    assert err.global_step >= 1 and err.names
    # the guard restored the last finite weights, so whatever is saved later is usable
    assert non_finite_variables(model) == []
    # every checkpoint written before the divergence is finite and loadable; none after it
    if (tmp_path / "ckpt.keras").exists():
        loaded = keras.saving.load_model(tmp_path / "ckpt.keras")
        assert all(np.isfinite(w).all() for w in loaded.get_weights())
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name], "temp files left behind"


def test_checkpoint_refuses_nan_weights_without_the_guard(tmp_path):
    model = _exploding_model()
    ckpt = AtomicModelCheckpoint(str(tmp_path / "ckpt-{epoch}.weights.h5"), save_weights_only=True,
                                 save_freq="epoch")
    with pytest.warns(RuntimeWarning, match="NaN/Inf"):
        model.fit(_data(), epochs=2, batch_size=8, verbose=0, callbacks=[ckpt])
    assert non_finite_variables(model), "the setup should have diverged"
    assert ckpt.skipped == 2
    assert list(tmp_path.iterdir()) == []


def test_guard_without_raising_stops_training_and_records_where():
    model = _exploding_model()
    guard = StopOnNonFinite(check_every=2, raise_error=False, restore_last_finite=False)
    history = model.fit(_data(), epochs=5, batch_size=8, verbose=0, callbacks=[guard])
    assert guard.diverged is not None
    assert guard.diverged["global_step"] % 2 == 0
    assert "at most 1 steps earlier" in guard.diverged["message"]
    assert len(history.epoch) == 1, "training should stop in the first epoch"


def test_atomic_save_refuses_nan_and_keeps_the_previous_file(tmp_path):
    model = RBMModel(RBMLayer(4), seed=1)
    model.fit(_data(), epochs=1, batch_size=16, verbose=0)
    path = tmp_path / "rbm.keras"
    atomic_save(model, path)
    before = path.read_bytes()
    model.layer.kernel.assign(np.full(model.layer.kernel.shape, np.nan, "float32"))
    with pytest.raises(NonFiniteWeightsError, match="kernel"):
        atomic_save(model, path)
    with pytest.raises(NonFiniteWeightsError):
        atomic_save_weights(model, tmp_path / "w.weights.h5")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rbm.keras"]


def test_guard_rejects_bad_arguments():
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="check_every"):
            StopOnNonFinite(check_every=bad)
    with pytest.raises(ValueError, match="on_non_finite"):
        AtomicModelCheckpoint("x.keras", on_non_finite="ignore")


KILL_DURING_SAVE = r"""
import os, signal, sys
import numpy as np
import keras
from tfrbm.layers import RBMLayer
from tfrbm.models.rbm import RBMModel
from tfrbm.safety import atomic_save
path = sys.argv[1]
x = (np.random.RandomState(0).rand(32, 6) > 0.5).astype("float32")
model = RBMModel(RBMLayer(3), seed=1)
model.fit(x, epochs=1, batch_size=8, verbose=0)
atomic_save(model, path)
np.save(path + ".expected.npy", model.layer.kernel.numpy())
model.fit(x, epochs=1, batch_size=8, verbose=0)
real_save = keras.Model.save
def dying_save(self, filepath, *a, **k):
    real_save(self, filepath, *a, **k)          # write the new file completely ...
    with open(filepath, "r+b") as f:             # ... then be killed while it is half rewritten
        f.truncate(os.path.getsize(filepath) // 2)
    os.kill(os.getpid(), signal.SIGKILL)
keras.Model.save = dying_save
atomic_save(model, path)
"""


def test_sigkill_during_save_leaves_previous_file_loadable(tmp_path):
    path = tmp_path / "model.keras"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", KILL_DURING_SAVE, str(path)], env=env,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    leftovers = [p for p in tmp_path.iterdir() if "tmp" in p.name]
    assert leftovers, "the kill should have happened mid-save, leaving the temp file"
    model = keras.saving.load_model(path)
    np.testing.assert_array_equal(model.layer.kernel.numpy(),
                                  np.load(str(path) + ".expected.npy"))


@pytest.mark.parametrize("scale", [1e3, 1e6, 1e12])
def test_free_energy_finite_for_extreme_weights(scale):
    rng = np.random.RandomState(3)
    v = (rng.rand(50, 30) > 0.5).astype("float32")
    layer = RBMLayer(20)
    layer.build((None, 30))
    w = (rng.randn(30, 20) * scale).astype("float32")
    c = (rng.randn(20) * scale).astype("float32")
    b = (rng.randn(30) * scale).astype("float32")
    layer.kernel.assign(w)
    layer.hidden_bias.assign(c)
    layer.visible_bias.assign(b)
    fe = layer.free_energy(v).numpy()
    assert np.isfinite(fe).all()
    # float64 reference with the stable softplus: max(x, 0) + log1p(exp(-|x|))
    x = v.astype(np.float64) @ w.astype(np.float64) + c
    ref = -(v @ b.astype(np.float64)) - (np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))).sum(1)
    np.testing.assert_allclose(fe, ref, rtol=1e-4, atol=1e-3 * scale)
    # the model's verbs and the metric path agree and stay finite
    model = RBMModel(layer)
    model.build((None, 30))
    assert np.isfinite(model.free_energy(v)).all()
    assert np.isfinite(model.hidden_probs(v)).all()
    assert np.isfinite(model.reconstruct(v)).all()
