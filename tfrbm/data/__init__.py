"""tf.data builders for every tfrbm model: images, text and ratings, on one shared toolkit.

Names are looked up lazily in the submodules below (each declares ``__all__``), so importing
``tfrbm.data`` does not import TensorFlow Datasets or read any file.
"""
import importlib

_MODULES = ("paths", "pipeline", "images", "text", "ratings", "scaling")


def _public_names():
    names = {}
    for mod in _MODULES:
        try:
            module = importlib.import_module(f"tfrbm.data.{mod}")
        except ModuleNotFoundError as exc:
            if exc.name == f"tfrbm.data.{mod}":
                continue
            raise
        for name in getattr(module, "__all__", ()):
            names[name] = module
    return names


def __getattr__(name):
    module = _public_names().get(name)
    if module is None:
        raise AttributeError(f"module 'tfrbm.data' has no attribute {name!r}")
    return getattr(module, name)


def __dir__():
    return sorted(_public_names())
