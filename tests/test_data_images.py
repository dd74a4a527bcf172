"""Image data: IDX reading, MNIST/Fashion-MNIST/digits loaders, the tf.data toolkit, path lookup."""
import gzip
import sys
import types

import numpy as np
import pytest

from tfrbm.data import images as im
from tfrbm.data import paths, pipeline
from tfrbm.data.images import IDXFormatError, read_idx, write_idx

MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# ----------------------------------------------------------------------------- IDX format

@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype,shape", [
    (np.uint8, (5, 4, 3)), (np.int8, (7,)), (np.int16, (2, 3)), (np.int32, (3, 2, 2, 2)),
    (np.float32, (4, 6)), (np.float64, (3,))])
def test_idx_round_trip(tmp_path, suffix, dtype, shape):
    rng = np.random.default_rng(0)
    arr = (rng.normal(size=shape) * 50).astype(dtype)
    path = write_idx(tmp_path / f"a-idx{len(shape)}-ubyte{suffix}", arr)
    raw = path.read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == (suffix == ".gz")
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == shape
    np.testing.assert_array_equal(back, arr)


def test_idx_header_layout_is_big_endian(tmp_path):
    path = write_idx(tmp_path / "x.idx", np.arange(6, dtype=np.int32).reshape(2, 3))
    raw = path.read_bytes()
    assert raw[:4] == bytes([0, 0, 0x0C, 2])
    assert raw[4:12] == (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
    assert raw[12:16] == (0).to_bytes(4, "big") and raw[16:20] == (1).to_bytes(4, "big")


def _valid_idx_bytes():
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    return bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in arr.shape) + arr.tobytes()


