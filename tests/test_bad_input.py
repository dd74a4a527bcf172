"""Bad files and bad arguments get a ValueError naming the problem; the CLI exits non-zero, no traceback."""
import gzip
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from tfrbm.data import text
from tfrbm.data.images import IDXFormatError, read_idx, write_idx
from tfrbm.data.ratings import RatingsFormatError, movielens, read_ratings_file

REPO = pathlib.Path(__file__).resolve().parents[1]


def _binary(n=32, d=6, seed=0):
    return (np.random.RandomState(seed).rand(n, d) > 0.5).astype("float32")


# ------------------------------------------------------------------------------- IDX
def _idx_bytes(shape=(3, 4, 4)):
    arr = (np.arange(np.prod(shape)) % 256).astype(np.uint8).reshape(shape)
    header = bytes([0, 0, 0x08, len(shape)]) + b"".join(int(s).to_bytes(4, "big") for s in shape)
    return header + arr.tobytes()


@pytest.mark.parametrize("raw, problem", [
    (b"", "empty"),
    (b"\x00\x00", "header truncated"),
    (b"\x08\x03\x00\x00" + bytes(20), "wrong magic"),
    (b"\x00\x00\x42\x03" + bytes(20), "unknown data type"),
    (b"\x00\x00\x08\x00", "0 dimensions"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x03", "header truncated"),
    (_idx_bytes()[:-5], "truncated"),
    (_idx_bytes() + b"xx", "trailing bytes"),
    (gzip.compress(_idx_bytes(), mtime=0)[:-9], "gzip"),
    (gzip.compress(b"", mtime=0), "empty"),
])
def test_idx_damage_is_named(tmp_path, raw, problem):
    path = tmp_path / "damaged-idx3-ubyte"
    path.write_bytes(raw)
    with pytest.raises(IDXFormatError, match=problem) as info:
        read_idx(path)
    assert isinstance(info.value, ValueError) and path.name in str(info.value)


def test_idx_round_trip_still_works(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "ok-idx3-ubyte.gz", arr)
    np.testing.assert_array_equal(read_idx(tmp_path / "ok-idx3-ubyte.gz"), arr)


# ------------------------------------------------------------------------------- MovieLens
@pytest.mark.parametrize("content, problem", [
    ("1\t2\t5\t881250949\n7\t3\t4\n", "line 2: expected 4"),
    ("1\t2\t5\t881250949\n7\t\t4\t1\n", "line 2: fields must be integers"),
    ("1\t2\t5\t881250949\n7\t3\tfour\t1\n", "line 2: fields must be integers"),
    ("1\t2\t9\t881250949\n", "line 1: rating 9 is outside"),
])
def test_movielens_bad_lines_are_named(tmp_path, content, problem):
    path = tmp_path / "u.data"
    path.write_text(content)
    with pytest.raises(RatingsFormatError, match=problem):
        read_ratings_file(path)


def test_movielens_empty_file(tmp_path):
    (tmp_path / "u.data").write_text("")
    with pytest.raises(ValueError, match="empty"):
        movielens("100k", path=tmp_path)


# ------------------------------------------------------------------------------- PTB
def _ptb_folder(tmp_path, train="a b c a\n", valid="a b\n", test="c a\n"):
    folder = tmp_path / "ptb"
    folder.mkdir()
    for name, body in (("train", train), ("valid", valid), ("test", test)):
        (folder / f"ptb.{name}.txt").write_text(body)
    return tmp_path


@pytest.mark.parametrize("unk, problem", [
    ("<nope>", "unknown-token policy unk='<nope>'"),
    (None, "unk must be a vocabulary word"),
    ("", "unk must be a vocabulary word"),
    (3, "unk must be a vocabulary word"),
])
def test_ptb_unknown_token_policy_is_checked(tmp_path, unk, problem):
    with pytest.raises(ValueError, match=problem):
        text.load_ptb(_ptb_folder(tmp_path), unk=unk)


def test_ptb_out_of_vocabulary_word_named_with_error_policy(tmp_path):
    root = _ptb_folder(tmp_path, valid="a zebra\n")
    with pytest.raises(ValueError, match="'zebra' at position 1"):
        text.load_ptb(root, unk="error")


def test_ptb_empty_train_file(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        text.load_ptb(_ptb_folder(tmp_path, train=""))


def test_ptb_empty_valid_file_is_named(tmp_path):
    with pytest.raises(ValueError, match="ptb.valid.txt"):
        text.load_ptb(_ptb_folder(tmp_path, train="a b <unk>\n", valid=""))


# ------------------------------------------------------------------------------- arrays
@pytest.fixture(scope="module")
def fitted():
    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel
    model = RBMModel(RBMLayer(3), seed=0)
    model.fit(_binary(), epochs=1, batch_size=16, verbose=0)
    return model


@pytest.mark.parametrize("data, problem", [
    (np.array([["a", "b"]]), "non-numeric dtype"),
    (np.zeros((2, 3, 6), "float32"), "must be 2-D"),
    (np.zeros((0, 6), "float32"), "empty"),
    (np.zeros((4, 7), "float32"), "expected 6 features, got 7"),
    (np.full((4, 6), 2.0, "float32"), "outside \\[0, 1\\] for Bernoulli"),
    (np.full((4, 6), -0.5, "float32"), "outside \\[0, 1\\] for Bernoulli"),
    (np.full((4, 6), np.nan, "float32"), "NaN or Inf"),
    ([[0, 1, 0], [1, 0]], "not a rectangular array"),
])
def test_bad_arrays_are_named(fitted, data, problem):
    with pytest.raises(ValueError, match=problem):
        fitted.fit(data, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=problem):
        fitted.hidden_probs(data)


def test_integer_dataset_is_refused(fitted):
    import tensorflow as tf
    ds = tf.data.Dataset.from_tensor_slices(np.ones((4, 6), "int32")).batch(2)
    with pytest.raises(ValueError, match="int32 batches"):
        fitted.fit(ds, verbose=0)


@pytest.mark.parametrize("mask, problem", [
    (np.ones((3, 6)), "mask has shape \\(3, 6\\)"),
    (np.ones((5,)), "mask has shape \\(5,\\)"),
    (np.full((2, 6), 0.5), "only 0 \\(missing\\) and 1"),
])
def test_masks_of_the_wrong_shape(fitted, mask, problem):
    with pytest.raises(ValueError, match=problem):
        fitted.inpaint(_binary(2), mask)


def test_hidden_rows_of_the_wrong_width(fitted):
    with pytest.raises(ValueError, match="expected 3 features"):
        fitted.visible_probs(np.ones((2, 4), "float32"))


# ------------------------------------------------------------------------------- hyperparameters
def _invalid_constructions():
    from tfrbm.layers import RBMLayer
    from tfrbm.models.dbn import DBNModel
    from tfrbm.course.language import StatefulLSTMModel
    from tfrbm.models.rbm import RBMModel
    return [
        (lambda: RBMModel(RBMLayer(3), cd_k=0), "cd_k must be a positive integer"),
        (lambda: RBMModel(RBMLayer(3), cd_k=-2), "cd_k"),
        (lambda: RBMModel(RBMLayer(3), cd_k=1.5), "cd_k"),
        (lambda: RBMModel(RBMLayer(3), n_chains=0), "n_chains"),
        (lambda: RBMModel(RBMLayer(3), weight_decay=-1), "weight_decay"),
        (lambda: RBMModel(RBMLayer(3), sparsity_target=1.5), "sparsity_target"),
        (lambda: RBMModel(0), "units must be a positive integer"),
        (lambda: RBMLayer(0), "units must be a positive integer"),
        (lambda: RBMLayer(-4), "units must be a positive integer"),
        (lambda: RBMLayer(2.5), "units must be a positive integer"),
        (lambda: DBNModel([]), "non-empty list"),
        (lambda: DBNModel([5, 0]), "units must be a positive integer"),
        (lambda: StatefulLSTMModel(10, hidden_sizes=(0,)), "hidden_sizes"),
        (lambda: StatefulLSTMModel(1), "vocab_size"),
        (lambda: text.ptb_windows(np.arange(100), 0, 5), "batch_size must be a positive integer"),
    ]


@pytest.mark.parametrize("make, problem", _invalid_constructions(),
                         ids=[p for _, p in _invalid_constructions()])
def test_invalid_hyperparameters(make, problem):
    with pytest.raises(ValueError, match=problem):
        make()


def test_dbn_pretrain_checks_k():
    from tfrbm.models.dbn import DBNModel
    with pytest.raises(ValueError, match="cd_k"):
        DBNModel([3]).pretrain(_binary(), cd_k=0, verbose=0)


@pytest.mark.parametrize("rate", [0.0, -0.1, float("nan"), float("inf")])
def test_check_learning_rate(rate):
    import keras
    from tfrbm.safety import check_learning_rate
    with pytest.raises(ValueError, match="learning rate must be a finite number > 0"):
        check_learning_rate(keras.optimizers.SGD(learning_rate=rate))
    assert check_learning_rate(keras.optimizers.SGD(0.05)) == pytest.approx(0.05)
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    assert check_learning_rate(keras.optimizers.SGD(schedule)) == pytest.approx(0.1)


@pytest.mark.parametrize("rate", [0.0, -0.1])
def test_rbm_fit_rejects_non_positive_learning_rate(rate):
    import keras
    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel
    model = RBMModel(RBMLayer(3))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=rate))
    with pytest.raises(ValueError, match="learning rate"):
        model.fit(_binary(), epochs=1, verbose=0)


