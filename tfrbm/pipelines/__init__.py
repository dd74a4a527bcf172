"""Training and evaluation pipelines of the energy-based models: data -> fit -> evaluate -> files.

* :mod:`~tfrbm.pipelines.dbn`: :func:`~tfrbm.pipelines.dbn.train_dbn`, greedy DBN pre-training
  and a fine-tuned classifier (``tfrbm dbn train``); its defaults live in
  :class:`~tfrbm.pipelines.dbn.DBNTrainingConfig`;
* :mod:`~tfrbm.pipelines.dbm`: :func:`~tfrbm.pipelines.dbm.train_dbm`, a deep Boltzmann machine,
  its likelihood bound and classifier (``tfrbm dbm train``); defaults in
  :class:`~tfrbm.pipelines.dbm.DBMTrainingConfig`;
* :mod:`~tfrbm.pipelines.rbm_images`: :func:`~tfrbm.pipelines.rbm_images.train_rbm_on_images`,
  an RBM trained on an image data set with its figures (``tfrbm rbm train``); defaults in
  :class:`~tfrbm.pipelines.rbm_images.RBMImageConfig`;
* :mod:`~tfrbm.pipelines.rbm_file`: echen's ``rbmcmd`` workflow on a model file,
  :func:`~tfrbm.pipelines.rbm_file.create_rbm_file` (``tfrbm rbm init``) and
  :func:`~tfrbm.pipelines.rbm_file.train_rbm_file` (``tfrbm rbm train --model``; defaults in
  :class:`~tfrbm.pipelines.rbm_file.RowTrainingConfig`), and the loader of saved RBMs;
* :mod:`~tfrbm.pipelines.recommender`: the RBM recommender on MovieLens,
  :func:`~tfrbm.pipelines.recommender.train_recommender` (``tfrbm recommender train``),
  :func:`~tfrbm.pipelines.recommender.recommendations_for` (``tfrbm recommender recommend``) and
  :func:`~tfrbm.pipelines.recommender.run_six_movie_demo`; defaults in
  :class:`~tfrbm.pipelines.recommender.RecommenderConfig`;
* :mod:`~tfrbm.pipelines.likelihood`: :func:`~tfrbm.pipelines.likelihood.estimate_likelihood`,
  a saved RBM's mean log-likelihood bracketed by RAISE and AIS (``tfrbm rbm likelihood``);
* :mod:`~tfrbm.pipelines.anomaly`: :func:`~tfrbm.pipelines.anomaly.detect_anomalies`, an
  anomaly detector with a threshold at a chosen false-positive rate (``tfrbm anomaly detect``);
  its defaults live in :class:`~tfrbm.pipelines.anomaly.AnomalyConfig`;
* :mod:`~tfrbm.pipelines.companions`: the course companions' training,
  :func:`~tfrbm.pipelines.companions.train_cnn`, ``train_sequence_classifier``,
  ``train_autoencoder``, ``train_word_lm`` and ``train_char_lm`` (``tfrbm cnn|seqcnn|ae|lm|char
  train``); defaults in :class:`~tfrbm.pipelines.companions.CNNTrainingConfig`,
  ``SequenceClassifierConfig``, ``AutoencoderConfig``, ``WordLMConfig`` and ``CharLMConfig``.

Every config is a frozen dataclass on :class:`~tfrbm.pipelines.config.PipelineConfig`: it owns
the defaults and checks them once. Each pipeline returns a result object; printing is the
caller's (the ``tfrbm`` command's) job (the companions' pipelines return their metrics as a
dict). Importing this package loads no TensorFlow: each pipeline imports it when it runs.
"""
import importlib

_MODULES = ("config", "dbn", "dbm", "rbm_images", "rbm_file", "recommender", "likelihood",
            "anomaly", "companions")

__all__ = list(_MODULES)


def __getattr__(name):
    if name in _MODULES:
        return importlib.import_module(f"tfrbm.pipelines.{name}")
    raise AttributeError(f"module 'tfrbm.pipelines' has no attribute {name!r}")
