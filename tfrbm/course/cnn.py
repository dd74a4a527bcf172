"""The course's convolutional network for MNIST, plus a look at its first-layer filters.

Architecture (TF1 lab, rebuilt in Keras): 28x28x1 -> conv 5x5x32 (same, ReLU) -> max-pool 2x2 ->
conv 5x5x64 (same, ReLU) -> max-pool 2x2 -> dense 1024 (ReLU) -> dropout 0.5 -> softmax 10.
Weights start truncated-normal(0.1), biases at 0.1; trained with Adam at 1e-4, batch 50.
"""
import keras
import numpy as np

from tfrbm import viz
from tfrbm.errors import UserError

__all__ = ["build_cnn", "compile_classifier", "conv1_filters", "feature_maps", "plot_conv1"]


def build_cnn(input_shape=(784,), image_shape=(28, 28, 1), num_classes=10, dropout=0.5,
              name="course_cnn"):
    """The course CNN as a ``keras.Sequential``; inputs may be flat (784,) or images.

    Input ``[batch, *input_shape]`` intensities in [0, 1]; output ``[batch, num_classes]``
    class probabilities.
    """
    if int(np.prod(input_shape)) != int(np.prod(image_shape)):
        raise UserError(f"input_shape {input_shape} does not hold an image of shape {image_shape}")
    if not 0.0 <= dropout < 1.0:
        raise UserError(f"dropout must be in [0, 1), got {dropout!r}")
    w = lambda: keras.initializers.TruncatedNormal(stddev=0.1)  # noqa: E731
    b = lambda: keras.initializers.Constant(0.1)  # noqa: E731
    return keras.Sequential([
        keras.Input(shape=tuple(input_shape)),
        keras.layers.Reshape(tuple(image_shape), name="image"),
        keras.layers.Conv2D(32, 5, padding="same", activation="relu", kernel_initializer=w(),
                            bias_initializer=b(), name="conv1"),
        keras.layers.MaxPooling2D(2, name="pool1"),
        keras.layers.Conv2D(64, 5, padding="same", activation="relu", kernel_initializer=w(),
                            bias_initializer=b(), name="conv2"),
        keras.layers.MaxPooling2D(2, name="pool2"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(1024, activation="relu", kernel_initializer=w(), bias_initializer=b(),
                           name="fc1"),
        keras.layers.Dropout(dropout, name="dropout"),
        keras.layers.Dense(num_classes, activation="softmax", kernel_initializer=w(),
                           bias_initializer=b(), name="softmax"),
    ], name=name)


def compile_classifier(model, learning_rate=1e-4):
    """Adam, sparse categorical cross-entropy on integer labels, accuracy metric."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def conv1_filters(model):
    """The first convolution's kernels as an array ``[filters, height, width]`` (channel 0)."""
    kernel = np.asarray(model.get_layer("conv1").kernel)
    return np.transpose(kernel[:, :, 0, :], (2, 0, 1))


def feature_maps(model, image, layer="conv1"):
    """Activations of ``layer`` for one image: ``[channels, height, width]``."""
    image = np.asarray(image, dtype=np.float32).reshape((1,) + tuple(model.input_shape[1:]))
    probe = keras.Model(model.inputs[0], model.get_layer(layer).output)
    return np.transpose(np.asarray(probe(image))[0], (2, 0, 1))


def plot_conv1(model, image, path=None):
    """A figure with the 32 conv1 filters (top) and their feature maps of ``image`` (bottom).

    Saved to ``path`` when given; returns the figure (made by :func:`tfrbm.viz.new_figure`).
    """
    filters, maps = conv1_filters(model), feature_maps(model, image)
    n = filters.shape[0]
    cols = 8
    rows = (n + cols - 1) // cols
    fig = viz.new_figure((cols * 1.2, 2 * rows * 1.2))
    axes = fig.subplots(2 * rows, cols)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < rows * cols and i < n:
            ax.imshow(filters[i], cmap="gray")
        elif i >= rows * cols and i - rows * cols < n:
            ax.imshow(maps[i - rows * cols], cmap="gray")
    fig.suptitle("conv1 filters (top) and feature maps of one digit (bottom)")
    if path is not None:
        fig.savefig(path, dpi=80)
    return fig