# ------------------------------------------------------------------------------- CLI
def _cli_cases(root):
    """(name, argv, stdin file or None, text the error must contain)."""
    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel
    model = RBMModel(RBMLayer(3), seed=0)
    model.build((None, 6))
    model.save(root / "m.keras")
    (root / "nonbinary.txt").write_text("0 1 0 2 0 1\n1 0 1 0 1 0\n")
    (root / "narrow.txt").write_text("0 1 0 1 0\n")
    (root / "empty.txt").write_text("")
    mnist = root / "data" / "mnist"
    mnist.mkdir(parents=True)
    (mnist / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx_bytes((10, 28, 28))[:-100]))
    (mnist / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx_bytes((10,))))
    (mnist / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx_bytes((10, 28, 28))))
    (mnist / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx_bytes((10,))))
    ml = root / "data" / "movielens_100k"
    ml.mkdir()
    (ml / "u.data").write_text("1\t2\t5\t881250949\n7\t3\n")
    m = str(root / "m.keras")
    return [
        ("idx", ["train", "--data", "mnist", "--data-dir", str(root / "data")], "truncated"),
        ("movielens", ["recommender", "train", "--data-dir", str(root / "data"), "--epochs", "1"],
         "line 2: expected 4"),
        ("k0", ["train", "--cd-k", "0"], "--cd-k: must be an integer >= 1"),
        ("units0", ["init", str(root / "new.keras"), "6", "0"], "N_HIDDEN: must be an integer >= 1, got '0'"),
        ("lr", ["init", str(root / "new.keras"), "6", "3", "-0.5"], "LEARNING_RATE: must be a number > 0, got '-0.5'"),
        ("nonbinary", ["run-visible", m, "--input", str(root / "nonbinary.txt")], "Bernoulli"),
        ("shape", ["run-visible", m, "--input", str(root / "narrow.txt")], "expected 6 features"),
        ("empty", ["run-visible", m, "--input", str(root / "empty.txt")], "no rows"),
    ]


