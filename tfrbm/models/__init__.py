"""The energy-based models: RBMModel, DBNModel, DBMModel and the RBM recommender.

The course's other models (CNN, LSTMs, autoencoders) live in :mod:`tfrbm.course`. Public names
load lazily from their modules.
"""
import importlib

_PUBLIC = {
    "RBMModel": "tfrbm.models.rbm",
    "DBNModel": "tfrbm.models.dbn",
    "DBMModel": "tfrbm.models.dbm",
    "RBMRecommender": "tfrbm.models.recommender",
    "RecommenderNetwork": "tfrbm.models.recommender_network",
}

__all__ = sorted(_PUBLIC)


def _import_all():
    """Import every model module, registering its Keras-serialisable classes."""
    for module in sorted(set(_PUBLIC.values())):
        importlib.import_module(module)


def __getattr__(name):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'tfrbm.models' has no attribute {name!r}")


def __dir__():
    return __all__
