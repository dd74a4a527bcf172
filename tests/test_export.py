"""SavedModel export: signatures load without tfrbm, match the Python models, atomic writes, CLI."""
import json
import os
import pathlib
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfrbm import export
from tfrbm.layers import RBMLayer
from tfrbm.models.rbm import RBMModel

SAVED_MODEL_CLI = pathlib.Path(sys.executable).parent / "saved_model_cli"

# Runs in a fresh interpreter (-I: no cwd, no PYTHONPATH) where importing tfrbm is blocked, so the
# SavedModel must stand on TensorFlow alone. Reads a JSON job list, writes the outputs as .npz.
LOADER = r'''
import importlib.abc, json, sys
class _NoTfrbm(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "tfrbm" or name.startswith("tfrbm."):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)")
        return None
sys.meta_path.insert(0, _NoTfrbm())
try:
    import tfrbm
    tfrbm_importable = True
except ImportError:
    tfrbm_importable = False
import numpy as np, tensorflow as tf
jobs = json.load(open(sys.argv[1]))
report = {"tfrbm_importable": tfrbm_importable, "signatures": {}}
for job in jobs:
    loaded = tf.saved_model.load(job["path"])
    report["signatures"][job["key"]] = sorted(loaded.signatures)
    inputs = dict(np.load(job["inputs"]))
    out = loaded.signatures[job["signature"]](**{k: tf.constant(v) for k, v in inputs.items()})
    np.savez(job["outputs"], **{k: v.numpy() for k, v in out.items()})
json.dump(report, open(sys.argv[2], "w"))
'''


def _binary(n, d, p=0.3, seed=0):
    return (np.random.default_rng(seed).random((n, d)) < p).astype("float32")


def _rbm(n_visible=12, units=5, seed=1):
    x = _binary(64, n_visible)
    model = RBMModel(RBMLayer(units), seed=seed)
    model.fit(x, epochs=2, batch_size=16, verbose=0)
    return model, x


