"""The set-up every course notebook runs after its imports: figure size, quiet logging, seeds."""
import warnings

import keras
import matplotlib.pyplot as plt
import tensorflow as tf

__all__ = ["setup"]


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
