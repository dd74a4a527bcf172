"""Cheap training monitors for RBMs: pseudo-log-likelihood, reconstruction error, free-energy gap.

* Pseudo-log-likelihood, as scikit-learn's ``BernoulliRBM.score_samples`` computes it: flip one
  random unit i per example, PLL(v) ~= n_visible * log sigmoid(F(v~) - F(v)).
* Reconstruction error: mean squared error between v and p(v | p(h | v)).
* Free-energy gap (Hinton's practical guide, section 6): mean F(held-out) - mean F(training
  slice). It stays near zero while the model generalises and grows when it overfits.

Each is a plain function, a Keras metric (``update_state(v)``) and a Keras callback that writes
its value into the epoch logs, so it lands in ``History.history`` (e.g.
``history.history["pseudo_log_likelihood"]``, ``history.history["free_energy_gap"]``).
"""
import keras
import numpy as np
import tensorflow as tf

from tfrbm.data.pipeline import check_array
from tfrbm.errors import UserError
from tfrbm.validation import POSITIVE_INT, check_param

__all__ = ["pseudo_log_likelihood", "reconstruction_error", "free_energy_gap",
           "PseudoLogLikelihood", "ReconstructionError",
           "PseudoLogLikelihoodCallback", "ReconstructionErrorCallback", "FreeEnergyGapCallback"]


def _layer(model_or_layer):
    layer = getattr(model_or_layer, "layer", model_or_layer)
    if not hasattr(layer, "free_energy") or not getattr(layer, "built", False):
        raise UserError("expected a built RBMLayer or RBMModel (train or build it first)")
    return layer


def _data(layer, v, name="v"):
    v = check_array(v, name=name, n_features=layer.n_visible)
    layer.visible_units.validate(v)
    return v


def _flip_indices(n_examples, n_visible, seed):
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return rng.integers(0, n_visible, size=n_examples)


def _pll(layer, v, idx):
    v = tf.convert_to_tensor(v, layer.kernel.dtype)
    flip = tf.one_hot(idx, layer.n_visible, dtype=v.dtype)
    v_flipped = v + flip * (1 - 2 * v)  # 1 - v at the flipped unit
    gap = layer.free_energy(v_flipped) - layer.free_energy(v)
    # n * log sigmoid(F(v~) - F(v)) = -n * softplus(F(v) - F(v~))
    return -tf.cast(layer.n_visible, v.dtype) * tf.math.softplus(-gap)


def pseudo_log_likelihood(model, v, seed=None, indices=None):
    """Per-example stochastic pseudo-log-likelihood (scikit-learn's ``score_samples`` estimator).

    For each row one visible unit i is flipped (uniformly at random from ``seed``, or
    ``indices[n]`` for row n) and PLL(v) = n_visible * log sigmoid(F(v with i flipped) - F(v)).
    Binary (Bernoulli) visible data only.
    """
    layer = _layer(model)
    if layer.visible_units.name != "bernoulli":
        raise UserError("the pseudo-log-likelihood needs Bernoulli visible units")
    v = _data(layer, v)
    if indices is None:
        indices = _flip_indices(len(v), layer.n_visible, seed)
    indices = np.asarray(indices)
    if indices.shape != (len(v),) or not np.issubdtype(indices.dtype, np.integer):
        raise UserError(f"indices must be {len(v)} integers (one per row), got shape {indices.shape}")
    if indices.min() < 0 or indices.max() >= layer.n_visible:
        raise UserError(f"indices must lie in [0, {layer.n_visible}), got {indices.min()}..{indices.max()}")
    return _pll(layer, v, tf.constant(indices, tf.int32)).numpy()


def _recon(layer, v):
    v = tf.convert_to_tensor(v, layer.kernel.dtype)
    recon = layer.visible_probs(layer.hidden_probs(v))
    return tf.reduce_mean(tf.square(v - recon), axis=-1)


def reconstruction_error(model, v):
    """Mean squared error between ``v`` and its mean-field reconstruction p(v | p(h | v))."""
    layer = _layer(model)
    return float(np.mean(_recon(layer, _data(layer, v)).numpy()))


