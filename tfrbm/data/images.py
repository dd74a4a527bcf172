"""Image data: IDX files (MNIST, Fashion-MNIST), TensorFlow Datasets, and scikit-learn's bundled digits.

Loaders (``load_*``) return numpy ``(x, y)``: x float32 intensities in [0, 1], shape (N, H*W)
(or (N, H, W) with ``flatten=False``), y int64 class labels. Dataset builders (``mnist``,
``fashion_mnist``, ``digits``, ``image_dataset``) wrap them in :func:`tfrbm.data.make_dataset`,
binarizing stochastically by default (a pixel is 1 with probability equal to its intensity,
drawn fresh each epoch).

``digits`` (8x8, 1,797 images, shipped inside scikit-learn) is the embedded default that works
offline; MNIST and Fashion-MNIST come from a folder of the standard IDX .gz files (see
:func:`tfrbm.data.resolve_data_dir`) or from ``tensorflow_datasets``.
"""
import functools
import gzip
import io
import math
import numbers
import os
import pathlib
import zlib

import numpy as np

from tfrbm.data.paths import ENV_VAR, resolve_data_dir
from tfrbm.data.pipeline import make_dataset
from tfrbm.errors import DataNotFoundError, UserError

__all__ = [
    "IDXFormatError",
    "IMAGE_DATASETS",
    "digits",
    "fashion_mnist",
    "image_dataset",
    "image_shape",
    "load_digits",
    "load_fashion_mnist",
    "load_images",
    "load_images_or_digits",
    "load_mnist",
    "mnist",
    "read_idx",
    "write_idx",
]

IMAGE_DATASETS = ("digits", "mnist", "fashion_mnist")

_SHAPES = {"digits": (8, 8), "mnist": (28, 28), "fashion_mnist": (28, 28)}

# Number of digits images in the deterministic training split; the remaining 297 are the test split.
DIGITS_TRAIN_SIZE = 1500
#: the ways :func:`load_digits` can choose its 297 test images
DIGITS_HOLDOUTS = ("last", "stratified")

_REDOWNLOAD = "re-download it (or delete it and use source='tfds')"


class IDXFormatError(UserError):
    """An IDX file is empty, truncated or not IDX at all."""


# IDX type code -> big-endian numpy dtype (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT").
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {dt.newbyteorder("="): code for code, dt in _IDX_DTYPES.items()}


def _bad(path, problem):
    return IDXFormatError(f"{path}: {problem}; the file is damaged or not an IDX file: {_REDOWNLOAD}")


#: the largest IDX payload tfrbm reads (MNIST's biggest file is 47 MB once decompressed)
MAX_IDX_BYTES = 1 << 30


