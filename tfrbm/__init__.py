"""tfrbm: restricted Boltzmann machines and deep belief networks for TensorFlow 2 / Keras 3.

Public names are imported lazily so that ``import tfrbm`` stays cheap and a command-line call
only loads what it uses.
"""
import importlib

__version__ = "0.1.0"

_PUBLIC = {
    # units and layers
    "BernoulliUnits": "tfrbm.units",
    "GaussianUnits": "tfrbm.units",
    "SoftmaxUnits": "tfrbm.units",
    "get_units": "tfrbm.units",
    "RBMLayer": "tfrbm.layers",
    # models
    "RBMModel": "tfrbm.models.rbm",
    "DBNModel": "tfrbm.models.dbn",
    "RBMRecommender": "tfrbm.models.recommender",
}
_SUBMODULES = ("data", "units", "layers", "gibbs", "likelihood", "models", "viz", "export",
               "tuning", "callbacks", "metrics", "cli", "validation", "assignment")

__all__ = sorted(list(_PUBLIC) + list(_SUBMODULES))


def __getattr__(name):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"tfrbm.{name}")
    raise AttributeError(f"module 'tfrbm' has no attribute {name!r}")


def __dir__():
    return __all__
