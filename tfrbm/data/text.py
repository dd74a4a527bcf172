"""Text readers for the language-model labs: PTB words and tiny-shakespeare characters.

Both readers turn a token stream into consecutive ``[batch, steps]`` windows whose targets are the
inputs shifted by one token, the layout a stateful (truncated-BPTT) language model needs:

* PTB (word level), as the old ``reader.ptb_iterator``: the id stream is cut to
  ``batch * batch_len`` tokens and reshaped to ``[batch, batch_len]`` (row r is a contiguous
  slice of the corpus); window i is ``x = data[:, i*steps:(i+1)*steps]`` and
  ``y = data[:, i*steps+1:(i+1)*steps+1]``, for ``i < epoch_size = (batch_len - 1) // steps``.
* tiny-shakespeare (character level), as the course's ``TextLoader``: the stream is cut to
  ``num_batches * batch * steps`` characters, targets are the stream shifted by one with the last
  target wrapping round to the first character, and both are split into ``num_batches`` windows.

Row r of window i+1 continues row r of window i, so a model that carries its state across
consecutive batches sees one long sequence per row.

The vocabulary is built from the training text only: PTB words are sorted by count (ties by
word), 10,000 of them including ``<eos>`` (each newline becomes ``<eos>``); characters are sorted by
count, ties in order of first appearance (65 characters on tiny-shakespeare).
"""
import collections
import dataclasses
import pathlib

import numpy as np

from tfrbm.data.paths import resolve_data_dir
from tfrbm.data.pipeline import make_dataset
from tfrbm.errors import DataNotFoundError, UserError
from tfrbm.validation import POSITIVE_INT, check_param

__all__ = [
    "EOS", "UNK",
    "read_words", "build_word_vocab", "words_to_ids", "PTBData", "load_ptb",
    "ptb_windows", "ptb_iterator", "ptb_dataset",
    "build_char_vocab", "CharData", "load_tiny_shakespeare", "char_windows", "char_dataset",
]

EOS = "<eos>"
UNK = "<unk>"
_PTB_FILES = {"train": "ptb.train.txt", "valid": "ptb.valid.txt", "test": "ptb.test.txt"}


# ----------------------------------------------------------------------------------- words (PTB)

