"""Unit families against exact answers: sampling frequencies, log-marginals by enumeration or
closed form, free energies by summing out the hidden units, and open Keras registration."""
import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfrbm.layers import RBMLayer
from tfrbm.units import BernoulliUnits, GaussianUnits, SoftmaxUnits, Units, get_units

N_DRAWS = 20000
SEED = tf.constant([11, 3], tf.int64)


def _max_z(freq, p, n):
    """Largest |frequency - p| in standard errors of a Bernoulli(p) mean over n draws."""
    return float(np.max(np.abs(freq - p) / np.sqrt(p * (1 - p) / n)))


def test_softmax_sampling_frequencies_match_the_probabilities():
    units = SoftmaxUnits(k=4)
    logits = tf.constant([[2.0, 0.0, -1.0, 0.5, -3.0, 1.0, 1.0, 0.0]])   # two groups of four
    probs = units.mean(logits).numpy()[0]
    np.testing.assert_allclose(probs.reshape(2, 4).sum(axis=1), 1.0, rtol=1e-6)
    draws = units.sample(tf.tile(units.mean(logits), [N_DRAWS, 1]), SEED).numpy()
    assert set(np.unique(draws)) <= {0.0, 1.0}
    np.testing.assert_array_equal(draws.reshape(N_DRAWS, 2, 4).sum(axis=2), 1.0)  # one-hot groups
    assert _max_z(draws.mean(axis=0), probs, N_DRAWS) < 4.5


def test_bernoulli_and_gaussian_sampling_moments():
    p = np.array([0.05, 0.3, 0.5, 0.9], np.float32)
    draws = BernoulliUnits().sample(tf.constant(np.tile(p, (N_DRAWS, 1))), SEED).numpy()
    assert _max_z(draws.mean(axis=0), p, N_DRAWS) < 4.5
    mean = np.array([-1.0, 0.0, 2.5], np.float32)
    g = GaussianUnits().sample(tf.constant(np.tile(mean, (N_DRAWS, 1))), SEED).numpy()
    np.testing.assert_allclose(g.mean(axis=0), mean, atol=4.5 / np.sqrt(N_DRAWS))
    np.testing.assert_allclose(g.var(axis=0), 1.0, atol=0.05)   # se of a variance ~ sqrt(2/N)


def _states(units, n):
    """Every state of n binary units (Bernoulli) or n/k one-hot groups (softmax)."""
    if isinstance(units, SoftmaxUnits):
        eye = np.eye(units.k)
        return np.array([np.concatenate(c) for c in itertools.product(eye, repeat=n // units.k)])
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


@pytest.mark.parametrize("units, n", [(BernoulliUnits(), 5), (SoftmaxUnits(k=3), 6)])
def test_log_marginal_equals_enumeration(units, n):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, n)), rng.normal(size=n)
    x = _states(units, n)
    # log sum_x exp(x.a - energy_term(x, b))
    energies = units.energy_term(tf.constant(x), tf.constant(b)).numpy()
    expected = np.log(np.exp(a @ x.T - energies[None, :]).sum(axis=1))
    got = units.log_marginal(tf.constant(a), tf.constant(b)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_gaussian_log_marginal_equals_the_integral():
    a, b = np.array([[0.7, -1.2]]), np.array([0.3, 2.0])
    grid = np.linspace(-25, 25, 200001)
    # the integral factorises over units: prod_i int exp(-1/2 (x - b_i)^2 + x a_i) dx
    log_integral = sum(np.log(np.trapezoid(np.exp(-0.5 * (grid - b[i]) ** 2 + grid * a[0, i]), grid))
                       for i in range(2))
    got = GaussianUnits().log_marginal(tf.constant(a), tf.constant(b)).numpy()[0]
    assert got == pytest.approx(log_integral, abs=1e-8)


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian", {"name": "softmax", "k": 2}])
def test_free_energy_sums_out_the_hidden_units(visible):
    layer = RBMLayer(3, visible=visible, kernel_initializer=keras.initializers.RandomNormal(0, 0.5, 1),
                     visible_bias_initializer=keras.initializers.RandomNormal(0, 0.5, 2),
                     hidden_bias_initializer=keras.initializers.RandomNormal(0, 0.5, 3))
    layer.build((None, 4))
    v = np.array([[1, 0, 0, 1], [0, 1, 1, 0], [0.5, -1.0, 2.0, 0.0]], np.float32)
    if not isinstance(layer.visible_units, GaussianUnits):
        v = v[:2]
    W, b, c = (x.numpy().astype(np.float64) for x in (layer.kernel, layer.visible_bias, layer.hidden_bias))
    hs = np.array(list(itertools.product([0.0, 1.0], repeat=3)))
    vis = layer.visible_units.energy_term(tf.constant(v, tf.float64), tf.constant(b)).numpy()
    # F(v) = -log sum_h exp(-E(v, h)),  E(v, h) = energy_term(v, b) - h.c - v W h
    energy = vis[:, None] - (hs @ c)[None, :] - v.astype(np.float64) @ W @ hs.T
    expected = -np.log(np.exp(-energy).sum(axis=1))
    np.testing.assert_allclose(layer.free_energy(tf.constant(v)).numpy(), expected, rtol=1e-5)


@keras.saving.register_keras_serializable(package="tfrbm_tests")
class ClippedBernoulliUnits(BernoulliUnits):
    """A new family defined outside tfrbm: Bernoulli with probabilities kept in [eps, 1 - eps]."""

    name = "clipped_bernoulli"

    def __init__(self, eps=0.01):
        self.eps = float(eps)

    def mean(self, a):
        return tf.clip_by_value(tf.sigmoid(a), self.eps, 1 - self.eps)

    def get_config(self):
        return {"eps": self.eps}


def test_units_serialize_like_keras_objects_and_registration_is_open(tmp_path):
    from tfrbm.models.rbm import RBMModel
    for units in (BernoulliUnits(), GaussianUnits(), SoftmaxUnits(k=3), ClippedBernoulliUnits(0.05)):
        config = keras.saving.serialize_keras_object(units)
        back = get_units(config)
        assert type(back) is type(units) and back == units
    assert SoftmaxUnits(k=3).get_config() == {"k": 3}            # constructor arguments only
    assert get_units({"name": "softmax", "k": 3}) == SoftmaxUnits(k=3)   # the older config form
    assert type(get_units("clipped_bernoulli")) is ClippedBernoulliUnits
    with pytest.raises(ValueError, match="unknown unit type"):
        get_units("poisson")
    # a model with the new family saves and reloads with it, not as plain Bernoulli
    model = RBMModel(RBMLayer(2, visible=ClippedBernoulliUnits(0.2)), seed=0)
    model.build((None, 3))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert type(loaded.layer.visible_units) is ClippedBernoulliUnits
    assert loaded.layer.visible_units.eps == 0.2
    probs = loaded.visible_probs(np.ones((1, 2), np.float32))
    assert probs.min() >= 0.2 - 1e-6 and probs.max() <= 0.8 + 1e-6
    assert issubclass(ClippedBernoulliUnits, Units)
