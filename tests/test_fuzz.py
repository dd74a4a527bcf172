"""Hypothesis fuzzing: readers and argument checks either succeed or raise ValueError, never crash."""
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tfrbm.data import text
from tfrbm.data.images import IDXFormatError, read_idx, write_idx
from tfrbm.data.pipeline import check_array
from tfrbm.data.ratings import RatingsFormatError, read_ratings_file
from tfrbm.errors import UserError

FAST = settings(max_examples=60, deadline=None, derandomize=True,  # reproducible in CI
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _valid_idx(shape, dtype):
    arr = (np.arange(int(np.prod(shape))) % 100).astype(dtype).reshape(shape)
    code = {np.uint8: 0x08, np.int16: 0x0B, np.float32: 0x0D}[dtype]
    header = bytes([0, 0, code, len(shape)]) + b"".join(int(s).to_bytes(4, "big") for s in shape)
    return header + arr.astype(np.dtype(dtype).newbyteorder(">")).tobytes(), arr


@FAST
@given(raw=st.binary(max_size=64))
def test_read_idx_random_bytes(tmp_path, raw):
    path = tmp_path / "fuzz-idx"
    path.write_bytes(raw)
    try:
        arr = read_idx(path)
    except IDXFormatError as exc:
        assert str(path) in str(exc) or path.name in str(exc)
    else:
        assert isinstance(arr, np.ndarray) and arr.ndim >= 1


@FAST
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       dtype=st.sampled_from([np.uint8, np.int16, np.float32]),
       cut=st.integers(0, 200), flip=st.integers(0, 40), value=st.integers(0, 255))
def test_read_idx_damaged_valid_files(tmp_path, shape, dtype, cut, flip, value):
    raw, arr = _valid_idx(tuple(shape), dtype)
    path = tmp_path / "ok-idx"
    path.write_bytes(raw)
    np.testing.assert_array_equal(read_idx(path), arr)
    damaged = bytearray(raw[:max(0, len(raw) - cut)] if cut < len(raw) else b"")
    if flip < len(damaged):
        damaged[flip] = value
    path.write_bytes(bytes(damaged))
    try:
        out = read_idx(path)
    except IDXFormatError:
        return
    # a read that succeeds returns the file's payload: the original shape, and exactly the bytes
    # after the header (a flipped data byte shows up, nothing is dropped, padded or reordered)
    assert len(damaged) == len(raw)    # a shortened file is never accepted
    assert out.shape == arr.shape
    header = 4 + 4 * arr.ndim
    assert out.astype(out.dtype.newbyteorder(">")).tobytes() == bytes(damaged[header:])


@FAST
@given(arr=st.lists(st.integers(0, 255), min_size=1, max_size=30))
def test_write_then_read_idx(tmp_path, arr):
    a = np.array(arr, dtype=np.uint8)
    write_idx(tmp_path / "w-idx1-ubyte", a)
    np.testing.assert_array_equal(read_idx(tmp_path / "w-idx1-ubyte"), a)


_field = st.one_of(st.integers(-3, 2000).map(str), st.sampled_from(["", "x", "1.5", " ", "::"]))


@FAST
@given(lines=st.lists(st.lists(_field, min_size=0, max_size=6), max_size=6))
def test_read_ratings_random_lines(tmp_path, lines):
    path = tmp_path / "u.data"
    body = "".join("\t".join(fields) + "\n" for fields in lines)
    path.write_text(body)
    try:
        triples, stamps = read_ratings_file(path)
    except RatingsFormatError as exc:
        if body.strip():
            assert "u.data line" in str(exc)
        else:
            assert "u.data: file is empty" in str(exc)
    else:
        assert triples.shape == (len(lines), 3) and stamps.shape == (len(lines),)
        assert ((triples[:, 2] >= 1) & (triples[:, 2] <= 5)).all()


@FAST
@given(words=st.lists(st.sampled_from(["a", "b", "c", "zz", "<unk>"]), max_size=12),
       unk=st.one_of(st.none(), st.integers(), st.text(max_size=6), st.sampled_from(["<unk>", "error", "a"])))
def test_words_to_ids_policy(words, unk):
    vocab, word_to_id = text.build_word_vocab(["a", "b", "c", "<unk>"], max_size=10)
    try:
        ids = text.words_to_ids(words, word_to_id, unk=unk)
    except ValueError as exc:
        assert "unk" in str(exc) or "vocabulary" in str(exc)
    else:
        assert len(ids) == len(words) and all(0 <= i < len(vocab) for i in np.asarray(ids))


_numbers = st.floats(allow_nan=True, allow_infinity=True, width=32)


@FAST
@given(rows=st.integers(0, 4), cols=st.integers(0, 4), fill=_numbers,
       ndim=st.integers(1, 3), bernoulli=st.booleans())
def test_check_array(rows, cols, fill, ndim, bernoulli):
    shape = (rows, cols, 2)[:ndim]
    x = np.full(shape, fill, dtype=np.float32)
    try:
        out = check_array(x, name="fuzzed", n_features=None, bernoulli=bernoulli)
    except UserError as exc:
        # the error names the data and the problem that the input really has
        message = str(exc)
        assert message.startswith("fuzzed")
        if x.size == 0 or ndim != 2:
            assert "empty" in message or "2-D" in message, message
        elif not math.isfinite(fill):
            assert "NaN or Inf" in message, message
        else:
            assert bernoulli and not 0 <= fill <= 1 and "outside [0, 1]" in message, message
        return
    assert out.ndim == 2 and out.size > 0 and np.isfinite(out).all()
    if bernoulli:
        assert (out >= 0).all() and (out <= 1).all()


_anything = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(-3, 3), st.just(float("nan")),
                      st.text(max_size=3))


@FAST
@given(units=_anything, cd_k=_anything, n_chains=_anything)
def test_rbm_constructor_arguments(units, cd_k, n_chains):
    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel
    try:
        model = RBMModel(RBMLayer(units), cd_k=cd_k, n_chains=n_chains)
    except UserError as exc:
        # the message names an argument that is really wrong, and shows its value
        bad = [name for name, value in (("units", units), ("cd_k", cd_k), ("n_chains", n_chains))
               if isinstance(value, bool) or not isinstance(value, int) or value < 1]
        assert bad and any(f"{name} must be a positive integer, got {value!r}" in str(exc)
                           for name, value in (("units", units), ("cd_k", cd_k),
                                               ("n_chains", n_chains)) if name in bad), str(exc)
        return
    for value in (units, cd_k, n_chains):
        assert isinstance(value, int) and not isinstance(value, bool) and value >= 1
    assert (model.layer.units, model.cd_k, model.n_chains) == (units, cd_k, n_chains)


@FAST
@given(rate=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3)))
def test_check_learning_rate_fuzz(rate):
    from tfrbm.safety import check_learning_rate
    try:
        out = check_learning_rate(float(rate))
    except ValueError:
        assert not (math.isfinite(rate) and rate > 0)
    else:
        assert out == float(rate) and out > 0


@FAST
@given(every=_anything, freq=_anything)
def test_callback_arguments(tmp_path, every, freq):
    from tfrbm.resume import TrainingBackup
    from tfrbm.safety import StopOnNonFinite
    try:
        StopOnNonFinite(check_every=every)
    except ValueError:
        assert not (isinstance(every, int) and not isinstance(every, bool) and every >= 1)
    try:
        TrainingBackup(tmp_path, save_freq=freq)
    except ValueError:
        assert not (isinstance(freq, int) and not isinstance(freq, bool) and freq >= 1)
