"""The core RBM checked against exact answers on models small enough to enumerate."""
import itertools
import math

import keras
import numpy as np
import pytest

import tfrbm
from tfrbm import gibbs, likelihood


def _random_rbm(n_visible, n_hidden, scale=1.0, seed=0, visible="bernoulli", **model_kwargs):
    rng = np.random.default_rng(seed)
    layer = tfrbm.RBMLayer(n_hidden, visible=visible)
    model = tfrbm.RBMModel(layer, seed=seed, **model_kwargs)
    model.build((None, n_visible))
    layer.kernel.assign(rng.normal(0, scale, (n_visible, n_hidden)).astype("float32"))
    layer.visible_bias.assign(rng.normal(0, scale, n_visible).astype("float32"))
    layer.hidden_bias.assign(rng.normal(0, scale, n_hidden).astype("float32"))
    return model


def _brute_force_log_z(layer):
    W = layer.kernel.numpy().astype(np.float64)
    b = layer.visible_bias.numpy().astype(np.float64)
    c = layer.hidden_bias.numpy().astype(np.float64)
    terms = []
    for v in itertools.product((0, 1), repeat=W.shape[0]):
        v = np.array(v, np.float64)
        for h in itertools.product((0, 1), repeat=W.shape[1]):
            h = np.array(h, np.float64)
            terms.append(v @ b + h @ c + v @ W @ h)
    terms = np.array(terms)
    return terms.max() + np.log(np.exp(terms - terms.max()).sum())


@pytest.mark.parametrize("n_visible,n_hidden", [(5, 3), (3, 6), (4, 4)])
def test_exact_log_partition_matches_brute_force(n_visible, n_hidden):
    model = _random_rbm(n_visible, n_hidden, scale=1.5)
    assert model.log_partition() == pytest.approx(_brute_force_log_z(model.layer), abs=1e-9)


def test_gaussian_log_partition_matches_numerical_integral():
    model = _random_rbm(1, 2, scale=0.7, visible="gaussian")
    W = model.layer.kernel.numpy()[0].astype(np.float64)
    b = float(model.layer.visible_bias.numpy()[0])
    c = model.layer.hidden_bias.numpy().astype(np.float64)
    grid = np.linspace(-30, 30, 200001)
    total = 0.0
    for h in itertools.product((0, 1), repeat=2):
        h = np.array(h, np.float64)
        integrand = np.exp(-0.5 * (grid - b) ** 2 + h @ c + grid * (W @ h))
        total += np.trapezoid(integrand, grid)
    assert model.log_partition() == pytest.approx(math.log(total), abs=1e-6)


def test_exact_refuses_large_models_with_clear_error():
    model = _random_rbm(30, 28)
    with pytest.raises(ValueError, match="2\\*\\*28 states"):
        model.log_partition()


def test_free_energy_is_marginal_of_energy():
    model = _random_rbm(4, 3)
    layer = model.layer
    v = likelihood.binary_states(4).astype("float32")
    hs = likelihood.binary_states(3).astype("float32")
    energies = np.stack([layer.energy(v, np.broadcast_to(h, (16, 3))).numpy() for h in hs], 1)
    expected = -np.log(np.exp(-energies.astype(np.float64)).sum(1))
    np.testing.assert_allclose(model.free_energy(v), expected, rtol=1e-5, atol=1e-5)


def test_cd_with_large_k_approaches_exact_gradient():
    model = _random_rbm(6, 4, scale=0.5, seed=3, cd_k=60)
    rng = np.random.default_rng(1)
    data = (rng.random((12, 6)) < 0.4).astype("float32")
    batch = np.repeat(data, 2500, axis=0)  # many chains per data vector average the negative phase
    grads, _, _ = model.cd_gradients(batch, keras.ops.convert_to_tensor([5, 7], "int64"))
    cd = -np.concatenate([g.numpy().ravel() for g in grads])
    exact = np.concatenate([g.ravel() for g in likelihood.exact_gradient(model.layer, data)])
    cosine = cd @ exact / np.linalg.norm(cd) / np.linalg.norm(exact)
    assert cosine > 0.99, cosine


