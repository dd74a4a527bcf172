"""Gaussian visible units with learned variances (Cho, Ilin & Raiko 2011) and the Standardizer."""
import itertools

import keras
import numpy as np
import pytest

import tfrbm
from tfrbm.data import Standardizer
from tfrbm.errors import UserError
from tfrbm.layers import RBMLayer


def _model(n_v=2, n_h=3, seed=0, log_var=(-0.6, 0.5), scale=0.5):
    rng = np.random.default_rng(seed)
    model = tfrbm.RBMModel(RBMLayer(n_h, visible="gaussian", visible_variance="learned"), seed=1)
    model.build((None, n_v))
    layer = model.layer
    layer.kernel.assign(rng.normal(0, scale, (n_v, n_h)).astype("float32"))
    layer.visible_bias.assign(rng.normal(0, 0.5, n_v).astype("float32"))
    layer.hidden_bias.assign(rng.normal(0, 0.5, n_h).astype("float32"))
    layer.visible_log_variance.assign(np.asarray(log_var, np.float32))
    return model


def _exact(layer):
    """p(h) for every hidden state and the Gaussian v | h means, in float64."""
    W, b, c, z = (x.numpy().astype(np.float64) for x in (
        layer.kernel, layer.visible_bias, layer.hidden_bias, layer.visible_log_variance))
    var = np.exp(z)
    hs = np.array(list(itertools.product([0.0, 1.0], repeat=W.shape[1])))
    means = b + hs @ W.T
    log_ph = hs @ c + ((means ** 2 - b ** 2) / (2 * var)).sum(1)
    p = np.exp(log_ph - log_ph.max())
    return p / p.sum(), means, var, hs


def test_free_energy_log_z_and_ais_against_integration():
    model = _model()
    layer = model.layer
    axis = np.linspace(-10, 10, 401)
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2).astype("float32")
    hs = np.array(list(itertools.product([0.0, 1.0], repeat=3)), np.float32)
    for v in grid[::20011][:4]:
        e = layer.energy(np.repeat(v[None], len(hs), 0), hs).numpy().astype(np.float64)
        expected = -(np.log(np.exp(-e - (-e).max()).sum()) + (-e).max())
        assert float(layer.free_energy(v[None]).numpy()[0]) == pytest.approx(expected, abs=1e-4)
    neg_f = -model.free_energy(grid).astype(np.float64)
    log_z_grid = neg_f.max() + np.log(np.exp(neg_f - neg_f.max()).sum() * (axis[1] - axis[0]) ** 2)
    exact = float(model.log_partition("exact"))
    assert exact == pytest.approx(log_z_grid, abs=1e-3)
    ais = model.log_partition("ais", n_runs=100, n_betas=1000, seed=0, warn=False)
    assert ais[0] == pytest.approx(exact, abs=0.05)


def test_sampler_moments_match_the_model():
    model = _model(seed=2)
    p, means, var, _ = _exact(model.layer)
    mean = p @ means
    second = (means * p[:, None]).T @ means + np.diag(var)
    n = 6000
    samples = model.gibbs(np.zeros((n, 2), np.float32), steps=60, seed=4)
    sd = np.sqrt(np.diag(second) - mean ** 2)
    assert np.all(np.abs(samples.mean(0) - mean) < 5 * sd / np.sqrt(n))
    np.testing.assert_allclose(samples.var(0), np.diag(second) - mean ** 2, rtol=0.1)


def test_log_variance_gradient_is_the_log_likelihood_gradient():
    """The CD statistic with exact model samples equals -d(mean log p(data))/dz (finite differences)."""
    model = _model(seed=3)
    layer = model.layer
    rng = np.random.default_rng(0)
    data = rng.normal(0.3, 1.2, (50, 2)).astype("float32")
    p, means, var, hs = _exact(layer)
    n = 400_000
    idx = rng.choice(len(p), size=n, p=p)
    vk = (means[idx] + rng.normal(size=(n, 2)) * np.sqrt(var)).astype("float32")
    grad = model._log_variance_gradient(data, layer.hidden_probs(data), vk,
                                        layer.hidden_probs(vk)).numpy()

    def mean_log_p(z):
        layer.visible_log_variance.assign(z.astype(np.float32))
        return float(np.mean(-model.free_energy(data).astype(np.float64))) - float(
            model.log_partition("exact"))
    z0 = layer.visible_log_variance.numpy().astype(np.float64)
    eps = 1e-2
    fd = np.array([(mean_log_p(z0 + eps * e) - mean_log_p(z0 - eps * e)) / (2 * eps)
                   for e in np.eye(2)])
    layer.visible_log_variance.assign(z0.astype(np.float32))
    np.testing.assert_allclose(-grad, fd, atol=0.03)


def test_training_learns_the_variances_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(2000, 2)) * [0.5, 2.0]).astype("float32")
    model = tfrbm.RBMModel(RBMLayer(4, visible="gaussian", visible_variance="learned"), seed=0)
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    model.fit(x, epochs=3, batch_size=50, verbose=0)
    variance = np.exp(model.layer.visible_log_variance.numpy())
    np.testing.assert_allclose(variance, [0.25, 4.0], rtol=0.3)
    path = tmp_path / "m.keras"
    model.save(path)
    back = keras.saving.load_model(path)
    assert back.layer.visible_variance == "learned"
    np.testing.assert_allclose(back.free_energy(x[:5]), model.free_energy(x[:5]), rtol=1e-6)


def test_bad_configurations_and_unscaled_warning():
    with pytest.raises(UserError, match="needs Gaussian visible"):
        RBMLayer(3, visible="bernoulli", visible_variance="learned")
    with pytest.raises(UserError, match="'unit' or 'learned'"):
        RBMLayer(3, visible="gaussian", visible_variance="per-unit")
    x = np.random.default_rng(0).normal(100, 30, (64, 3)).astype("float32")
    model = tfrbm.RBMModel(RBMLayer(2, visible="gaussian", visible_variance="learned"), seed=0)
    with pytest.warns(UserWarning, match="Standardizer"):
        model.fit(x, epochs=1, verbose=0)


def test_standardizer():
    rng = np.random.default_rng(0)
    x = rng.normal([5, -2, 0], [3, 0.1, 0], (100, 3))
    scaler = Standardizer().fit(x)
    z = scaler.transform(x)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(0), [1, 1, 0], atol=1e-4)
    np.testing.assert_allclose(scaler.inverse_transform(z), x, atol=1e-4)
    with pytest.raises(UserError, match="fit"):
        Standardizer().transform(x)
    with pytest.raises(UserError, match="3 features"):
        scaler.transform(x[:, :2])
    with pytest.raises(UserError, match="NaN"):
        scaler.transform(np.full((2, 3), np.nan))
