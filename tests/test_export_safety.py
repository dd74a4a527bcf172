"""Export safety (issue 20, items 1-3 and 9): modes another user can read, names that stay in
their base, exclusive versions under concurrent exports, and serving signatures that refuse
bad inputs. The permission and race cases run in real processes."""
import json
import os
import pathlib
import shutil
import stat
import subprocess
import sys
import tempfile
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfrbm import export
from tfrbm.errors import ExportError, UserError
from tfrbm.layers import RBMLayer
from tfrbm.models.rbm import RBMModel

NOBODY = ["--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.fixture(scope="module")
def rbm():
    x = (np.random.default_rng(0).random((48, 8)) < 0.3).astype("float32")
    model = RBMModel(RBMLayer(4), seed=1)
    model.fit(x, epochs=1, batch_size=16, verbose=0)
    return model


@pytest.fixture(scope="module")
def rbm_file(rbm, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "rbm.keras"
    rbm.save(path)
    return path


def _setpriv():
    """The setpriv command, or skip when this machine cannot switch to another user."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv is not installed")
    probe = subprocess.run([setpriv, *NOBODY, "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"setpriv cannot switch user here: {probe.stderr.strip()}")
    return setpriv


def test_exported_versions_are_readable_by_another_user_and_respect_the_umask(rbm):
    setpriv = _setpriv()
    base = pathlib.Path(tempfile.mkdtemp(prefix="tfrbm-modes-", dir="/tmp"))
    try:
        os.chmod(base, 0o755)
        old = os.umask(0o022)
        try:
            shared = export.export_named(rbm, "m", base=base)
            os.umask(0o027)
            private = export.export_named(rbm, "m", base=base)
        finally:
            os.umask(old)
        # another uid reads every file of the shared export (as TF Serving in a container would)
        read_all = 'find "$1" -type f -exec cat {} + > /dev/null'
        proc = subprocess.run([setpriv, *NOBODY, "sh", "-c", read_all, "sh", str(shared)],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert stat.S_IMODE(shared.stat().st_mode) == 0o755
        # under umask 027 others get nothing, the group reads: the umask is respected
        for path in [private, *private.rglob("*")]:
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode & 0o007 == 0 and mode & 0o040, (path, oct(mode))
        proc = subprocess.run([setpriv, *NOBODY, "sh", "-c", read_all, "sh", str(private)],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0 and "Permission denied" in proc.stderr
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("name", [".", "..", "/tmp/abs", "a/b", "../proj", "", ".hidden", "a\\b"])
def test_names_that_leave_the_base_are_refused(tmp_path, rbm_file, name, capsys):
    from tfrbm.cli import main
    proj = tmp_path / "proj"
    unrelated = proj / "1"
    unrelated.mkdir(parents=True)
    (unrelated / "keep.txt").write_text("precious")
    base = proj / "saved_models"
    argv = ["export", "--model", str(rbm_file), "--name", name, "--base", str(base),
            "--version", "1", "--overwrite"]
    assert main(argv) == 2
    assert "model name" in capsys.readouterr().err
    assert (unrelated / "keep.txt").read_text() == "precious"
    assert not base.exists() or not any(base.rglob("saved_model.pb"))
    with pytest.raises(ExportError):
        export.check_name(name)


DRIVER = r"""
import json, pathlib, sys, time
from tfrbm import export
import keras
model_file, base, go, who = sys.argv[1:5]
model = keras.saving.load_model(model_file)
real_write_out = export._write_out
marker = None

def write_out_slowly(archive, directory, verbose):
    real_write_out(archive, directory, verbose)
    extra = pathlib.Path(directory, "assets.extra")
    extra.mkdir(exist_ok=True)
    (extra / "owner.txt").write_text(marker)
    time.sleep(1.0)      # widen the window between choosing a version and publishing it

export._write_out = write_out_slowly
pathlib.Path(go + "." + who).touch()          # ready
while not pathlib.Path(go).exists():
    time.sleep(0.01)
report = {}
for kind in ("1", "auto"):       # an explicit version, then the next free one
    marker = f"{kind}-{who}"
    try:
        path = export.export_named(model, "m", base=f"{base}_{kind}",
                                   version=None if kind == "auto" else int(kind))
        report[kind] = {"path": str(path)}
    except export.ExportError as exc:
        report[kind] = {"error": str(exc)}
print(json.dumps(report))
"""


def test_concurrent_exports_never_clobber_each_other(tmp_path, rbm_file):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    go = tmp_path / "go"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    procs = {who: subprocess.Popen(
        [sys.executable, str(script), str(rbm_file), str(tmp_path / "base"), str(go), who],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for who in "ab"}
    deadline = time.time() + 240
    while not all((tmp_path / f"go.{who}").exists() for who in procs):
        assert time.time() < deadline, "the export processes did not start"
        assert all(p.poll() is None for p in procs.values()), \
            [p.communicate()[1][-2000:] for p in procs.values() if p.poll() is not None]
        time.sleep(0.05)
    go.touch()
    reports = {}
    for who, proc in procs.items():
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-2000:]
        reports[who] = json.loads(out.strip().splitlines()[-1])

    # an explicit version without overwrite: exactly one wins, the other fails and says so
    winners = [who for who in "ab" if "path" in reports[who]["1"]]
    assert len(winners) == 1, reports
    loser = "b" if winners == ["a"] else "a"
    assert "already exists" in reports[loser]["1"]["error"]
    v1 = tmp_path / "base_1" / "m" / "1"
    assert (v1 / "assets.extra" / "owner.txt").read_text() == f"1-{winners[0]}"
    assert sorted(p.name for p in (tmp_path / "base_1" / "m").iterdir()) == ["1"]
    loaded = tf.saved_model.load(str(v1))
    assert loaded.signatures["free_energy"](visible=tf.zeros((1, 8)))["free_energy"].shape == (1,)

    # automatic versions: both succeed, with different versions, each holding its own export
    paths = {pathlib.Path(reports[who]["auto"]["path"]) for who in "ab"}
    assert {p.name for p in paths} == {"1", "2"}, reports
    for who in "ab":
        path = pathlib.Path(reports[who]["auto"]["path"])
        assert (path / "assets.extra" / "owner.txt").read_text() == f"auto-{who}"


def _bad(fn, **inputs):
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        fn(**{k: tf.constant(v) for k, v in inputs.items()})
    return str(info.value)


def test_rbm_signatures_refuse_what_the_python_api_refuses(tmp_path, rbm):
    sigs = tf.saved_model.load(str(export.export_model(rbm, tmp_path / "rbm"))).signatures
    v = np.zeros((2, 8), np.float32)
    mask = np.ones((2, 8), np.float32)
    seed = np.array([1, 0], np.int64)
    one, zero, minus = np.int32(1), np.int32(0), np.int32(-5)
    assert "mask" in _bad(sigs["inpaint"], visible=v, mask=mask * 7, steps=one, seed=seed)
    assert "steps" in _bad(sigs["inpaint"], visible=v, mask=mask, steps=minus, seed=seed)
    assert "shape" in _bad(sigs["inpaint"], visible=v, mask=mask[:1], steps=one, seed=seed)
    assert "steps" in _bad(sigs["sample"], n_samples=one, steps=zero, seed=seed)
    assert "n_samples" in _bad(sigs["sample"], n_samples=zero, steps=one, seed=seed)
    for name in ("serving_default", "reconstruct", "free_energy"):
        assert "visible" in _bad(sigs[name], visible=v + 255)
        assert "visible" in _bad(sigs[name], visible=v * np.nan)
    assert "visible" in _bad(sigs["inpaint"], visible=v - 1, mask=mask, steps=one, seed=seed)
    # good inputs still pass, and the known entries stay clamped
    out = sigs["inpaint"](visible=tf.constant(v), mask=tf.constant(mask * 0 + (np.arange(8) < 4)),
                          steps=tf.constant(one), seed=tf.constant(seed))
    assert np.all(out["visible_mean"].numpy()[:, :4] == 0)


def test_other_models_signatures_validate_inputs(tmp_path):
    from tfrbm.models.dbn import DBNModel
    from tfrbm.course.language import StatefulLSTMModel
    from tfrbm.models.recommender_network import RecommenderNetwork
    dbn = DBNModel([RBMLayer(3), RBMLayer(2)], seed=0)
    dbn.build((None, 6))
    sigs = tf.saved_model.load(str(export.export_model(dbn, tmp_path / "dbn"))).signatures
    assert "steps" in _bad(sigs["sample"], n_samples=np.int32(2), steps=np.int32(-1),
                           seed=np.array([0, 0], np.int64))
    assert "inputs" in _bad(sigs["features"], inputs=np.full((1, 6), 2.0, np.float32))

    from tfrbm.errors import ExportError
    from tfrbm.models.recommender import RBMRecommender
    with pytest.raises(ExportError, match="no fitted recommender"):
        export.export_model(RecommenderNetwork(), tmp_path / "empty")
    triples = np.array([(u, m, 1 + (u + m) % 5) for u in range(1, 9) for m in range(1, 6)])
    rec = RBMRecommender(n_hidden=2, kind="user", batch_size=4, validation_fraction=0.0,
                         seed=0).fit(triples, epochs=1)
    sigs = tf.saved_model.load(str(export.export_model(rec.network, tmp_path / "rec"))).signatures
    out = sigs["recommend"](user_ids=tf.constant([1, 2 ** 62], tf.int64))   # any id is valid:
    assert out["scores"].shape == (2, 5) and list(out["known_user"].numpy()) == [True, False]
    assert np.isfinite(out["scores"].numpy()).all()                        # unknown -> baseline

    lm = StatefulLSTMModel(vocab_size=7, hidden_sizes=(4,), embedding_dim=3, batch_size=1)
    lm.build((1, 3))
    sigs = tf.saved_model.load(str(export.export_model(lm, tmp_path / "lm"))).signatures
    assert "ids" in _bad(sigs["next_token"], ids=np.array([[1, 9]], np.int32))
    assert "step" in _bad(sigs["next_token"], ids=np.zeros((1, 0), np.int32))

    clf = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    sigs = tf.saved_model.load(str(export.export_model(clf, tmp_path / "clf"))).signatures
    assert "finite" in _bad(sigs["predict"], inputs=np.full((1, 4), np.nan, np.float32))


def test_every_model_exports_through_its_own_endpoints(tmp_path, rbm):
    """One export behaviour: Model.export writes the path itself (Keras' meaning) for every
    model; export_model numbers TF Serving's versions for every model."""
    from tfrbm.models.dbn import DBNModel
    dbn = DBNModel([RBMLayer(3)], seed=0)
    dbn.build((None, 8))
    assert dbn.export(tmp_path / "dbn") == tmp_path / "dbn"
    assert export.export_model(dbn, tmp_path / "dbn_served").name == "1"
    assert export.export_model(dbn, tmp_path / "dbn_served").name == "2"
    assert export.export_model(rbm, tmp_path / "rbm", version=4).name == "4"
    assert issubclass(ExportError, UserError)
    source = pathlib.Path(export.__file__).read_text()
    for name in ("__mro__", "__name__", "tfrbm.models"):
        assert name not in source, f"export.py dispatches on classes ({name})"


def test_served_chains_equal_the_chunked_python_verbs(tmp_path, rbm, monkeypatch):
    """daydream/inpaint run long chains in chunks (Ctrl-C); the signatures use the same chunks
    and chunk seeds, so they agree for any number of steps, not only for one chunk."""
    from tfrbm.models import rbm as rbm_module
    monkeypatch.setattr(rbm_module, "CHUNK_MAX_STEPS", 3)     # 10 steps = 4 chunks
    sigs = tf.saved_model.load(str(export.export_model(rbm, tmp_path / "rbm"))).signatures
    seed = tf.constant([5, 0], tf.int64)
    out = sigs["sample"](n_samples=tf.constant(4), steps=tf.constant(10), seed=seed)
    np.testing.assert_allclose(out["visible_mean"].numpy(), rbm.daydream(4, steps=10, seed=5),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out["visible_sample"].numpy(),
                                  rbm.daydream(4, steps=10, seed=5, sample=True))
    v = (np.random.default_rng(1).random((3, 8)) < 0.5).astype("float32")
    mask = np.tile((np.arange(8) < 5).astype("float32"), (3, 1))
    out = sigs["inpaint"](visible=tf.constant(v), mask=tf.constant(mask), steps=tf.constant(10),
                          seed=seed)
    np.testing.assert_array_equal(out["visible_sample"].numpy(),
                                  rbm.inpaint(v, mask, steps=10, seed=5, sample=True))