def test_training_raises_exact_log_likelihood():
    rng = np.random.default_rng(0)
    prototypes = np.array([[1, 1, 1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1],
                           [1, 0, 1, 0, 1, 0, 1, 0]], np.float32)
    data = prototypes[rng.integers(0, 3, 600)]
    data = np.abs(data - (rng.random(data.shape) < 0.05)).astype("float32")
    model = tfrbm.RBMModel(tfrbm.RBMLayer(4), cd_k=1, seed=0)
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.5))
    model.build((None, 8))
    model.initialize_from_data(data)
    before = model.log_likelihood(data)
    model.fit(data, epochs=30, batch_size=20, verbose=0)
    after = model.log_likelihood(data)
    assert after > before + 0.5, (before, after)


def test_gibbs_chain_reaches_exact_distribution():
    model = _random_rbm(6, 4, scale=0.8, seed=5)
    n_chains = 20000
    start = np.zeros((n_chains, 6), np.float32)
    samples = model.gibbs(start, steps=100, seed=11)
    codes = samples.astype(int) @ (1 << np.arange(5, -1, -1))
    empirical = np.bincount(codes, minlength=64) / n_chains
    exact = likelihood.exact_visible_distribution(model.layer)
    tv = 0.5 * np.abs(empirical - exact).sum()
    assert tv < 0.05, tv


MOVIES = ["Harry Potter", "Avatar", "LOTR 3", "Gladiator", "Titanic", "Glitter"]
SIX_MOVIE_DATA = np.array([[1, 1, 1, 0, 0, 0], [1, 0, 1, 0, 0, 0], [1, 1, 1, 0, 0, 0],
                           [0, 0, 1, 1, 1, 0], [0, 0, 1, 1, 0, 0], [0, 0, 1, 1, 1, 0]], np.float32)


@pytest.mark.parametrize("seed", [0, 1])
def test_six_movie_hidden_units_separate_fantasy_from_oscar_winners(seed):
    keras.utils.set_random_seed(seed)
    model = tfrbm.RBMModel(tfrbm.RBMLayer(2, kernel_initializer=keras.initializers.RandomNormal(stddev=0.1)),
                           cd_k=1, seed=seed, centering=False)   # echen's plain CD
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.5))
    model.fit(np.tile(SIX_MOVIE_DATA, (100, 1)), epochs=10, batch_size=6, shuffle=True, verbose=0)
    W = model.layer.kernel.numpy()
    fantasy = W[[0, 1]].mean(0) - W[[3, 4]].mean(0)  # Harry Potter, Avatar vs Gladiator, Titanic
    fantasy_unit, oscar_unit = int(np.argmax(fantasy)), int(np.argmin(fantasy))
    assert fantasy_unit != oscar_unit
    assert fantasy[fantasy_unit] > 1.0 and fantasy[oscar_unit] < -1.0, W
    h = model.run_visible(np.array([[0, 0, 0, 1, 1, 0]], np.float32))[0]
    assert h[oscar_unit] > 0.5 and h[oscar_unit] > h[fantasy_unit] + 0.3, h


def test_persistent_chains_continue_from_stored_particles():
    model = _random_rbm(6, 4, seed=2, persistent=True, n_chains=7, cd_k=2)
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    rng = np.random.default_rng(0)
    chains = (rng.random((7, 6)) < 0.5).astype("float32")
    model.persistent_chains.assign(chains)
    seed = keras.ops.convert_to_tensor([3, 4], "int64")
    model.cd_gradients(np.ones((5, 6), np.float32), seed)
    # the same chain, recomputed by hand from the stored particles
    layer = model.layer
    _, h = layer.sample_hidden(chains, gibbs.fold(seed, 2))
    _, vk, _, _ = gibbs.k_steps(layer, h, 2, gibbs.fold(seed, 3))
    np.testing.assert_array_equal(model.persistent_chains.numpy(), vk.numpy())


def test_persistent_chains_survive_batches_and_epochs():
    data = (np.random.default_rng(0).random((60, 6)) < 0.5).astype("float32")
    model = tfrbm.RBMModel(tfrbm.RBMLayer(4), persistent=True, n_chains=37, seed=0)
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(self.model.persistent_chains.numpy().copy())

    model.fit(data, epochs=2, batch_size=10, verbose=0, callbacks=[Record()])
    assert all(s.shape == (37, 6) for s in seen)
    assert len(seen) == 12
    assert sum(not np.array_equal(a, b) for a, b in zip(seen, seen[1:])) >= 10
    end_of_first_fit = model.persistent_chains.numpy().copy()
    starts = []

    class Start(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            starts.append(self.model.persistent_chains.numpy().copy())

    model.fit(data, epochs=1, batch_size=10, verbose=0, callbacks=[Start()])
    np.testing.assert_array_equal(starts[0], end_of_first_fit)  # a later fit does not reset them
