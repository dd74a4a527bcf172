"""Issue 30 item 9: the README's tuner and resume snippets run without tfrbm's "slower path"
notice or Keras' optimizer warnings (the snippets as written, on small digits data).

Before: ``TrainingBackup(save_freq=500)``, ``StopOnNonFinite()`` and keras-tuner's
``TunerCallback`` each forced one CD step per graph call, and ``get_best_models`` warned
"Skipping variable loading for optimizer" (the best model was rebuilt without its optimizer).
"""
import logging
import os
import warnings

import numpy as np
import pytest

from test_readme import README_TEXT, SUBSTITUTIONS, _key, python_snippets

pytest.importorskip("keras_tuner")


def _snippet(first_line):
    snippet = next(s for s in python_snippets(README_TEXT) if s.startswith(first_line))
    for old, new in SUBSTITUTIONS.get(_key(snippet, SUBSTITUTIONS), []):
        assert old in snippet
        snippet = snippet.replace(old, new)
    return snippet


def _run_quietly(snippet, namespace, caplog):
    caplog.set_level(logging.INFO, logger="tfrbm")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(snippet, "README.md", "exec"), namespace)
    noise = [str(w.message) for w in caught if "optimizer" in str(w.message)
             or "slower" in str(w.message)]
    noise += [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert noise == [], noise


def test_readme_resume_and_tuner_snippets_are_quiet(tmp_path, monkeypatch, caplog):
    import tfrbm
    from tfrbm import fastpath
    from tfrbm.data import load_digits
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(fastpath, "_warned", set())     # "slower" is said once per process
    x = (load_digits("train")[0] > 0.5).astype("float32")
    model = tfrbm.RBMModel(tfrbm.RBMLayer(20), seed=0)
    ns = {"model": model, "x": x[:600]}
    _run_quietly(_snippet("from tfrbm.resume import TrainingBackup"), ns, caplog)
    assert model.steps_per_execution == 32                       # the fast path was kept
    assert os.path.exists(tmp_path / "runs" / "rbm" / "model.keras")

    ns = {"x_train": x[:400], "x_val": x[400:600]}
    _run_quietly(_snippet("import keras_tuner as kt"), ns, caplog)
    best = ns["best"]                                 # rebuilt with its optimizer state
    assert best.optimizer.built and int(best.optimizer.iterations.numpy()) > 0
    assert np.isfinite(best.layer.kernel.numpy()).all()
