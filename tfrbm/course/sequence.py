"""MNIST read as a sequence: an LSTM of 128 units reads the 28 rows of 28 pixels, then softmax.

``h_t = LSTM(row_t, h_{t-1})`` for t = 1..28; ``p(class | image) = softmax(W h_28 + b)``.
The course lab trains it with Adam at 1e-3 and batch 100.
"""
import keras
from tfrbm.errors import UserError

__all__ = ["build_sequence_classifier"]


def build_sequence_classifier(units=128, rows=28, cols=28, num_classes=10, name="mnist_lstm"):
    """A ``keras.Sequential`` taking flat ``[batch, rows*cols]`` images; output class probabilities."""
    if units < 1 or rows < 1 or cols < 1 or num_classes < 2:
        raise UserError(f"need positive units/rows/cols and num_classes >= 2, got "
                         f"{units}, {rows}, {cols}, {num_classes}")
    return keras.Sequential([
        keras.Input(shape=(rows * cols,)),
        keras.layers.Reshape((rows, cols), name="rows"),
        keras.layers.LSTM(units, name="lstm"),
        keras.layers.Dense(num_classes, activation="softmax", name="softmax"),
    ], name=name)
