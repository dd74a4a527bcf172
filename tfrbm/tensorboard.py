"""A TensorBoard callback for RBMs: monitors as scalars, weight tiles and samples as images.

Each epoch (or every ``every`` epochs) it writes, with ``tf.summary`` under ``log_dir``:

* scalars ``rbm/reconstruction_error`` (mean squared error of p(v | p(h | v)) on the held-out
  rows), ``rbm/pseudo_log_likelihood`` (mean PLL of the held-out rows, Bernoulli units only) and
  ``rbm/free_energy_gap`` (mean F(held-out) - mean F(training slice), Hinton's overfitting
  monitor), plus the epoch's training logs under ``epoch/``;
* images ``rbm/weight_tiles`` (each hidden unit's weights W[:, j] as an image, min-max scaled)
  and ``rbm/samples`` (``sample_steps`` Gibbs steps from the base-rate model, fixed seed).

Use it with ``keras.callbacks.TensorBoard`` or alone; view with ``tensorboard --logdir logs``.
"""
import math

import keras
import numpy as np
import tensorflow as tf

from tfrbm import monitors
from tfrbm.errors import UserError
from tfrbm.validation import POSITIVE_INT, check_param

__all__ = ["RBMTensorBoard", "tile_images"]


def tile_images(images, columns=None):
    """Tile (N, H, W) images into one (rows*H, columns*W) array with a 1-pixel gap."""
    images = np.asarray(images, np.float32)
    n, h, w = images.shape
    columns = columns or int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / columns))
    out = np.zeros((rows * (h + 1) - 1, columns * (w + 1) - 1), np.float32)
    for i in range(n):
        r, c = divmod(i, columns)
        out[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = images[i]
    return out


def _image_shape(n_visible, image_shape):
    if image_shape is not None:
        if int(np.prod(image_shape)) != n_visible:
            raise UserError(f"image_shape {image_shape} does not hold {n_visible} visible units")
        return tuple(int(s) for s in image_shape)
    side = int(round(math.sqrt(n_visible)))
    if side * side == n_visible:
        return (side, side)
    return (1, n_visible)


class RBMTensorBoard(keras.callbacks.Callback):
    """Log RBM monitors (scalars) and weight tiles / samples (images) to TensorBoard.

    Args:
        log_dir: directory of the event files.
        validation_data: held-out visible rows (numpy, at most ``max_rows`` are used).
        train_slice: training rows for the free-energy gap (default: none, gap not logged).
        every: log every ``every`` epochs (the last epoch of ``fit`` is always logged).
        image_shape: (height, width) of one visible vector; default: square if possible.
        n_tiles: number of hidden units shown as weight tiles.
        n_samples, sample_steps: the sample grid.
        seed: seed of the pseudo-likelihood flips and the sample chains (fixed across epochs).
    """

    def __init__(self, log_dir, validation_data=None, train_slice=None, every=1,
                 image_shape=None, n_tiles=64, n_samples=16, sample_steps=100, max_rows=1000,
                 seed=0):
        super().__init__()
        every = check_param("every", every, POSITIVE_INT)
        self.log_dir = str(log_dir)
        self.validation_data = None if validation_data is None else np.asarray(
            validation_data, np.float32)[:max_rows]
        self.train_slice = None if train_slice is None else np.asarray(
            train_slice, np.float32)[:max_rows]
        self.every = int(every)
        self.image_shape = image_shape
        self.n_tiles = int(n_tiles)
        self.n_samples = int(n_samples)
        self.sample_steps = int(sample_steps)
        self.seed = int(seed)
        self._writer = None

    # --------------------------------------------------------------- the values logged
    def scalars(self):
        """The monitor values for the current weights: {name: float}."""
        rbm, out = self.model, {}
        if self.validation_data is not None:
            out["reconstruction_error"] = monitors.reconstruction_error(rbm, self.validation_data)
            if rbm.layer.visible_units.name == "bernoulli":
                out["pseudo_log_likelihood"] = float(np.mean(
                    monitors.pseudo_log_likelihood(rbm, self.validation_data, seed=self.seed)))
            if self.train_slice is not None:
                out["free_energy_gap"] = monitors.free_energy_gap(
                    rbm, self.train_slice, self.validation_data)
        return out

    def images(self):
        """{"weight_tiles": (1, H, W, 1), "samples": (1, H, W, 1)} arrays in [0, 1]."""
        rbm = self.model
        shape = _image_shape(rbm.layer.n_visible, self.image_shape)
        W = rbm.layer.kernel.numpy()[:, :self.n_tiles].T
        lo, hi = W.min(axis=1, keepdims=True), W.max(axis=1, keepdims=True)
        W = (W - lo) / np.maximum(hi - lo, 1e-12)
        tiles = tile_images(W.reshape((-1,) + shape))
        samples = rbm.daydream(self.n_samples, steps=self.sample_steps, seed=self.seed)
        if rbm.layer.visible_units.name == "gaussian":
            samples = (samples - samples.min()) / max(float(np.ptp(samples)), 1e-12)
        grid = tile_images(np.clip(samples, 0, 1).reshape((-1,) + shape))
        return {"weight_tiles": tiles[None, ..., None], "samples": grid[None, ..., None]}

    # --------------------------------------------------------------- keras hooks
    def on_train_begin(self, logs=None):
        if not hasattr(self.model, "layer") or not hasattr(self.model, "daydream"):
            raise UserError("RBMTensorBoard needs an RBMModel (a model with .layer and .daydream)")
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        self._last_epoch = self.params.get("epochs", 1) - 1 if self.params else None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every and epoch != self._last_epoch:
            return
        self.write(epoch, logs)

    def write(self, step, logs=None):
        """Write every scalar and image for ``step`` now."""
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        with self._writer.as_default(step=int(step)):
            for name, value in (logs or {}).items():
                if np.ndim(value) == 0:
                    tf.summary.scalar(f"epoch/{name}", float(value))
            for name, value in self.scalars().items():
                tf.summary.scalar(f"rbm/{name}", value)
            for name, image in self.images().items():
                tf.summary.image(f"rbm/{name}", image)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.flush()