def _run_isolated(tmp_path, jobs):
    jobs_file, report_file = tmp_path / "jobs.json", tmp_path / "report.json"
    jobs_file.write_text(json.dumps(jobs))
    script = tmp_path / "load_exports.py"
    script.write_text(LOADER)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    proc = subprocess.run([sys.executable, "-I", str(script), str(jobs_file), str(report_file)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(report_file.read_text())


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Export every kind of model once, run all signatures in ONE isolated subprocess."""
    tmp = tmp_path_factory.mktemp("exports")
    keras.utils.set_random_seed(7)
    cases = {}    # key -> (path, signature, inputs, expected outputs)

    rbm, x = _rbm()
    path = export.export_named(rbm, "rbm", base=tmp / "saved_models")
    mask = np.ones_like(x)
    mask[:, :6] = 0
    seed = np.array([3, 0], np.int64)
    cases["rbm_default"] = (path, "serving_default", {"visible": x},
                            {"hidden_probabilities": rbm.hidden_probs(x)})
    cases["rbm_reconstruct"] = (path, "reconstruct", {"visible": x},
                                {"reconstruction": rbm.reconstruct(x)})
    cases["rbm_free_energy"] = (path, "free_energy", {"visible": x},
                                {"free_energy": rbm.free_energy(x)})
    cases["rbm_sample"] = (path, "sample", {"n_samples": np.int32(5), "steps": np.int32(20),
                                            "seed": seed},
                           {"visible_mean": rbm.daydream(5, steps=20, seed=3),
                            "visible_sample": rbm.daydream(5, steps=20, seed=3, sample=True)})
    cases["rbm_inpaint"] = (path, "inpaint", {"visible": x, "mask": mask, "steps": np.int32(15),
                                              "seed": seed},
                            {"visible_mean": rbm.inpaint(x, mask, steps=15, seed=3),
                             "visible_sample": rbm.inpaint(x, mask, steps=15, seed=3, sample=True)})

    from tfrbm.models.recommender import RBMRecommender
    rng = np.random.default_rng(0)
    triples = np.array([(u, m, rng.integers(1, 6)) for u in range(1, 21) for m in range(1, 9)
                        if rng.random() < 0.6])
    rec = RBMRecommender(n_hidden=4, batch_size=10, seed=0).fit(triples, epochs=2)
    path = export.export_named(rec, "recommender", base=tmp / "saved_models")
    users = np.arange(3)
    cases["recommend"] = (path, "recommend", {"user_ids": rec.user_ids[:3].astype(np.int64)},
                          {"ratings": rec.score_users(users),
                           "scores": rec.ranking_scores(users)})

    from tfrbm.course.language import StatefulLSTMModel
    lm = StatefulLSTMModel(vocab_size=9, hidden_sizes=(8, 6), embedding_dim=5, batch_size=2)
    lm.build((2, 4))
    path = export.export_named(lm, "lm", base=tmp / "saved_models")
    ids = np.array([[1, 4, 2, 7]], np.int32)
    probs, _ = lm.next_token_probs(ids[0])
    cases["next_token"] = (path, "next_token", {"ids": ids}, {"log_probabilities": np.log(probs)[None]})

    from tfrbm.models.dbn import DBNModel
    dbn = DBNModel([RBMLayer(6), RBMLayer(4)], seed=0)
    dbn.pretrain(x, epochs=1, batch_size=16, verbose=0)
    path = export.export_named(dbn, "dbn", base=tmp / "saved_models")
    cases["dbn_features"] = (path, "features", {"inputs": x}, {"features": dbn.predict(x, verbose=0)})
    cases["dbn_sample"] = (path, "sample", {"n_samples": np.int32(4), "steps": np.int32(10),
                                            "seed": seed},
                           {"visible_mean": dbn.sample(4, steps=10, seed=3)})
    labelled = DBNModel([RBMLayer(6), RBMLayer(4)], n_labels=3, seed=0)
    labelled.fit(x, np.arange(len(x)) % 3, epochs=1, batch_size=16, verbose=0)
    path = export.export_named(labelled, "dbn_labelled", base=tmp / "saved_models")
    labels = np.array([0, 1, 2, 1], np.int32)
    cases["dbn_generate"] = (path, "generate", {"labels": labels, "steps": np.int32(10),
                                                "seed": seed},
                             {"visible_mean": labelled.generate(labels, n=4, steps=10, seed=3)})
    clf = dbn.to_classifier(3)
    path = export.export_named(clf, "dbn_classifier", base=tmp / "saved_models")
    cases["dbn_predict"] = (path, "predict", {"inputs": x}, {"probabilities": clf.predict(x, verbose=0)})

    jobs = []
    for key, (path, signature, inputs, _) in cases.items():
        np.savez(tmp / f"{key}_in.npz", **inputs)
        jobs.append({"key": key, "path": str(path), "signature": signature,
                     "inputs": str(tmp / f"{key}_in.npz"), "outputs": str(tmp / f"{key}_out.npz")})
    report = _run_isolated(tmp, jobs)
    outputs = {job["key"]: dict(np.load(job["outputs"])) for job in jobs}
    return {"cases": cases, "report": report, "outputs": outputs, "tmp": tmp}


def test_loader_cannot_import_tfrbm(exported):
    assert exported["report"]["tfrbm_importable"] is False


@pytest.mark.parametrize("key", ["rbm_default", "rbm_reconstruct", "rbm_free_energy",
                                 "rbm_sample", "rbm_inpaint", "recommend", "next_token",
                                 "dbn_features", "dbn_sample", "dbn_generate", "dbn_predict"])
def test_exported_signature_matches_python_model(exported, key):
    _, _, _, expected = exported["cases"][key]
    got = exported["outputs"][key]
    for name, value in expected.items():
        assert name in got, f"{key}: output {name} missing, got {sorted(got)}"
        np.testing.assert_allclose(got[name], value, rtol=1e-4, atol=1e-5, err_msg=f"{key}/{name}")


def test_signature_names_and_tf_serving_layout(exported):
    sigs = exported["report"]["signatures"]
    assert set(sigs["rbm_default"]) == {"serving_default", "hidden_probabilities", "reconstruct",
                                        "free_energy", "sample", "inpaint"}
    assert "recommend" in sigs["recommend"] and "next_token" in sigs["next_token"]
    assert "predict" in sigs["dbn_predict"]
    base = exported["tmp"] / "saved_models"
    for name in ("rbm", "recommender", "lm", "dbn", "dbn_classifier"):
        assert (base / name / "1" / "saved_model.pb").is_file()
        assert (base / name / "1" / "variables").is_dir()
    # nothing half-written lies beside the versions
    assert not [p for p in base.rglob(".*tmp-*")]


def test_saved_model_cli_lists_typed_shaped_inputs(exported):
    path = exported["cases"]["rbm_default"][0]
    proc = subprocess.run([str(SAVED_MODEL_CLI), "show", "--all", "--dir", str(path)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = proc.stdout
    blocks = dict(re.findall(r"signature_def\['(\w+)'\]:\n(.*?)(?=\nsignature_def\[|\Z)", text, re.S))
    expected = {
        "serving_default": {"visible": ("DT_FLOAT", "(-1, 12)")},
        "reconstruct": {"visible": ("DT_FLOAT", "(-1, 12)")},
        "free_energy": {"visible": ("DT_FLOAT", "(-1, 12)")},
        "sample": {"n_samples": ("DT_INT32", "()"), "steps": ("DT_INT32", "()"),
                   "seed": ("DT_INT64", "(2)")},
        "inpaint": {"visible": ("DT_FLOAT", "(-1, 12)"), "mask": ("DT_FLOAT", "(-1, 12)"),
                    "steps": ("DT_INT32", "()"), "seed": ("DT_INT64", "(2)")},
    }
    for sig, inputs in expected.items():
        assert sig in blocks, f"signature {sig} missing from saved_model_cli output"
        for name, (dtype, shape) in inputs.items():
            pattern = (rf"inputs\['{name}'\] tensor_info:\s*dtype: {dtype}\s*shape: "
                       + re.escape(shape))
            assert re.search(pattern, blocks[sig]), f"{sig}: input {name} not {dtype} {shape}"
    assert re.search(r"outputs\['hidden_probabilities'\] tensor_info:\s*dtype: DT_FLOAT\s*"
                     r"shape: \(-1, 5\)", blocks["serving_default"])


def test_versions_count_up_and_existing_versions_are_kept(tmp_path):
    rbm, _ = _rbm(n_visible=6, units=3)
    assert export.export_model(rbm, tmp_path / "m").name == "1"
    assert export.export_model(rbm, tmp_path / "m").name == "2"
    assert export.export_model(rbm, tmp_path / "m", version=7).name == "7"
    assert export.next_version(tmp_path / "m") == 8
    with pytest.raises(export.ExportError, match="already exists"):
        export.export_model(rbm, tmp_path / "m", version=2)
    assert export.export_model(rbm, tmp_path / "m", version=2, overwrite=True).name == "2"


def test_model_export_writes_the_path_itself_as_keras_does(tmp_path):
    """Issue 30 item 5: ``model.export(path)`` means what Keras' ``Model.export`` means: the
    SavedModel is ``path`` and ``tf.saved_model.load(path)`` loads it. Numbered versions for
    TF Serving come from ``export_model``/``export_named`` (and ``tfrbm export --name``)."""
    rbm, _ = _rbm(n_visible=6, units=3)
    path = tmp_path / "rbm_model"
    assert rbm.export(path) == path
    assert (path / "saved_model.pb").is_file() and not (path / "1").exists()
    loaded = tf.saved_model.load(str(path))
    assert "reconstruct" in loaded.signatures
    with pytest.raises(export.ExportError, match="already exists"):
        rbm.export(path)                                  # an existing export is kept
    assert rbm.export(path, overwrite=True) == path
    with pytest.raises(export.ExportError, match="input_signature"):
        rbm.export(tmp_path / "other", input_signature=[tf.TensorSpec((None, 6))])
    assert export.export_named(rbm, "rbm", base=tmp_path / "served") == tmp_path / "served/rbm/1"


def test_interrupted_export_leaves_no_half_model(tmp_path, monkeypatch):
    rbm, _ = _rbm(n_visible=6, units=3)
    good = export.export_model(rbm, tmp_path / "m", version=1)
    before = sorted(p.relative_to(good) for p in good.rglob("*"))
    real_write_out = export._write_out

    def crash_half_way(archive, directory, verbose):
        real_write_out(archive, directory, verbose)
        (pathlib.Path(directory) / "variables" / "variables.index").write_bytes(b"half")
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(export, "_write_out", crash_half_way)
    with pytest.raises(KeyboardInterrupt):
        export.export_model(rbm, tmp_path / "m", version=2)
    assert not (tmp_path / "m" / "2").exists()
    with pytest.raises(KeyboardInterrupt):
        export.export_model(rbm, tmp_path / "m", version=1, overwrite=True)
    # the old version 1 is intact and loadable, and no temporary directories remain
    assert sorted(p.relative_to(good) for p in good.rglob("*")) == before
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["1"]
    loaded = tf.saved_model.load(str(good))
    out = loaded.signatures["free_energy"](visible=tf.zeros((2, 6)))["free_energy"]
    np.testing.assert_allclose(out.numpy(), rbm.free_energy(np.zeros((2, 6))), rtol=1e-5)


def test_bad_exports_raise_value_errors(tmp_path):
    with pytest.raises(export.ExportError, match="not built"):
        export.export_model(RBMModel(RBMLayer(3)), tmp_path / "x")
    rbm, _ = _rbm(n_visible=6, units=3)
    with pytest.raises(ValueError, match="format"):
        export.export_model(rbm, tmp_path / "x", format="onnx")
    with pytest.raises(ValueError, match="version"):
        export.export_model(rbm, tmp_path / "x", version=-1)
    with pytest.raises(ValueError, match="cannot export"):
        export.export_model(object(), tmp_path / "x")
    with pytest.raises(ValueError, match="model name"):
        export.export_named(rbm, "../escape", base=tmp_path)


def test_cli_export_writes_a_version(tmp_path, capsys):
    from tfrbm.cli import main
    rbm, _ = _rbm(n_visible=6, units=3)
    rbm.save(tmp_path / "rbm.keras")
    base = tmp_path / "saved_models"
    assert main(["export", "--model", str(tmp_path / "rbm.keras"), "--name", "digits",
                 "--base", str(base), "--version", "3", "--json"]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["version"] == 3 and "inpaint" in last["signatures"]
    assert (base / "digits" / "3" / "saved_model.pb").is_file()
    assert main(["export", "--model", str(tmp_path / "missing.keras"), "--name", "d",
                 "--base", str(base)]) == 2
    assert "does not exist" in capsys.readouterr().err
