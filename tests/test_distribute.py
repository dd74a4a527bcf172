"""tf.distribute: RBMModel, DBNModel and a companion train under MirroredStrategy on 2 logical CPU
devices and under MultiWorkerMirroredStrategy with 2 worker processes on 127.0.0.1 (the latter
needs the fixes in tfrbm._compat, which an RBM installs when it is compiled under that strategy;
a canary checks that the installed Keras still needs them).

Device layout must be set before TensorFlow starts, so every check runs in a subprocess.
"""
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

COMMON = r'''
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow as tf
import keras
from tfrbm.layers import RBMLayer
from tfrbm.models.rbm import RBMModel
from tfrbm.units import BernoulliUnits

class MeanField(BernoulliUnits):
    """Deterministic 'samples' (the means): the CD update becomes a pure function of the batch."""
    def sample(self, mean, seed):
        return mean

X = (np.random.default_rng(0).random((64, 12)) < 0.3).astype("float32")

def deterministic_rbm():
    layer = RBMLayer(5, visible=MeanField(),
                     kernel_initializer=keras.initializers.RandomNormal(stddev=0.1, seed=3))
    rbm = RBMModel(layer, cd_k=2, seed=1, init_visible_bias=None, centering=False)
    rbm.compile(optimizer=keras.optimizers.SGD(0.5, momentum=0.5))
    rbm.build((None, 12))
    layer.hidden_units = MeanField()
    return rbm
'''

MIRRORED = COMMON + r'''
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
out = {"replicas": strategy.num_replicas_in_sync}

# 1. the CD update with a global batch of 32 (16 per replica) equals the single-device update
single = deterministic_rbm()
w0 = single.layer.kernel.numpy().copy()
single.fit(X, batch_size=32, epochs=2, shuffle=False, verbose=0)
with strategy.scope():
    mirrored = deterministic_rbm()
mirrored.fit(X, batch_size=32, epochs=2, shuffle=False, verbose=0)
out["single_moved"] = float(np.abs(single.layer.kernel.numpy() - w0).max())
out["kernel_diff"] = float(np.abs(mirrored.layer.kernel.numpy() - single.layer.kernel.numpy()).max())
out["bias_diff"] = max(float(np.abs(getattr(mirrored.layer, n).numpy()
                                    - getattr(single.layer, n).numpy()).max())
                       for n in ("visible_bias", "hidden_bias"))

# 2. persistent chains are kept per replica (own noise, own fantasy particles)
with strategy.scope():
    pcd = RBMModel(RBMLayer(6), persistent=True, n_chains=8, seed=2)
    pcd.compile(optimizer=keras.optimizers.SGD(0.1))
history = pcd.fit(X, batch_size=16, epochs=2, verbose=0)
chains = [v.numpy() for v in strategy.experimental_local_results(pcd.persistent_chains.value)]
out["chain_copies"] = len(chains)
out["chains_differ"] = bool(np.abs(chains[0] - chains[1]).max() > 0)
out["pcd_finite"] = bool(np.isfinite(history.history["reconstruction_error"]).all())
kernels = [v.numpy() for v in strategy.experimental_local_results(pcd.layer.kernel.value)]
out["weights_in_sync"] = bool(np.array_equal(kernels[0], kernels[1]))

# 3. a DBN and a companion model train under the strategy
from tfrbm.models.dbn import DBNModel
from tfrbm.course.sequence import build_sequence_classifier
with strategy.scope():
    dbn = DBNModel([RBMLayer(6), RBMLayer(3)], seed=0)
    dbn.pretrain(X, epochs=1, batch_size=16, verbose=0)
    features = dbn.predict(X, verbose=0)
    clf = build_sequence_classifier(units=8, rows=3, cols=4, num_classes=2)
    clf.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
h = clf.fit(X, (X[:, 0] > 0).astype("int32"), batch_size=16, epochs=2, verbose=0)
out["dbn_features_shape"] = list(features.shape)
out["dbn_finite"] = bool(np.isfinite(features).all())
out["companion_loss"] = h.history["loss"]
print("RESULT " + json.dumps(out))
'''

WORKER = COMMON + r'''
index = int(sys.argv[1])
strategy = tf.distribute.MultiWorkerMirroredStrategy()

# canary: a stock Keras model under this strategy, without tfrbm's fixes, still fails
from tfrbm import _compat
canary = {"installed_at_import": _compat.multi_worker_fixes_installed()}
def stock_fit():
    with strategy.scope():
        m = keras.Sequential([keras.Input((12,)), keras.layers.Dense(1)])
        m.compile(optimizer="sgd", loss="mse")
    m.fit(X, X[:, :1], batch_size=32, epochs=1, verbose=0)
for key, install in (("build_bug", _compat._install_symbolic_build_fix),
                     ("reduce_bug", None)):
    try:
        stock_fit()
        canary[key] = None
    except Exception as exc:
        canary[key] = repr(exc)[:400]
    if install is not None:         # fix the first bug only, to expose the second
        install(_compat.tensorflow_trainer())
single = deterministic_rbm()            # the same update on one device, for comparison
single.fit(X, batch_size=32, epochs=2, shuffle=False, verbose=0)
with strategy.scope():
    rbm = deterministic_rbm()
w0 = rbm.layer.kernel.numpy().copy()
history = rbm.fit(X, batch_size=32, epochs=2, shuffle=False, verbose=0)
kernel = rbm.layer.kernel.numpy()

from tfrbm.models.dbn import DBNModel
from tfrbm.course.sequence import build_sequence_classifier
with strategy.scope():
    dbn = DBNModel([RBMLayer(6), RBMLayer(3)], seed=0)
    dbn.pretrain(X, epochs=1, batch_size=16, verbose=0)
    clf = build_sequence_classifier(units=8, rows=3, cols=4, num_classes=2)
    clf.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
h = clf.fit(X, (X[:, 0] > 0).astype("int32"), batch_size=16, epochs=2, verbose=0)
features = dbn.predict(X, verbose=0)
print("RESULT " + json.dumps({
    "replicas": strategy.num_replicas_in_sync, "moved": float(np.abs(kernel - w0).max()),
    "kernel": kernel.round(6).tolist(),
    "single_diff": float(np.abs(kernel - single.layer.kernel.numpy()).max()),
    "history": history.history["reconstruction_error"],
    "dbn_finite": bool(np.isfinite(features).all()), "dbn_shape": list(features.shape),
    "companion_loss": h.history["loss"], "canary": canary,
    "installed_after": _compat.multi_worker_fixes_installed()}))
'''


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG",)}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=REPO, CUDA_VISIBLE_DEVICES="", **extra)
    return env


