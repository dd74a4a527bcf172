"""Issue 30 item 2: fitting, evaluating and predicting with tfrbm models prints no TensorFlow
warning at the default settings and default logging (no TFRBM_QUIET_TF, no
TF_CPP_MIN_LOG_LEVEL).

The causes, removed rather than filtered: the per-batch data check put an assertion inside a
``tf.cond`` inside Keras' multi-step loop, and Grappler's loop optimizer warned "Skipping loop
optimization for Merge node with control input ... AssertGuard" on every fit; and TensorFlow's
retracing detector counted the first trace of each new model as a retrace of the last one
(:mod:`tfrbm.tracing`), warning after about five fits.
"""
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

from conftest import REPO
from tfrbm import RBMLayer, RBMModel, _compat, fastpath

CHILD = r"""
import os, sys
import numpy as np
import tensorflow as tf
import keras
import tfrbm
from tfrbm import DBMModel, DBNModel, RBMLayer, RBMModel
from tfrbm.models.ratings_rbm import RatingsRBM
tf.constant(0.0) + 1.0          # TensorFlow's device start-up lines come before the marker
sys.stderr.flush()
os.write(2, b"@@FITS@@\n")
rng = np.random.default_rng(0)
x = (rng.random((200, 24)) < 0.3).astype("float32")
for seed in range(6):           # TensorFlow's retracing detector warns from the 5th trace on
    rbm = RBMModel(RBMLayer(6), seed=seed)
    rbm.fit(x, epochs=1, batch_size=20, verbose=0, validation_data=x[:40])
    rbm.predict(x, verbose=0)
rbm.fit(tf.data.Dataset.from_tensor_slices(x).batch(25), epochs=1, verbose=0)
dbn = DBNModel([RBMLayer(8), RBMLayer(4)], seed=0)
dbn.fit(x, epochs=1, batch_size=20, verbose=0)
dbn.evaluate(x, verbose=0)
dbn.predict(x, verbose=0)
for seed in range(6):           # the DBM's fit and its cached mean-field/bound functions too
    dbm = DBMModel(hidden=[6, 4], seed=seed, pretrain_epochs=1, n_chains=10)
    dbm.fit(x, epochs=1, batch_size=20, verbose=0)
    dbm.transform(x)
    dbm.variational_bound(x)
ratings = rng.integers(0, 4, size=(60, 10)).astype("float32")
RatingsRBM(10, 4, 3, conditional=False, seed=0).fit(ratings, batch_size=4, epochs=2, verbose=0)
sys.stderr.flush()
print("@@DONE@@")
"""


def test_fits_print_no_tensorflow_warning():
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for name in ("TFRBM_QUIET_TF", "TFRBM_VERBOSE_TF", "TF_CPP_MIN_LOG_LEVEL"):
        env.pop(name, None)
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                          env=env, cwd=str(REPO), timeout=600)
    assert proc.returncode == 0 and "@@DONE@@" in proc.stdout, proc.stderr[-3000:]
    after = proc.stderr.split("@@FITS@@", 1)[1]
    assert after.strip() == "", after[-3000:]


def test_one_model_traces_each_function_once():
    """The retracing warning is exempted per model because a model does not retrace: repeated
    fits (on an array: fit's in-memory loop, tfrbm.fastpath.fit_arrays; on a tf.data pipeline:
    Keras' train function), evaluations and predictions reuse each traced function."""
    x = (np.random.default_rng(1).random((90, 12)) < 0.3).astype("float32")
    rbm = RBMModel(RBMLayer(3), seed=0)

    def run_and_count():
        rbm.fit(x, epochs=2, batch_size=10, verbose=0)
        rbm.fit(tf.data.Dataset.from_tensor_slices(x).batch(10), epochs=2, verbose=0)
        rbm.evaluate(x, batch_size=10, verbose=0)
        rbm.predict(x, batch_size=10, verbose=0)
        counts = []
        loops = fastpath.compiled_loops(rbm)
        assert len(loops) == 1
        for fn in (*loops, rbm.train_function, rbm.test_function, rbm.predict_function):
            traced = _compat.traced_functions(fn)
            assert traced and all(f._omit_frequent_tracing_warning for f in traced)
            counts.append([f.experimental_get_tracing_count() for f in traced])
        return counts

    first = run_and_count()
    assert run_and_count() == first and run_and_count() == first
