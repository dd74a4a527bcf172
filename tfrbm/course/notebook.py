"""What the course notebooks share: the set-up every one runs after its imports (figure size,
quiet logging, seeds), and the novelty check of notebooks 03 and 05 (normal test images against
images the model never saw the like of)."""
import warnings

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from sklearn.metrics import roc_auc_score

from tfrbm.data import images

__all__ = ["setup", "novelty_images", "novelty_check"]


def setup(seed):
    """Figures at 72 dpi, TensorFlow's Python logger at ERROR (no "retracing" or "Assets written"
    notes in the outputs), and Python's, NumPy's and TensorFlow's random generators seeded with ``seed``.

    Matplotlib's note that placing a legend at ``loc="best"`` "can be slow" is silenced: it is
    timing-based (a busy machine triggers it on a small plot) and says nothing about the figure.

    Start TensorFlow quietly before this by setting ``TFRBM_QUIET_TF=1`` before ``import tfrbm``.
    """
    plt.rcParams["figure.dpi"] = 72
    warnings.filterwarnings("ignore", message='Creating legend with loc="best" can be slow')
    tf.get_logger().setLevel("ERROR")
    keras.utils.set_random_seed(seed)


def novelty_images(name, x_test, shape):
    """Images unlike the data set ``name``, with what they are: Fashion-MNIST's test images for
    MNIST when they are in the data folder, else the test images ``x_test`` (flat, of image
    ``shape``) upside down. Returns ``(x_novel, label)``."""
    if name == "mnist":
        try:
            return images.load_fashion_mnist("test")[0], "Fashion-MNIST"
        except FileNotFoundError:   # not in the data folder
            pass
    return x_test.reshape((-1,) + tuple(shape))[:, ::-1].reshape(len(x_test), -1), "upside-down digits"


def novelty_check(normal_scores, novel_scores, novel_name, xlabel, fpr=0.05,
                  normal_name="held-out digits"):
    """How well anomaly scores (higher = more anomalous) tell ``novel_scores`` from
    ``normal_scores``: a histogram of both with the threshold that lets a fraction ``fpr`` of the
    normal rows through as false alarms (their (1 - fpr) quantile). Returns ``{"auc": ROC AUC
    (novel = positive), "threshold": ..., "flagged": the fraction of novel rows above it}``;
    ``plt.show()`` displays the figure."""
    normal, novel = np.asarray(normal_scores), np.asarray(novel_scores)
    threshold = np.quantile(normal, 1 - fpr)
    auc = roc_auc_score(np.r_[np.zeros(len(normal)), np.ones(len(novel))], np.r_[normal, novel])
    fig, ax = plt.subplots(figsize=(6, 2.6))
    ax.hist(normal, bins=40, alpha=0.6, label=normal_name)
    ax.hist(novel, bins=40, alpha=0.6, label=novel_name)
    ax.axvline(threshold, color="k", ls=":", label=f"threshold ({fpr:.0%} false alarms)")
    ax.set(xlabel=xlabel, ylabel="images")
    ax.legend(fontsize=8)
    return {"auc": float(auc), "threshold": float(threshold),
            "flagged": float(np.mean(novel > threshold))}