def _result(stdout):
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, "no RESULT line"
    return json.loads(lines[-1][len("RESULT "):])


@pytest.fixture(scope="module")
def mirrored():
    proc = subprocess.run([sys.executable, "-c", MIRRORED], env=_env(), cwd=REPO,
                          capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return _result(proc.stdout)


def test_cd_update_with_global_batch_equals_single_device(mirrored):
    assert mirrored["replicas"] == 2
    assert mirrored["single_moved"] > 1e-2
    assert mirrored["kernel_diff"] < 1e-5 and mirrored["bias_diff"] < 1e-5, mirrored


def test_persistent_chains_are_kept_per_replica(mirrored):
    assert mirrored["chain_copies"] == 2 and mirrored["chains_differ"]
    assert mirrored["weights_in_sync"] and mirrored["pcd_finite"]


def test_dbn_and_companion_train_under_mirrored_strategy(mirrored):
    assert mirrored["dbn_features_shape"] == [64, 3] and mirrored["dbn_finite"]
    assert len(mirrored["companion_loss"]) == 2
    assert all(l == l for l in mirrored["companion_loss"])   # not NaN


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_multi_worker_mirrored_two_processes():
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for i in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
        procs.append(subprocess.Popen([sys.executable, "-c", WORKER, str(i)], cwd=REPO,
                                      env=_env(TF_CONFIG=tf_config), stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    results = []
    try:
        for p in procs:
            stdout, stderr = p.communicate(timeout=400)
            assert p.returncode == 0, stderr[-4000:]
            results.append(_result(stdout))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [r["replicas"] for r in results] == [2, 2]
    for r in results:
        canary = r["canary"]
        assert not canary["installed_at_import"], "import tfrbm must not patch Keras"
        # when one of these fails, the installed Keras fixed the bug: drop that fix from _compat
        assert canary["build_bug"] and "PerReplica" in canary["build_bug"], canary
        assert canary["reduce_bug"] and "reduction dimension" in canary["reduce_bug"], canary
        assert r["installed_after"]
    assert all(r["moved"] > 1e-2 for r in results)
    for r in results:                   # logs are reduced to scalars, finite, on both workers
        assert len(r["history"]) == 2 and all(np.isfinite(r["history"])), r["history"]
        assert r["dbn_finite"] and r["dbn_shape"] == [64, 3]
        assert len(r["companion_loss"]) == 2 and all(np.isfinite(r["companion_loss"]))
    # the workers stay in sync: the same weights on both after training
    np.testing.assert_allclose(results[0]["kernel"], results[1]["kernel"], atol=1e-6)
    # and the CD update with the global batch split over two workers equals one device's update
    assert all(r["single_diff"] < 1e-5 for r in results), [r["single_diff"] for r in results]


def test_keras_fixes_are_not_installed_on_import_and_install_once():
    """import tfrbm leaves Keras alone; under a multi-worker strategy the fixes wrap Keras's
    reduce_per_replica and _maybe_symbolic_build exactly once; any other strategy installs nothing."""
    code = r"""
import tfrbm, keras, tensorflow as tf
from tfrbm import _compat
trainer = _compat.tensorflow_trainer()
original = trainer.reduce_per_replica
assert not _compat.multi_worker_fixes_installed()
rbm = tfrbm.RBMModel(tfrbm.RBMLayer(3), centering=False)
rbm.compile(optimizer="sgd")                           # default strategy: nothing installed
assert trainer.reduce_per_replica is original
assert _compat.install_multi_worker_fixes(tf.distribute.get_strategy()) is False
assert _compat.install_multi_worker_fixes(force=True) is True
wrapped = trainer.reduce_per_replica
assert wrapped.__wrapped__ is original
assert _compat.install_multi_worker_fixes(force=True) is True and trainer.reduce_per_replica is wrapped
assert getattr(trainer.TensorFlowTrainer._maybe_symbolic_build, "_tfrbm_scalar_fix", False)
print("OK")
"""
    proc = subprocess.run([sys.executable, "-c", code], env=_env(), cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stderr[-3000:]


def test_keras_fixes_are_version_gated(monkeypatch):
    from tfrbm import _compat
    monkeypatch.setattr(_compat, "keras_version", lambda: (_compat.TESTED_KERAS[1][0],
                                                           _compat.TESTED_KERAS[1][1] + 1))
    assert not _compat.multi_worker_fixes_needed()
    monkeypatch.setattr(_compat, "keras_version", lambda: _compat.TESTED_KERAS[1])
    assert _compat.multi_worker_fixes_needed()
