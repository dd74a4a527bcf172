"""AIS against exact enumeration, its bounds, the schedule and argument errors."""
import math

import numpy as np
import pytest

from tfrbm import likelihood
from tfrbm.likelihood import ais
from tfrbm.layers import RBMLayer
from tfrbm.models.rbm import RBMModel
from tfrbm.testing import random_layer as _random_layer


@pytest.mark.parametrize("n_visible,n_hidden", [(20, 12), (12, 20)])
def test_ais_matches_exact_enumeration(n_visible, n_hidden):
    layer = _random_layer(n_visible, n_hidden, seed=n_visible)
    exact = likelihood.exact_log_partition(layer)
    result = ais.ais_log_partition(layer, n_runs=100, betas=ais.make_betas(2000), seed=3)
    assert isinstance(result, tuple) and len(result) == 3
    log_z, lower, upper = result
    assert abs(log_z - exact) < 0.05
    assert lower <= exact <= upper
    assert upper - lower < 0.5


def test_ais_on_trained_model_with_base_rate_data():
    rng = np.random.default_rng(0)
    protos = (rng.random((4, 16)) < 0.5).astype("float32")
    data = protos[rng.integers(0, 4, 400)]
    data = np.abs(data - (rng.random(data.shape) < 0.05)).astype("float32")
    model = RBMModel(RBMLayer(10), seed=0)
    model.compile(optimizer="sgd")
    model.optimizer.learning_rate = 0.2
    model.fit(np.tile(data, (8, 1)), epochs=1, batch_size=20, verbose=0)
    assert float(np.abs(model.layer.kernel.numpy()).max()) > 1.0  # non-trivial weights
    exact = model.log_partition(method="exact")
    log_z, lower, upper = model.log_partition(method="ais", n_runs=64, betas=ais.make_betas(1000),
                                              base_data=data, seed=5)
    assert abs(log_z - exact) < 0.05
    assert lower <= exact <= upper
    ll = model.log_likelihood(data, method="ais", n_runs=64, betas=ais.make_betas(1000),
                              base_data=data, seed=5)
    assert abs(ll - model.log_likelihood(data, method="exact")) < 0.05
    scores = model.score_samples(data[:5], method="ais", n_runs=16, betas=ais.make_betas(300),
                                 base_data=data, seed=5)
    assert scores.shape == (5,) and np.all(scores < 0)


def test_base_rate_model_alone_is_exact():
    # zero weights: the base-rate model with the RBM's own biases is the RBM, every weight equal
    layer = _random_layer(10, 5, seed=1, scale=0.0)
    b = layer.visible_bias.numpy()
    log_z, lower, upper = ais.ais_log_partition(layer, n_runs=8, betas=[0.0, 0.5, 1.0],
                                                base_biases=b, seed=0)
    exact = likelihood.exact_log_partition(layer)
    assert log_z == pytest.approx(exact, abs=1e-6)
    assert lower == pytest.approx(exact, abs=1e-6) and upper == pytest.approx(exact, abs=1e-6)


def test_make_betas_default_schedule():
    betas = ais.make_betas()
    assert len(betas) == 14501
    assert betas[0] == 0.0 and betas[-1] == 1.0 and np.all(np.diff(betas) > 0)
    assert betas[500] == pytest.approx(0.5) and betas[4500] == pytest.approx(0.9)
    small = ais.make_betas(145)
    assert len(small) == 146 and np.all(np.diff(small) > 0)


def test_summary_bounds_in_log_space():
    log_w = np.log(np.array([1.0, 2.0, 3.0, 4.0]))
    log_z, lower, upper = ais.summarize_log_weights(log_w, log_z0=1.0)
    sd = np.std([1, 2, 3, 4], ddof=1) / 2
    assert log_z == pytest.approx(1.0 + math.log(2.5))
    assert upper == pytest.approx(1.0 + math.log(2.5 + 3 * sd))
    assert lower == pytest.approx(1.0 + math.log(2.5 - 3 * sd))
    # a dominant weight makes mean - 3 std negative: the lower bound is -inf
    assert ais.summarize_log_weights(np.log([1.0, 1.0, 1.0, 100.0]))[1] == -math.inf


