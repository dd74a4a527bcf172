"""A convolutional DBN (Lee, Grosse, Ranganath & Ng 2009): ConvRBMs stacked and trained greedily.

Layer l is a :class:`tfrbm.ConvRBMLayer` whose visible units are layer l-1's output: its
pooling units' p(p = 1 | x) with probabilistic max-pooling, else its detector units' E[h | x]
(``ConvRBMLayer.call``). ``fit`` trains the layers bottom-up, each as a
:class:`tfrbm.models.conv.ConvRBMModel` by ``fit`` for ``epochs`` epochs on the previous layer's
outputs, and returns one Keras ``History`` whose ``loss`` (each layer's reconstruction error)
runs through the layers in order, with ``layer`` saying which layer each epoch trained.
``call``/``predict`` is the upward pass (features for a classifier); the SavedModel endpoint
``features`` serves it.
"""
import keras
import numpy as np
import tensorflow as tf

from tfrbm import serving
from tfrbm.models.conv import ConvRBMLayer, ConvRBMModel
from tfrbm.errors import UserError

__all__ = ["ConvDBNModel"]


@keras.saving.register_keras_serializable(package="tfrbm")
class ConvDBNModel(keras.Model):
    """Stacked :class:`ConvRBMLayer` s trained greedily by ``fit``.

    Args:
        conv_layers: the ConvRBMLayers, bottom first (at least one).
        rbm_options: keyword arguments for each layer's :class:`ConvRBMModel` (``cd_k``,
            ``persistent``, ``sparsity_target``, ``sparsity_cost``, ...).
        learning_rate, momentum: each layer's SGD optimizer.
        seed: seed of the first layer's model (layer l uses seed + l).
    """

    def __init__(self, conv_layers=None, rbm_options=None, learning_rate=0.1, momentum=0.5,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        conv_layers = [keras.saving.deserialize_keras_object(layer) if isinstance(layer, dict)
                       else layer for layer in (conv_layers or [])]
        if not conv_layers or not all(isinstance(layer, ConvRBMLayer) for layer in conv_layers):
            raise UserError("ConvDBNModel needs a list of ConvRBMLayers, bottom first")
        self.conv_layers = conv_layers
        self.rbm_options = dict(rbm_options or {})
        self.learning_rate = float(learning_rate)
        self.momentum = float(momentum)
        self.seed = seed

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.conv_layers:
            if not layer.built:
                layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.built = True

    def call(self, inputs):
        x = inputs
        for layer in self.conv_layers:
            x = layer(x)
        return x

    def fit(self, x=None, epochs=1, batch_size=32, verbose="auto", **kwargs):
        """Greedy layer-wise CD training; returns a History (``loss`` and ``layer`` per epoch)."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 4:
            raise UserError(f"ConvDBNModel.fit needs images (batch, height, width, channels), "
                             f"got shape {x.shape}")
        if not self.built:
            self.build((None,) + x.shape[1:])
        history = keras.callbacks.History()
        history.history = {"loss": [], "layer": []}
        for i, layer in enumerate(self.conv_layers):
            seed = None if self.seed is None else int(self.seed) + i
            rbm = ConvRBMModel(layer, seed=seed, **self.rbm_options)
            rbm.compile(optimizer=keras.optimizers.SGD(self.learning_rate, momentum=self.momentum))
            h = rbm.fit(x, epochs=epochs, batch_size=batch_size, verbose=verbose, **kwargs)
            history.history["loss"] += list(h.history.get("loss", []))
            history.history["layer"] += [i] * len(h.history.get("loss", []))
            x = np.concatenate([layer(x[j:j + 1000]).numpy() for j in range(0, len(x), 1000)])
        return history

    def serving_endpoints(self):
        """SavedModel signature ``features``: the upward pass on validated images."""
        serving.require_built(self.built, "convolutional DBN")
        first = self.conv_layers[0]
        visible = serving.spec((None,) + first.image_shape, tf.float32, "visible")

        def features(visible):
            return {"features": self.call(first.visible_units.check_tensor(visible, "visible"))}
        return serving.Endpoints(self, [("features", features, [visible])])

    def get_config(self):
        config = super().get_config()
        config.update({
            "conv_layers": [keras.saving.serialize_keras_object(layer)
                            for layer in self.conv_layers],
            "rbm_options": self.rbm_options, "learning_rate": self.learning_rate,
            "momentum": self.momentum, "seed": self.seed})
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