CORRUPT = {
    "empty": (b"", "empty"),
    "short_magic": (b"\x00\x00", "header truncated"),
    "wrong_magic": (b"\x12\x34\x08\x03" + _valid_idx_bytes()[4:], "wrong magic number 0x12340803"),
    "bad_type_code": (b"\x00\x00\x07\x03" + _valid_idx_bytes()[4:], "unknown data type code 0x07"),
    "zero_dims": (b"\x00\x00\x08\x00", "0 dimensions"),
    "header_cut": (_valid_idx_bytes()[:9], "header truncated"),
    "data_cut": (_valid_idx_bytes()[:-5], "data length mismatch (truncated)"),
    "trailing": (_valid_idx_bytes() + b"xx", "trailing bytes"),
    "gzip_cut": (gzip.compress(_valid_idx_bytes())[:-12], "gzip stream is truncated"),
    "gzip_empty": (gzip.compress(b""), "empty after gzip"),
    "gzip_data_cut": (gzip.compress(_valid_idx_bytes()[:-1]), "data length mismatch"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupt_idx_names_file_and_problem(tmp_path, case):
    content, problem = CORRUPT[case]
    path = tmp_path / f"{case}-idx3-ubyte.gz"
    path.write_bytes(content)
    with pytest.raises(IDXFormatError) as info:
        read_idx(path)
    msg = str(info.value)
    assert str(path) in msg
    assert problem in msg
    assert "re-download" in msg
    assert isinstance(info.value, ValueError)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.gz"):
        read_idx(tmp_path / "nope.gz")


# ----------------------------------------------------------------------------- path lookup

def test_resolve_data_dir_env_and_explicit(tmp_path, monkeypatch):
    (tmp_path / "mnist").mkdir()
    monkeypatch.setenv("TFRBM_DATA_DIR", str(tmp_path))
    assert paths.resolve_data_dir("mnist") == (tmp_path / "mnist").resolve()
    monkeypatch.delenv("TFRBM_DATA_DIR")
    # the parent folder and the data set folder itself are both accepted
    assert paths.resolve_data_dir("mnist", tmp_path) == (tmp_path / "mnist").resolve()
    assert paths.resolve_data_dir("mnist", tmp_path / "mnist") == (tmp_path / "mnist").resolve()
    # a folder of a different name counts when it holds the required files
    other = tmp_path / "my_digits"
    other.mkdir()
    (other / "a.gz").write_bytes(b"x")
    assert paths.resolve_data_dir("mnist", other, required=["a.gz"]) == other.resolve()


def test_resolve_data_dir_missing_says_where_and_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("TFRBM_DATA_DIR", raising=False)
    with pytest.raises(FileNotFoundError) as info:
        paths.resolve_data_dir("no_such_dataset_xyz")
    msg = str(info.value)
    assert "no_such_dataset_xyz" in msg and "--data-dir" in msg and "TFRBM_DATA_DIR" in msg
    assert "shared" in msg  # lists the places it looked
    # an explicit folder lacking the data set is reported, never silently replaced
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "mnist")):
        paths.resolve_data_dir("mnist", tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        paths.resolve_data_dir("mnist", tmp_path / "typo")
    monkeypatch.setenv("TFRBM_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="TFRBM_DATA_DIR"):
        paths.resolve_data_dir("no_such_dataset_xyz")


# ----------------------------------------------------------------------------- real data

def test_real_mnist_test_split(data_dir):
    x, y = im.load_mnist("test", data_dir=data_dir, source="files")
    assert x.shape == (10000, 784) and x.dtype == np.float32
    assert y.shape == (10000,) and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    assert np.bincount(y).tolist() == MNIST_TEST_COUNTS
    assert y[:5].tolist() == [7, 2, 1, 0, 4]
    assert 0.12 < x.mean() < 0.14  # MNIST's well-known mean intensity, 0.1325
    x3, _ = im.load_mnist("test", data_dir=data_dir / "mnist", flatten=False)
    assert x3.shape == (10000, 28, 28)
    np.testing.assert_array_equal(x3.reshape(10000, -1), x)


def test_real_fashion_mnist_test_split(data_dir):
    x, y = im.load_fashion_mnist("test", data_dir=data_dir, source="files")
    assert x.shape == (10000, 784) and 0.0 <= x.min() and x.max() == 1.0
    assert np.bincount(y).tolist() == [1000] * 10


def test_real_mnist_dataset_batches(data_dir):
    ds = im.mnist("test", data_dir=data_dir, limit=250, batch_size=100, with_labels=True, seed=1)
    batches = list(ds.as_numpy_iterator())
    assert [b[0].shape for b in batches] == [(100, 784), (100, 784), (50, 784)]
    xb = np.concatenate([b[0] for b in batches])
    assert xb.dtype == np.float32 and set(np.unique(xb)) <= {0.0, 1.0}
    assert batches[0][1][:5].tolist() == [7, 2, 1, 0, 4]  # the test split is not shuffled
    x, _ = im.load_mnist("test", data_dir=data_dir)
    # stochastic binarization keeps the mean intensity
    assert abs(xb.mean() - x[:250].mean()) < 0.01


# ----------------------------------------------------------------------------- IDX folders

def _fake_mnist(folder, n_img=12, n_lab=12):
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    imgs = rng.integers(0, 256, size=(n_img, 28, 28), dtype=np.uint8)
    labs = rng.integers(0, 10, size=n_lab).astype(np.uint8)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", imgs)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", labs)
    return imgs, labs


def test_load_from_idx_folder(tmp_path):
    imgs, labs = _fake_mnist(tmp_path / "mnist")
    x, y = im.load_mnist("test", data_dir=tmp_path, source="files")
    np.testing.assert_allclose(x, imgs.reshape(12, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, labs)
    # a folder of any name that holds the IDX files directly works too
    other = tmp_path / "elsewhere"
    other.mkdir()
    for f in (tmp_path / "mnist").iterdir():
        (other / f.name).write_bytes(f.read_bytes())
    np.testing.assert_array_equal(im.load_mnist("test", data_dir=other, source="files")[1], labs)
    x.fill(0)  # callers get their own copy, not the cache
    x2, _ = im.load_mnist("test", data_dir=tmp_path, source="files")
    assert x2.max() > 0


def test_idx_folder_problems(tmp_path):
    _fake_mnist(tmp_path / "mnist", n_img=12, n_lab=11)
    with pytest.raises(IDXFormatError, match="12 images but .* 11 labels"):
        im.load_mnist("test", data_dir=tmp_path, source="files")
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte.gz.*--data-dir"):
        im.load_mnist("test", data_dir=tmp_path, source="files")
    with pytest.raises(ValueError, match="unknown split 'valid'"):
        im.load_mnist("valid", data_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown source"):
        im.load_mnist("test", data_dir=tmp_path, source="web")


def test_corrupt_file_is_not_hidden_by_tfds_fallback(tmp_path, monkeypatch):
    _fake_mnist(tmp_path / "mnist")
    path = tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:40])
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)
    with pytest.raises(IDXFormatError, match="t10k-images-idx3-ubyte.gz"):
        im.load_mnist("test", data_dir=tmp_path, source="auto")


