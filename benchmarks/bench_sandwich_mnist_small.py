"""The sandwich on a 784 x 16 MNIST RBM, exact through its 2^16 hidden states.

Trains a 16-hidden-unit PCD RBM for 300 batches of MNIST, then compares the exact mean
log p(v) of 500 stochastically binarized test images with AIS/RAISE sandwiches at 30-800 betas.

    python benchmarks/bench_sandwich_mnist_small.py
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import warnings  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tfrbm.likelihood import ais  # noqa: E402
from tfrbm.data.images import load_mnist, mnist  # noqa: E402
from tfrbm.layers import RBMLayer  # noqa: E402
from tfrbm.models.rbm import RBMModel  # noqa: E402

warnings.simplefilter("ignore")
x, _ = load_mnist("train")
xt, _ = load_mnist("test")
keras.utils.set_random_seed(0)
m = RBMModel(RBMLayer(16), persistent=True, seed=0)
m.compile(optimizer=keras.optimizers.SGD(0.03, momentum=0.9))
m.fit(mnist("train", batch_size=100, seed=0).take(300), epochs=1, verbose=0)
print("max|W|", np.abs(m.layer.kernel.numpy()).max())
exact = m.log_partition(method="exact")
print("exact", exact)
tb = (np.random.default_rng(0).random(xt[:500].shape) < xt[:500]).astype("float32")
print("exact LL", m.log_likelihood(tb, method="exact"))
for K in [30, 100, 200, 800]:
    r = ais.ais_log_partition(m, n_runs=100, n_betas=K, base_data=x, seed=0, warn=False)
    s = m.log_likelihood(tb, method="sandwich", n_runs=100, n_betas=K, base_data=x, raise_rows=100,
                         seed=0, warn=False)
    print(K, round(r.log_z - exact, 3), round(r.ess, 1), "sandwich", round(s.lower, 2),
          round(s.upper, 2), flush=True)
