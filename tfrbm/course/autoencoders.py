"""Autoencoders of the course and of the ANN lecture notes, with plots of what they learned.

An autoencoder is ``x_hat = g(f(x))`` trained to make ``E ||x - g(f(x))||^2`` small, where the
encoder f squeezes x through a narrow code and the decoder g expands it back.

* :func:`build_course_autoencoder`: the course's 784-256-128-256-784, sigmoid everywhere,
  Adam at 0.01, batch 256, 20 epochs.
* :func:`build_deep_autoencoder`: the lecture notes' 784-500-300-2-300-500-784 with tanh hidden
  layers and a linear 2-D code and linear output, Adam at 1e-4; trained on digits 1, 5 and 6 its
  code can be drawn (:func:`plot_latent_scatter`) and decoded over a grid (:func:`latent_manifold`).
* :func:`build_denoising_autoencoder`: any of them with input corruption during training only
  (masking noise: each pixel zeroed with probability ``noise``; or additive Gaussian noise).

Every model is a ``keras.Sequential`` of two sub-models named ``encoder`` and ``decoder``.
"""
import numpy as np
import keras
from tfrbm.errors import UserError
from tfrbm.validation import Integral, Interval, Real, validate_params

from tfrbm import viz

__all__ = ["MaskingNoise", "build_course_autoencoder", "build_deep_autoencoder", "build_denoising_autoencoder",
           "compile_autoencoder", "select_digits", "latent_codes", "reconstruction_mse",
           "plot_latent_scatter", "plot_reconstructions", "latent_manifold", "plot_latent_manifold"]


def _stack(sizes, activation, last_activation, name, init=None):
    layers = [keras.Input(shape=(sizes[0],))]
    for i, width in enumerate(sizes[1:]):
        last = i == len(sizes) - 2
        kwargs = {} if init is None else {"kernel_initializer": init(), "bias_initializer": init()}
        layers.append(keras.layers.Dense(width, activation=last_activation if last else activation,
                                         name=f"{name}_{i + 1}", **kwargs))
    return keras.Sequential(layers, name=name)


