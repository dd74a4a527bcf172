"""Every unit family on either side of an RBM (issue 29): exact against enumeration/integration.

Pairings: visible x hidden in {bernoulli, gaussian, relu (stepped sigmoid, 3 copies)}.
"""
import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfrbm
from tfrbm import likelihood
from tfrbm.likelihood import ais
from tfrbm.errors import UserError
from tfrbm.layers import RBMLayer
from tfrbm.units import SteppedSigmoidUnits, get_units

RELU3 = {"name": "relu", "n_copies": 3}
FAMILIES = {"bernoulli": "bernoulli", "gaussian": "gaussian", "relu": RELU3}
PAIRS = list(itertools.product(FAMILIES, FAMILIES))


def _layer(vis, hid, n_v=3, n_h=2, seed=0, scale=0.3):
    rng = np.random.default_rng(seed)
    layer = RBMLayer(n_h, visible=FAMILIES[vis], hidden=FAMILIES[hid])
    layer.build((None, n_v))
    layer.kernel.assign(rng.normal(0, scale, (n_v, n_h)).astype("float32"))
    layer.visible_bias.assign(rng.normal(0, 0.5, n_v).astype("float32"))
    layer.hidden_bias.assign(rng.normal(0, 0.5, n_h).astype("float32"))
    return layer


def _grid(units, n, lo=-9.0, hi=9.0, points=241):
    """States to sum over: every level combination, or a quadrature grid with its cell volume."""
    if units.levels is not None:
        axes = [np.asarray(units.levels)] * n
        volume = 1.0
    else:
        axis = np.linspace(lo, hi, points)
        axes = [axis] * n
        volume = (axis[1] - axis[0]) ** n
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, n), volume


def _logsum(log_values, volume):
    m = log_values.max()
    return float(m + np.log(np.exp(log_values - m).sum() * volume))


@pytest.mark.parametrize("vis,hid", PAIRS)
def test_free_energy_is_the_log_marginal_of_the_energy(vis, hid):
    layer = _layer(vis, hid, n_v=2, n_h=2)
    hs, volume = _grid(layer.hidden_units, 2)
    vs = _grid(layer.visible_units, 2, points=5)[0][:6]
    for v in vs:
        energies = layer.energy(np.repeat(v[None], len(hs), 0).astype("float32"),
                                hs.astype("float32")).numpy().astype(np.float64)
        expected = -_logsum(-energies, volume)
        got = float(layer.free_energy(v[None].astype("float32")).numpy()[0])
        assert got == pytest.approx(expected, abs=2e-3)


@pytest.mark.parametrize("vis,hid", PAIRS)
def test_exact_log_partition_sums_exp_minus_free_energy(vis, hid):
    n_v = 2 if layer_continuous(vis) else 3
    layer = _layer(vis, hid, n_v=n_v, n_h=2)
    vs, volume = _grid(layer.visible_units, n_v)
    neg_f = -layer.free_energy(vs.astype("float32")).numpy().astype(np.float64)
    assert likelihood.exact_log_partition(layer) == pytest.approx(_logsum(neg_f, volume), abs=2e-3)


def layer_continuous(name):
    return get_units(FAMILIES[name]).levels is None


@pytest.mark.parametrize("vis,hid", PAIRS)
def test_ais_matches_exact_log_partition(vis, hid):
    layer = _layer(vis, hid, n_v=4, n_h=3, seed=3, scale=0.2)
    exact = likelihood.exact_log_partition(layer)
    result = ais.ais_log_partition(layer, n_runs=100, n_betas=1000, seed=1, warn=False)
    assert result.log_z == pytest.approx(exact, abs=0.05)
    assert result.log_z_lower - 0.02 <= exact <= result.log_z_upper + 0.02


def _joint_moments_exact(layer):
    """(E[v], E[v v^T]) under the model, by enumerating h (discrete hidden) or v (discrete visible)."""
    W, b, c = (x.numpy().astype(np.float64) for x in (layer.kernel, layer.visible_bias,
                                                      layer.hidden_bias))
    if layer.visible_units.quadratic and layer.hidden_units.quadratic:
        n_v, n_h = W.shape
        P = np.block([[np.eye(n_v), -W], [-W.T, np.eye(n_h)]])
        cov = np.linalg.inv(P)
        mu = cov @ np.concatenate([b, c])
        return mu[:n_v], cov[:n_v, :n_v] + np.outer(mu[:n_v], mu[:n_v])
    if layer.visible_units.levels is not None:
        vs, _ = _grid(layer.visible_units, layer.n_visible)
        neg_f = -layer.free_energy(vs.astype("float32")).numpy().astype(np.float64)
        p = np.exp(neg_f - neg_f.max())
        p /= p.sum()
        return p @ vs, (vs * p[:, None]).T @ vs
    # continuous visible, discrete hidden: p(h) from the visible log-marginal, v | h Gaussian
    hs, _ = _grid(layer.hidden_units, layer.units)
    hs_t = tf.constant(hs)
    log_ph = (-layer.hidden_units.energy_term(hs_t, tf.constant(c))
              + layer.visible_units.log_marginal(hs_t @ tf.constant(W.T), tf.constant(b))).numpy()
    p = np.exp(log_ph - log_ph.max())
    p /= p.sum()
    means = hs @ W.T + b
    return p @ means, (means * p[:, None]).T @ means + np.eye(len(b))


