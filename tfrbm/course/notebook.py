"""The set-up every course notebook runs after its imports: figure size, quiet logging, seeds."""
import keras
import matplotlib.pyplot as plt
import tensorflow as tf

__all__ = ["setup"]


def setup(seed):
    """Figures at 72 dpi, TensorFlow's Python logger at ERROR (no "retracing" or "Assets written"
    notes in the outputs), and Python's, NumPy's and TensorFlow's random generators seeded with ``seed``.

    Start TensorFlow quietly before this by setting ``TFRBM_QUIET_TF=1`` before ``import tfrbm``.
    """
    plt.rcParams["figure.dpi"] = 72
    tf.get_logger().setLevel("ERROR")
    keras.utils.set_random_seed(seed)
