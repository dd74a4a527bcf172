"""tfrbm: restricted Boltzmann machines and deep belief networks for TensorFlow 2 / Keras 3.

Importing tfrbm imports its layers and models, so that every serialisable class is registered
with Keras before a ``.keras`` file is loaded. With ``TFRBM_QUIET_TF=1`` in the environment (the
course notebooks set it) TensorFlow is imported without its C++ start-up lines (``tfrbm._quiet``). The data, plotting and tooling modules load on
first use.
"""
import importlib
import os
import sys

__version__ = "0.1.0"

_PUBLIC = {
    # units and layers
    "BernoulliUnits": "tfrbm.units",
    "GaussianUnits": "tfrbm.units",
    "SoftmaxUnits": "tfrbm.units",
    "get_units": "tfrbm.units",
    "RBMLayer": "tfrbm.layers",
    "ConvRBMLayer": "tfrbm.models.conv",
    "ConvDBNModel": "tfrbm.models.conv_dbn",
    "SteppedSigmoidUnits": "tfrbm.units",
    # models
    "RBMModel": "tfrbm.models.rbm",
    "DBNModel": "tfrbm.models.dbn",
    "DBMModel": "tfrbm.models.dbm",
    "RBMRecommender": "tfrbm.models.recommender",
    # distributed training of your own Keras models under MultiWorkerMirroredStrategy
    "install_multi_worker_fixes": "tfrbm._compat",
}
_SUBMODULES = ("data", "units", "layers", "dropout", "gibbs", "likelihood", "monitors", "models", "viz",
               "export", "serving", "tuning", "tensorboard", "safety", "resume", "cli", "course",
               "errors", "sklearn", "pipelines")

__all__ = sorted(list(_PUBLIC) + list(_SUBMODULES))


def __getattr__(name):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"tfrbm.{name}")
    raise AttributeError(f"module 'tfrbm' has no attribute {name!r}")


def __dir__():
    return __all__


def register_keras_classes():
    """Import the layers and every model module, registering their classes with Keras.

    ``import tfrbm`` does this, so that ``keras.saving.load_model`` finds tfrbm's classes; the
    ``tfrbm`` command defers it (and TensorFlow) until a command actually runs, so that
    ``tfrbm --help`` answers at once.
    """
    importlib.import_module("tfrbm.layers")
    importlib.import_module("tfrbm.models.conv")
    importlib.import_module("tfrbm.models.conv_dbn")
    importlib.import_module("tfrbm.models")._import_all()
    importlib.import_module("tfrbm.course").register_keras_classes()


def _running_as_cli():
    """Whether this process is the ``tfrbm`` command (its script or ``python -m tfrbm``)."""
    argv = list(getattr(sys, "orig_argv", ()))
    if "-m" in argv[1:]:                    # python [interpreter options] -m tfrbm ...
        i = argv.index("-m", 1)
        return i + 1 < len(argv) and argv[i + 1] in ("tfrbm", "tfrbm.cli") \
            and not any(a.endswith(".py") for a in argv[1:i])
    return len(argv) >= 2 and os.path.basename(sys.argv[0] or "") == "tfrbm" \
        and not os.path.isdir(sys.argv[0])


# Nothing else happens on import: no logging set-up, no stderr redirection, no Keras patches
# (tfrbm._compat holds the Keras fixes that multi-worker training installs, tfrbm._quiet the
# CLI's log quieting).
if not _running_as_cli():
    if os.environ.get("TFRBM_QUIET_TF", "").strip().lower() in ("1", "true", "yes"):
        # opt-in (the course notebooks set it): TensorFlow without its C++ start-up lines
        from tfrbm._quiet import import_tensorflow_quietly
        import_tensorflow_quietly()
    register_keras_classes()