def read_words(path):
    """Read a whitespace-tokenised text file into a list of words, each newline becoming ``<eos>``."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"text file {str(path)!r} does not exist")
    with open(path, encoding="utf-8") as handle:
        words = handle.read().replace("\n", f" {EOS} ").split()
    if not words:
        raise UserError(f"text file {str(path)!r} is empty (no words)")
    return words


def build_word_vocab(words, max_size=10000):
    """The ``max_size`` most frequent words, sorted by count (descending) then alphabetically.

    Returns ``(vocabulary, word_to_id)``: the list of words (id = position) and its inverse map.
    """
    if max_size is not None and (not isinstance(max_size, int) or max_size < 1):
        raise UserError(f"max_size must be a positive integer or None, got {max_size!r}")
    counts = collections.Counter(words)
    if not counts:
        raise UserError("cannot build a vocabulary from an empty word list")
    vocab = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:max_size]
    return vocab, {w: i for i, w in enumerate(vocab)}


def _check_unk_policy(unk, word_to_id):
    if not isinstance(unk, str) or not unk:
        raise UserError(f"unk must be a vocabulary word (such as {UNK!r}) or 'error', got {unk!r}")
    if unk != "error" and unk not in word_to_id:
        raise UserError(
            f"unknown-token policy unk={unk!r} is neither 'error' nor a word of the vocabulary; "
            f"pass unk='error' to reject out-of-vocabulary words or a word that is in it")


def words_to_ids(words, word_to_id, unk=UNK):
    """Map words to int32 ids.

    ``unk`` is the policy for words outside the vocabulary: a vocabulary word (default ``<unk>``)
    that stands in for them, or ``"error"`` to raise a ValueError naming the first such word.
    """
    _check_unk_policy(unk, word_to_id)
    if unk == "error":
        ids = []
        for pos, word in enumerate(words):
            try:
                ids.append(word_to_id[word])
            except KeyError:
                raise UserError(
                    f"word {word!r} at position {pos} is not in the vocabulary "
                    f"(unk='error'); use unk={UNK!r} to map unknown words to a token") from None
        return np.asarray(ids, dtype=np.int32)
    fallback = word_to_id[unk]
    return np.asarray([word_to_id.get(w, fallback) for w in words], dtype=np.int32)


@dataclasses.dataclass
class PTBData:
    """The PTB splits as int32 id streams, with the vocabulary built from train."""
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    vocabulary: list
    word_to_id: dict

    @property
    def vocab_size(self):
        return len(self.vocabulary)

    def decode(self, ids):
        """Ids back to words."""
        return [self.vocabulary[int(i)] for i in np.asarray(ids).ravel()]


def load_ptb(data_dir=None, vocab_size=10000, unk=UNK):
    """Read ``ptb.{train,valid,test}.txt`` from the ``ptb`` data folder (tfds does not carry PTB).

    ``data_dir`` is resolved by :func:`tfrbm.data.paths.resolve_data_dir`. The vocabulary comes
    from train only; ``unk`` is the out-of-vocabulary policy of :func:`words_to_ids`.
    """
    folder = resolve_data_dir("ptb", data_dir)
    missing = [f for f in _PTB_FILES.values() if not (folder / f).is_file()]
    if missing:
        raise DataNotFoundError(f"PTB folder {str(folder)!r} lacks {', '.join(missing)}")
    train_words = read_words(folder / _PTB_FILES["train"])
    vocab, word_to_id = build_word_vocab(train_words, vocab_size)
    splits = {name: words_to_ids(train_words if name == "train" else read_words(folder / f),
                                 word_to_id, unk)
              for name, f in _PTB_FILES.items()}
    return PTBData(splits["train"], splits["valid"], splits["test"], vocab, word_to_id)


def _check_window_args(batch_size, num_steps):
    for name, value in (("batch_size", batch_size), ("num_steps", num_steps)):
        check_param(name, value, POSITIVE_INT)


def ptb_windows(ids, batch_size, num_steps):
    """All ``ptb_iterator`` windows at once: ``(x, y)`` int32 arrays of shape
    ``[epoch_size, batch_size, num_steps]`` with ``epoch_size = (len(ids)//batch_size - 1)//num_steps``.
    """
    _check_window_args(batch_size, num_steps)
    ids = np.asarray(ids, dtype=np.int32).ravel()
    batch_len = len(ids) // batch_size
    epoch_size = (batch_len - 1) // num_steps
    if epoch_size < 1:
        raise UserError(
            f"{len(ids)} tokens are too few for batch_size={batch_size} and num_steps={num_steps}: "
            f"need at least {batch_size * (num_steps + 1)}; decrease batch_size or num_steps")
    data = ids[:batch_size * batch_len].reshape(batch_size, batch_len)
    span = epoch_size * num_steps
    x = data[:, :span].reshape(batch_size, epoch_size, num_steps).transpose(1, 0, 2)
    y = data[:, 1:span + 1].reshape(batch_size, epoch_size, num_steps).transpose(1, 0, 2)
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def ptb_iterator(ids, batch_size, num_steps):
    """Yield the ``(x, y)`` windows one at a time, in order, like the old ``reader.ptb_iterator``."""
    x, y = ptb_windows(ids, batch_size, num_steps)
    yield from zip(x, y)


def _window_dataset(x, y, repeat):
    """Consecutive windows as a tf.data stream on the shared pipeline (never shuffled)."""
    epoch_size, batch_size, num_steps = x.shape
    return make_dataset(x.reshape(-1, num_steps), y.reshape(-1, num_steps), batch_size=batch_size,
                        shuffle=False, cache=True, prefetch=True, drop_remainder=True,
                        repeat=repeat)


def ptb_dataset(ids, batch_size=20, num_steps=20, repeat=False):
    """A tf.data stream of the :func:`ptb_windows` batches in order: ``(x, y)`` of ``[batch, steps]``."""
    return _window_dataset(*ptb_windows(ids, batch_size, num_steps), repeat)


# ------------------------------------------------------------------------ characters (Shakespeare)

def build_char_vocab(text):
    """Characters sorted by count (descending), ties in order of first appearance.

    Returns ``(chars, char_to_id)``.
    """
    if not text:
        raise UserError("cannot build a character vocabulary from empty text")
    counts = collections.Counter(text)
    chars = [c for c, _ in sorted(counts.items(), key=lambda kv: -kv[1])]
    return chars, {c: i for i, c in enumerate(chars)}


@dataclasses.dataclass
class CharData:
    """A character corpus: id streams for train/validation/test and the vocabulary."""
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    chars: list
    char_to_id: dict

    @property
    def vocab_size(self):
        return len(self.chars)

    def encode(self, text):
        unknown = sorted(set(text) - set(self.char_to_id))
        if unknown:
            raise UserError(f"characters {unknown!r} are not in the vocabulary")
        return np.asarray([self.char_to_id[c] for c in text], dtype=np.int32)

    def decode(self, ids):
        return "".join(self.chars[int(i)] for i in np.asarray(ids).ravel())


def _read_shakespeare_tfds(data_dir):
    import tensorflow_datasets as tfds
    parts = []
    for split in ("train", "validation", "test"):
        ds = tfds.load("tiny_shakespeare", split=split, data_dir=data_dir)
        parts.append("".join(ex["text"].decode("utf-8") for ex in tfds.as_numpy(ds)))
    return parts


def load_tiny_shakespeare(data_dir=None, source="auto", splits=(0.9, 0.05, 0.05)):
    """Read tiny-shakespeare and split it into contiguous train/validation/test character streams.

    ``source``: ``"files"`` reads ``input.txt`` from the ``tiny_shakespeare`` data folder,
    ``"tfds"`` loads the TensorFlow Datasets copy (same text, same 90/5/5 split), ``"auto"`` tries
    the files first. The vocabulary is built from the whole text (65 characters), as in the lab.
    """
    if source not in ("auto", "files", "tfds"):
        raise UserError(f"source must be 'auto', 'files' or 'tfds', got {source!r}")
    if len(splits) != 3 or any(f < 0 for f in splits) or abs(sum(splits) - 1.0) > 1e-6:
        raise UserError(f"splits must be three non-negative fractions summing to 1, got {splits!r}")
    parts = None
    if source in ("auto", "files"):
        try:
            path = resolve_data_dir("tiny_shakespeare", data_dir) / "input.txt"
            if not path.is_file():
                raise DataNotFoundError(f"{str(path)!r} does not exist")
            text = path.read_text(encoding="utf-8")
            n_train = int(round(len(text) * splits[0]))
            n_valid = int(round(len(text) * splits[1]))
            parts = [text[:n_train], text[n_train:n_train + n_valid], text[n_train + n_valid:]]
        except FileNotFoundError:
            if source == "files":
                raise
    if parts is None:
        parts = _read_shakespeare_tfds(data_dir)
    chars, char_to_id = build_char_vocab("".join(parts))
    streams = [np.asarray([char_to_id[c] for c in part], dtype=np.int32) for part in parts]
    return CharData(*streams, chars, char_to_id)


def char_windows(ids, batch_size, num_steps):
    """The course ``TextLoader`` windows: ``(x, y)`` of shape ``[num_batches, batch_size, num_steps]``.

    ``num_batches = len(ids) // (batch_size * num_steps)``; ``y`` is ``x`` shifted by one along the
    truncated stream, its last entry wrapping to the first character.
    """
    _check_window_args(batch_size, num_steps)
    ids = np.asarray(ids, dtype=np.int32).ravel()
    num_batches = len(ids) // (batch_size * num_steps)
    if num_batches < 1:
        raise UserError(
            f"{len(ids)} characters are too few for batch_size={batch_size} and "
            f"num_steps={num_steps}; make them smaller")
    xdata = ids[:num_batches * batch_size * num_steps]
    ydata = np.roll(xdata, -1)
    shape = (batch_size, num_batches, num_steps)
    x = xdata.reshape(shape).transpose(1, 0, 2)
    y = ydata.reshape(shape).transpose(1, 0, 2)
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def char_dataset(ids, batch_size=60, num_steps=50, repeat=False):
    """A tf.data stream of the :func:`char_windows` batches in order."""
    return _window_dataset(*char_windows(ids, batch_size, num_steps), repeat)
