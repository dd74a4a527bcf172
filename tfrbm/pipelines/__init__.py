"""Training and evaluation pipelines of the energy-based models: data -> fit -> evaluate -> files.

* :mod:`~tfrbm.pipelines.dbn`: :func:`~tfrbm.pipelines.dbn.train_dbn`, greedy DBN pre-training
  and a fine-tuned classifier (``tfrbm dbn train``); its defaults live in
  :class:`~tfrbm.pipelines.dbn.DBNTrainingConfig`;
* :mod:`~tfrbm.pipelines.dbm`: :func:`~tfrbm.pipelines.dbm.train_dbm`, a deep Boltzmann machine,
  its likelihood bound and classifier (``tfrbm dbm train``); defaults in
  :class:`~tfrbm.pipelines.dbm.DBMTrainingConfig`;
* :mod:`~tfrbm.pipelines.rbm_images`: :func:`~tfrbm.pipelines.rbm_images.train_rbm_on_images`,
  an RBM trained on an image data set with its figures (``tfrbm train``);
* :mod:`~tfrbm.pipelines.likelihood`: :func:`~tfrbm.pipelines.likelihood.estimate_likelihood`,
  a saved RBM's mean log-likelihood bracketed by RAISE and AIS (``tfrbm likelihood``).

Each returns a result object or dict; printing is the caller's (the ``tfrbm`` command's) job.
The course companions' pipelines are in :mod:`tfrbm.course.training`. Importing this package
loads no TensorFlow: each pipeline imports it when it runs.
"""
import importlib

_MODULES = ("dbn", "dbm", "rbm_images", "likelihood")

__all__ = list(_MODULES)


def __getattr__(name):
    if name in _MODULES:
        return importlib.import_module(f"tfrbm.pipelines.{name}")
    raise AttributeError(f"module 'tfrbm.pipelines' has no attribute {name!r}")