def _autoencoder(encoder_sizes, activation, code_activation, output_activation, name, init=None):
    sizes = [int(s) for s in encoder_sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise UserError(f"encoder sizes must be at least two positive ints, got {encoder_sizes!r}")
    encoder = _stack(sizes, activation, code_activation, "encoder", init)
    decoder = _stack(sizes[::-1], activation, output_activation, "decoder", init)
    return keras.Sequential([keras.Input(shape=(sizes[0],)), encoder, decoder], name=name)


def build_course_autoencoder(sizes=(784, 256, 128)):
    """The course autoencoder: encoder ``sizes``, mirrored decoder, sigmoid on every layer."""
    return _autoencoder(sizes, "sigmoid", "sigmoid", "sigmoid", "course_autoencoder")


def build_deep_autoencoder(sizes=(784, 500, 300, 2)):
    """The lecture notes' deep autoencoder: tanh hidden layers, linear code and linear output.

    Weights and biases start normal(0, 0.1), as in the notes.
    """
    init = lambda: keras.initializers.RandomNormal(stddev=0.1)  # noqa: E731
    return _autoencoder(sizes, "tanh", None, None, "deep_autoencoder", init)


def build_denoising_autoencoder(base="course", noise=0.3, kind="masking", **kwargs):
    """``base`` ("course" or "deep") autoencoder that corrupts its input while training.

    ``kind="masking"`` zeroes each input with probability ``noise`` (the survivors are not
    rescaled); ``kind="gaussian"`` adds N(0, noise^2). The target stays the clean input, so the
    model learns to remove the corruption; at inference the input passes unchanged.
    """
    builders = {"course": build_course_autoencoder, "deep": build_deep_autoencoder}
    if base not in builders:
        raise UserError(f"base must be 'course' or 'deep', got {base!r}")
    if not 0.0 < noise < 1.0 and kind == "masking":
        raise UserError(f"masking noise must be a probability in (0, 1), got {noise!r}")
    if noise <= 0.0:
        raise UserError(f"noise must be positive, got {noise!r}")
    if kind == "masking":
        corruption = [MaskingNoise(noise, name="corrupt")]
    elif kind == "gaussian":
        corruption = [keras.layers.GaussianNoise(noise, name="corrupt")]
    else:
        raise UserError(f"kind must be 'masking' or 'gaussian', got {kind!r}")
    inner = builders[base](**kwargs)
    encoder, decoder = inner.get_layer("encoder"), inner.get_layer("decoder")
    return keras.Sequential([keras.Input(shape=encoder.input_shape[1:]), *corruption, encoder,
                             decoder], name=f"denoising_{base}_autoencoder")


@keras.saving.register_keras_serializable(package="tfrbm")
class MaskingNoise(keras.layers.Layer):
    """While training, zero each input independently with probability ``rate`` (no rescaling);
    identity at inference: ``x_tilde = x * m``, ``m_i ~ Bernoulli(1 - rate)``."""

    _parameter_constraints = {
        "rate": [Interval(Real, 0, 1, closed="left")],
        "seed": [None, Interval(Integral, None, None)],
    }

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        p = validate_params({"rate": rate, "seed": seed}, self._parameter_constraints, type(self))
        self.rate = p["rate"]
        self.seed = p["seed"]
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=False):
        if not training or self.rate == 0.0:
            return x
        u = keras.random.uniform(keras.ops.shape(x), seed=self.seed_generator, dtype=x.dtype)
        return x * keras.ops.cast(u >= self.rate, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


def compile_autoencoder(model, learning_rate=0.01):
    """Adam at ``learning_rate`` with mean squared reconstruction error (loss and metric "mse")."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse",
                  metrics=[keras.metrics.MeanSquaredError(name="mse")])
    return model


def select_digits(x, y, digits=(1, 5, 6)):
    """The examples of ``x, y`` whose label is one of ``digits``."""
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise UserError(f"x has {len(x)} examples but y has {len(y)}")
    keep = np.isin(y, list(digits))
    if not keep.any():
        raise UserError(f"no examples with labels {list(digits)}")
    return x[keep], y[keep]


def latent_codes(model, x, batch_size=512):
    """The code ``f(x)`` of every row of ``x`` (the ``encoder`` sub-model)."""
    return np.asarray(model.get_layer("encoder").predict(np.asarray(x, np.float32),
                                                         batch_size=batch_size, verbose=0))


def reconstruction_mse(model, x, batch_size=512):
    """Mean squared error between ``x`` and its reconstruction, over all pixels."""
    x = np.asarray(x, np.float32)
    recon = model.predict(x, batch_size=batch_size, verbose=0)
    return float(np.mean((recon - x) ** 2))




def plot_latent_scatter(model, x, y, path=None, ax=None):
    """Scatter the 2-D codes of ``x`` coloured by digit label ``y``; returns the figure."""
    z = latent_codes(model, x)
    if z.shape[1] != 2:
        raise UserError(f"latent scatter needs a 2-D code, this encoder gives {z.shape[1]}-D")
    fig = ax.figure if ax is not None else viz.new_figure((6, 6))
    ax = ax or fig.add_subplot(111)
    for label in np.unique(y):
        sel = np.asarray(y) == label
        ax.scatter(z[sel, 0], z[sel, 1], s=6, label=str(label))
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    ax.set_title("Latent space")
    ax.legend()
    if path is not None:
        fig.savefig(path, dpi=80)
    return fig


def plot_reconstructions(model, x, n=10, image_shape=(28, 28), path=None):
    """Two rows: ``n`` inputs (top) and their reconstructions (bottom); returns the figure."""
    x = np.asarray(x[:n], np.float32)
    recon = model.predict(x, verbose=0)
    fig = viz.new_figure((len(x) * 1.1, 2.4))
    axes = fig.subplots(2, len(x), squeeze=False)
    for j in range(len(x)):
        for row, img in enumerate((x[j], recon[j])):
            axes[row, j].imshow(img.reshape(image_shape), cmap="gray")
            axes[row, j].axis("off")
    fig.suptitle("inputs (top) and reconstructions (bottom)")
    if path is not None:
        fig.savefig(path, dpi=80)
    return fig


def latent_manifold(model, x_range=(-8, 4), y_range=(-4, 6), n=20, image_shape=(28, 28)):
    """Decode an ``n x n`` grid of 2-D codes into one canvas ``[n*rows, n*cols]`` (z2 grows upward)."""
    zx = np.linspace(*x_range, n)
    zy = np.linspace(*y_range, n)
    grid = np.array([[a, b] for b in zy for a in zx], dtype=np.float32)
    images = np.asarray(model.get_layer("decoder").predict(grid, verbose=0))
    rows, cols = image_shape
    canvas = np.zeros((n * rows, n * cols), np.float32)
    for k, img in enumerate(images):
        i, j = divmod(k, n)
        canvas[(n - i - 1) * rows:(n - i) * rows, j * cols:(j + 1) * cols] = img.reshape(image_shape)
    return canvas


def plot_latent_manifold(model, x, y, path=None, **kwargs):
    """Latent scatter (left) beside the decoded grid of :func:`latent_manifold` (right)."""
    fig = viz.new_figure((12, 6))
    left, right = fig.subplots(1, 2)
    plot_latent_scatter(model, x, y, ax=left)
    right.imshow(latent_manifold(model, **kwargs), cmap="gray")
    right.set_title("Decoded grid of codes")
    right.axis("off")
    if path is not None:
        fig.savefig(path, dpi=80)
    return fig
