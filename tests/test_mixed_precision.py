"""Mixed precision: under mixed_float16 / mixed_bfloat16 the variables stay float32 and the RBM's
update and outputs stay close to float32 training (the CD statistics are computed in float32)."""
import keras
import numpy as np
import pytest

from tfrbm.layers import RBMLayer
from tfrbm.models.rbm import RBMModel
from tfrbm.units import BernoulliUnits


class _MeanField(BernoulliUnits):
    """Deterministic 'samples' (the means), so two runs can be compared update for update."""

    def sample(self, mean, seed):
        return mean


def _train(policy, x, deterministic, epochs=2):
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        layer = RBMLayer(6, visible=_MeanField() if deterministic else "bernoulli",
                         kernel_initializer=keras.initializers.RandomNormal(stddev=0.1, seed=3))
        rbm = RBMModel(layer, seed=5, cd_k=2)
        rbm.compile(optimizer=keras.optimizers.SGD(0.2, momentum=0.5))
        rbm.build((None, x.shape[1]))
        if deterministic:
            layer.hidden_units = _MeanField()
        history = rbm.fit(x, epochs=epochs, batch_size=16, shuffle=False, verbose=0)
        return rbm, history
    finally:
        keras.mixed_precision.set_global_policy(previous)


@pytest.fixture(scope="module")
def data():
    return (np.random.default_rng(0).random((64, 20)) < 0.3).astype("float32")


@pytest.fixture(scope="module")
def reference(data):
    return _train("float32", data, deterministic=True)[0]


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_policy_keeps_float32_variables_and_matches_float32_update(policy, data, reference):
    rbm, history = _train(policy, data, deterministic=True)
    assert rbm.dtype_policy.name == policy
    for var in rbm.layer.weights + [rbm.persistent_chains]:
        assert var.dtype == "float32", var.path
    w_ref = reference.layer.kernel.numpy()
    w0 = keras.initializers.RandomNormal(stddev=0.1, seed=3)((20, 6)).numpy()
    moved = np.abs(w_ref - w0).max()
    assert moved > 1e-2                      # the reference really trained
    # the same update as float32 training (not scaled by a loss-scale factor, not float16-rounded)
    np.testing.assert_allclose(rbm.layer.kernel.numpy(), w_ref, atol=1e-4 * max(1.0, moved))
    assert np.isfinite(history.history["reconstruction_error"]).all()
    # inference through the Keras call runs in the compute dtype and stays close to float32
    probs = keras.ops.convert_to_numpy(rbm(data)).astype(np.float32)
    tol = 2e-3 if policy == "mixed_float16" else 1.6e-2
    np.testing.assert_allclose(probs, reference.hidden_probs(data), atol=tol)


def test_stochastic_training_under_mixed_float16_moves_like_float32(data):
    w0 = keras.initializers.RandomNormal(stddev=0.1, seed=3)((20, 6)).numpy()
    ref, _ = _train("float32", data, deterministic=False, epochs=3)
    rbm, history = _train("mixed_float16", data, deterministic=False, epochs=3)
    assert np.isfinite(history.history["reconstruction_error"]).all()
    assert rbm.layer.kernel.dtype == "float32"
    moved_ref = np.abs(ref.layer.kernel.numpy() - w0).mean()
    moved = np.abs(rbm.layer.kernel.numpy() - w0).mean()
    # the same noise (stateless seeds) and float32 statistics: the same amount of learning
    assert moved_ref > 1e-2 and moved == pytest.approx(moved_ref, rel=0.2)