def _declared_size(path, head):
    """Header bytes and the total size the IDX header in ``head`` declares (None if too short)."""
    if len(head) < 4:
        return None
    ndim = head[3]
    header = 4 + 4 * ndim
    if len(head) < header or head[2] not in _IDX_DTYPES:
        return None
    dims = [int.from_bytes(head[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return header + math.prod(dims) * _IDX_DTYPES[head[2]].itemsize


def _gunzip_bounded(path, raw):
    """Decompress a gzip IDX stream, never holding more than the header declares (+1 byte).

    The header is decompressed first; the rest is read in bounded pieces and the read stops as
    soon as the data exceeds the declared size (or MAX_IDX_BYTES), so a gzip bomb (a small
    file that inflates to gigabytes) is refused after about one piece, in bounded memory.
    """
    with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
        head = stream.read(4 + 4 * 255)
        declared = _declared_size(path, head)
        limit = MAX_IDX_BYTES if declared is None else declared
        if limit > MAX_IDX_BYTES:
            raise _bad(path, f"header declares {limit:,} bytes, more than the {MAX_IDX_BYTES:,} "
                             "tfrbm reads (MAX_IDX_BYTES)")
        pieces, size = [head], len(head)
        while size <= limit:
            piece = stream.read(min(1 << 20, limit + 1 - size))
            if not piece:
                break
            pieces.append(piece)
            size += len(piece)
        if size > limit:
            raise _bad(path, "data length mismatch (has trailing bytes): the gzip stream "
                             f"inflates past the {limit:,} bytes its header declares; refused "
                             "without decompressing the rest")
    return b"".join(pieces)


def _read_bytes(path):
    path = pathlib.Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"IDX file not found: {path}")
    raw = path.read_bytes()
    if not raw:
        raise _bad(path, "file is empty (0 bytes)")
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = _gunzip_bounded(path, raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise _bad(path, f"gzip stream is truncated or corrupt ({exc})") from None
        if not raw:
            raise _bad(path, "file is empty after gzip decompression")
    return raw


def read_idx(path):
    """Read an IDX file (gzip-compressed or raw) into a native-byte-order numpy array.

    Layout: magic = two zero bytes, a type code (0x08 ubyte ... 0x0E float64) and the number of
    dimensions; then one big-endian uint32 per dimension; then the data, big-endian, C order.
    Raises IDXFormatError naming the file and the problem.
    """
    path = pathlib.Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise _bad(path, f"header truncated: {len(raw)} bytes, an IDX magic number needs 4")
    magic = int.from_bytes(raw[:4], "big")
    if raw[0] != 0 or raw[1] != 0:
        raise _bad(path, f"wrong magic number 0x{magic:08X} (IDX files start with 0x0000)")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise _bad(path, f"wrong header: unknown data type code 0x{code:02X} in magic number "
                         f"0x{magic:08X} (expected one of "
                         + ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES) + ")")
    if ndim == 0:
        raise _bad(path, f"wrong header: magic number 0x{magic:08X} declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise _bad(path, f"header truncated: {ndim} dimensions need {header} header bytes, "
                         f"the file has {len(raw)}")
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = _IDX_DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize
    got = len(raw) - header
    if got != expected:
        what = "truncated" if got < expected else "has trailing bytes"
        raise _bad(path, f"data length mismatch ({what}): header says shape {dims} of "
                         f"{dtype.newbyteorder('=').name} = {expected} bytes, found {got}")
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))


