"""keras.utils.set_random_seed + op determinism => bit-identical weights across two processes (CPU)."""
import os
import pathlib
import subprocess
import sys

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]

CHILD = r"""
import sys
import numpy as np
import keras
import tensorflow as tf
from tfrbm.layers import RBMLayer
from tfrbm.models.rbm import RBMModel

tf.config.experimental.enable_op_determinism()
out = {}
x = (np.random.RandomState(0).rand(120, 20) > 0.5).astype("float32")
for seed in (7, 8):
    keras.utils.set_random_seed(seed)
    # no explicit model seed: everything random follows the global seed
    rbm = RBMModel(RBMLayer(9), persistent=True, n_chains=12, cd_k=2)
    rbm.fit(x, epochs=2, batch_size=20, shuffle=True, verbose=0)
    for i, w in enumerate(rbm.get_weights()):
        out[f"rbm{seed}_{i}"] = w
    keras.utils.set_random_seed(seed)
    mlp = keras.Sequential([keras.Input((20,)), keras.layers.Dense(8, activation="relu"),
                            keras.layers.Dropout(0.3), keras.layers.Dense(2)])
    mlp.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    mlp.fit(x, (x.sum(1) > 10).astype("int32"), epochs=2, batch_size=16, shuffle=True, verbose=0)
    for i, w in enumerate(mlp.get_weights()):
        out[f"mlp{seed}_{i}"] = w
np.savez(sys.argv[1], **out)
"""


def _run(path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True,
                          env=env, timeout=240, cwd=str(REPO))
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def test_two_processes_give_bit_identical_weights(tmp_path):
    first = _run(tmp_path / "a.npz")
    second = _run(tmp_path / "b.npz")
    assert first.keys() == second.keys() and len(first) > 8
    for key in first:
        assert first[key].dtype == second[key].dtype
        assert first[key].tobytes() == second[key].tobytes(), f"{key} differs between runs"
    # not vacuous: another seed gives other weights, and training moved them
    assert not np.array_equal(first["rbm7_0"], first["rbm8_0"])
    assert not np.array_equal(first["mlp7_0"], first["mlp8_0"])
    assert np.isfinite(first["rbm7_0"]).all()
