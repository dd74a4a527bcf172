"""The bfloat16 matmul path (``matmul_dtype="bfloat16"``): float32 weights and statistics, a CD
update close to float32's, a sampler and an AIS estimate checked against exact answers, and the
option kept through a .keras round trip."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfrbm import likelihood
from tfrbm.likelihood import ais
from tfrbm.errors import UserError
from tfrbm.layers import RBMLayer, matmul
from tfrbm.models.rbm import RBMModel
from tfrbm.units import BernoulliUnits


class _MeanField(BernoulliUnits):
    """Deterministic 'samples' (the means), so two dtypes can be compared update for update."""

    def sample(self, mean, seed):
        return mean


def _model(matmul_dtype, n_visible=64, n_hidden=32, scale=0.1, seed=0, **kwargs):
    rng = np.random.default_rng(seed)
    model = RBMModel(RBMLayer(n_hidden), seed=seed, matmul_dtype=matmul_dtype, **kwargs)
    model.build((None, n_visible))
    model.layer.kernel.assign(rng.normal(0, scale, (n_visible, n_hidden)).astype("float32"))
    model.layer.visible_bias.assign(rng.normal(-0.5, 1.0, n_visible).astype("float32"))
    model.layer.hidden_bias.assign(rng.normal(-0.5, 0.5, n_hidden).astype("float32"))
    return model


@pytest.fixture(scope="module")
def data():
    """Four binary prototypes with 5% of the pixels flipped: structure an RBM can learn."""
    rng = np.random.default_rng(1)
    prototypes = rng.random((4, 64)) < 0.4
    rows = prototypes[rng.integers(0, 4, 100)] ^ (rng.random((100, 64)) < 0.05)
    return rows.astype("float32")


def test_matmul_rounds_inputs_to_bfloat16_and_returns_float32():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(8, 50)).astype("float32")
    b = rng.normal(size=(50, 6)).astype("float32")
    out = matmul(tf.constant(a), tf.constant(b), "bfloat16")
    assert out.dtype == tf.float32
    # exactly the product of the bfloat16-rounded inputs, up to the bfloat16 rounding of the result
    a16 = tf.cast(tf.cast(a, tf.bfloat16), tf.float32).numpy().astype(np.float64)
    b16 = tf.cast(tf.cast(b, tf.bfloat16), tf.float32).numpy().astype(np.float64)
    ref = a16 @ b16
    np.testing.assert_allclose(out.numpy(), ref, rtol=2 ** -8, atol=1e-6 * np.abs(ref).max())
    assert not np.array_equal(out.numpy(), (a.astype(np.float64) @ b).astype(np.float32))
    np.testing.assert_array_equal(matmul(tf.constant(a), tf.constant(b), "float32").numpy(),
                                  tf.matmul(a, b).numpy())


def test_bf16_cd_update_is_close_to_float32_and_stays_float32(data):
    grads = {}
    for dtype in ("float32", "bfloat16"):
        model = _model(dtype)
        model.layer.visible_units = _MeanField()
        model.layer.hidden_units = _MeanField()
        g, recon, _ = model.cd_gradients(tf.constant(data), tf.constant([3, 4], tf.int64))
        assert all(t.dtype == tf.float32 for t in g) and recon.dtype == tf.float32
        grads[dtype] = [t.numpy() for t in g]
    for ref, low in zip(grads["float32"], grads["bfloat16"]):
        scale = np.abs(ref).max()
        assert scale > 1e-3                                # a real, non-zero statistic
        # bfloat16 keeps 8 significant bits: ~0.4% of the statistic's scale, never more than 2%
        err = np.abs(low - ref).max() / scale
        assert 1e-6 < err < 0.02, err
    # and training keeps float32 master weights
    model = _model("bfloat16")
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    history = model.fit(data, batch_size=20, epochs=2, verbose=0)
    assert np.isfinite(history.history["reconstruction_error"]).all()
    for var in model.layer.weights + [model.persistent_chains]:
        assert var.dtype == "float32", var.path


def test_bf16_training_learns_like_float32(data):
    """Same seeds, stochastic CD: the bfloat16 model's reconstruction error tracks float32's."""
    errors = {}
    for dtype in ("float32", "bfloat16"):
        model = _model(dtype, scale=0.01)
        model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.5))
        hist = model.fit(data, batch_size=10, epochs=8, verbose=0, shuffle=False)
        errors[dtype] = hist.history["reconstruction_error"]
    assert errors["float32"][-1] < 0.6 * errors["float32"][0]          # it learned
    assert errors["bfloat16"][-1] == pytest.approx(errors["float32"][-1], rel=0.1), errors


def test_bf16_gibbs_sampler_reaches_exact_distribution():
    model = _model("bfloat16", n_visible=6, n_hidden=4, scale=0.8, seed=5)
    n_chains = 20000
    samples = model.gibbs(np.zeros((n_chains, 6), np.float32), steps=100, seed=11)
    codes = samples.astype(int) @ (1 << np.arange(5, -1, -1))
    empirical = np.bincount(codes, minlength=64) / n_chains
    exact = likelihood.exact_visible_distribution(model.layer)   # of the float32 model
    tv = 0.5 * np.abs(empirical - exact).sum()
    assert tv < 0.05, tv


def test_bf16_ais_matches_exact_log_partition():
    model = _model("float32", n_visible=20, n_hidden=12, scale=0.6, seed=20)
    exact = likelihood.exact_log_partition(model.layer)
    log_z, lower, upper = ais.ais_log_partition(model.layer, n_runs=100, betas=ais.make_betas(2000),
                                                seed=3, matmul_dtype="bfloat16")
    assert abs(log_z - exact) < 0.1
    assert upper - lower < 0.5


def test_free_energy_stays_float32_exact_under_bf16():
    f32, b16 = _model("float32"), _model("bfloat16")
    v = (np.random.default_rng(2).random((5, 64)) < 0.5).astype("float32")
    np.testing.assert_array_equal(b16.free_energy(v), f32.free_energy(v))


def test_keras_round_trip_keeps_matmul_dtype(tmp_path, data):
    model = _model("bfloat16")
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    model.fit(data, batch_size=20, epochs=1, verbose=0)
    path = str(tmp_path / "bf16.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.layer.matmul_dtype == "bfloat16"
    np.testing.assert_array_equal(loaded.hidden_probs(data), model.hidden_probs(data))
    assert RBMModel(RBMLayer(4)).layer.matmul_dtype == "float32"


def test_bad_matmul_dtype_is_a_user_error():
    with pytest.raises(UserError, match="matmul_dtype"):
        RBMModel(RBMLayer(4), matmul_dtype="float16")
    with pytest.raises(UserError, match="matmul_dtype"):
        RBMLayer(4, matmul_dtype="int8")