@pytest.mark.parametrize("n_runs", [0, -3, 2.5, True])
def test_bad_n_runs(n_runs):
    layer = _random_layer(6, 3, seed=0)
    with pytest.raises(ValueError, match="n_runs"):
        ais.ais_log_partition(layer, n_runs=n_runs, betas=[0, 1])


@pytest.mark.parametrize("betas,match", [
    ([0.0, 0.5, 0.4, 1.0], "strictly increasing"),
    ([0.1, 0.5, 1.0], "start at 0"),
    ([0.0, 0.5, 0.9], "end at 1"),
    ([0.0], "at least 2"),
    ([0.0, np.nan, 1.0], "NaN"),
])
def test_bad_betas(betas, match):
    layer = _random_layer(6, 3, seed=0)
    with pytest.raises(ValueError, match=match):
        ais.ais_log_partition(layer, n_runs=4, betas=betas)


def test_bad_base_arguments():
    layer = _random_layer(6, 3, seed=0)
    with pytest.raises(ValueError, match="base_biases must have shape"):
        ais.ais_log_partition(layer, n_runs=4, betas=[0, 1], base_biases=np.zeros(5))
    with pytest.raises(ValueError, match="features"):
        ais.ais_log_partition(layer, n_runs=4, betas=[0, 1], base_data=np.zeros((3, 5)))
    with pytest.raises(ValueError, match="not both"):
        ais.ais_log_partition(layer, n_runs=4, betas=[0, 1], base_data=np.zeros((3, 6)),
                              base_biases=np.zeros(6))
    with pytest.raises(ValueError, match="built"):
        ais.ais_log_partition(RBMLayer(3), n_runs=4)


def test_annealing_in_chunks_equals_one_call_and_stops_between_chunks():
    """The loop runs in compiled chunks (Ctrl-C lands between them); the chunking changes
    nothing for a fixed seed, and an exception raised between chunks (as KeyboardInterrupt is)
    stops the run there."""
    import tensorflow as tf
    layer = _random_layer(10, 6, seed=1, scale=1.0)
    betas = ais.make_betas(60)
    b_a = np.zeros(10, np.float32)
    v0 = (np.random.default_rng(0).random((16, 10)) < 0.5).astype("float32")
    seed = tf.constant([4, 0], tf.int64)
    one_w, one_v = ais.run_annealing(layer, v0, betas, b_a, seed, chunk_steps=len(betas))
    calls = []
    chunk_w, chunk_v = ais.run_annealing(layer, v0, betas, b_a, seed, chunk_steps=7,
                                         progress=lambda done, total: calls.append((done, total)))
    np.testing.assert_array_equal(chunk_w, one_w)
    np.testing.assert_array_equal(chunk_v.numpy(), one_v.numpy())
    n = len(betas) - 1
    assert calls == [(min(n, 7 * i), n) for i in range(1, -(-n // 7) + 1)]
    # the default chunk for an MNIST-sized RBM and 100 runs is well under a second of work
    mnist = RBMLayer(500)
    mnist.build((None, 784))
    assert 1 <= ais.annealing_chunk_steps(100, mnist) <= 50

    def interrupt(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ais.run_annealing(layer, v0, betas, b_a, seed, chunk_steps=7, progress=interrupt)
    # the public estimate is unchanged by chunking too
    a = ais.ais_log_partition(layer, n_runs=16, betas=betas, seed=2, warn=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ais, "CHUNK_MAX_STEPS", 5)
        b = ais.ais_log_partition(layer, n_runs=16, betas=betas, seed=2, warn=False)
    assert a.log_z == b.log_z
