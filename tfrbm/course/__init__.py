"""The Cognitive Class course companions: models and labs.

These are the course's non-energy-based models, kept apart from the RBM core (:mod:`tfrbm.models`):

* :mod:`~tfrbm.course.cnn`: the MNIST convolutional network and its first-layer filters;
* :mod:`~tfrbm.course.sequence`: MNIST read row by row by an LSTM;
* :mod:`~tfrbm.course.language`: the PTB word-level LSTM language models (course, Zaremba et al.);
* :mod:`~tfrbm.course.char`: the character-level LSTM on tiny-shakespeare;
* :mod:`~tfrbm.course.autoencoders`: the course's, the deep and the denoising autoencoders;
* :mod:`~tfrbm.course.assignment`: the "Training your RBM on MNIST" assignment;
* :mod:`~tfrbm.course.recommender`: the lab's Bernoulli-RBM recommender
  (``CourseBernoulliRBM``) and echen's six-movie example (``six_movie_demo``);
* :mod:`~tfrbm.course.tuning`: keras-tuner hypermodels of the CNN and the LSTM language model;
* :mod:`~tfrbm.course.notebook`: ``setup(seed)``, the set-up line of every course notebook.

Their training pipelines (load data, fit, evaluate, return the metrics), which the ``tfrbm``
command and the benchmarks call, are in :mod:`tfrbm.pipelines.companions`.
"""
import importlib

_MODULES = ("cnn", "sequence", "language", "char", "autoencoders", "assignment", "recommender",
            "tuning", "notebook")

__all__ = list(_MODULES)


def register_keras_classes():
    """Import the modules whose classes are Keras-serialisable (before loading a ``.keras``)."""
    for name in ("language", "char", "autoencoders"):
        importlib.import_module(f"tfrbm.course.{name}")


def __getattr__(name):
    if name in _MODULES:
        return importlib.import_module(f"tfrbm.course.{name}")
    raise AttributeError(f"module 'tfrbm.course' has no attribute {name!r}")