def write_idx(path, array, compress=None):
    """Write ``array`` as an IDX file (gzip when ``compress`` is True or the name ends in .gz)."""
    path = pathlib.Path(path)
    arr = np.asarray(array)
    key = arr.dtype.newbyteorder("=")
    if key not in _IDX_CODES:
        raise UserError(f"IDX cannot store dtype {arr.dtype}; use one of "
                         + ", ".join(dt.newbyteorder('=').name for dt in _IDX_DTYPES.values()))
    if arr.ndim == 0 or arr.ndim > 255:
        raise UserError(f"IDX needs 1 to 255 dimensions, got {arr.ndim}")
    code = _IDX_CODES[key]
    header = bytes([0, 0, code, arr.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in arr.shape)
    payload = header + np.ascontiguousarray(arr, dtype=_IDX_DTYPES[code]).tobytes()
    if compress is None:
        compress = path.suffix == ".gz"
    if compress:
        payload = gzip.compress(payload, mtime=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    return path


@functools.lru_cache(maxsize=8)
def _read_idx_cached(path, mtime_ns, size):
    arr = read_idx(path)
    arr.setflags(write=False)
    return arr


def _read_idx_fast(path):
    st = os.stat(path)
    return _read_idx_cached(str(path), st.st_mtime_ns, st.st_size)


# --------------------------------------------------------------------------- IDX image sets

_IDX_PREFIX = {"train": "train", "test": "t10k"}


def _idx_candidates(prefix, kind, rank):
    stem = f"{prefix}-{kind}-idx{rank}-ubyte"
    dotted = f"{prefix}-{kind}.idx{rank}-ubyte"
    return [stem + ".gz", stem, dotted + ".gz", dotted]


def _check_split(split, allowed):
    if split not in allowed:
        raise UserError(f"unknown split {split!r}; expected one of "
                         + ", ".join(repr(s) for s in allowed))


def _idx_folder(name, prefix, data_dir):
    """The data set folder; an explicit data_dir holding the IDX files directly also counts."""
    if data_dir is not None:
        base = pathlib.Path(data_dir).expanduser()
        if not (base / name).is_dir() and any(
                (base / n).is_file() for n in _idx_candidates(prefix, "images", 3)):
            return base
    return resolve_data_dir(name, data_dir)


def _load_idx_pair(name, split, data_dir):
    prefix = _IDX_PREFIX[split]
    folder = _idx_folder(name, prefix, data_dir)
    found = []
    for kind, rank in (("images", 3), ("labels", 1)):
        names = _idx_candidates(prefix, kind, rank)
        path = next((folder / n for n in names if (folder / n).is_file()), None)
        if path is None:
            raise DataNotFoundError(
                f"{name} {split} {kind} not found in {folder} (looked for {names[0]} or "
                f"{names[1]}); download the standard IDX files into that folder, point "
                f"--data-dir / {ENV_VAR} at a folder holding {name}/, or use source='tfds'")
        found.append(path)
    images, labels = (_read_idx_fast(p) for p in found)
    if images.ndim != 3:
        raise _bad(found[0], f"expected a 3-D image array (N, rows, cols), got shape {images.shape}")
    if labels.ndim != 1:
        raise _bad(found[1], f"expected a 1-D label array, got shape {labels.shape}")
    if images.shape[0] != labels.shape[0]:
        raise IDXFormatError(
            f"{found[0]} holds {images.shape[0]} images but {found[1]} holds {labels.shape[0]} "
            f"labels; one of them is truncated or from another data set: {_REDOWNLOAD}")
    return images, labels


def _load_tfds(name, split):
    try:
        import tensorflow_datasets as tfds
        import importlib_resources  # noqa: F401  (tfds imports it lazily inside load())
    except ImportError as exc:
        raise DataNotFoundError(
            f"tensorflow-datasets cannot load {name!r}: module {exc.name!r} is missing "
            f"(pip install tensorflow-datasets importlib_resources, or pass --data-dir with the "
            f"IDX files)") from exc
    try:
        data = tfds.as_numpy(tfds.load(name, split=split, batch_size=-1, as_supervised=True))
    except Exception as exc:  # network, checksum or preparation failures
        raise DataNotFoundError(
            f"tensorflow-datasets could not load {name!r} split {split!r}: "
            f"{type(exc).__name__}: {exc}. Without internet access, pass --data-dir (or set "
            f"{ENV_VAR}) to a folder holding {name}/ with the IDX .gz files") from exc
    images, labels = data
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    return images, np.asarray(labels)


def _to_xy(images, labels, flatten):
    x = np.asarray(images, dtype=np.float32)
    if np.issubdtype(np.asarray(images).dtype, np.integer):
        x /= 255.0
    if flatten:
        x = x.reshape(x.shape[0], -1)
    return x, np.asarray(labels).astype(np.int64)


def _load_idx_dataset(name, split, data_dir, source, flatten):
    _check_split(split, ("train", "test"))
    if source not in ("auto", "files", "tfds"):
        raise UserError(f"unknown source {source!r}; expected 'auto', 'files' or 'tfds'")
    if source == "tfds":
        return _to_xy(*_load_tfds(name, split), flatten)
    try:
        pair = _load_idx_pair(name, split, data_dir)
    except FileNotFoundError as files_error:
        if source == "files" or data_dir is not None:
            raise  # an explicit data folder is authoritative: never a download instead
        try:
            pair = _load_tfds(name, split)
        except FileNotFoundError as tfds_error:
            raise DataNotFoundError(
                f"{name} is unavailable. Files: {files_error} TFDS: {tfds_error}") from tfds_error
    return _to_xy(*pair, flatten)


def load_mnist(split="train", data_dir=None, source="auto", flatten=True):
    """MNIST digits as (x float32 in [0, 1], shape (N, 784) or (N, 28, 28); y int64).

    ``source``: "files" reads train-/t10k-{images-idx3,labels-idx1}-ubyte.gz from
    ``resolve_data_dir("mnist", data_dir)``; "tfds" uses ``tensorflow_datasets.load("mnist")``;
    "auto" uses the files when found, else tfds; with an explicit ``data_dir`` only that
    folder counts (a wrong one raises FileNotFoundError, never a download). Corrupt files raise
    IDXFormatError (never a silent fallback).
    """
    return _load_idx_dataset("mnist", split, data_dir, source, flatten)


def load_fashion_mnist(split="train", data_dir=None, source="auto", flatten=True):
    """Fashion-MNIST, exactly like :func:`load_mnist` (folder and tfds name "fashion_mnist")."""
    return _load_idx_dataset("fashion_mnist", split, data_dir, source, flatten)


def load_digits(split="all", flatten=True, holdout="last"):
    """scikit-learn's bundled 8x8 digits (1,797 images), intensities / 16 -> float32 in [0, 1].

    Works offline. ``split``: "all", "train" (1,500 images) or "test" (297). ``holdout`` chooses
    the 297 test images:

    - "last": the last 297 in the bundled (unshuffled) order of the UCI optdigits test set (13
      writers). They behave like unseen handwriting, a hard split: SVC reaches 0.953 and
      3-nearest-neighbours 0.960 on it (0.983 each on "stratified").
    - "stratified": a fixed class-stratified random draw (numpy seed 0, independent of any
      training seed; every class in proportion), the usual ``train_test_split(stratify=y)``
      protocol, where the test writers also appear in training.

    Both are deterministic; "train" is always the complement of "test".
    """
    _check_split(split, ("all", "train", "test"))
    if holdout not in DIGITS_HOLDOUTS:
        raise UserError(f"unknown digits holdout {holdout!r}; expected one of "
                         + ", ".join(repr(h) for h in DIGITS_HOLDOUTS))
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    x = (np.asarray(bunch.images, dtype=np.float32) / 16.0)
    y = np.asarray(bunch.target, dtype=np.int64)
    if split != "all":
        test = _digits_test_rows(y, holdout)
        rows = test if split == "test" else np.setdiff1d(np.arange(len(y)), test)
        x, y = x[rows], y[rows]
    if flatten:
        x = x.reshape(x.shape[0], -1)
    return np.ascontiguousarray(x), y


def _digits_test_rows(y, holdout):
    """Sorted row numbers of the digits test split (see :func:`load_digits`)."""
    n_test = len(y) - DIGITS_TRAIN_SIZE
    if holdout == "last":
        return np.arange(DIGITS_TRAIN_SIZE, len(y))
    rng = np.random.default_rng(0)
    classes, counts = np.unique(y, return_counts=True)
    # largest-remainder allocation of the test rows over classes, proportional to class size
    quota = counts * n_test / len(y)
    take = np.floor(quota).astype(int)
    take[np.argsort(-(quota - take), kind="stable")[:n_test - take.sum()]] += 1
    rows = [rng.permutation(np.flatnonzero(y == c))[:k] for c, k in zip(classes, take)]
    return np.sort(np.concatenate(rows))


def image_shape(name):
    """(rows, cols) of one image of data set ``name``: (8, 8) for digits, (28, 28) for (fashion_)mnist."""
    key = str(name).lower().replace("-", "_")
    if key not in _SHAPES:
        raise UserError(f"unknown image data set {name!r}; expected one of "
                         + ", ".join(repr(n) for n in IMAGE_DATASETS))
    return _SHAPES[key]


def load_images(name, split="train", data_dir=None, source="auto", flatten=True, holdout=None):
    """Load image data set ``name`` ("digits", "mnist" or "fashion_mnist") as numpy (x, y).

    ``holdout`` (digits only; None means "last"): see :func:`load_digits`. MNIST and
    Fashion-MNIST have one official test split, so a holdout for them is an error.
    """
    key = str(name).lower().replace("-", "_")
    if holdout is not None and key != "digits":
        raise UserError(f"holdout={holdout!r} applies to the digits only; {name} has one official "
                        "test split")
    if key == "digits":
        return load_digits(split=split, flatten=flatten, holdout=holdout or "last")
    if key == "mnist":
        return load_mnist(split, data_dir=data_dir, source=source, flatten=flatten)
    if key == "fashion_mnist":
        return load_fashion_mnist(split, data_dir=data_dir, source=source, flatten=flatten)
    raise UserError(f"unknown image data set {name!r}; expected one of "
                     + ", ".join(repr(n) for n in IMAGE_DATASETS))


def load_images_or_digits(name="auto", n_train=None, n_test=None, data_dir=None):
    """The images a course notebook asks for, as ``(name, shape, (x_train, y_train), (x_test, y_test))``.

    ``name`` is "mnist", "fashion_mnist", "digits" or "auto": MNIST when it can be loaded (see
    :func:`load_mnist`), else scikit-learn's bundled 8x8 digits, so that a notebook runs offline.
    Only a missing data set falls back; a corrupt file still raises. ``n_train`` / ``n_test``
    keep the first N images of each split (None keeps them all). The returned name says which
    set was used.
    """
    if name == "auto":
        try:
            load_mnist("test", data_dir=data_dir)
            name = "mnist"
        except FileNotFoundError:   # DataNotFoundError included: no MNIST here
            name = "digits"
    train = _limit(*load_images(name, "train", data_dir=data_dir), n_train)
    test = _limit(*load_images(name, "test", data_dir=data_dir), n_test)
    return name, image_shape(name), train, test


def _limit(x, y, limit):
    if limit is None:
        return x, y
    if isinstance(limit, bool) or not isinstance(limit, numbers.Integral) or limit < 1:
        raise UserError(f"limit must be a positive integer or None, got {limit!r}")
    return x[:limit], y[:limit]


def image_dataset(name, split="train", binarize="stochastic", batch_size=100, shuffle=None,
                  with_labels=False, limit=None, data_dir=None, source="auto", seed=None,
                  flatten=True, **pipeline_kwargs):
    """A batched tf.data.Dataset of image data set ``name`` (see :func:`make_dataset`).

    ``shuffle=None`` shuffles the "train" and "all" splits only; ``limit`` keeps the first N
    examples; ``with_labels`` yields (x, y) tuples; extra keyword arguments go to make_dataset.
    """
    x, y = load_images(name, split=split, data_dir=data_dir, source=source, flatten=flatten)
    x, y = _limit(x, y, limit)
    if shuffle is None:
        shuffle = split in ("train", "all")
    return make_dataset(x, y if with_labels else None, batch_size=batch_size, shuffle=shuffle,
                        seed=seed, binarize=binarize, **pipeline_kwargs)


def mnist(split="train", binarize="stochastic", batch_size=100, shuffle=None, with_labels=False,
          limit=None, data_dir=None, source="auto", seed=None, flatten=True, **pipeline_kwargs):
    """MNIST as a tf.data.Dataset of float32 batches, stochastically binarized fresh each epoch by default."""
    return image_dataset("mnist", split, binarize, batch_size, shuffle, with_labels, limit,
                         data_dir, source, seed, flatten, **pipeline_kwargs)


def fashion_mnist(split="train", binarize="stochastic", batch_size=100, shuffle=None,
                  with_labels=False, limit=None, data_dir=None, source="auto", seed=None,
                  flatten=True, **pipeline_kwargs):
    """Fashion-MNIST as a tf.data.Dataset, exactly like :func:`mnist`."""
    return image_dataset("fashion_mnist", split, binarize, batch_size, shuffle, with_labels,
                         limit, data_dir, source, seed, flatten, **pipeline_kwargs)


def digits(split="all", binarize="stochastic", batch_size=100, shuffle=None, with_labels=False,
           limit=None, data_dir=None, source="auto", seed=None, flatten=True, **pipeline_kwargs):
    """The bundled 8x8 digits (offline) as a tf.data.Dataset, exactly like :func:`mnist`.

    ``data_dir`` and ``source`` are accepted for a uniform signature and ignored: the data
    ships inside scikit-learn.
    """
    return image_dataset("digits", split, binarize, batch_size, shuffle, with_labels, limit,
                         None, "auto", seed, flatten, **pipeline_kwargs)