def test_load_images_or_digits_falls_back_only_when_mnist_is_missing(tmp_path, monkeypatch):
    """The course notebooks' loader: MNIST when found, the bundled digits when not; never a corrupt
    file hidden behind the fallback."""
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)
    name, shape, (x, y), (xt, yt) = im.load_images_or_digits("auto", n_train=100, n_test=50, data_dir=tmp_path)
    assert (name, shape, x.shape, y.shape, xt.shape, yt.shape) == ("digits", (8, 8), (100, 64), (100,),
                                                                   (50, 64), (50,))
    imgs, labs = _fake_mnist(tmp_path / "mnist")
    for kind, arr in (("images-idx3", imgs), ("labels-idx1", labs)):
        write_idx(tmp_path / "mnist" / f"train-{kind}-ubyte.gz", arr)
    name, shape, (x, y), (xt, yt) = im.load_images_or_digits("auto", n_train=5, data_dir=tmp_path)
    assert (name, shape, x.shape, xt.shape) == ("mnist", (28, 28), (5, 784), (12, 784))
    np.testing.assert_array_equal(yt, labs)
    assert im.load_images_or_digits("digits", n_test=7)[3][0].shape == (7, 64)
    path = tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(IDXFormatError, match="t10k-images-idx3-ubyte.gz"):
        im.load_images_or_digits("auto", data_dir=tmp_path)


def _fake_tfds(calls, fail=False):
    def load(name, split, batch_size, as_supervised):
        calls.append((name, split, batch_size, as_supervised))
        if fail:
            raise ConnectionError("no network")
        imgs = np.full((3, 28, 28, 1), 255, dtype=np.uint8)
        return imgs, np.array([1, 2, 3], dtype=np.int64)
    return types.SimpleNamespace(load=load, as_numpy=lambda d: d)


def test_tfds_source_and_auto_fallback(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", _fake_tfds(calls))
    x, y = im.load_fashion_mnist("train", source="tfds")
    assert calls == [("fashion_mnist", "train", -1, True)]
    assert x.shape == (3, 784) and x.dtype == np.float32 and x.max() == 1.0
    assert y.tolist() == [1, 2, 3]
    # an explicit data folder is authoritative: no files there is an error, never a download
    with pytest.raises(FileNotFoundError, match="data_dir argument"):
        im.load_mnist("test", data_dir=tmp_path, source="auto")
    assert calls[-1][0] == "fashion_mnist", "tfds must not be tried for an explicit data_dir"
    # with no folder named anywhere and none found, "auto" falls back to tfds
    monkeypatch.delenv("TFRBM_DATA_DIR", raising=False)
    (tmp_path / "nowhere" / "cwd").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "nowhere" / "cwd")
    monkeypatch.setattr(paths, "_REPO", tmp_path / "nowhere" / "repo")
    x, _ = im.load_mnist("test", source="auto", flatten=False)
    assert x.shape == (3, 28, 28) and calls[-1][0] == "mnist"
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", _fake_tfds(calls, fail=True))
    with pytest.raises(FileNotFoundError) as info:
        im.load_mnist("test", source="auto")
    assert "no network" in str(info.value) and "--data-dir" in str(info.value)


