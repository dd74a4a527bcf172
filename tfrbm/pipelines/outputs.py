"""What the pipelines (:mod:`~tfrbm.pipelines.dbn`, :mod:`~tfrbm.pipelines.dbm`,
:mod:`~tfrbm.pipelines.companions`) write at the end of a run: the trained models and a grid of
samples, each recorded in the run's metrics. No TensorFlow at import.
"""
import numpy as np

from tfrbm import viz
from tfrbm.data.images import image_shape

__all__ = ["save_models", "save_samples"]


def save_models(metrics, saves):
    """Save each ``(model, path, key)`` of ``saves`` whose path is given (atomically, refusing
    NaN weights) and record the path as ``metrics[key]``."""
    if not any(path for _, path, _ in saves):
        return
    from tfrbm.safety import atomic_save
    for model, path, key in saves:
        if path:
            atomic_save(model, path)
            metrics[key] = str(path)


def save_samples(metrics, model, path, config, title):
    """An 8x8 grid of ``model.sample(64, steps=config.sample_steps, seed=config.seed)`` at
    ``path`` (titled ``title``), recorded as ``metrics["samples"]``; nothing when ``path`` is
    None."""
    if not path:
        return
    fantasies = model.sample(64, steps=config.sample_steps, seed=config.seed)
    viz.image_grid(np.asarray(fantasies), nrows=8, ncols=8, shape=image_shape(config.data),
                   title=title, path=path)
    metrics["samples"] = str(path)
