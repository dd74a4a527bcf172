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
from tfrbm.likelihood import ais, reverse_ais

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


# ----------------------------------------------------------------------------- NaN weights
@pytest.fixture(scope="module")
def nan_model(tmp_path_factory):
    """A model file whose weights are NaN (written with the explicit debugging escape)."""
    path = tmp_path_factory.mktemp("nan") / "nan.keras"
    model = tfrbm.RBMModel(tfrbm.RBMLayer(2), seed=0)
    model.build((None, 6))
    model.layer.kernel.assign(np.full((6, 2), np.nan, "float32"))
    model.save(path, allow_non_finite=True)
    return path


@pytest.mark.parametrize("argv", [
    ["run-visible", "{model}", "--input", "{rows}"],
    ["run-hidden", "{model}", "--input", "{hrows}"],
    ["daydream", "{model}", "2"],
], ids=["run-visible", "run-hidden", "daydream"])
def test_nan_weights_file_is_refused_by_the_cli(nan_model, tmp_path, capsys, argv):
    (tmp_path / "rows.txt").write_text("0 1 0 1 0 1\n")
    (tmp_path / "hrows.txt").write_text("0 1\n")
    code = cli.main([a.format(model=nan_model, rows=tmp_path / "rows.txt",
                              hrows=tmp_path / "hrows.txt") for a in argv])
    out = capsys.readouterr()
    err = [line for line in out.err.splitlines() if not line.startswith("tfrbm: running on")]
    assert code == 2 and "nan" not in out.out.lower()
    assert len(err) == 1 and "NaN or Inf weights" in err[0], err


def test_nan_weights_file_is_refused_by_the_likelihood_loader(nan_model):
    from tfrbm.pipelines.rbm_file import load_rbm_file
    with pytest.raises(UserError, match="NaN or Inf weights"):
        load_rbm_file(nan_model)


@pytest.mark.parametrize("writer", ["keras.saving.save_model", "save_weights"])
def test_every_keras_writer_refuses_nan_weights(tmp_path, writer):
    from tfrbm.safety import NonFiniteWeightsError
    model = tfrbm.RBMModel(tfrbm.RBMLayer(2), seed=0)
    model.build((None, 6))
    model.layer.kernel.assign(np.full((6, 2), np.nan, "float32"))
    with pytest.raises(NonFiniteWeightsError, match="NaN or Inf"):
        if writer == "save_weights":
            model.save_weights(tmp_path / "w.weights.h5")
        else:
            keras.saving.save_model(model, tmp_path / "m.keras")


# ----------------------------------------------------------------------------- likelihood
@pytest.fixture(scope="module")
def small_rbm():
    model = tfrbm.RBMModel(tfrbm.RBMLayer(2), seed=0)
    model.build((None, 6))
    return model


def _data_with_nan():
    x = np.zeros((4, 6), "float32")
    x[1, 2] = np.nan
    return x


LIKELIHOOD_CASES = {
    "RAISE NaN data": (lambda m: reverse_ais.raise_log_likelihoods(
        m, _data_with_nan(), n_betas=10), "data contains NaN"),
    "AIS NaN base_data": (lambda m: ais.ais_log_partition(
        m, n_runs=4, n_betas=10, base_data=_data_with_nan()), "base_data contains NaN"),
    "AIS n_runs 1e9": (lambda m: ais.ais_log_partition(
        m, n_runs=10**9, n_betas=10), "n_runs=1,000,000,000"),
    "RAISE chains 1e8": (lambda m: reverse_ais.raise_log_likelihoods(
        m, np.zeros((4, 6), "float32"), n_betas=10, chains=10**8), "chains=100,000,000"),
    "AIS seed 2**70": (lambda m: ais.ais_log_partition(
        m, n_runs=4, n_betas=10, seed=2**70), "64 bits"),
    "AIS time_budget -1": (lambda m: ais.ais_log_partition(
        m, n_runs=4, n_betas=10, time_budget=-1), "time_budget"),
}


@pytest.mark.parametrize("case", sorted(LIKELIHOOD_CASES))
def test_likelihood_bad_input_is_a_user_error(small_rbm, monkeypatch, case):
    monkeypatch.setenv("TFRBM_MAX_BYTES", str(10**8))
    call, fragment = LIKELIHOOD_CASES[case]
    with pytest.raises(UserError, match=fragment):
        call(small_rbm)


# ----------------------------------------------------------------------------- sizes and steps
@pytest.fixture(scope="module")
def labelled_dbn():
    model = tfrbm.DBNModel([3], n_labels=2, seed=0)
    model.build((None, 6))
    return model


@pytest.mark.parametrize("kwargs, fragment", [
    ({"n": 10**9}, "generate"),
    ({"steps": 10**12}, "steps"),
], ids=["DBN generate n 1e9", "DBN generate steps 1e12"])
def test_dbn_generate_sizes_are_checked(labelled_dbn, monkeypatch, kwargs, fragment):
    monkeypatch.setenv("TFRBM_MAX_BYTES", str(10**8))
    with pytest.raises(UserError, match=fragment):
        labelled_dbn.generate(0, **kwargs)


def test_rbm_daydream_steps_above_int32_is_refused(small_rbm):
    with pytest.raises(UserError, match="steps"):
        small_rbm.daydream(1, steps=10**12)


# ----------------------------------------------------------------------------- the recommender
@pytest.fixture(scope="module")
def fitted_baseline():
    from tfrbm.models.recommender_baselines import ItemMeanBaseline
    triples = np.array([[1, 10, 5], [1, 11, 3], [2, 10, 4], [2, 12, 2], [3, 11, 5]])
    return ItemMeanBaseline().fit(triples)


@pytest.mark.parametrize("n", ["abc", 2.7, 0], ids=["n 'abc'", "n 2.7", "n 0"])
def test_recommend_n_is_a_whole_number(fitted_baseline, n):
    with pytest.raises(UserError, match="n must be"):
        fitted_baseline.recommend(1, n=n)


def test_recommend_n_whole_float_still_works(fitted_baseline):
    assert len(fitted_baseline.recommend(1, n=1.0, exclude_seen=False)) == 1


@pytest.mark.parametrize("triples", [
    [[-1, 2, 5], [0, -1, 3], [1, 1, 4]],
    [[-5, -7, 5], [-4, -8, 3], [-5, -8, 4]],
], ids=["negative user and movie", "all negative"])
def test_negative_ids_are_not_reported_as_duplicates(triples):
    from tfrbm.models.rating_model import check_unique_pairs
    check_unique_pairs(np.array(triples))
    with pytest.raises(UserError, match="more than once"):
        check_unique_pairs(np.array(triples + [triples[0][:2] + [1]]))


@pytest.mark.parametrize("ids", [[np.inf], [np.nan], [-np.inf]], ids=["inf", "nan", "-inf"])
def test_recommender_predict_refuses_non_finite_ids(ids):
    from tfrbm.models.recommender import RBMRecommender
    triples = np.array([[1, 10, 5], [1, 11, 3], [2, 10, 4], [2, 12, 2], [3, 11, 5]])
    model = RBMRecommender(n_hidden=2, implicit_hidden=2).fit(triples)
    with pytest.raises(UserError, match="NaN or Inf"):
        model.predict(ids, [10])
    with pytest.raises(UserError, match="NaN or Inf"):
        model.predict([1], ids)