@pytest.mark.parametrize("vis,hid", PAIRS)
def test_gibbs_sampler_leaves_the_joint_invariant(vis, hid):
    """Chains started anywhere reach the model's moments (and, all-discrete, its distribution)."""
    layer = _layer(vis, hid, n_v=3, n_h=2, seed=5, scale=0.4)
    model = tfrbm.RBMModel(layer, seed=0)
    model.build((None, 3))
    n = 4000
    start = np.zeros((n, 3), np.float32)
    samples = model.gibbs(start, steps=60, seed=3)
    mean, second = _joint_moments_exact(layer)
    sd = np.sqrt(np.diag(second) - mean ** 2)
    assert np.all(np.abs(samples.mean(0) - mean) < 5 * sd / np.sqrt(n) + 1e-3)
    assert np.allclose(samples.T @ samples / n, second, atol=0.12 * max(1.0, np.abs(second).max()))
    if layer.visible_units.levels is not None and layer.hidden_units.levels is not None:
        vs, _ = _grid(layer.visible_units, 3)
        neg_f = -layer.free_energy(vs.astype("float32")).numpy().astype(np.float64)
        p = np.exp(neg_f - neg_f.max())
        p /= p.sum()
        index = {tuple(v): i for i, v in enumerate(vs)}
        counts = np.bincount([index[tuple(s)] for s in samples], minlength=len(vs)) / n
        assert 0.5 * np.abs(counts - p).sum() < 0.06


def test_stepped_sigmoid_units_are_sums_of_shifted_binary_copies():
    units = SteppedSigmoidUnits(n_copies=4)
    a = tf.constant([[-2.0, 0.3, 1.7, 6.0]])
    p_copies = 1 / (1 + np.exp(-(a.numpy()[..., None] - (np.arange(4) + 0.5))))
    np.testing.assert_allclose(units.mean(a).numpy(), p_copies.sum(-1), rtol=1e-5)
    # the count's law: enumerate the 2^4 copy configurations
    configs = np.array(list(itertools.product([0, 1], repeat=4)), np.float64)
    for j, aj in enumerate(a.numpy()[0]):
        logits = configs @ (aj - (np.arange(4) + 0.5))
        p = np.exp(logits - logits.max())
        p /= p.sum()
        law = np.bincount(configs.sum(1).astype(int), weights=p, minlength=5)
        # exp(-energy_term(k)) of the count, normalised, is the same law
        ks = tf.constant(np.arange(5, dtype=np.float32)[:, None])
        e = units.energy_term(ks, tf.constant([aj], tf.float32)).numpy().astype(np.float64)
        q = np.exp(-e - (-e).max())
        np.testing.assert_allclose(q / q.sum(), law, atol=1e-6)
        draws = units.draw(tf.fill((20000, 1), float(aj)), tf.constant([j, 1], tf.int64)).numpy()
        emp = np.bincount(draws[:, 0].astype(int), minlength=5) / 20000
        assert 0.5 * np.abs(emp - law).sum() < 0.02
    # for large n_copies the mean is softplus (the rectifier), up to the cap
    big = SteppedSigmoidUnits(n_copies=40)
    x = tf.linspace(-5.0, 15.0, 21)
    np.testing.assert_allclose(big.mean(x).numpy(), np.log1p(np.exp(x.numpy())), atol=0.011)


