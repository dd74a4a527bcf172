"""The text readers: PTB word windows (as the old reader.ptb_iterator) and tiny-shakespeare chars."""
import numpy as np
import pytest

from tfrbm.data import text


def reference_ptb_iterator(raw, batch_size, num_steps):
    """A literal transcription of the old TF tutorial's reader.ptb_iterator loop."""
    raw = np.array(raw, dtype=np.int32)
    batch_len = len(raw) // batch_size
    data = np.zeros([batch_size, batch_len], dtype=np.int32)
    for i in range(batch_size):
        data[i] = raw[batch_len * i:batch_len * (i + 1)]
    epoch_size = (batch_len - 1) // num_steps
    for i in range(epoch_size):
        yield data[:, i * num_steps:(i + 1) * num_steps], data[:, i * num_steps + 1:(i + 1) * num_steps + 1]


def test_ptb_windows_match_hand_computed_ones():
    # 23 tokens, batch 2 -> batch_len 11, rows 0..10 and 11..21 (22 dropped); epoch_size (11-1)//3 = 3
    x, y = text.ptb_windows(np.arange(23), batch_size=2, num_steps=3)
    assert x.shape == y.shape == (3, 2, 3)
    np.testing.assert_array_equal(x[0], [[0, 1, 2], [11, 12, 13]])
    np.testing.assert_array_equal(y[0], [[1, 2, 3], [12, 13, 14]])
    np.testing.assert_array_equal(x[1], [[3, 4, 5], [14, 15, 16]])
    np.testing.assert_array_equal(y[2], [[7, 8, 9], [18, 19, 20]])
    assert x.dtype == np.int32


@pytest.mark.parametrize("n,batch,steps", [(1000, 7, 5), (95, 3, 4), (61, 20, 2), (500, 1, 13)])
def test_ptb_windows_equal_the_old_iterator(n, batch, steps):
    ids = np.random.default_rng(n).integers(0, 50, n)
    ours = list(text.ptb_iterator(ids, batch, steps))
    ref = list(reference_ptb_iterator(ids, batch, steps))
    assert len(ours) == len(ref) == ((n // batch) - 1) // steps
    for (x, y), (rx, ry) in zip(ours, ref):
        np.testing.assert_array_equal(x, rx)
        np.testing.assert_array_equal(y, ry)


def test_ptb_dataset_yields_the_windows_in_order():
    ids = np.arange(203)
    x, y = text.ptb_windows(ids, 4, 5)
    batches = list(text.ptb_dataset(ids, batch_size=4, num_steps=5).as_numpy_iterator())
    assert len(batches) == len(x) == 9
    for (bx, by), wx, wy in zip(batches, x, y):
        np.testing.assert_array_equal(bx, wx)
        np.testing.assert_array_equal(by, wy)


def test_window_arguments_are_checked():
    with pytest.raises(ValueError, match="too few"):
        text.ptb_windows(np.arange(10), batch_size=4, num_steps=3)
    with pytest.raises(ValueError, match="batch_size"):
        text.ptb_windows(np.arange(100), batch_size=0, num_steps=3)
    with pytest.raises(ValueError, match="num_steps"):
        text.char_windows(np.arange(100), batch_size=2, num_steps=2.5)
    with pytest.raises(ValueError, match="too few"):
        text.char_windows(np.arange(10), batch_size=4, num_steps=3)


def test_read_words_turns_newlines_into_eos(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text(" a b \n c a \n")
    assert text.read_words(path) == ["a", "b", "<eos>", "c", "a", "<eos>"]
    with pytest.raises(FileNotFoundError):
        text.read_words(tmp_path / "missing.txt")


def test_word_vocab_sorted_by_count_then_word():
    vocab, word_to_id = text.build_word_vocab("b a c b a d b <eos>".split(), max_size=3)
    assert vocab == ["b", "a", "<eos>"]  # b x3, a x2, then ties alphabetically: <eos> < c < d
    assert word_to_id == {"b": 0, "a": 1, "<eos>": 2}
    with pytest.raises(ValueError, match="max_size"):
        text.build_word_vocab(["a"], max_size=0)


def test_unknown_word_policy():
    vocab = {"<unk>": 0, "the": 1, "cat": 2}
    np.testing.assert_array_equal(text.words_to_ids(["the", "dog", "cat"], vocab), [1, 0, 2])
    np.testing.assert_array_equal(text.words_to_ids(["the", "dog"], vocab, unk="cat"), [1, 2])
    with pytest.raises(ValueError, match="'dog' at position 1 is not in the vocabulary"):
        text.words_to_ids(["the", "dog"], vocab, unk="error")
    with pytest.raises(ValueError, match="unknown-token policy"):
        text.words_to_ids(["the"], vocab, unk="<oov>")
    with pytest.raises(ValueError, match="unk must be"):
        text.words_to_ids(["the"], vocab, unk=None)


def test_char_vocab_and_windows():
    chars, char_to_id = text.build_char_vocab("abcbcc d")
    assert chars == ["c", "b", "a", " ", "d"]  # by count; a/space/d tie at 1, first appearance
    assert char_to_id["c"] == 0
    # 13 ids, batch 2, steps 3 -> 2 windows from the first 12; targets shift by one, last wraps
    x, y = text.char_windows(np.arange(13), batch_size=2, num_steps=3)
    assert x.shape == (2, 2, 3)
    np.testing.assert_array_equal(x[0], [[0, 1, 2], [6, 7, 8]])
    np.testing.assert_array_equal(x[1], [[3, 4, 5], [9, 10, 11]])
    np.testing.assert_array_equal(y[1], [[4, 5, 6], [10, 11, 0]])
    batches = list(text.char_dataset(np.arange(13), 2, 3).as_numpy_iterator())
    np.testing.assert_array_equal(batches[1][1], y[1])


def test_tiny_shakespeare_source_is_checked():
    with pytest.raises(ValueError, match="source"):
        text.load_tiny_shakespeare(source="web")
    with pytest.raises(ValueError, match="splits"):
        text.load_tiny_shakespeare(splits=(0.5, 0.6, 0.1))


def test_real_ptb(data_dir):
    data = text.load_ptb(data_dir)
    assert data.vocab_size == 10000 and "<eos>" in data.word_to_id
    assert (len(data.train), len(data.valid), len(data.test)) == (929589, 73760, 82430)
    assert data.decode(data.train[:2]) == ["aer", "banknote"]
    x, y = text.ptb_windows(data.train, 60, 20)
    assert x.shape == (774, 60, 20)  # the course's 774 batches per epoch
    np.testing.assert_array_equal(x[0, 1, :4], [901, 33, 3361, 8])  # as printed in the lab
    np.testing.assert_array_equal(y[0, :, :-1], x[0, :, 1:])
    with pytest.raises(ValueError, match="not in the vocabulary"):
        text.load_ptb(data_dir, vocab_size=50, unk="error")


def test_real_tiny_shakespeare(data_dir):
    data = text.load_tiny_shakespeare(data_dir, source="files")
    assert data.vocab_size == 65
    assert data.chars[0] == " " and data.chars[1] == "e"  # most frequent first
    assert len(data.train) + len(data.valid) + len(data.test) == 1115394
    assert abs(len(data.valid) - 55770) <= 1
    assert data.decode(data.train[:14]) == "First Citizen:"
    np.testing.assert_array_equal(data.encode("First"), data.train[:5])
    with pytest.raises(ValueError, match="not in the vocabulary"):
        data.encode("~")