@pytest.fixture(scope="module")
def cli_results(tmp_path_factory):
    """Run every CLI case as ``python -m tfrbm ...``, three at a time (they are independent)."""
    root = tmp_path_factory.mktemp("cli")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("TFRBM_DATA_DIR", None)
    cases = _cli_cases(root)
    results = {}
    for start in range(0, len(cases), 3):
        procs = {name: (subprocess.Popen([sys.executable, "-m", "tfrbm", *argv], env=env,
                                         cwd=str(root), stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True), expected)
                 for name, argv, expected in cases[start:start + 3]}
        for name, (proc, expected) in procs.items():
            try:
                out, err = proc.communicate(timeout=300)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
            results[name] = (proc.returncode, out, err, expected)
    return results


@pytest.mark.parametrize("name", ["idx", "movielens", "k0", "units0", "lr", "nonbinary", "shape", "empty"])
def test_cli_reports_bad_input_without_traceback(cli_results, name):
    code, out, err, expected = cli_results[name]
    assert code != 0, f"exit 0 for bad input; stdout: {out[-500:]}"
    assert "Traceback" not in err and "Traceback" not in out, err[-3000:]
    lines = [ln for ln in err.splitlines() if ln.startswith("tfrbm: error:")]
    assert lines, err[-2000:]
    assert expected in lines[-1], lines[-1]
