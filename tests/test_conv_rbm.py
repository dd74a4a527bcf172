"""Convolutional RBMs (issue 29): exact against the fully connected RBM with tied weights."""
import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfrbm
from tfrbm import export, likelihood
from tfrbm.models.conv import ConvRBMLayer, ConvRBMModel
from tfrbm.errors import UserError


def _layer(visible="bernoulli", hidden="bernoulli", pooling=None, image=(3, 3, 1), filters=2,
           k=2, seed=0):
    rng = np.random.default_rng(seed)
    layer = ConvRBMLayer(filters=filters, kernel_size=k, visible=visible, hidden=hidden,
                         pooling=pooling)
    layer.build((None,) + image)
    layer.kernel.assign(rng.normal(0, 0.8, layer.kernel.shape).astype("float32"))
    layer.visible_bias.assign(rng.normal(0, 0.5, image[-1]).astype("float32"))
    layer.hidden_bias.assign(rng.normal(0, 0.5, filters).astype("float32"))
    return layer


@pytest.mark.parametrize("visible,hidden", [("bernoulli", "bernoulli"), ("gaussian", "bernoulli"),
                                            ("bernoulli", {"name": "relu", "n_copies": 3}),
                                            ("bernoulli", "gaussian")])
def test_energy_and_conditionals_equal_the_tied_fully_connected_rbm(visible, hidden):
    layer = _layer(visible, hidden, image=(4, 3, 2))
    dense = layer.to_dense()
    rng = np.random.default_rng(1)
    v = (rng.random((6, 4, 3, 2)) < 0.5).astype("float32")
    h = rng.integers(0, 2, (6,) + layer.hidden_shape).astype("float32")
    flat_v, flat_h = v.reshape(6, -1), h.reshape(6, -1)
    np.testing.assert_allclose(layer.energy(v, h), dense.energy(flat_v, flat_h), atol=1e-5)
    np.testing.assert_allclose(layer.free_energy(v), dense.free_energy(flat_v), atol=1e-5)
    np.testing.assert_allclose(layer.hidden_probs(v).numpy().reshape(6, -1),
                               dense.hidden_probs(flat_v), atol=1e-6)
    np.testing.assert_allclose(layer.visible_probs(h).numpy().reshape(6, -1),
                               dense.visible_probs(flat_h), atol=1e-6)


def test_cd_statistics_are_the_tied_dense_statistics_averaged_over_positions():
    layer = _layer(image=(4, 4, 1))
    rng = np.random.default_rng(2)
    v0, vk = ((rng.random((5, 4, 4, 1)) < 0.5).astype("float32") for _ in range(2))
    h0, hk = (rng.random((5,) + layer.hidden_shape).astype("float32") for _ in range(2))
    dk, db, dc = (x.numpy() for x in layer.cd_statistics(v0, h0, vk, hk))
    flat = lambda x: x.reshape(5, -1)  # noqa: E731
    dense_w = -(flat(v0).T @ flat(h0) - flat(vk).T @ flat(hk)) / 5
    dense_w = dense_w.reshape(4, 4, 1, 3, 3, 2)
    expected = np.zeros_like(dk)
    for y, x in itertools.product(range(3), range(3)):
        expected += dense_w[y:y + 2, x:x + 2, :, y, x, :]
    np.testing.assert_allclose(dk, expected / 9, atol=1e-5)
    np.testing.assert_allclose(db, -(v0.sum((0, 1, 2)) - vk.sum((0, 1, 2))) / 5 / 16, atol=1e-6)
    np.testing.assert_allclose(dc, -(h0.sum((0, 1, 2)) - hk.sum((0, 1, 2))) / 5 / 9, atol=1e-6)


def _block_states(n_units):
    """All states of one pooling block: all off, or exactly one unit on."""
    return np.vstack([np.zeros(n_units), np.eye(n_units)])


def test_probabilistic_max_pooling_samples_and_free_energy_are_exact():
    layer = _layer(pooling=2, image=(3, 3, 1), filters=2)        # maps 2x2: one block per map
    v = np.array([[[1], [0], [1]], [[0], [1], [1]], [[1], [1], [0]]], np.float32)[None]
    block = _block_states(4)
    configs = np.array([np.concatenate(pair) for pair in itertools.product(block, block)])
    # hidden layout (y, x, f): filter f's 2x2 block in row-major order
    h = configs.reshape(-1, 2, 2, 2).transpose(0, 2, 3, 1).astype("float32")   # (25, 2, 2, 2)
    energies = layer.energy(np.repeat(v, len(h), 0), h).numpy().astype(np.float64)
    p = np.exp(-energies - (-energies).max())
    p /= p.sum()
    free = float(layer.free_energy(v).numpy()[0])
    assert free == pytest.approx(-(np.log(np.exp(-energies - (-energies).max()).sum())
                                   + (-energies).max()), abs=1e-5)
    n = 20000
    _, samples = layer.sample_hidden(tf.constant(np.repeat(v, n, 0)), tf.constant([4, 2], tf.int64))
    samples = samples.numpy()
    flat = samples.transpose(0, 3, 1, 2).reshape(n, -1)
    assert np.all(flat.reshape(n, 2, 4).sum(-1) <= 1)           # at most one unit per block
    index = {tuple(c): i for i, c in enumerate(configs)}
    counts = np.bincount([index[tuple(s)] for s in flat], minlength=len(configs)) / n
    assert 0.5 * np.abs(counts - p).sum() < 0.02
    probs = layer.hidden_probs(v).numpy()[0].transpose(2, 0, 1).reshape(-1)
    np.testing.assert_allclose(probs, p @ configs, atol=1e-5)
    np.testing.assert_allclose(layer.pool_probs(v).numpy()[0, 0, 0],
                               [p[configs[:, :4].sum(1) == 1].sum(),
                                p[configs[:, 4:].sum(1) == 1].sum()], atol=1e-5)


