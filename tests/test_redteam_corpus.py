"""The red team's corpus of issue 32, as parametrised cases: the next red team starts here.

Every case is a hostile or careless input that once gave a traceback, a silent wrong answer or
lost data. Each must now end in one ``tfrbm: error:`` line (exit 2) from the command line, or a
:class:`tfrbm.errors.UserError` from Python, with nothing deleted or half-written. The longer
scenarios have their own files: test_backup_ownership.py (the High item, every backup path),
test_cli_resume.py (kill -9 and resume through the CLI), test_offline_data.py (data folders and
downloads), test_bf16.py (the bfloat16 guarantee).
"""
import json
import os
import pathlib
import zipfile

import keras
import numpy as np
import pytest

import tfrbm
from tfrbm import cli
from tfrbm.errors import UserError

NOTE = "important\n"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A tiny model file, a binary file, a plain file and a folder holding a user's file."""
    root = tmp_path_factory.mktemp("corpus")
    model = tfrbm.RBMModel(tfrbm.RBMLayer(2), seed=0)
    model.build((None, 6))
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    model.save(root / "m.keras")
    (root / "bin.dat").write_bytes(bytes(range(256)) * 2)
    (root / "afile").write_text(NOTE)
    (root / "keep").mkdir()
    (root / "keep" / "notes.txt").write_text(NOTE)
    return root


# ----------------------------------------------------------------------------- the CLI
#: (case, arguments with {root} for the fixture folder, a fragment of the one error line)
CLI_CASES = [
    ("seed -1", ["train", "--seed", "-1", "--epochs", "1"], "--seed"),
    ("seed above 2**32", ["train", "--seed", str(2**32), "--epochs", "1"], "--seed"),
    ("seed 2**70 daydream", ["daydream", "{root}/m.keras", "2", "--seed", str(2**70)], "--seed"),
    ("seed -1 dbn", ["dbn", "train", "--seed", "-1"], "--seed"),
    ("seed -1 init", ["init", "{root}/new.keras", "3", "2", "--seed", "-1"], "--seed"),
    ("binary --input run-visible", ["run-visible", "{root}/m.keras", "--input", "{root}/bin.dat"],
     "not text"),
    ("binary --input train", ["train", "--model", "{root}/m.keras", "--input", "{root}/bin.dat"],
     "not text"),
    ("--base a file", ["export", "--model", "{root}/m.keras", "--name", "r", "--base",
                       "{root}/afile"], "--base"),
    ("--name of 300 characters", ["export", "--model", "{root}/m.keras", "--name", "a" * 300],
     "too long"),
    ("export version above int64", ["export", "--model", "{root}/m.keras", "--name", "r",
                                    "--version", str(2**64)], "--version"),
    ("--backup a file", ["train", "--epochs", "1", "--backup", "{root}/afile"], "--backup"),
    ("--backup a folder with user files", ["train", "--epochs", "1", "--backup", "{root}/keep"],
     "not a tfrbm backup"),
    ("daydream on a plain file", ["daydream", "{root}/afile", "3"], "not a .keras model"),
    ("--model-file in /proc", ["dbn", "train", "--model-file", "/proc/x.keras"], "/proc"),
    ("init in /proc", ["init", "/proc/x.keras", "3", "2"], "/proc"),
    ("--output in /proc", ["train", "--epochs", "1", "--output", "/proc/tfrbm_out"], "/proc"),
    ("--model in /proc", ["train", "--model", "/proc/version"], "/proc"),
    ("--samples in /proc", ["dbn", "train", "--samples", "/proc/s.png"], "/proc"),
]


@pytest.mark.parametrize("case, argv, fragment", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_case_is_one_line(files, capsys, monkeypatch, case, argv, fragment):
    monkeypatch.chdir(files)
    before = {p: p.read_bytes() for p in files.rglob("*") if p.is_file()}
    code = cli.main([a.format(root=files) for a in argv])
    err = [line for line in capsys.readouterr().err.splitlines()
           if not line.startswith("tfrbm: running on")]
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("tfrbm: error:"), err
    assert fragment in err[0]
    for path, data in before.items():        # nothing of the user's lost or changed
        assert path.read_bytes() == data, path
    assert not (files / "tfrbm_output").exists()


# ----------------------------------------------------------------------------- crafted .keras
def _craft(src, dst, edit):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        config = json.loads(zin.read("config.json"))
        edit(config)
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item, json.dumps(config).encode() if item.filename == "config.json"
                          else data)
    return dst


def _layer_build(config):
    config["config"]["layer"]["build_config"] = {"input_shape": [None, 1e9]}


def _model_build(config):
    config["build_config"] = {"input_shape": [None, 1e9]}


def _units(config):
    config["config"]["layer"]["config"]["units"] = 10**9


def _negative(config):
    config["config"]["layer"]["build_config"] = {"input_shape": [None, -3]}


CRAFTED = {"layer build_config 1e9": _layer_build, "model build_config 1e9": _model_build,
           "units 1e9": _units, "negative width": _negative}