def free_energy_gap(model, train_slice, held_out):
    """mean F(held_out) - mean F(train_slice) (Hinton's overfitting monitor; > 0 means the
    training data has become more probable than unseen data)."""
    layer = _layer(model)
    f_train = layer.free_energy(_data(layer, train_slice, "train_slice")).numpy().astype(np.float64)
    f_held = layer.free_energy(_data(layer, held_out, "held_out")).numpy().astype(np.float64)
    return float(f_held.mean() - f_train.mean())


# ---------------------------------------------------------------------------- metrics
class _LayerMean(keras.metrics.Metric):
    """A running mean of a per-example RBM statistic; ``update_state(v)`` takes visible rows."""

    def __init__(self, model, name, **kwargs):
        super().__init__(name=name, **kwargs)
        self._rbm = _layer(model)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total", dtype="float64")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count", dtype="float64")

    def _values(self, v):
        raise NotImplementedError

    def update_state(self, v, y_pred=None, sample_weight=None):
        values = tf.cast(self._values(tf.cast(v, self._rbm.kernel.dtype)), tf.float64)
        self.total.assign_add(tf.reduce_sum(values))
        self.count.assign_add(tf.cast(tf.size(values), tf.float64))

    def result(self):
        return tf.math.divide_no_nan(self.total, self.count)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)


class PseudoLogLikelihood(_LayerMean):
    """Mean pseudo-log-likelihood of the rows passed to ``update_state(v)`` (stateless flips)."""

    def __init__(self, model, seed=0, name="pseudo_log_likelihood", **kwargs):
        super().__init__(model, name=name, **kwargs)
        self._seed = keras.random.SeedGenerator(seed)

    def _values(self, v):
        seed = self._seed.next()
        idx = tf.random.stateless_uniform(tf.shape(v)[:1], seed=tf.cast(seed, tf.int64),
                                          maxval=self._rbm.n_visible, dtype=tf.int32)
        return _pll(self._rbm, v, idx)


class ReconstructionError(_LayerMean):
    """Mean squared reconstruction error of the rows passed to ``update_state(v)``."""

    def __init__(self, model, name="reconstruction_error", **kwargs):
        super().__init__(model, name=name, **kwargs)

    def _values(self, v):
        return _recon(self._rbm, v)


# ---------------------------------------------------------------------------- callbacks
class _EveryN(keras.callbacks.Callback):
    def __init__(self, every):
        super().__init__()
        self.every = check_param("every", every, POSITIVE_INT)

    def _due(self, epoch):
        return (epoch + 1) % self.every == 0

    def _rbm(self):
        return _layer(self.model)


class PseudoLogLikelihoodCallback(_EveryN):
    """Writes the mean PLL of ``data`` to ``logs[key]`` (default ``"pseudo_log_likelihood"``)."""

    def __init__(self, data, every=1, seed=0, key="pseudo_log_likelihood"):
        super().__init__(every)
        self.data = np.asarray(data, np.float32)
        self.rng = np.random.default_rng(seed)
        self.key = key

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self._due(epoch):
            logs[self.key] = float(np.mean(pseudo_log_likelihood(self._rbm(), self.data, seed=self.rng)))


class ReconstructionErrorCallback(_EveryN):
    """Writes the reconstruction error of ``data`` (e.g. held-out rows) to ``logs[key]``."""

    def __init__(self, data, every=1, key="held_out_reconstruction_error"):
        super().__init__(every)
        self.data = np.asarray(data, np.float32)
        self.key = key

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self._due(epoch):
            logs[self.key] = reconstruction_error(self._rbm(), self.data)


class FreeEnergyGapCallback(_EveryN):
    """Writes ``free_energy_gap`` = mean F(held_out) - mean F(train_slice), plus both means
    (``free_energy_train_slice``, ``free_energy_held_out``), into the epoch logs."""

    def __init__(self, train_slice, held_out, every=1, key="free_energy_gap"):
        super().__init__(every)
        self.train_slice = np.asarray(train_slice, np.float32)
        self.held_out = np.asarray(held_out, np.float32)
        self.key = key

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or not self._due(epoch):
            return
        layer = self._rbm()
        f_train = float(np.mean(layer.free_energy(self.train_slice).numpy().astype(np.float64)))
        f_held = float(np.mean(layer.free_energy(self.held_out).numpy().astype(np.float64)))
        logs[self.key] = f_held - f_train
        logs["free_energy_train_slice"] = f_train
        logs["free_energy_held_out"] = f_held