# ----------------------------------------------------------------------------- digits

def test_digits_is_the_offline_default():
    x, y = im.load_digits()
    assert x.shape == (1797, 64) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    xtr, ytr = im.load_digits("train")
    xte, yte = im.load_digits("test", flatten=False)
    assert xtr.shape == (1500, 64) and xte.shape == (297, 8, 8)
    np.testing.assert_array_equal(np.concatenate([xtr, xte.reshape(297, 64)]), x)
    assert set(ytr) == set(range(10)) and set(yte) == set(range(10))
    assert im.image_shape("digits") == (8, 8) and im.image_shape("fashion-mnist") == (28, 28)
    with pytest.raises(ValueError, match="unknown image data set"):
        im.image_shape("cifar")


def test_digits_stratified_holdout_is_fixed_balanced_and_complementary():
    x, y = im.load_digits()
    xtr, ytr = im.load_digits("train", holdout="stratified")
    xte, yte = im.load_digits("test", holdout="stratified")
    assert xtr.shape == (1500, 64) and xte.shape == (297, 64)
    # every class in proportion to its size (largest remainder): 29 or 30 of ~180 each
    counts = np.bincount(yte, minlength=10)
    expected = np.bincount(y) * 297 / len(y)
    assert np.all(np.abs(counts - expected) < 1) and counts.sum() == 297
    # train and test partition the 1,797 images: no image in both, none lost
    rows = {r.tobytes() for r in x}
    assert len({r.tobytes() for r in xtr} | {r.tobytes() for r in xte}) == len(rows)
    assert sorted(np.concatenate([ytr, yte])) == sorted(y)
    # fixed: the same draw every call, unlike the "last" holdout
    np.testing.assert_array_equal(im.load_digits("test", holdout="stratified")[0], xte)
    assert not np.array_equal(xte, im.load_digits("test")[0])
    with pytest.raises(ValueError, match="unknown digits holdout 'random'"):
        im.load_digits("test", holdout="random")
    with pytest.raises(ValueError, match="applies to the digits only"):
        im.load_images("mnist", "test", holdout="last")

    raw = list(im.digits(binarize=None, shuffle=False, batch_size=500).as_numpy_iterator())
    assert [b.shape[0] for b in raw] == [500, 500, 500, 297]
    np.testing.assert_array_equal(np.concatenate(raw), x)
    ds = im.digits("train", batch_size=100, limit=300, with_labels=True, seed=0)
    xb, yb = next(iter(ds))
    assert xb.shape == (100, 64) and yb.dtype.name == "int64"
    assert set(np.unique(xb.numpy())) <= {0.0, 1.0}


# ----------------------------------------------------------------------------- binarization

def _epochs(ds, n):
    return [np.concatenate(list(ds.as_numpy_iterator())) for _ in range(n)]


def test_stochastic_binarization_fresh_each_epoch_with_right_mean():
    p = np.linspace(0.0, 1.0, 21, dtype=np.float32)
    x = np.tile(p, (600, 1))
    ds = pipeline.make_dataset(x, batch_size=64, shuffle=False, seed=3, binarize="stochastic")
    e1, e2, e3 = _epochs(ds, 3)
    assert set(np.unique(e1)) == {0.0, 1.0} and e1.dtype == np.float32
    # fresh draws: two epochs disagree on about 2 p (1 - p) of the entries
    expected = float(np.mean(2 * p * (1 - p)))
    assert abs((e1 != e2).mean() - expected) < 0.02
    assert (e2 != e3).mean() > 0.2
    # P(v = 1) = p: per pixel over 1800 draws, sd <= 0.012, tolerance 0.05
    means = np.concatenate([e1, e2, e3]).mean(axis=0)
    np.testing.assert_allclose(means, p, atol=0.05)
    assert means[0] == 0.0 and means[-1] == 1.0
    # reproducible given the seed
    again = _epochs(pipeline.make_dataset(x, batch_size=64, shuffle=False, seed=3,
                                          binarize="stochastic"), 2)
    np.testing.assert_array_equal(again[0], e1)
    np.testing.assert_array_equal(again[1], e2)


