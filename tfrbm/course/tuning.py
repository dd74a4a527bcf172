"""keras-tuner HyperModels for the course companions: the MNIST CNN and the LSTM language model.

    import keras_tuner as kt
    from tfrbm.course.tuning import CNNHyperModel
    tuner = kt.RandomSearch(CNNHyperModel(), objective="val_accuracy", max_trials=5,
                            directory="tuning", project_name="cnn")
    tuner.search(x_train, y_train, validation_data=(x_val, y_val), epochs=2)

The RBM's and the DBN classifier's hypermodels are in :mod:`tfrbm.tuning`, whose
:func:`~tfrbm.tuning.hypermodel_base` and :func:`~tfrbm.tuning.search_values` these share.
"""
import keras
import numpy as np

from tfrbm.course.language import ResetStatesCallback, StatefulLSTMModel
from tfrbm.errors import UserError
from tfrbm.tuning import hypermodel_base, search_values

__all__ = ["CNNHyperModel", "LSTMLMHyperModel"]


class CNNHyperModel(hypermodel_base()):
    """The course CNN's shape (conv-pool-conv-pool-dense-dropout-softmax) with searched widths,
    dropout and Adam learning rate. Objective ``val_accuracy``."""

    def __init__(self, input_shape=(784,), image_shape=(28, 28, 1), num_classes=10,
                 filters=((8, 16), (32, 64)), dense=(64, 256), dropout=(0.0, 0.5),
                 learning_rate=(1e-4, 3e-3), name="cnn", **kwargs):
        super().__init__(name=name, **kwargs)
        if int(np.prod(input_shape)) != int(np.prod(image_shape)):
            raise UserError(f"input_shape {input_shape} does not hold an image of shape {image_shape}")
        self.input_shape, self.image_shape = tuple(input_shape), tuple(image_shape)
        self.num_classes = int(num_classes)
        self.filters = [tuple(f) for f in search_values("filters", filters)]
        self.dense = search_values("dense", dense)
        self.dropout = search_values("dropout", dropout)
        self.learning_rate = tuple(float(v) for v in learning_rate)

    def build(self, hp):
        f1, f2 = self.filters[hp.Choice("filters", list(range(len(self.filters))))]
        dense = hp.Choice("dense", self.dense)
        dropout = hp.Choice("dropout", [float(d) for d in self.dropout])
        lr = hp.Float("learning_rate", *self.learning_rate, sampling="log")
        init = lambda: keras.initializers.TruncatedNormal(stddev=0.1)  # noqa: E731
        model = keras.Sequential([
            keras.Input(self.input_shape),
            keras.layers.Reshape(self.image_shape),
            keras.layers.Conv2D(f1, 5, padding="same", activation="relu", kernel_initializer=init()),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(f2, 5, padding="same", activation="relu", kernel_initializer=init()),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(dense, activation="relu", kernel_initializer=init()),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(self.num_classes, activation="softmax"),
        ], name="cnn")
        model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model


class LSTMLMHyperModel(hypermodel_base()):
    """The stateful LSTM language model with searched width, depth, dropout and learning rate.

    Data: ``x`` and ``y`` are (N, steps) id windows with N a multiple of ``batch_size`` (the
    states carry across consecutive batches). Objective ``val_loss`` (mean cross-entropy).
    """

    def __init__(self, vocab_size, hidden=(64, 128), layers=(1, 2), embedding_dim=(32, 64),
                 dropout=(0.0, 0.2), learning_rate=(1e-3, 1e-2), batch_size=20, clipnorm=5.0,
                 name="lstm_lm", **kwargs):
        super().__init__(name=name, **kwargs)
        self.vocab_size = int(vocab_size)
        self.hidden, self.layers = search_values("hidden", hidden), search_values("layers", layers)
        self.embedding_dim = search_values("embedding_dim", embedding_dim)
        self.dropout = search_values("dropout", dropout)
        self.learning_rate = tuple(float(v) for v in learning_rate)
        self.batch_size, self.clipnorm = int(batch_size), float(clipnorm)

    def build(self, hp):
        hidden = hp.Choice("hidden", self.hidden)
        layers = hp.Choice("layers", self.layers)
        model = StatefulLSTMModel(
            self.vocab_size, hidden_sizes=(hidden,) * int(layers),
            embedding_dim=hp.Choice("embedding_dim", self.embedding_dim),
            batch_size=self.batch_size, dropout=hp.Choice("dropout", [float(d) for d in self.dropout]))
        model.compile(optimizer=keras.optimizers.Adam(hp.Float("learning_rate", *self.learning_rate,
                                                               sampling="log"),
                                                      global_clipnorm=self.clipnorm),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model

    def fit(self, hp, model, x, y=None, validation_data=None, callbacks=None, **kwargs):
        kwargs.setdefault("batch_size", self.batch_size)
        kwargs.setdefault("shuffle", False)
        for data in (x,) + (tuple(validation_data[:1]) if validation_data else ()):
            if len(data) % self.batch_size:
                raise UserError(f"the stateful LM needs a multiple of batch_size={self.batch_size} "
                                 f"windows, got {len(data)}")
        return model.fit(x, y, validation_data=validation_data,
                         callbacks=list(callbacks or []) + [ResetStatesCallback()], **kwargs)
