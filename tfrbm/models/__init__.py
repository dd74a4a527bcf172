"""Models: RBMModel, DBNModel, RBMRecommender and the course companions (CNN, LSTMs, autoencoders).

Public names are looked up lazily in the submodules (each declares ``__all__``).
"""
import importlib
import pkgutil


def _public_names():
    names = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"tfrbm.models.{info.name}")
        for name in getattr(module, "__all__", ()):
            names[name] = module
    return names


def _import_all():
    """Import every model module, registering its Keras-serialisable classes."""
    _public_names()


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    module = _public_names().get(name)
    if module is None:
        raise AttributeError(f"module 'tfrbm.models' has no attribute {name!r}")
    return getattr(module, name)


def __dir__():
    return sorted(_public_names())
