"""`.keras` round trips: weights, persistent chains, seed state and optimizer state survive, so a
reloaded model continues training exactly as the original would have."""
import keras
import numpy as np

from tfrbm.layers import RBMLayer
from tfrbm.models.rbm import RBMModel


def _x(n=64, d=12, seed=0):
    return (np.random.default_rng(seed).random((n, d)) < 0.3).astype("float32")


def _state(model):
    """Every variable's value, keyed by position and name (paths gain a prefix when reloaded)."""
    return {(i, v.name): np.array(v.numpy()) for i, v in enumerate(model.variables)}


def test_rbm_round_trip_keeps_chains_optimizer_and_continues_identically(tmp_path):
    x = _x()
    rbm = RBMModel(RBMLayer(5, visible="bernoulli"), persistent=True, n_chains=10, cd_k=2,
                   weight_decay=1e-3, sparsity_target=0.1, sparsity_cost=0.01, seed=4)
    rbm.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    rbm.fit(x, epochs=2, batch_size=16, shuffle=False, verbose=0)
    path = tmp_path / "rbm.keras"
    rbm.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is RBMModel
    config, loaded_config = rbm.get_config(), loaded.get_config()
    config.pop("layer"), loaded_config.pop("layer")
    assert loaded_config == config
    assert loaded.layer.units == 5 and loaded.layer.visible_units == rbm.layer.visible_units
    before, after = _state(rbm), _state(loaded)
    assert before.keys() == after.keys()
    for key in before:
        np.testing.assert_array_equal(after[key], before[key], err_msg=key)
    assert np.abs(loaded.persistent_chains.numpy()).sum() > 0          # chains, not zeros
    np.testing.assert_array_equal(loaded.seed_generator.state.numpy(),
                                  rbm.seed_generator.state.numpy())
    opt_before = [v.numpy() for v in rbm.optimizer.variables]
    opt_after = [v.numpy() for v in loaded.optimizer.variables]
    assert len(opt_after) == len(opt_before) and any(np.abs(v).sum() > 0 for v in opt_after[1:])
    for a, b in zip(opt_after, opt_before):
        np.testing.assert_array_equal(a, b)
    # resume: one more epoch on each gives the same weights and chains
    rbm.fit(x, epochs=1, batch_size=16, shuffle=False, verbose=0)
    loaded.fit(x, epochs=1, batch_size=16, shuffle=False, verbose=0)
    np.testing.assert_allclose(loaded.layer.kernel.numpy(), rbm.layer.kernel.numpy(), atol=1e-6)
    np.testing.assert_array_equal(loaded.persistent_chains.numpy(), rbm.persistent_chains.numpy())


def test_gaussian_and_softmax_rbms_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    for visible, x in (("gaussian", rng.normal(size=(32, 6)).astype("float32")),
                       ({"name": "softmax", "k": 3},
                        np.eye(3, dtype="float32")[rng.integers(0, 3, (32, 4))].reshape(32, 12))):
        rbm = RBMModel(RBMLayer(4, visible=visible), seed=0)
        rbm.fit(x, epochs=1, batch_size=16, verbose=0)
        rbm.save(tmp_path / "m.keras")
        loaded = keras.saving.load_model(tmp_path / "m.keras")
        assert loaded.layer.visible_units == rbm.layer.visible_units
        np.testing.assert_allclose(loaded.free_energy(x), rbm.free_energy(x), rtol=1e-6)


def test_dbn_round_trip(tmp_path):
    from tfrbm.models.dbn import DBNModel
    x = _x(48, 10)
    dbn = DBNModel([RBMLayer(6), RBMLayer(3)], seed=2)
    dbn.pretrain(x, epochs=1, batch_size=16, verbose=0)
    dbn.save(tmp_path / "dbn.keras")
    loaded = keras.saving.load_model(tmp_path / "dbn.keras")
    assert type(loaded) is DBNModel and loaded.sizes == dbn.sizes
    np.testing.assert_allclose(loaded.predict(x, verbose=0), dbn.predict(x, verbose=0), rtol=1e-6)
    clf = dbn.to_classifier(2)
    clf.fit(x, (x[:, 0] > 0).astype("int32"), epochs=1, verbose=0)
    clf.save(tmp_path / "clf.keras")
    clf2 = keras.saving.load_model(tmp_path / "clf.keras")
    np.testing.assert_allclose(clf2.predict(x, verbose=0), clf.predict(x, verbose=0), rtol=1e-6)
    assert len(clf2.optimizer.variables) == len(clf.optimizer.variables)


def test_language_model_round_trip_keeps_states(tmp_path):
    from tfrbm.course.language import StatefulLSTMModel
    lm = StatefulLSTMModel(vocab_size=9, hidden_sizes=(8,), embedding_dim=4, batch_size=2)
    lm.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ids = np.random.default_rng(3).integers(0, 9, (2, 6)).astype("int32")
    lm.fit(ids[:, :-1], ids[:, 1:], epochs=1, batch_size=2, verbose=0)
    lm.save(tmp_path / "lm.keras")
    loaded = keras.saving.load_model(tmp_path / "lm.keras")
    for pair_a, pair_b in zip(lm.state_vars, loaded.state_vars):
        for a, b in zip(pair_a, pair_b):
            np.testing.assert_array_equal(b.numpy(), a.numpy())
    np.testing.assert_allclose(loaded.next_token_probs([1, 2, 3])[0],
                               lm.next_token_probs([1, 2, 3])[0], rtol=1e-5)


def test_recommender_network_config_keeps_dtype_and_trainable():
    from tfrbm.models.recommender_network import RecommenderNetwork
    net = RecommenderNetwork(blend=(0.5, 1.0), dtype="float64", trainable=False)
    back = RecommenderNetwork.from_config(net.get_config())
    assert back.dtype_policy.name == "float64" and back.blend == [0.5, 1.0]
    assert back.trainable is False and back.get_config() == net.get_config()


def test_rbm_recommender_config_round_trips():
    from tfrbm.models.recommender import RBMRecommender
    rec = RBMRecommender(kind="item", learning_rate=0.01, cd_k={0: 1, 5: 3})
    assert RBMRecommender(**rec.get_config()).get_config() == rec.get_config()