@pytest.mark.parametrize("hid", ["gaussian", "relu"])
def test_training_and_keras_round_trip(tmp_path, hid):
    rng = np.random.default_rng(0)
    x = (rng.random((256, 12)) < 0.3).astype("float32")
    model = tfrbm.RBMModel(RBMLayer(6, hidden=FAMILIES[hid]), seed=1)
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    history = model.fit(x, epochs=2, batch_size=32, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    path = tmp_path / "m.keras"
    model.save(path)
    back = keras.saving.load_model(path)
    assert back.layer.hidden_units == model.layer.hidden_units
    np.testing.assert_allclose(back.free_energy(x[:8]), model.free_energy(x[:8]), rtol=1e-6)
    np.testing.assert_allclose(back.hidden_probs(x[:8]), model.hidden_probs(x[:8]), rtol=1e-6)
    config = RBMLayer.from_config(model.layer.get_config()).get_config()
    assert config["hidden"] == model.layer.get_config()["hidden"]


def test_config_without_hidden_loads_as_bernoulli():
    config = RBMLayer(4).get_config()
    config.pop("hidden")
    assert RBMLayer.from_config(config).hidden_units.name == "bernoulli"


def test_bad_configurations_get_clear_errors():
    with pytest.raises(UserError, match="unknown unit type"):
        RBMLayer(3, hidden="rectangle")
    with pytest.raises(UserError, match="n_copies"):
        RBMLayer(3, hidden={"name": "relu", "n_copies": 0})
    layer = _layer("gaussian", "gaussian", scale=0.3)
    layer.kernel.assign(np.full((3, 2), 2.0, np.float32))
    for fn in (likelihood.exact_log_partition,
               lambda lay: ais.ais_log_partition(lay, n_runs=2, n_betas=10, warn=False)):
        with pytest.raises(UserError, match="largest singular value"):
            fn(layer)
    model = tfrbm.RBMModel(RBMLayer(2, visible=RELU3))
    with pytest.raises(UserError, match="integer values 0..3"):
        model.fit(np.full((4, 3), 0.5, np.float32), epochs=1, verbose=0)
    with pytest.raises(UserError, match="Bernoulli hidden"):
        tfrbm.RBMModel(RBMLayer(2, hidden="gaussian"), persistent=True, tempering=3)


@pytest.mark.parametrize("hid", ["relu", "gaussian"])
def test_dbn_takes_non_bernoulli_hidden_units_on_top_only(hid):
    """A layer below another hands its hidden means to Bernoulli visible units ([0, 1]): a
    rectified or Gaussian layer there is refused by name; on top it trains and gives features."""
    with pytest.raises(UserError, match=f"layer 1 has {hid} hidden units, but only the top"):
        tfrbm.DBNModel([RBMLayer(6, hidden=hid), RBMLayer(4)])
    rng = np.random.default_rng(2)
    x = (rng.random((64, 10)) < 0.4).astype("float32")
    dbn = tfrbm.DBNModel([RBMLayer(6), RBMLayer(4, hidden=hid)], seed=0)
    dbn.compile(optimizer=keras.optimizers.SGD(0.05))
    dbn.fit(x, epochs=2, batch_size=16, verbose=0)
    features = np.asarray(dbn.transform(x))
    assert features.shape == (64, 4) and np.all(np.isfinite(features))
    assert np.ptp(features) > 0
    if hid == "relu":
        assert features.min() >= 0


def test_sklearn_transformer_exposes_hidden_units():
    from tfrbm.sklearn import RBMTransformer
    rng = np.random.default_rng(1)
    x = (rng.random((120, 10)) < 0.4).astype("float32")
    est = RBMTransformer(8, n_iter=2, hidden_units="relu", random_state=0).fit(x)
    assert est.model_.layer.hidden_units.name == "relu"
    features = est.transform(x)
    assert features.shape == (120, 8) and np.all(features >= 0) and features.max() > 0
    with pytest.raises(UserError, match="unknown unit type"):
        RBMTransformer(8, n_iter=1, hidden_units="tanh").fit(x)


def test_dbn_transformer_exposes_the_top_layers_hidden_units():
    from tfrbm.sklearn import DBNTransformer
    rng = np.random.default_rng(3)
    x = (rng.random((120, 10)) < 0.4).astype("float32")
    est = DBNTransformer((8, 5), n_iter=2, hidden_units="relu", random_state=0).fit(x)
    assert [r.hidden_units.name for r in est.model_.rbms] == ["bernoulli", "relu"]
    features = est.transform(x)
    assert features.shape == (120, 5) and np.all(features >= 0) and features.max() > 0
    with pytest.raises(UserError, match="unknown unit type"):
        DBNTransformer((8, 5), n_iter=1, hidden_units="tanh").fit(x)


def test_cli_train_takes_hidden_units(tmp_path):
    import json
    import os
    import subprocess
    import sys
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "tfrbm", "train", "--epochs", "1", "--hidden", "16",
         "--hidden-units", "relu", "--output", str(out), "--json"],
        capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert np.isfinite(metrics["test_free_energy"])
    back = keras.saving.load_model(out / "model.keras")
    assert back.layer.hidden_units.name == "relu"


@pytest.mark.parametrize("hid", ["gaussian", "relu"])
def test_sandwich_brackets_the_exact_log_likelihood(hid):
    """RAISE (below) and AIS (above) share the annealing path of every hidden family."""
    rng = np.random.default_rng(0)
    layer = _layer("bernoulli", hid, n_v=6, n_h=3, seed=4)
    data = (rng.random((20, 6)) < 0.4).astype("float32")
    exact = likelihood.exact_log_likelihood(layer, data)
    result = likelihood.sandwich_log_likelihood(layer, data, n_runs=50, n_betas=500, seed=0,
                                                warn=False)
    assert result.lower - 3 * result.lower_se - 0.01 <= exact
    assert exact <= result.upper + 3 * result.upper_se + 0.01
    assert abs(result.upper - exact) < 0.1 and abs(result.lower - exact) < 0.1
