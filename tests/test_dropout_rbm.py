"""The Dropout RBM (Srivastava et al. 2014): per-case hidden dropout in CD, scaled weights at test."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import tfrbm
from tfrbm import gibbs
from tfrbm.dropout import DropoutView, dropout_mask
from tfrbm.errors import UserError
from tfrbm.layers import RBMLayer


def _model(dropout, seed=0):
    model = tfrbm.RBMModel(RBMLayer(6), dropout=dropout, seed=seed, init_visible_bias=None)
    model.build((None, 5))
    rng = np.random.default_rng(seed)
    model.layer.kernel.assign(rng.normal(0, 0.5, (5, 6)).astype("float32"))
    model.layer.hidden_bias.assign(rng.normal(0, 0.5, 6).astype("float32"))
    return model


def test_dropped_units_get_no_statistics_and_kept_ones_see_kernel_over_retain():
    model = _model(0.5)
    v = np.array([[1, 0, 1, 1, 0]], np.float32)
    seed = tf.constant([3, 4], tf.int64)
    grads, _, _ = model.cd_gradients(v, seed)
    mask = dropout_mask(tf.constant([1, 6]), 0.5, gibbs.fold(seed, 11)).numpy()[0]
    assert 0 < mask.sum() < 6          # this seed drops some units and keeps some
    d_kernel, _, d_hidden = (g.numpy() for g in grads)
    assert np.all(d_kernel[:, mask == 0] == 0) and np.all(d_hidden[mask == 0] == 0)
    assert np.any(d_kernel[:, mask == 1] != 0)
    view = DropoutView(model.layer, tf.constant(mask[None]), 0.5)
    expected = model.layer.hidden_bias.numpy() + v @ model.layer.kernel.numpy() / 0.5
    np.testing.assert_allclose(view.hidden_input(tf.constant(v)).numpy()[0], expected[0], rtol=1e-5)
    probs = view.hidden_probs(tf.constant(v)).numpy()[0]
    assert np.all(probs[mask == 0] == 0)
    # inference uses every unit and the kernel itself (the scaled weights)
    np.testing.assert_allclose(model.hidden_probs(v)[0],
                               1 / (1 + np.exp(-(model.layer.hidden_bias.numpy()
                                                 + v @ model.layer.kernel.numpy())))[0], rtol=1e-5)


def test_dropout_zero_is_the_plain_rbm_and_training_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.random((64, 5)) < 0.4).astype("float32")
    plain, zero = _model(0.0), _model(0.0)
    seed = tf.constant([1, 1], tf.int64)
    for a, b in zip(plain.cd_gradients(x, seed)[0], zero.cd_gradients(x, seed)[0]):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    model = tfrbm.RBMModel(RBMLayer(8), dropout=0.5, seed=0)
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    history = model.fit(x, epochs=2, batch_size=16, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    model.save(tmp_path / "d.keras")
    back = keras.saving.load_model(tmp_path / "d.keras")
    assert back.dropout == 0.5
    np.testing.assert_allclose(back.hidden_probs(x[:4]), model.hidden_probs(x[:4]), rtol=1e-6)


def test_bad_dropout_settings():
    with pytest.raises((UserError, ValueError), match="dropout"):
        tfrbm.RBMModel(RBMLayer(4), dropout=1.0)
    with pytest.raises(UserError, match="persistent"):
        tfrbm.RBMModel(RBMLayer(4), dropout=0.5, persistent=True)
