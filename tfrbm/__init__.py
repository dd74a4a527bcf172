"""tfrbm: restricted Boltzmann machines and deep belief networks for TensorFlow 2 / Keras 3.

Importing tfrbm imports its layers and models, so that every serialisable class is registered
with Keras before a ``.keras`` file is loaded. The data, plotting and tooling modules load on
first use.
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
_SUBMODULES = ("data", "units", "layers", "gibbs", "likelihood", "ais", "monitors", "models", "viz",
               "export", "serving", "tuning", "tensorboard", "safety", "resume", "cli", "course",
               "errors")

__all__ = sorted(list(_PUBLIC) + list(_SUBMODULES))


def __getattr__(name):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"tfrbm.{name}")
    raise AttributeError(f"module 'tfrbm' has no attribute {name!r}")


def __dir__():
    return __all__


from tfrbm._quiet import import_tensorflow_quietly as _quiet  # noqa: E402

_quiet()

# register every Keras-serialisable class (layers and all models) with Keras
from tfrbm import layers as _layers  # noqa: E402,F401
from tfrbm.models import _import_all as _import_models  # noqa: E402

_import_models()
from tfrbm.course import register_keras_classes as _register_course  # noqa: E402

_register_course()

# Keras 3 cannot reduce scalar step logs under MultiWorkerMirroredStrategy; see _keras_fixes
from tfrbm._keras_fixes import install as _install_keras_fixes  # noqa: E402

_install_keras_fixes()
