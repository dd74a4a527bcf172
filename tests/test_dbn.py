"""DBNModel: greedy pre-training, conversions to Keras models, sampling, errors and serialisation.

One small DBN (64-64-32 on the bundled 8x8 digits) is pre-trained once per module and shared.
"""
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfrbm.data.images import load_digits
from tfrbm.layers import RBMLayer
from tfrbm.models.dbn import DBNModel


@pytest.fixture(scope="module")
def digits():
    return load_digits("train"), load_digits("test")


@pytest.fixture(scope="module")
def trained(digits):
    (x, _), _ = digits
    keras.utils.set_random_seed(0)
    dbn = DBNModel([RBMLayer(64), RBMLayer(32)], seed=0)
    histories = dbn.pretrain(x, epochs=6, learning_rate=0.5, batch_size=50, verbose=0)
    return dbn, histories


def test_pretraining_reduces_each_layers_reconstruction_error(trained, digits):
    dbn, histories = trained
    assert len(histories) == 2
    for i, h in enumerate(histories):
        err = h.history["reconstruction_error"]
        assert len(err) == 6
        assert err[-1] < 0.8 * err[0], f"layer {i + 1}: {err}"
        assert h.history["layer"][-1] == i + 1
    # layer 2 really saw layer 1's features: its visible side has 64 units, and on those
    # features its held-out reconstruction is better than on shuffled features
    (_, _), (xt, _) = digits
    f1 = dbn.features(xt, upto=1)
    layer2 = dbn.rbms[1]
    assert layer2.n_visible == 64
    recon = layer2.visible_probs(layer2.hidden_probs(f1))
    shuffled = tf.transpose(tf.random.shuffle(tf.transpose(f1)))
    recon_s = layer2.visible_probs(layer2.hidden_probs(shuffled))
    assert float(tf.reduce_mean((f1 - recon) ** 2)) < float(tf.reduce_mean((shuffled - recon_s) ** 2))


def test_call_is_the_mean_field_upward_pass(trained, digits):
    dbn, _ = trained
    (x, _), _ = digits
    expected = dbn.rbms[1].hidden_probs(dbn.rbms[0].hidden_probs(x[:5]))
    np.testing.assert_allclose(dbn(x[:5]).numpy(), expected.numpy(), atol=1e-6)
    assert dbn.transform(x[:7]).shape == (7, 32)
    assert dbn.sizes == [64, 64, 32]