def test_log_partition_goes_through_the_dense_twin():
    layer = _layer(image=(3, 3, 1))
    model = tfrbm.RBMModel(layer, seed=0)
    model.build((None, 3, 3, 1))
    exact = model.log_partition("exact")
    assert exact == pytest.approx(likelihood.exact_log_partition(layer.to_dense()), abs=1e-9)
    states = np.array(list(itertools.product([0, 1], repeat=9)), np.float32).reshape(-1, 3, 3, 1)
    neg_f = -model.free_energy(states).astype(np.float64)
    assert exact == pytest.approx(np.log(np.exp(neg_f - neg_f.max()).sum()) + neg_f.max(), abs=1e-4)


def test_fit_save_load_and_serving(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.random((64, 6, 6, 1)) < 0.3).astype("float32")
    model = tfrbm.RBMModel(tfrbm.ConvRBMLayer(filters=3, kernel_size=3, pooling=2),
                           sparsity_target=0.1, sparsity_cost=0.1, seed=0, persistent=True,
                           n_chains=8)
    assert isinstance(model, ConvRBMModel)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    history = model.fit(x, epochs=2, batch_size=16, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert model.predict(x[:4], verbose=0).shape == (4, 2, 2, 3)
    model.save(tmp_path / "c.keras")
    back = keras.saving.load_model(tmp_path / "c.keras")
    assert isinstance(back, ConvRBMModel) and back.layer.pooling == 2
    np.testing.assert_allclose(back.free_energy(x[:4]), model.free_energy(x[:4]), rtol=1e-6)
    path = export.export_model(model, tmp_path / "served", version=False)
    loaded = tf.saved_model.load(str(path))
    out = loaded.signatures["pool_probabilities"](visible=tf.constant(x[:4]))
    np.testing.assert_allclose(out["pool_probabilities"], model.pool_probs(x[:4]), atol=1e-6)
    out = loaded.signatures["free_energy"](visible=tf.constant(x[:4]))
    np.testing.assert_allclose(out["free_energy"], model.free_energy(x[:4]), rtol=1e-5)
    mask = np.ones_like(x[:4])
    mask[:, :3] = 0
    out = loaded.signatures["inpaint"](visible=tf.constant(x[:4]), mask=tf.constant(mask),
                                       steps=tf.constant(5), seed=tf.constant([3, 0], tf.int64))
    np.testing.assert_allclose(out["visible_mean"], model.inpaint(x[:4], mask, steps=5, seed=3),
                               atol=1e-6)


def test_bad_configurations():
    with pytest.raises(UserError, match="multiples"):
        _layer(pooling=2, image=(4, 4, 1))                        # maps 3x3
    with pytest.raises(UserError, match="Bernoulli hidden"):
        ConvRBMLayer(filters=2, kernel_size=2, hidden="gaussian", pooling=2)
    with pytest.raises(UserError, match="larger than"):
        _layer(k=5, image=(3, 3, 1))
    model = tfrbm.RBMModel(tfrbm.ConvRBMLayer(filters=2, kernel_size=2))
    with pytest.raises(UserError, match="height, width, channels"):
        model.fit(np.zeros((4, 9), np.float32), epochs=1, verbose=0)
    with pytest.raises(UserError, match="does not support tempering"):
        tfrbm.RBMModel(tfrbm.ConvRBMLayer(filters=2, kernel_size=2), persistent=True, tempering=3)


def test_convolutional_dbn_trains_greedily_round_trips_and_serves(tmp_path):
    from tfrbm.models.conv_dbn import ConvDBNModel
    rng = np.random.default_rng(0)
    x = (rng.random((48, 10, 10, 1)) < 0.3).astype("float32")
    dbn = tfrbm.ConvDBNModel([ConvRBMLayer(filters=4, kernel_size=3, pooling=2),
                              ConvRBMLayer(filters=3, kernel_size=2)],
                             rbm_options={"sparsity_target": 0.1, "sparsity_cost": 0.1}, seed=0)
    history = dbn.fit(x, epochs=2, batch_size=16, verbose=0)
    assert history.history["layer"] == [0, 0, 1, 1]
    assert np.all(np.isfinite(history.history["loss"]))
    features = dbn.predict(x[:5], verbose=0)
    assert features.shape == (5, 3, 3, 3)
    # the second layer was trained on the first layer's pooled outputs
    np.testing.assert_allclose(features, dbn.conv_layers[1](dbn.conv_layers[0](x[:5])), atol=1e-6)
    dbn.save(tmp_path / "cdbn.keras")
    back = keras.saving.load_model(tmp_path / "cdbn.keras")
    assert isinstance(back, ConvDBNModel)
    np.testing.assert_allclose(back.predict(x[:5], verbose=0), features, atol=1e-6)
    path = export.export_model(dbn, tmp_path / "served", version=False)
    out = tf.saved_model.load(str(path)).signatures["features"](visible=tf.constant(x[:5]))
    np.testing.assert_allclose(out["features"], features, atol=1e-6)


def test_viz_draws_filters_and_feature_maps(tmp_path):
    from tfrbm import viz
    layer = _layer(image=(6, 6, 1), filters=5, k=3)
    viz.conv_filters(layer, path=tmp_path / "filters.png")
    x = (np.random.default_rng(0).random((1, 6, 6, 1)) < 0.5).astype("float32")
    viz.feature_maps(layer(x), path=tmp_path / "maps.png")
    assert (tmp_path / "filters.png").stat().st_size > 0
    assert (tmp_path / "maps.png").stat().st_size > 0
    with pytest.raises(UserError, match="k, k, channels"):
        viz.conv_filters(np.zeros((3, 3)))
