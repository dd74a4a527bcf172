"""The "Training your RBM on MNIST" assignment, as functions.

* :func:`assignment_model`: the assignment's RBM (CD-1, eta = 0.1, M = 64, weights and visible
  biases ~ U(-0.01, 0.01), hidden biases 0);
* :func:`reconstructions`: one Gibbs step v -> h -> v, as a sample and as probabilities;
* :func:`recall`: drop half the pixels, recover them by clamped Gibbs sampling and score the
  accuracy on the dropped half against the truth, next to filling from the pixel means;
* :func:`resample`: long chains (100 / 1,000 / 10,000 steps) started at the data;
* :func:`free_energy_digits_vs_noise`: F(v) of digits against uniform-noise images;
* :func:`run_assignment`: trains the RBM and writes every figure and a ``summary.json``.

Data are binarized stochastically (pixel = 1 with probability equal to its intensity), as the
assignment asks: fresh each epoch for training, once with a fixed seed for the analysis.
"""
import json
import math
import pathlib
import time

import keras
import numpy as np
import tensorflow as tf

from tfrbm import gibbs, viz
from tfrbm.data.images import image_shape, load_images
from tfrbm.data.pipeline import check_array
from tfrbm.errors import UserError
from tfrbm.layers import RBMLayer
from tfrbm.models.rbm import RBMModel
from tfrbm.resume import epoch_keyed_dataset
from tfrbm.validation import POSITIVE_INT, check_param

__all__ = ["assignment_model", "binarize_once", "reconstructions", "half_mask", "recall",
           "resample", "free_energy_digits_vs_noise", "free_energy_figure", "run_assignment"]

DEFAULT_STEPS = (100, 1000, 10000)


def _rbm():
    return RBMLayer, RBMModel


def _seed_t(seed):
    return tf.constant([int(seed), 0], dtype=tf.int64)


def assignment_model(n_hidden=400, seed=0, cd_k=1, persistent=False):
    """The assignment's RBM: Bernoulli units, weights and visible biases ~ U(-0.01, 0.01),
    hidden biases 0, compiled with plain SGD at eta = 0.1 (no momentum), plain CD (no
    centering: the assignment writes the CD-1 update by hand)."""
    RBMLayer, RBMModel = _rbm()
    init = keras.initializers.RandomUniform(-0.01, 0.01, seed=seed)
    layer = RBMLayer(int(n_hidden), kernel_initializer=init,
                     visible_bias_initializer=keras.initializers.RandomUniform(-0.01, 0.01, seed=seed + 1))
    model = RBMModel(layer, cd_k=cd_k, persistent=persistent, init_visible_bias=None, seed=seed,
                     centering=False)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1))
    return model


def binarize_once(x, seed=0):
    """Stochastic binarization with a fixed seed: x_i -> 1 with probability x_i."""
    x = np.asarray(x, dtype=np.float32)
    return (np.random.default_rng(seed).random(x.shape, dtype=np.float32) < x).astype(np.float32)


def reconstructions(model, v, seed=0):
    """One v -> h -> v step: {"data", "sampled", "probabilities"} (the assignment's three plots).

    ``sampled`` draws h ~ p(h|v) then v' ~ p(v|h); ``probabilities`` is p(v' = 1 | h) for that same h.
    """
    layer = model.layer
    v = check_array(v, "v", n_features=layer.n_visible, bernoulli=True)
    seed_t = _seed_t(seed)
    _, h = layer.sample_hidden(tf.constant(v), tf.random.experimental.stateless_fold_in(seed_t, 0))
    probs, sample = layer.sample_visible(h, tf.random.experimental.stateless_fold_in(seed_t, 1))
    return {"data": v, "sampled": sample.numpy(), "probabilities": probs.numpy()}


