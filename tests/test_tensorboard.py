"""RBMTensorBoard writes the monitors as scalars and the weight tiles / samples as images."""
import collections

import numpy as np
import pytest
import tensorflow as tf

from tfrbm.layers import RBMLayer
from tfrbm.models.rbm import RBMModel
from tfrbm.tensorboard import RBMTensorBoard, tile_images


def _events(log_dir):
    """{tag: [(step, value)]} from every event file under ``log_dir``."""
    found = collections.defaultdict(list)
    for path in sorted(tf.io.gfile.glob(str(log_dir / "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                found[value.tag].append((event.step, tf.make_ndarray(value.tensor)))
    return found


def test_callback_logs_scalars_and_images_each_epoch(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.random((96, 16)) < 0.3).astype("float32")
    rbm = RBMModel(RBMLayer(6), seed=0)
    cb = RBMTensorBoard(tmp_path, validation_data=x[64:], train_slice=x[:32], n_tiles=6,
                        n_samples=4, sample_steps=5)
    rbm.fit(x[:64], epochs=3, batch_size=16, verbose=0, callbacks=[cb])
    events = _events(tmp_path)
    for tag in ("rbm/reconstruction_error", "rbm/pseudo_log_likelihood", "rbm/free_energy_gap",
                "rbm/weight_tiles", "rbm/samples", "epoch/reconstruction_error"):
        assert [s for s, _ in events[tag]] == [0, 1, 2], tag
    from tfrbm import monitors
    last = float(events["rbm/free_energy_gap"][-1][1])
    assert last == pytest.approx(monitors.free_energy_gap(rbm, x[:32], x[64:]), rel=1e-5)
    recon = float(events["rbm/reconstruction_error"][-1][1])
    assert recon == pytest.approx(monitors.reconstruction_error(rbm, x[64:]), rel=1e-5)
    assert float(events["rbm/pseudo_log_likelihood"][-1][1]) < 0
    # images are encoded PNGs: [width, height, png bytes]; 6 tiles of 4x4 -> 3 columns x 2 rows
    width, height, png = events["rbm/weight_tiles"][-1][1]
    assert (int(width), int(height)) == (3 * 5 - 1, 2 * 5 - 1) and png[:4] == b"\x89PNG"


def test_every_and_bad_arguments(tmp_path):
    x = (np.random.default_rng(1).random((32, 9)) < 0.5).astype("float32")
    rbm = RBMModel(RBMLayer(3), seed=0)
    cb = RBMTensorBoard(tmp_path, validation_data=x, every=2, n_samples=2, sample_steps=2)
    rbm.fit(x, epochs=3, batch_size=16, verbose=0, callbacks=[cb])
    # epochs 2 (every 2nd) and 3 (the last) are logged; no free-energy gap without a train slice
    events = _events(tmp_path)
    assert [s for s, _ in events["rbm/reconstruction_error"]] == [1, 2]
    assert "rbm/free_energy_gap" not in events
    with pytest.raises(ValueError, match="every"):
        RBMTensorBoard(tmp_path, every=0)
    from tfrbm.tensorboard import _image_shape
    with pytest.raises(ValueError, match="image_shape"):
        _image_shape(9, (2, 2))
    tiles = tile_images(np.ones((5, 2, 3)))
    assert tiles.shape == (2 * 3 - 1, 3 * 4 - 1) and tiles.sum() == 5 * 6