@pytest.mark.parametrize("edit", sorted(CRAFTED))
@pytest.mark.parametrize("loader", ["keras.saving.load_model", "tfrbm.load", "cli"])
def test_crafted_keras_sizes_are_checked_before_any_weight(files, tmp_path, monkeypatch, capsys,
                                                           edit, loader):
    monkeypatch.setenv("TFRBM_MAX_BYTES", str(10**8))   # 100 MB: a 1e9-wide layer needs GBs
    path = _craft(files / "m.keras", tmp_path / "crafted.keras", CRAFTED[edit])
    if loader == "cli":
        assert cli.main(["daydream", str(path), "2"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("tfrbm: error:")
        return
    load = keras.saving.load_model if loader == "keras.saving.load_model" else \
        getattr(tfrbm, "load", keras.saving.load_model)
    with pytest.raises(Exception) as info:
        load(path)
    assert not isinstance(info.value, MemoryError)


# ----------------------------------------------------------------------------- Python
def test_jit_compile_true_is_refused_while_the_data_check_is_on():
    model = tfrbm.RBMModel(tfrbm.RBMLayer(3), seed=0)
    with pytest.raises(UserError, match="jit_compile"):
        model.compile(optimizer="sgd", jit_compile=True)
    model.check_batches = False   # the explicit way to XLA, without the check
    model.compile(optimizer="sgd", jit_compile=True)
    assert model.jit_compile


def test_jit_compile_set_after_compile_is_refused_at_fit():
    import tensorflow as tf
    model = tfrbm.RBMModel(tfrbm.RBMLayer(3), seed=0)
    model.compile(optimizer="sgd")
    assert not model.jit_compile
    model.jit_compile = True
    x = np.zeros((8, 4), "float32")
    x[5, 1] = np.nan
    with pytest.raises(UserError, match="jit_compile"):
        model.fit(tf.data.Dataset.from_tensor_slices(x).batch(4), epochs=1, verbose=0)


@pytest.mark.parametrize("make", ["RBMRecommender", "RatingsRBM"])
def test_n_levels_above_255_is_refused(make):
    from tfrbm.models.ratings_rbm import RatingsRBM
    from tfrbm.models.recommender import RBMRecommender
    with pytest.raises(UserError, match="255"):
        if make == "RBMRecommender":
            RBMRecommender(n_levels=300, like=4)
        else:
            RatingsRBM(10, 4, 300)


def test_backup_refusals_name_the_backup(tmp_path):
    from tfrbm.resume import TrainingBackup
    (tmp_path / "f").write_text(NOTE)
    with pytest.raises(UserError, match="is a file"):
        TrainingBackup(tmp_path / "f")
    with pytest.raises(UserError, match="not a tfrbm backup"):
        TrainingBackup(tmp_path)
    assert (tmp_path / "f").read_text() == NOTE


def test_export_overwrite_never_replaces_a_user_folder(tmp_path):
    from tfrbm.export import check_replaceable
    from tfrbm.errors import ExportError
    (tmp_path / "notes.txt").write_text(NOTE)
    with pytest.raises(ExportError, match="not a SavedModel"):
        check_replaceable(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == NOTE
    check_replaceable(tmp_path / "missing")
    os.mkdir(tmp_path / "empty")
    check_replaceable(tmp_path / "empty")
    with pytest.raises(ExportError, match="file"):
        check_replaceable(tmp_path / "notes.txt")


def test_named_data_folder_never_downloads(tmp_path, monkeypatch):
    from tfrbm.data import images, paths
    monkeypatch.setenv(paths.ENV_VAR, str(tmp_path))
    monkeypatch.setattr(images, "tfds_load", lambda *a, **k: pytest.fail("download tried"))
    with pytest.raises(UserError, match=str(tmp_path)):
        images.load_mnist("train")
    assert not list(pathlib.Path(tmp_path).iterdir())


# ----------------------------------------------------------------------------- the Low items
@pytest.mark.parametrize("kwargs, fragment", [
    ({"learning_rate": "0.1"}, "learning_rate"),
    ({"conditional": "no"}, "conditional"),
    ({"blend_baseline": "yes"}, "blend_baseline"),
    ({"seed": 2**70}, "seed"),
], ids=["learning_rate as text", "conditional 'no'", "blend_baseline 'yes'", "seed 2**70"])
def test_recommender_settings_are_not_coerced(kwargs, fragment):
    from tfrbm.models.recommender import RBMRecommender
    with pytest.raises(UserError, match=fragment):
        RBMRecommender(**kwargs)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"n_components": 2.5}, "n_components"),
    ({"n_components": 2, "random_state": 2**70}, "random_state"),
], ids=["n_components 2.5", "random_state 2**70"])
def test_transformer_settings_are_not_truncated(kwargs, fragment):
    from tfrbm.sklearn import RBMTransformer
    x = (np.random.default_rng(0).random((10, 4)) > 0.5).astype("float32")
    with pytest.raises(UserError, match=fragment):
        RBMTransformer(n_iter=1, **kwargs).fit(x)


@pytest.mark.parametrize("argv", [
    ["train", "--epochs", "\u0661"],                 # Arabic-Indic one
    ["daydream", "{root}/m.keras", "\u0663"],
], ids=["--epochs arabic-indic", "daydream steps arabic-indic"])
def test_non_ascii_digits_are_refused(files, capsys, argv):
    assert cli.main([a.format(root=files) for a in argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ASCII" in err[0]


def test_arabic_indic_digit_in_rows_is_refused(files, tmp_path, capsys):
    rows = tmp_path / "rows.txt"
    rows.write_text("0 1 0 \u0661 0 1\n", encoding="utf-8")
    assert cli.main(["run-visible", str(files / "m.keras"), "--input", str(rows)]) == 2
    assert "not a plain decimal number" in capsys.readouterr().err


def test_sparse_input_is_size_checked_before_densifying(monkeypatch):
    import scipy.sparse as sp
    from tfrbm.data.pipeline import check_array
    monkeypatch.setenv("TFRBM_MAX_BYTES", str(10**8))
    with pytest.raises(UserError, match="sparse 30,000 x 30,000"):
        check_array(sp.csr_matrix(([1.0], ([5], [7])), shape=(30000, 30000)))