def half_mask(shape, n_visible, which="bottom", seed=0):
    """A (n_visible,) 0/1 mask with 1 on the kept half of each image.

    ``which``: "bottom" drops the lower half of the rows, "right" the right half of the columns,
    "random" a random half of the pixels (fixed ``seed``).
    """
    rows, cols = shape
    if rows * cols != n_visible:
        raise UserError(f"image shape {shape} does not hold {n_visible} pixels")
    if which == "bottom":
        mask = np.ones((rows, cols))
        mask[rows // 2:, :] = 0
    elif which == "right":
        mask = np.ones((rows, cols))
        mask[:, cols // 2:] = 0
    elif which == "random":
        mask = np.zeros(n_visible)
        keep = np.random.default_rng(seed).permutation(n_visible)[: n_visible // 2]
        mask[keep] = 1
    else:
        raise UserError(f"which must be 'bottom', 'right' or 'random', got {which!r}")
    return mask.reshape(-1).astype(np.float32)


def _mean_field_fill(layer, v, mask, steps):
    """Clamped mean-field recall: x <- mask * v + (1 - mask) * E[v | p(h | x)], ``steps`` times."""
    known = v * mask

    def body(i, x):
        return i + 1, known + (1 - mask) * layer.visible_probs(layer.hidden_probs(x))
    return tf.while_loop(lambda i, _: i < steps, body, (tf.constant(0), v))[1]


def recall(model, v, mask, pixel_means, steps=(1, 10), method="mean_field", seed=0):
    """Recall the dropped pixels (mask = 0) of binary images ``v`` and score them against the truth.

    The dropped pixels start at the training pixel means. ``method="mean_field"`` (default)
    iterates the deterministic clamped update x <- E[v | p(h | x)] on the dropped pixels;
    ``"gibbs"`` runs clamped Gibbs sampling (:meth:`RBMModel.inpaint`) and reads p(v | h) of the
    last step. Each entry of ``steps`` is a separate run of that many steps, predicting
    pixel = 1 where the recovered probability is >= 0.5. Returns a dict with
    ``accuracy`` {steps: fraction of dropped pixels recovered exactly}, ``baseline_accuracy``
    (dropped pixels filled with the thresholded pixel means), ``filled`` {steps: images with
    the probabilities filled in}, ``masked`` (the input as the model sees it) and ``mask``.
    """
    n_visible = model.layer.n_visible
    v = check_array(v, "v", n_features=n_visible, bernoulli=True)
    if not np.isin(v, (0.0, 1.0)).all():
        raise UserError("recall compares binary pixels: binarize v first (binarize_once)")
    mask = np.asarray(mask, dtype=np.float32)
    if mask.shape not in ((n_visible,), v.shape):
        raise UserError(f"mask has shape {mask.shape}; expected ({n_visible},) or {v.shape}")
    if not np.isin(mask, (0.0, 1.0)).all():
        raise UserError("mask must contain only 0 (dropped) and 1 (kept)")
    pixel_means = np.asarray(pixel_means, dtype=np.float32)
    if pixel_means.shape != (n_visible,):
        raise UserError(f"pixel_means must have shape ({n_visible},), got {pixel_means.shape}")
    mask = np.broadcast_to(mask, v.shape)
    dropped = mask == 0
    if not dropped.any():
        raise UserError("the mask drops no pixels")
    start = np.where(dropped, pixel_means[None, :], v).astype(np.float32)
    baseline = (pixel_means >= 0.5).astype(np.float32)[None, :]
    result = {"mask": mask, "masked": np.where(dropped, 0.5, v),
              "baseline_accuracy": float(np.mean((np.broadcast_to(baseline, v.shape) == v)[dropped])),
              "accuracy": {}, "filled": {}}
    if method not in ("mean_field", "gibbs"):
        raise UserError(f"method must be 'mean_field' or 'gibbs', got {method!r}")
    fill = tf.function(lambda x, m, n: _mean_field_fill(model.layer, x, m, n))
    for n in steps:
        if method == "gibbs":
            probs = model.inpaint(start, mask, steps=int(n), seed=seed)
        else:
            probs = fill(tf.constant(start), tf.constant(mask), tf.constant(int(n))).numpy()
        result["filled"][int(n)] = probs
        result["accuracy"][int(n)] = float(np.mean(((probs >= 0.5) == (v >= 0.5))[dropped]))
    return result


def resample(model, v, steps=DEFAULT_STEPS, seed=0):
    """Gibbs chains started at ``v``, read after each count in ``steps`` (cumulative).

    Returns {steps: sampled visible states} plus ``"final_probabilities"``: p(v | h) at the
    very last step (the assignment's SampleVisibleProb of the last sample).
    """
    if not len(steps):
        raise UserError("steps must be a non-empty list of positive integers")
    steps = sorted(check_param("steps", s, POSITIVE_INT) for s in steps)
    layer = model.layer
    v = tf.constant(check_array(v, "v", n_features=layer.n_visible, bernoulli=True))
    chain = tf.function(lambda v, n, s: gibbs.run_chain(layer, v, n, s))
    out, done, mean = {}, 0, None
    for i, n in enumerate(steps):
        mean, v = chain(v, tf.constant(n - done), tf.random.experimental.stateless_fold_in(_seed_t(seed), i))
        done = n
        out[n] = v.numpy()
    out["final_probabilities"] = mean.numpy()
    return out


def free_energy_digits_vs_noise(model, digits, n_noise=None, seed=0):
    """F(v) of ``digits`` against uniform noise (each pixel 1 with probability 1/2).

    Returns means, per-image values, the log-probability ratio mean F(noise) - mean F(digits)
    (= log p(digit) - log p(noise) on average) and the ROC AUC of -F separating the two.
    """
    from sklearn.metrics import roc_auc_score
    digits = np.asarray(digits, np.float32)
    n_noise = len(digits) if n_noise is None else int(n_noise)
    noise = (np.random.default_rng(seed).random((n_noise, digits.shape[1])) < 0.5).astype(np.float32)
    f_digits = model.free_energy(digits).astype(np.float64)
    f_noise = model.free_energy(noise).astype(np.float64)
    labels = np.r_[np.ones(len(f_digits)), np.zeros(len(f_noise))]
    return {"free_energy_digits": float(f_digits.mean()), "free_energy_noise": float(f_noise.mean()),
            "log_ratio": float(f_noise.mean() - f_digits.mean()),
            "auc": float(roc_auc_score(labels, -np.r_[f_digits, f_noise])),
            "per_digit": f_digits, "per_noise": f_noise, "noise": noise}


def free_energy_figure(result, path=None, title="Free energy: digits vs uniform noise"):
    """Histogram of F(v) for digits and noise (from :func:`free_energy_digits_vs_noise`)."""
    fig = viz.new_figure((6, 4))
    ax = fig.add_subplot(1, 1, 1)
    ax.hist(result["per_digit"], bins=30, alpha=0.7, label=f"digits (mean {result['free_energy_digits']:.1f})")
    ax.hist(result["per_noise"], bins=30, alpha=0.7, label=f"noise (mean {result['free_energy_noise']:.1f})")
    ax.set_xlabel("free energy F(v)")
    ax.set_ylabel("images")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    if path is not None:
        viz.save_figure(fig, path)
    return fig


def _training_data(data, data_dir, limit):
    if isinstance(data, str):
        name = data.lower().replace("-", "_")
        split_train = "train"
        x_train, _ = load_images(name, split=split_train, data_dir=data_dir)
        x_test, _ = load_images(name, split="test", data_dir=data_dir)
        shape = image_shape(name)
    else:
        try:
            x_train, x_test = (np.asarray(a, np.float32) for a in data)
        except (TypeError, ValueError):
            raise UserError("data must be 'mnist', 'digits', 'fashion_mnist' or a pair "
                             "(x_train, x_test) of intensity arrays") from None
        side = math.isqrt(x_train.shape[1])
        if side * side != x_train.shape[1]:
            raise UserError(f"cannot infer a square image shape from {x_train.shape[1]} features")
        shape = (side, side)
    if check_param("limit", limit, [None] + POSITIVE_INT) is not None:
        x_train = x_train[:limit]
    return x_train, x_test, shape


def run_assignment(output_dir, n_hidden=400, epochs=10, data="mnist", data_dir=None,
                   batch_size=64, learning_rate=0.1, steps=DEFAULT_STEPS, recall_steps=(1, 10), gibbs_recall_steps=(100,),
                   n_images=64, limit=None, seed=0, verbose=0, callbacks=()):
    """Train the assignment's RBM and write every figure into ``output_dir``.

    ``data``: "mnist" (default), "digits" (8x8, offline), "fashion_mnist", or (x_train, x_test).
    Writes data.png (PlotMe of 64 test digits), reconstruction_sampled.png,
    reconstruction_probabilities.png, recall.png, resample_<n>.png for each ``steps`` and
    resample_<last>_probabilities.png, weights.png, free_energy.png, training_curves.png and
    summary.json; returns the summary dict (metrics, file names and the trained ``model``).
    Recall drops the bottom half of each image; ``recall_steps`` are mean-field iterations,
    ``gibbs_recall_steps`` clamped Gibbs steps.
    """

    for name, value in (("n_hidden", n_hidden), ("epochs", epochs), ("batch_size", batch_size),
                        ("n_images", n_images)):
        check_param(name, value, POSITIVE_INT)
    out = pathlib.Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    x_train, x_test, shape = _training_data(data, data_dir, limit)
    keras.utils.set_random_seed(seed)
    model = assignment_model(n_hidden, seed=seed)
    model.optimizer.learning_rate = float(learning_rate)
    dataset, callbacks = epoch_keyed_dataset(x_train, callbacks=list(callbacks),
                                             batch_size=batch_size, shuffle=True, seed=seed,
                                             binarize="stochastic")
    t0 = time.perf_counter()
    history = model.fit(dataset, epochs=epochs, verbose=verbose, shuffle=False,
                        callbacks=callbacks)
    train_s = time.perf_counter() - t0

    ncols = 8
    nrows = max(1, min(n_images, len(x_test)) // ncols)
    v = binarize_once(x_test[: nrows * ncols], seed=seed)
    files = {}

    def save(fig_fn, name, *args, **kwargs):
        path = out / name
        fig_fn(*args, path=path, **kwargs)
        files[name.rsplit(".", 1)[0]] = name

    grid = dict(nrows=nrows, ncols=ncols, shape=shape)
    save(viz.image_grid, "data.png", v, title="data (binarized)", **grid)
    rec = reconstructions(model, v, seed=seed)
    save(viz.image_grid, "reconstruction_sampled.png", rec["sampled"], title="one Gibbs step: sample", **grid)
    save(viz.image_grid, "reconstruction_probabilities.png", rec["probabilities"],
         title="one Gibbs step: probabilities", **grid)

    pixel_means = x_train.mean(axis=0)
    mask = half_mask(shape, x_train.shape[1], "bottom")
    rc = recall(model, v, mask, pixel_means, steps=recall_steps, seed=seed)
    rc_gibbs = recall(model, v, mask, pixel_means, steps=gibbs_recall_steps, method="gibbs", seed=seed)
    last = max(rc["filled"])
    n_show = min(8, len(v))
    panel = np.concatenate([v[:n_show], rc["masked"][:n_show], rc["filled"][last][:n_show],
                            np.where(mask == 0, (pixel_means >= 0.5), v)[:n_show]])
    save(viz.image_grid, "recall.png", panel, nrows=4, ncols=n_show, shape=shape,
         title=f"recall: truth / half dropped / RBM mean field ({last} steps) / pixel-mean fill")

    rs = resample(model, v, steps=steps, seed=seed)
    for n in sorted(k for k in rs if k != "final_probabilities"):
        save(viz.image_grid, f"resample_{n}.png", rs[n], title=f"after {n} Gibbs steps (sample)", **grid)
    n_last = max(k for k in rs if k != "final_probabilities")
    save(viz.image_grid, f"resample_{n_last}_probabilities.png", rs["final_probabilities"],
         title=f"after {n_last} Gibbs steps (probabilities)", **grid)

    save(viz.weight_tiles, "weights.png", model.layer.kernel, shape=shape,
         n=min(100, n_hidden), title="weights of hidden units")
    fe = free_energy_digits_vs_noise(model, binarize_once(x_test[:1000], seed=seed + 1), seed=seed)
    save(free_energy_figure, "free_energy.png", fe)
    save(viz.training_curves, "training_curves.png", history)

    summary = {
        "data": data if isinstance(data, str) else "arrays", "n_hidden": n_hidden, "epochs": epochs,
        "batch_size": batch_size, "learning_rate": float(learning_rate), "train_seconds": round(train_s, 1),
        "train_examples": int(len(x_train)),
        "reconstruction_error": float(history.history["reconstruction_error"][-1]),
        "recall_accuracy": {str(k): a for k, a in rc["accuracy"].items()},
        "recall_accuracy_gibbs": {str(k): a for k, a in rc_gibbs["accuracy"].items()},
        "recall_baseline_accuracy": rc["baseline_accuracy"],
        "free_energy_digits": fe["free_energy_digits"], "free_energy_noise": fe["free_energy_noise"],
        "free_energy_auc": fe["auc"], "files": files,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    summary["model"] = model
    return summary
