"""Every tf.data batch is checked inside the compiled step; the error names the data.

Issue 20 item 4: only the first 20,000 rows of a tf.data input were checked, so later NaN rows
turned the weights into NaN (and the divergence message blamed the learning rate) and 255-valued
rows trained silently; ``evaluate`` returned NaN.
"""
import numpy as np
import pytest
import tensorflow as tf

from tfrbm.errors import UserError
from tfrbm.layers import RBMLayer
from tfrbm.models.rbm import RBMModel

N = 20_600      # past the 20,000 rows the data-dependent initialisation looks at


def _data(bad_row, bad_value, gaussian=False):
    rng = np.random.RandomState(0)
    x = rng.randn(N, 8).astype("f4") if gaussian else (rng.rand(N, 8) > 0.5).astype("f4")
    x[bad_row, 5] = bad_value
    return x


@pytest.mark.parametrize("bad_value,shown", [(np.nan, "nan"), (255.0, "255"), (-1.0, "-1")])
def test_a_bad_late_batch_stops_fit_naming_batch_row_column_and_value(bad_value, shown):
    x = _data(20_537, bad_value)
    model = RBMModel(RBMLayer(4), seed=0)

    ds = tf.data.Dataset.from_tensor_slices(x).batch(100)
    with pytest.raises(UserError) as info:
        model.fit(ds, epochs=1, verbose=0)
    message = str(info.value)
    assert "training data: batch 206 of the epoch (training step 206)" in message
    assert f"value {shown} at row 37, column 5" in message and "[0, 1]" in message
    assert "learning rate" in message and "not the learning rate" in message
    kernel = model.layer.kernel.numpy()
    assert np.isfinite(kernel).all()               # the bad batch never reached the weights
    # evaluate on the same data errors as clearly (it used to return NaN)
    with pytest.raises(UserError, match=r"evaluation data: batch 206 has value"):
        model.evaluate(ds, verbose=0)


def test_gaussian_units_accept_any_finite_value_but_refuse_inf():
    x = _data(20_400, 300.0, gaussian=True)     # far but finite: allowed (a warning elsewhere)
    ds = tf.data.Dataset.from_tensor_slices(x).batch(200)
    model = RBMModel(RBMLayer(3, visible="gaussian"), seed=0)
    model.compile(optimizer="sgd")
    model.fit(ds.take(3), epochs=1, verbose=0)
    x[20_401, 2] = np.inf
    with pytest.raises(UserError, match=r"batch 103 .* value inf at row 1, column 2.*finite"):
        model.fit(tf.data.Dataset.from_tensor_slices(x).batch(200), epochs=1, verbose=0)


def test_the_check_can_be_switched_off_for_measurement():
    x = _data(20_537, 255.0)
    model = RBMModel(RBMLayer(4), seed=0)
    model.check_batches = False
    history = model.fit(tf.data.Dataset.from_tensor_slices(x).batch(100).take(210), epochs=1,
                        verbose=0)
    # switched off, the 255-valued batches go through: all 206 batches (20,537 rows) trained
    assert len(history.history["loss"]) == 1
    assert int(model.optimizer.iterations.numpy()) == 206
