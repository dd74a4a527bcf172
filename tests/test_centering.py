"""The centering trick (tfrbm.centering, RBMModel(centering=True)) against exact gradients."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfrbm import centering, likelihood
from tfrbm.errors import UserError
from tfrbm.layers import RBMLayer
from tfrbm.models.conv import ConvRBMLayer
from tfrbm.models.implicit_rbm import ImplicitRBM
from tfrbm.models.ratings_rbm import RatingsRBM
from tfrbm.models.rbm import RBMModel


def _centered_log_likelihood(W, b_c, c_c, mu, lam, data, states):
    """Mean exact log p(v) of the centered energy -(v-mu)W(h-lam) - b_c(v-mu) - c_c(h-lam),
    summed over h analytically and normalised over every visible state (float64)."""
    def log_f(v):
        a = tf.matmul(v - mu, W) + c_c
        return (tf.linalg.matvec(v - mu, b_c)
                + tf.reduce_sum(tf.math.softplus(a) - a * lam, axis=-1))
    return tf.reduce_mean(log_f(data)) - tf.reduce_logsumexp(log_f(states))


@pytest.mark.parametrize("seed", [0, 1])
def test_centered_step_is_the_centered_gradient_mapped_to_natural_parameters(seed):
    rng = np.random.default_rng(seed)
    n_v, n_h = 5, 4
    layer = RBMLayer(n_h)
    layer.build((None, n_v))
    W = rng.normal(0, 1.0, (n_v, n_h))
    b, c = rng.normal(0, 1.0, n_v), rng.normal(0, 1.0, n_h)
    layer.kernel.assign(W.astype("float32"))
    layer.visible_bias.assign(b.astype("float32"))
    layer.hidden_bias.assign(c.astype("float32"))
    W, b, c = (v.numpy().astype(np.float64) for v in (layer.kernel, layer.visible_bias, layer.hidden_bias))
    data = (rng.random((30, n_v)) < 0.3).astype(np.float64)
    mu, lam = rng.random(n_v), rng.random(n_h)
    states = likelihood.binary_states(n_v).astype(np.float64)

    # exact gradient in the centered parametrisation (autodiff), at the same model
    W_c = tf.Variable(W)
    b_cv = tf.Variable(b + W @ lam)         # b = b_c - W lam
    c_cv = tf.Variable(c + W.T @ mu)        # c = c_c - W^T mu
    with tf.GradientTape() as tape:
        ll = _centered_log_likelihood(W_c, b_cv, c_cv, mu, lam, data, states)
    gW, gb, gc = (g.numpy() for g in tape.gradient(ll, [W_c, b_cv, c_cv]))
    assert float(ll) == pytest.approx(likelihood.exact_log_likelihood(layer, data), abs=1e-4)
    # a centered step of size eta, read back as natural parameters
    eta = 0.1
    W1 = W + eta * gW
    b1 = (b + W @ lam + eta * gb) - W1 @ lam
    c1 = (c + W.T @ mu + eta * gc) - W1.T @ mu

    # tfrbm: the natural (uncentered) exact gradient through centered_gradients
    dW, db, dc = likelihood.exact_gradient(layer, data)
    tW, tb, tc = (t.numpy() for t in centering.centered_gradients(
        tf.constant(dW), tf.constant(db), tf.constant(dc), mu, lam))
    np.testing.assert_allclose(W + eta * tW, W1, atol=1e-9)
    np.testing.assert_allclose(b + eta * tb, b1, atol=1e-9)
    np.testing.assert_allclose(c + eta * tc, c1, atol=1e-9)
    # and it is not the plain update (the test can tell them apart)
    assert np.abs(tb - db).max() > 1e-2
    # zero offsets: the identity
    zW, zb, zc = centering.centered_gradients(tf.constant(dW), tf.constant(db), tf.constant(dc),
                                              np.zeros(n_v), np.zeros(n_h))
    np.testing.assert_allclose(zW.numpy(), dW)
    np.testing.assert_allclose(zb.numpy(), db)
    np.testing.assert_allclose(zc.numpy(), dc)


def _pair(x, **kw):
    models = []
    for centered in (False, True):
        m = RBMModel(RBMLayer(4), persistent=True, n_chains=8, seed=3, centering=centered,
                     weight_decay=1e-3, **kw)
        m.initialize_from_data(x)
        models.append(m)
    plain, cent = models
    # the hidden offset starts at the first data's mean p(h | v) under the initial weights
    np.testing.assert_allclose(cent.hidden_offset.numpy(),
                               cent.layer.hidden_probs(x).numpy().mean(0), atol=1e-6)
    for src, dst in zip((plain.layer.kernel, plain.layer.visible_bias, plain.layer.hidden_bias,
                         plain.persistent_chains),
                        (cent.layer.kernel, cent.layer.visible_bias, cent.layer.hidden_bias,
                         cent.persistent_chains)):
        dst.assign(src)
    return plain, cent


def test_model_applies_the_centering_map_to_its_pcd_gradient_and_slides_the_offsets():
    rng = np.random.default_rng(0)
    x = (rng.random((64, 6)) < 0.3).astype("float32")
    plain, cent = _pair(x)
    np.testing.assert_allclose(cent.visible_offset.numpy(), x.mean(0), atol=1e-6)
    lam0 = cent.hidden_offset.numpy().copy()
    batch = x[:16]
    seed = tf.constant([7, 0], tf.int64)
    g_plain, _, _ = plain.cd_gradients(batch, seed)
    g_cent, _, _ = cent.cd_gradients(batch, seed)
    mu = 0.99 * x.mean(0) + 0.01 * batch.mean(0)
    lam = 0.99 * lam0 + 0.01 * cent.layer.hidden_probs(batch).numpy().mean(0)
    np.testing.assert_allclose(cent.visible_offset.numpy(), mu, atol=1e-6)
    np.testing.assert_allclose(cent.hidden_offset.numpy(), lam, atol=1e-6)
    expected = centering.centered_gradients(*g_plain, mu, lam)
    for got, want in zip(g_cent, expected):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-5)


def test_centered_model_trains_and_round_trips(tmp_path):
    rng = np.random.default_rng(1)
    # two correlated modes (independent pixels would already be fitted by the log-odds biases)
    modes = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]], "float32")
    x = modes[rng.integers(0, 2, 200)]
    x = np.where(rng.random(x.shape) < 0.05, 1 - x, x).astype("float32")
    model = RBMModel(RBMLayer(3), persistent=True, n_chains=20, seed=2, centering=True,
                     centering_rate=0.05)
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    model.fit(x, epochs=1, batch_size=50, verbose=0)   # builds; offsets initialised
    before = likelihood.exact_log_likelihood(model.layer, x)
    model.fit(x, epochs=10, batch_size=20, verbose=0)
    after = likelihood.exact_log_likelihood(model.layer, x)
    assert after > before + 1.0   # measured: -4.15 -> -1.90 (plain PCD: -2.03)
    config = model.get_config()
    assert config["centering"] is True and config["centering_rate"] == 0.05
    path = tmp_path / "centered.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.centering and loaded.centering_rate == 0.05
    np.testing.assert_allclose(loaded.visible_offset.numpy(), model.visible_offset.numpy())
    np.testing.assert_allclose(loaded.hidden_offset.numpy(), model.hidden_offset.numpy())
    np.testing.assert_allclose(loaded.layer.kernel.numpy(), model.layer.kernel.numpy())


@pytest.mark.parametrize("bad", [dict(centering="yes"), dict(centering=True, centering_rate=0.0),
                                 dict(centering=True, centering_rate=1.5)])
def test_bad_centering_arguments_are_user_errors(bad):
    with pytest.raises(UserError):
        RBMModel(RBMLayer(3), **bad)


def test_centering_is_the_default_and_plain_cd_files_load_as_saved(tmp_path):
    """RBMModel defaults to centering (issue 33); a model saved with plain CD (the old default:
    no offsets in the file) loads as plain CD, including a config written before the key
    existed, which means centering=False."""
    assert RBMModel(RBMLayer(3)).centering
    data = (np.random.default_rng(0).random((60, 6)) < 0.4).astype("float32")
    keras.utils.set_random_seed(1)
    old = RBMModel(RBMLayer(4), centering=False, seed=2)
    old.fit(data, batch_size=20, epochs=1, verbose=0)
    assert not hasattr(old, "visible_offset")
    path = tmp_path / "plain.keras"
    old.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.centering is False and not hasattr(loaded, "visible_offset")
    for a, b in zip(old.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    config = old.get_config()
    assert config["centering"] is False
    del config["centering"]                      # a config saved before the default changed
    restored = RBMModel.from_config(config)
    assert restored.centering is False
    restored.build((None, 6))
    assert len(restored.get_weights()) == len(old.get_weights())
    np.testing.assert_allclose(loaded.free_energy(data), old.free_energy(data))


def test_the_centering_default_applies_only_where_centering_is_the_recipe():
    """centering=None (the default) resolves to True only for Bernoulli hidden units without
    dropout or learned variances, in a model whose step centers; elsewhere to False, which the
    config then holds, so that the model round-trips. Models whose own step does not center
    (ConvRBMModel, RatingsRBM, ImplicitRBM) refuse centering=True."""
    assert RBMModel(RBMLayer(3, visible="gaussian")).centering is True
    for off in (RBMModel(RBMLayer(3, hidden="gaussian")), RBMModel(RBMLayer(3), dropout=0.5),
                RBMModel(RBMLayer(3, visible="gaussian", visible_variance="learned"))):
        assert off.centering is False and off.get_config()["centering"] is False
    assert RBMModel(RBMLayer(3), dropout=0.5, centering=True).centering is True   # explicit
    conv = RBMModel(ConvRBMLayer(filters=2, kernel_size=2))
    assert conv.centering is False
    assert type(conv).from_config(conv.get_config()).centering is False
    ratings = RatingsRBM(n_items=4, n_hidden=3)
    implicit = ImplicitRBM(n_items=4, n_hidden=3)
    assert ratings.centering is False and implicit.centering is False
    for make in (lambda: RBMModel(ConvRBMLayer(filters=2, kernel_size=2), centering=True),
                 lambda: RatingsRBM(n_items=4, n_hidden=3, centering=True),
                 lambda: ImplicitRBM(n_items=4, n_hidden=3, centering=True)):
        with pytest.raises(UserError, match="centering"):
            make()