def test_classifier_starts_with_the_rbm_weights(trained, digits):
    dbn, _ = trained
    (x, _), _ = digits
    clf = dbn.to_classifier(10)
    dense = [l for l in clf.layers if isinstance(l, keras.layers.Dense)]
    assert len(dense) == 3 and dense[-1].units == 10
    for layer, rbm in zip(dense[:2], dbn.rbms):
        np.testing.assert_array_equal(layer.kernel.numpy(), rbm.kernel.numpy())
        np.testing.assert_array_equal(layer.bias.numpy(), rbm.hidden_bias.numpy())
    penultimate = keras.Model(clf.inputs[0], dense[1].output)
    np.testing.assert_allclose(penultimate(x[:4]).numpy(), dbn(x[:4]).numpy(), atol=1e-5)
    probs = clf.predict(x[:4], verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    random = dbn.to_classifier(10, init="random")
    assert not np.allclose(random.layers[0].kernel.numpy(), dbn.rbms[0].kernel.numpy())


def test_pretraining_beats_random_init_with_the_same_budget(trained, digits):
    dbn, _ = trained
    (x, y), (xt, yt) = digits
    acc = {}
    for init in ("pretrained", "random"):
        keras.utils.set_random_seed(7)
        clf = dbn.to_classifier(10, init=init,
                                optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
        clf.fit(x, y, epochs=3, batch_size=50, verbose=0)
        acc[init] = clf.evaluate(xt, yt, verbose=0)[1]
    # measured (seeds 7, 8, 9): pretrained 0.66-0.68, random 0.31-0.58
    assert acc["pretrained"] > acc["random"] + 0.05, acc
    assert acc["pretrained"] > 0.6, acc


def test_autoencoder_unrolls_with_tied_initial_weights(trained, digits):
    dbn, _ = trained
    (x, _), _ = digits
    ae = dbn.to_autoencoder()
    enc, dec = ae.get_layer("encoder"), ae.get_layer("decoder")
    assert [l.units for l in enc.layers] == [64, 32]
    assert [l.units for l in dec.layers] == [64, 64]
    assert enc.layers[-1].get_config()["activation"] == "linear"
    assert dec.layers[-1].get_config()["activation"] == "sigmoid"
    np.testing.assert_array_equal(dec.layers[0].kernel.numpy(), dbn.rbms[1].kernel.numpy().T)
    np.testing.assert_array_equal(dec.layers[1].kernel.numpy(), dbn.rbms[0].kernel.numpy().T)
    np.testing.assert_array_equal(dec.layers[1].bias.numpy(), dbn.rbms[0].visible_bias.numpy())
    out = ae.predict(x[:8], verbose=0)
    assert out.shape == (8, 64) and out.min() >= 0 and out.max() <= 1
    # the sigmoid-code version reproduces the mean-field DBN reconstruction exactly
    ae_s = dbn.to_autoencoder(code_activation="sigmoid")
    h = dbn(x[:8])
    v = dbn.rbms[0].visible_probs(dbn.rbms[1].visible_probs(h))
    np.testing.assert_allclose(ae_s.predict(x[:8], verbose=0), v.numpy(), atol=1e-5)


def test_sample_runs_gibbs_in_the_top_rbm_then_down(trained):
    dbn, _ = trained
    s1 = dbn.sample(6, steps=20, seed=3)
    s2 = dbn.sample(6, steps=20, seed=3)
    assert s1.shape == (6, 64)
    np.testing.assert_array_equal(s1, s2)
    # the documented algorithm, step by step: base-rate start in the top RBM, 20 Gibbs steps
    # there, then the mean-field top-down pass through the lower layers
    from tfrbm import gibbs
    seed = tf.constant([3, 0], tf.int64)
    top = dbn.rbms[-1]
    v0 = gibbs.base_rate_samples(top.visible_units, top.visible_bias, 6, gibbs.fold(seed, 1))
    x, _ = gibbs.run_chain(top, v0, 20, gibbs.fold(seed, 2))
    for layer in reversed(dbn.rbms[:-1]):
        x = layer.visible_probs(x)
    np.testing.assert_allclose(s1, x.numpy(), rtol=1e-5, atol=1e-6)
    assert not np.allclose(s1, dbn.sample(6, steps=20, seed=4))


def test_layer_sizes_that_do_not_chain_raise():
    a, b = RBMLayer(20), RBMLayer(5)
    a.build((None, 64))
    b.build((None, 30))  # expects 30 visible units, but layer 1 has 20 hidden units
    with pytest.raises(ValueError, match="do not chain"):
        DBNModel([a, b])
    with pytest.raises(ValueError, match="only the first layer"):
        DBNModel([RBMLayer(20), RBMLayer(5, visible="gaussian")])
    with pytest.raises(ValueError, match="non-empty list"):
        DBNModel([])


def test_wrong_width_data_raises(trained, digits):
    dbn, _ = trained
    with pytest.raises(ValueError, match="data width"):
        dbn.pretrain(np.zeros((10, 63), np.float32), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="expects 64|expected 64"):
        dbn.transform(np.zeros((3, 10), np.float32))
    ds = tf.data.Dataset.from_tensor_slices(np.zeros((10, 50), np.float32)).batch(5)
    with pytest.raises(ValueError, match="data width"):
        dbn.pretrain(ds, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="layer_options"):
        DBNModel([8, 4]).pretrain(np.zeros((10, 6), np.float32), layer_options=[{}], verbose=0)
    with pytest.raises(ValueError, match="unknown keys"):
        DBNModel([8]).pretrain(np.zeros((10, 6), np.float32), layer_options=[{"lr": 1}], verbose=0)


def test_per_layer_options_gaussian_input_and_streamed_samples(digits):
    (x, y), _ = digits
    x = x[:200]
    z = (x - x.mean(0)) / (x.std(0) + 1e-3)
    dbn = DBNModel([RBMLayer(16, visible="gaussian"), RBMLayer(8)], seed=1)
    ds = tf.data.Dataset.from_tensor_slices((z, y[:200])).batch(100)  # (x, y): labels ignored
    hs = dbn.pretrain(ds, sample=True, layer_options=[
        {"epochs": 2, "learning_rate": 0.01},
        {"epochs": 1, "cd_k": 3, "persistent": True, "n_chains": 20,
         "optimizer": keras.optimizers.Adam(0.01)}], verbose=0)
    assert [len(h.history["reconstruction_error"]) for h in hs] == [2, 1]
    assert all(np.isfinite(h.history["reconstruction_error"]).all() for h in hs)
    ae = dbn.to_autoencoder()
    assert ae.get_layer("decoder").layers[-1].get_config()["activation"] == "linear"


def test_serialization_round_trips(trained, digits, tmp_path):
    dbn, _ = trained
    (x, y), _ = digits
    config = dbn.get_config()
    json.dumps(config)
    clone = DBNModel.from_config(config)
    assert [l.units for l in clone.rbms] == [64, 32]
    dbn.save(tmp_path / "dbn.keras")
    loaded = keras.models.load_model(tmp_path / "dbn.keras")
    assert isinstance(loaded, DBNModel)
    np.testing.assert_allclose(loaded(x[:5]).numpy(), dbn(x[:5]).numpy(), atol=1e-6)
    np.testing.assert_array_equal(loaded.sample(3, steps=5, seed=1), dbn.sample(3, steps=5, seed=1))
    for model in (dbn.to_classifier(10, compile=False), dbn.to_autoencoder(compile=False)):
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        again = keras.models.load_model(path)
        np.testing.assert_allclose(again.predict(x[:5], verbose=0), model.predict(x[:5], verbose=0),
                                   atol=1e-6)


def test_cli_dbn_train_json(tmp_path, capsys):
    from tfrbm.cli import main
    out = tmp_path / "clf.keras"
    rc = main(["dbn", "train", "--data", "digits", "--layers", "16,8", "--epochs", "1",
               "--finetune-epochs", "1", "--limit", "100", "--output", str(out),
               "--samples", str(tmp_path / "s.png"), "--sample-steps", "5", "--json"])
    assert rc == 0
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert 0.0 <= metrics["test_accuracy"] <= 1.0 and metrics["layers"] == "16,8"
    assert out.exists() and (tmp_path / "s.png").exists()
    assert main(["dbn", "train", "--layers", "10,x"]) == 2


# ----------------------------------------------------------------------------- fit = train_step
def test_fit_pretrains_every_layer_in_compiled_steps(digits):
    (x, _), _ = digits
    keras.utils.set_random_seed(0)
    dbn = DBNModel([RBMLayer(64), RBMLayer(32)], seed=0)
    dbn.compile(layer_optimizers=[keras.optimizers.SGD(0.5, momentum=0.5),
                                  keras.optimizers.SGD(0.5, momentum=0.5)])
    dbn.build((None, 64))
    w0 = [l.kernel.numpy().copy() for l in dbn.rbms]
    h = dbn.fit(x, epochs=6, batch_size=50, verbose=0)
    assert type(dbn).train_step is DBNModel.train_step
    assert h.history["layer"] == [1.0] * 6 + [2.0] * 6
    assert h.history["loss"] == h.history["reconstruction_error"]
    for i, layer in enumerate(dbn.rbms):
        loss = [v for v, l in zip(h.history["loss"], h.history["layer"]) if l == i + 1]
        assert loss[-1] < 0.8 * loss[0], (i, loss)            # reconstruction error falls
        moved = np.abs(layer.kernel.numpy() - w0[i]).mean()
        assert moved > 5 * np.abs(w0[i]).mean(), (i, moved)   # weights left their init
    # each layer has its own optimizer, which ran exactly its 6 epochs x 30 steps
    assert dbn.trainers[0].optimizer is not dbn.trainers[1].optimizer
    assert [int(t.optimizer.iterations.numpy()) for t in dbn.trainers] == [180, 180]


def test_fit_steps_per_execution_gives_the_same_updates(digits):
    (x, _), _ = digits
    weights = []
    for spe in (1, "auto"):
        keras.utils.set_random_seed(3)
        dbn = DBNModel([RBMLayer(12), RBMLayer(6)], seed=3,
                       layer_options=[{"sample": True}, {"cd_k": 2}])
        dbn.compile(steps_per_execution=spe)
        dbn.fit(x[:400], epochs=1, batch_size=40, shuffle=False, verbose=0)
        weights.append(dbn.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_default_schedule_follows_the_data_size():
    from tfrbm.models.dbn import default_schedule
    assert default_schedule(60000) == (100, 5)          # 600 batches, 3,000 updates
    bs, epochs = default_schedule(1500)
    assert bs == 30 and epochs * 50 >= 3000             # small sets: smaller batches, more epochs


# ----------------------------------------------------------------------------- labels, generation
def test_conditional_sampling_matches_exact_p_v_given_label(toy_labelled_dbn):
    import itertools
    dbn = toy_labelled_dbn()
    top = dbn.rbms[0]
    w, b, c = top.kernel.numpy().astype(np.float64), top.visible_bias.numpy(), top.hidden_bias.numpy()
    states = np.array(list(itertools.product([0, 1], repeat=4)), np.float64)
    for label in range(3):
        v = np.concatenate([states, np.tile(np.eye(3)[label], (16, 1))], axis=1)
        log_p = v @ b + np.logaddexp(0, v @ w + c).sum(axis=1)      # -F(v, label)
        exact = np.exp(log_p - log_p.max())
        exact /= exact.sum()
        samples = dbn.generate(label, n=20000, steps=30, seed=label, sample=True)
        assert samples.shape == (20000, 4) and set(np.unique(samples)) <= {0.0, 1.0}
        index = samples.astype(int) @ (1 << np.arange(3, -1, -1))
        freq = np.bincount(index, minlength=16) / len(index)
        tv = 0.5 * np.abs(freq - exact).sum()
        # 20,000 draws over 16 states: sampling noise alone gives a TV of about 0.01
        assert tv < 0.03, (label, tv, exact.round(3), freq.round(3))
    # the labels change the distribution: the exact conditionals differ between classes
    means = [dbn.generate(k, n=4000, steps=30, seed=9, sample=True).mean(0) for k in range(3)]
    assert max(np.abs(means[0] - means[1]).max(), np.abs(means[0] - means[2]).max()) > 0.1


def test_labelled_dbn_learns_labels_and_generates_each_class(digits):
    (x, y), (xt, yt) = digits
    keras.utils.set_random_seed(0)
    dbn = DBNModel([RBMLayer(64), RBMLayer(64)], n_labels=10, seed=0)
    h = dbn.fit(x, y, epochs=[10, 20], batch_size=30, verbose=0)
    top_loss = [v for v, l in zip(h.history["loss"], h.history["layer"]) if l == 2]
    assert top_loss[-1] < top_loss[0]
    assert dbn.rbms[1].n_visible == 64 + 10 and dbn.sizes == [64, 64, 64]
    # the top RBM's free energy classifies (before any fine-tuning): measured 0.67, chance 0.1
    acc = float((dbn.classify(xt).argmax(1) == yt).mean())
    assert acc > 0.5, acc
    samples = dbn.generate(np.repeat(np.arange(10), 5), n=50, steps=20, seed=0)
    assert samples.shape == (50, 64) and np.all((samples >= 0) & (samples <= 1))
    np.testing.assert_array_equal(samples, dbn.generate(np.repeat(np.arange(10), 5), n=50,
                                                        steps=20, seed=0))
    # the samples are digits of the requested class: a logistic regression trained on the real
    # images (0.92 on the test images) labels 20 per class as asked at a mean rate of 0.58
    # (measured, seed 0; chance 0.1)
    from sklearn.linear_model import LogisticRegression
    judge = LogisticRegression(max_iter=2000).fit(x, y)
    asked = np.repeat(np.arange(10), 20)
    said = judge.predict(dbn.generate(asked, n=len(asked), steps=20, seed=0))
    assert np.mean(said == asked) > 0.4, np.mean(said == asked)


def test_label_errors_are_clear(digits, toy_labelled_dbn):
    from tfrbm.errors import UserError
    (x, y), _ = digits
    dbn = toy_labelled_dbn()
    for bad in (3, -1, 1.5, "a", [[0, 1]]):
        with pytest.raises(UserError, match="class ids|label"):
            dbn.generate(bad, n=2, steps=1)
    with pytest.raises(UserError, match="2 were asked"):
        dbn.generate([0, 1, 2], n=2, steps=1)
    with pytest.raises(UserError, match="class ids in \\[0, 3\\)"):
        dbn.fit(np.zeros((4, 4), np.float32), np.array([0, 1, 2, 5]), epochs=1, verbose=0)
    with pytest.raises(UserError, match="fit it with labels"):
        dbn.fit(np.zeros((4, 4), np.float32), epochs=1, verbose=0)
    plain = DBNModel([RBMLayer(8)], seed=0)
    with pytest.raises(UserError, match="no label units"):
        plain.generate(1, n=2, steps=1)
    with pytest.raises(UserError, match="no label units"):
        plain.fit(x[:20], y[:20], epochs=1, verbose=0)
    with pytest.raises(UserError, match="n_labels must be None or an integer >= 2"):
        DBNModel([RBMLayer(8)], n_labels=1)
    a, b = RBMLayer(20), RBMLayer(5)
    a.build((None, 64))
    b.build((None, 20))         # chains without labels, but the top needs 20 + 10 inputs
    with pytest.raises(UserError, match="give n_labels before the top layer is built"):
        DBNModel([a, b], n_labels=10)


def test_labelled_dbn_round_trips_with_its_training_state(tmp_path, digits):
    (x, y), _ = digits
    keras.utils.set_random_seed(0)
    dbn = DBNModel([RBMLayer(16), RBMLayer(8)], n_labels=10, seed=4,
                   layer_options=[{}, {"persistent": True, "n_chains": 12, "centering": True}])
    dbn.compile(optimizer=keras.optimizers.Adam(0.01))
    dbn.fit(x[:300], y[:300], epochs=1, batch_size=50, verbose=0)
    dbn.save(tmp_path / "dbn.keras")
    loaded = keras.models.load_model(tmp_path / "dbn.keras")
    assert loaded.n_labels == 10
    assert loaded.rbms[1].visible_units == dbn.rbms[1].visible_units
    assert loaded.trainers[1].persistent and loaded.trainers[1].n_chains == 12
    assert loaded.trainers[1].centering and not loaded.trainers[0].centering
    for offset in ("visible_offset", "hidden_offset"):     # the centering offsets moved and load
        saved = getattr(dbn.trainers[1], offset).numpy()
        assert np.abs(saved).max() > 0
        np.testing.assert_array_equal(getattr(loaded.trainers[1], offset).numpy(), saved)
    np.testing.assert_array_equal(loaded.trainers[1].persistent_chains.numpy(),
                                  dbn.trainers[1].persistent_chains.numpy())
    for a, b in zip(loaded.trainers, dbn.trainers):       # optimizer state (Adam moments) too
        assert len(a.optimizer.variables) == len(b.optimizer.variables) > 2
        for va, vb in zip(a.optimizer.variables, b.optimizer.variables):
            np.testing.assert_allclose(va.numpy(), vb.numpy(), atol=1e-7)
    np.testing.assert_allclose(loaded.generate(3, n=4, steps=20, seed=2),
                               dbn.generate(3, n=4, steps=20, seed=2), atol=1e-6)
    np.testing.assert_allclose(loaded.classify(x[:10]), dbn.classify(x[:10]), atol=1e-6)
    # training continues from the saved state: the same next epoch from the original and the copy
    for m in (dbn, loaded):
        m.fit(x[:100], y[:100], epochs=[1, 1], batch_size=50, shuffle=False, verbose=0)
    for a, b in zip(loaded.get_weights(), dbn.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_a_file_without_the_training_state_gets_a_clear_error():
    """DBN files from before the train_step rewrite hold no per-layer training state: loading one
    names the problem instead of Keras' bare variable count."""
    from tfrbm.errors import UserError
    dbn = DBNModel([RBMLayer(6), RBMLayer(3)], seed=0)
    dbn.build((None, 8))
    with pytest.raises(UserError, match="holds none of .*training state.*older tfrbm"):
        dbn.trainers[0].load_own_variables({})