def test_stochastic_binarization_is_fresh_each_epoch_under_fit():
    import keras
    import tensorflow as tf

    class Recorder(keras.Model):
        def __init__(self):
            super().__init__()
            self.seen = tf.Variable(tf.zeros((10, 20)), trainable=False)

        def train_step(self, data):
            self.seen.assign(data)
            return {"mean": tf.reduce_mean(data)}

    model = Recorder()
    model.compile()
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(model.seen.numpy().copy()))
    x = np.full((10, 20), 0.5, dtype=np.float32)
    ds = pipeline.make_dataset(x, batch_size=10, shuffle=False, binarize="stochastic", seed=0)
    model.fit(ds, epochs=3, verbose=0, shuffle=False, callbacks=[record])
    assert len(seen) == 3
    for a, b in [(0, 1), (1, 2), (0, 2)]:
        assert 0.3 < (seen[a] != seen[b]).mean() < 0.7  # about 2 p (1 - p) = 0.5


def test_shuffle_reshuffles_each_epoch_and_keeps_labels_aligned():
    x = np.arange(40, dtype=np.float32).reshape(20, 2) / 40
    y = np.arange(20)
    ds = pipeline.make_dataset(x, y, batch_size=8, seed=0)
    orders = []
    for _ in range(2):
        xs, ys = zip(*ds.as_numpy_iterator())
        xs, ys = np.concatenate(xs), np.concatenate(ys)
        np.testing.assert_allclose(xs, x[ys])
        assert sorted(ys.tolist()) == list(range(20))
        orders.append(ys.tolist())
    assert orders[0] != orders[1]
    ds = pipeline.make_dataset(x, batch_size=8, shuffle=False, drop_remainder=True, repeat=True)
    assert [b.shape[0] for b in ds.take(5).as_numpy_iterator()] == [8] * 5


def test_threshold_and_none_and_numpy_binarize():
    x = np.array([[0.0, 0.49, 0.5, 0.51, 1.0]], dtype=np.float32)
    assert pipeline.binarize(x, "threshold").tolist() == [[0, 0, 1, 1, 1]]
    np.testing.assert_array_equal(pipeline.binarize(x, "none"), x)
    ds = pipeline.make_dataset(np.repeat(x, 3, axis=0), batch_size=3, binarize="threshold")
    assert next(iter(ds)).numpy().tolist() == [[0, 0, 1, 1, 1]] * 3
    big = np.full((400, 50), 0.3, dtype=np.float32)
    s1, s2 = pipeline.binarize(big, "stochastic", seed=1), pipeline.binarize(big, "stochastic")
    assert abs(s1.mean() - 0.3) < 0.02 and s1.dtype == np.float32
    np.testing.assert_array_equal(s1, pipeline.binarize(big, "stochastic", seed=1))
    assert (s1 != s2).any()
    import tensorflow as tf
    t = pipeline.binarize(tf.constant(big), "stochastic")
    assert tf.is_tensor(t) and abs(float(tf.reduce_mean(t)) - 0.3) < 0.02
    with pytest.raises(ValueError, match="'stochastic', 'threshold', 'none'"):
        pipeline.binarize(x, "bernoulli")
    with pytest.raises(ValueError, match="unknown binarize mode"):
        pipeline.make_dataset(x, binarize="round")


def test_make_dataset_rejects_bad_input():
    x = np.full((4, 3), 0.5, dtype=np.float32)
    with pytest.raises(ValueError, match="4 examples in x but 3 in y"):
        pipeline.make_dataset(x, np.arange(3))
    with pytest.raises(ValueError, match="outside \\[0, 1\\]"):
        pipeline.make_dataset(x * 3, binarize="stochastic")
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        pipeline.make_dataset(x, batch_size=0)
    with pytest.raises(ValueError, match="empty"):
        pipeline.make_dataset(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="limit must be a positive integer"):
        im.digits(limit=0)


