"""Monitors: PLL equals scikit-learn's estimator, reconstruction error, free-energy gap callbacks."""
import numpy as np
import pytest
from sklearn.neural_network import BernoulliRBM

from tfrbm import monitors
from tfrbm.layers import RBMLayer
from tfrbm.models.rbm import RBMModel


def _data(n=300, d=16, seed=0):
    rng = np.random.default_rng(seed)
    protos = (rng.random((4, d)) < 0.5).astype("float32")
    x = protos[rng.integers(0, 4, n)]
    return np.abs(x - (rng.random(x.shape) < 0.1)).astype("float32")


def test_pll_matches_sklearn_score_samples():
    x = _data()
    sk = BernoulliRBM(n_components=8, n_iter=5, learning_rate=0.1, random_state=0).fit(x)
    layer = RBMLayer(8)
    layer.build((None, 16))
    layer.kernel.assign(sk.components_.T.astype("float32"))
    layer.visible_bias.assign(sk.intercept_visible_.astype("float32"))
    layer.hidden_bias.assign(sk.intercept_hidden_.astype("float32"))
    # sklearn draws its flipped indices as rng.randint(0, n_features, n_samples) from random_state
    sk.random_state = 42
    expected = sk.score_samples(x)
    indices = np.random.RandomState(42).randint(0, 16, x.shape[0])
    ours = monitors.pseudo_log_likelihood(layer, x, indices=indices)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-3)
    # with random flips the mean agrees statistically
    assert np.mean(monitors.pseudo_log_likelihood(layer, x, seed=0)) == pytest.approx(
        expected.mean(), rel=0.15)


def test_pll_metric_and_errors():
    x = _data()
    model = RBMModel(RBMLayer(8), seed=0)
    model.fit(x, epochs=3, batch_size=50, verbose=0)
    metric = monitors.PseudoLogLikelihood(model)
    metric.update_state(x[:150])
    metric.update_state(x[150:])
    full = np.mean(monitors.pseudo_log_likelihood(model, x, seed=1))
    assert float(metric.result()) == pytest.approx(full, rel=0.2)
    recon = monitors.ReconstructionError(model)
    recon.update_state(x)
    assert float(recon.result()) == pytest.approx(monitors.reconstruction_error(model, x), rel=1e-5)
    with pytest.raises(ValueError, match="indices"):
        monitors.pseudo_log_likelihood(model, x, indices=np.zeros(3, int))
    with pytest.raises(ValueError, match="features"):
        monitors.pseudo_log_likelihood(model, x[:, :5])
    with pytest.raises(ValueError, match="every"):
        monitors.FreeEnergyGapCallback(x, x, every=0)


def test_training_improves_monitors_and_callbacks_log_into_history():
    x = _data(n=400)
    train, held = x[:20], x[300:]
    model = RBMModel(RBMLayer(48), seed=0)
    model.compile(optimizer="sgd")
    model.optimizer.learning_rate = 0.3
    callbacks = [monitors.PseudoLogLikelihoodCallback(held, seed=0),
                 monitors.FreeEnergyGapCallback(train, held),
                 monitors.ReconstructionErrorCallback(held)]
    # overfit a tiny slice hard: its free energy drops below that of held-out data
    hist = model.fit(np.tile(train, (25, 1)), epochs=5, batch_size=20, shuffle=False, verbose=0, callbacks=callbacks)
    h = hist.history
    assert len(h["pseudo_log_likelihood"]) == 5 and len(h["free_energy_gap"]) == 5
    assert h["free_energy_gap"][-1] > 0
    assert h["free_energy_gap"][-1] > h["free_energy_gap"][0]
    assert h["pseudo_log_likelihood"][-1] > h["pseudo_log_likelihood"][0]
    assert h["held_out_reconstruction_error"][-1] < h["held_out_reconstruction_error"][0]
    assert monitors.free_energy_gap(model, train, held) == pytest.approx(h["free_energy_gap"][-1], abs=1e-3)