# ----------------------------------------------------------------------------- check_array

@pytest.mark.parametrize("value,kwargs,message", [
    (np.zeros((3, 700)), {"n_features": 784}, "expected 784 features, got 700"),
    (np.array([[0.1, np.nan]]), {}, "contains NaN or Inf"),
    (np.array([[0.1, np.inf]]), {}, "contains NaN or Inf"),
    (np.array([[0.1, 1.5]]), {"bernoulli": True}, "values outside \\[0, 1\\] for Bernoulli visible units"),
    (np.array([[-0.1, 0.5]]), {"bernoulli": True}, "outside \\[0, 1\\]"),
    (np.zeros((0, 4)), {}, "data set is empty"),
    (np.array([["a", "b"]], dtype=object), {}, "non-numeric dtype object"),
    (np.array([["a", "b"]]), {}, "non-numeric dtype <U1"),
    (np.zeros(5), {}, "must be 2-D"),
    (np.zeros((2, 2, 2)), {}, "must be 2-D"),
    ([[1.0, 2.0], [3.0]], {}, "not a rectangular array"),
])
def test_check_array_errors(value, kwargs, message):
    with pytest.raises(ValueError, match=message):
        pipeline.check_array(value, **kwargs)


def test_check_array_accepts_and_converts():
    import tensorflow as tf
    out = pipeline.check_array(np.array([[0, 1], [1, 0]], dtype=np.uint8), n_features=2,
                               bernoulli=True)
    assert out.dtype == np.float32 and out.tolist() == [[0, 1], [1, 0]]
    assert pipeline.check_array(tf.ones((2, 3))).dtype == np.float32
    assert pipeline.check_array([[True, False]]).tolist() == [[1.0, 0.0]]
    assert pipeline.check_array(np.array([[5.0, -2.0]])).tolist() == [[5.0, -2.0]]


def test_public_names_reachable_from_package():
    import tfrbm.data as data
    for name in ["resolve_data_dir", "make_dataset", "binarize", "binarize_tensor", "check_array",
                 "read_idx", "IDXFormatError", "load_mnist", "load_fashion_mnist", "load_digits",
                 "mnist", "fashion_mnist", "digits", "image_shape", "load_images_or_digits"]:
        assert callable(getattr(data, name)), name


def test_make_dataset_turns_the_autotuner_off_unless_asked():
    """tf.data's autotuner is off by default (it slowed a third of CPU epochs 1.8x, RESULTS.md),
    the map then runs on every core, and the batches are the same either way."""
    import numpy as np
    from tfrbm.data.pipeline import make_dataset
    x = np.random.default_rng(0).random((50, 6)).astype("float32")
    off = make_dataset(x, batch_size=8, shuffle=True, seed=3, binarize="stochastic")
    on = make_dataset(x, batch_size=8, shuffle=True, seed=3, binarize="stochastic", autotune=True)
    assert off.options().autotune.enabled is False
    assert on.options().autotune.enabled is not False
    for a, b in zip(off, on):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_rbm_fit_on_arrays_is_reproducible_and_batches_as_asked():
    import keras
    import numpy as np
    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel
    x = (np.random.default_rng(1).random((90, 12)) < 0.4).astype("float32")

    def trained():
        m = RBMModel(RBMLayer(4, kernel_initializer=keras.initializers.RandomNormal(seed=2)),
                     seed=5)
        m.compile(optimizer=keras.optimizers.SGD(0.1))
        m.fit(x, batch_size=20, epochs=2, verbose=0)     # shuffled every epoch
        return m
    a, b = trained(), trained()
    np.testing.assert_array_equal(a.layer.kernel.numpy(), b.layer.kernel.numpy())
    assert int(a.optimizer.iterations.numpy()) == 2 * 5      # ceil(90 / 20) steps per epoch
