"""MovieLens ratings: the GroupLens files read as (user, movie, rating) triples, with splits.

``movielens("100k")`` reads ``u.data`` (tab separated: user, item, rating, timestamp) and
``u.item`` (pipe separated, latin-1: id|title|date|...); ``movielens("1m")`` reads
``ratings.dat`` and ``movies.dat`` (``::`` separated, latin-1). ``source="tfds"`` loads the same
ratings from tensorflow-datasets (``movielens/100k-ratings``, ``movielens/1m-ratings``), which
downloads them. A line that does not parse raises :class:`RatingsFormatError` naming the file and
the line number.

The result is a :class:`RatingsData`: an (N, 3) int64 array of raw user id, raw movie id and
rating, plus titles, the id <-> dense index maps, seeded random splits, the published 100k folds
(u1-u5, ua, ub) and per-user rating rows as a ``tf.data.Dataset``.

Example::

    ds = tfrbm.data.movielens("100k")
    train, test = ds.fold("u1")          # the published 80/20 split
    rows = train.user_rows(batch_size=100, shuffle=True, seed=0)   # tf.data, ragged rows
"""
import dataclasses
import pathlib

import numpy as np

from tfrbm.data.paths import resolve_data_dir
from tfrbm.errors import DataNotFoundError, UserError

__all__ = ["movielens", "RatingsData", "RatingsFormatError", "read_ratings_file",
           "read_titles_file", "as_triples"]

VARIANTS = {
    "100k": {"folder": "movielens_100k", "ratings": "u.data", "titles": "u.item",
             "tfds": "movielens/100k-ratings"},
    "1m": {"folder": "movielens_1m", "ratings": "ratings.dat", "titles": "movies.dat",
           "tfds": "movielens/1m-ratings"},
}
FOLDS_100K = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")


class RatingsFormatError(UserError):
    """A ratings or titles file holds a line that does not parse (message names file and line)."""


def _separator(path):
    name = pathlib.Path(path).name
    if name.endswith(".dat"):
        return "::"
    if name == "u.item":
        return "|"
    return "\t"


def read_ratings_file(path, sep=None, min_rating=1, max_rating=5):
    """Read a GroupLens ratings file into (triples (N, 3) int64, timestamps (N,) int64).

    Each line is ``user SEP movie SEP rating SEP timestamp`` (``SEP`` is a tab for ``u.data`` and
    the ``uN.base/test`` folds, ``::`` for ``ratings.dat``). Blank trailing lines are ignored.
    """
    path = pathlib.Path(path)
    sep = sep or _separator(path)
    text = path.read_bytes().decode("latin-1")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not any(line.strip() for line in lines):
        raise RatingsFormatError(f"{path.name}: file is empty (no ratings); re-download the data set")
    n = len(lines)
    if all(line.count(sep) == 3 for line in lines):            # fast path: well-formed file
        try:
            flat = np.fromstring(" ".join(lines).replace(sep, " "), dtype=np.int64, sep=" ")
        except ValueError:                                     # a token that is not a number
            flat = np.empty(0, np.int64)
        out = flat.reshape(n, 4) if flat.size == 4 * n else None    # short read = a bad token
        if out is not None and np.all((out[:, 2] >= min_rating) & (out[:, 2] <= max_rating)):
            return out[:, :3].copy(), out[:, 3].copy()
    out = np.empty((n, 4), dtype=np.int64)
    for i, line in enumerate(lines):                           # slow path: find the bad line
        fields = line.rstrip("\r").split(sep)
        if len(fields) != 4:
            raise RatingsFormatError(
                f"{path.name} line {i + 1}: expected 4 {sep!r}-separated fields "
                f"(user, movie, rating, timestamp), got {len(fields)}: {line[:80]!r}")
        try:
            out[i] = [int(f) for f in fields]
        except ValueError:
            raise RatingsFormatError(
                f"{path.name} line {i + 1}: fields must be integers, got {line[:80]!r}") from None
        r = out[i, 2]
        if r < min_rating or r > max_rating:
            raise RatingsFormatError(
                f"{path.name} line {i + 1}: rating {r} is outside {min_rating}-{max_rating}")
    return out[:, :3].copy(), out[:, 3].copy()


def read_titles_file(path, sep=None):
    """Read ``u.item`` or ``movies.dat`` (latin-1) into {movie id: title}, {movie id: genres}."""
    path = pathlib.Path(path)
    sep = sep or _separator(path)
    titles, genres = {}, {}
    text = path.read_bytes().decode("latin-1")
    genre_names = None
    if path.name == "u.item" and (path.parent / "u.genre").is_file():
        pairs = [ln.split("|") for ln in
                 (path.parent / "u.genre").read_bytes().decode("latin-1").splitlines() if ln]
        genre_names = [p[0] for p in sorted(pairs, key=lambda p: int(p[1]))]
    for i, line in enumerate(text.split("\n")):
        line = line.rstrip("\r")
        if not line:
            continue
        fields = line.split(sep)
        if len(fields) < 2 or (sep == "::" and len(fields) != 3):
            raise RatingsFormatError(
                f"{path.name} line {i + 1}: expected movie id{sep}title{sep}..., got {line[:80]!r}")
        try:
            movie = int(fields[0])
        except ValueError:
            raise RatingsFormatError(
                f"{path.name} line {i + 1}: movie id must be an integer, "
                f"got {fields[0]!r}") from None
        titles[movie] = fields[1]
        if sep == "::":
            genres[movie] = tuple(g for g in fields[2].split("|") if g)
        elif genre_names is not None and len(fields) >= 5 + len(genre_names):
            flags = fields[5:5 + len(genre_names)]
            genres[movie] = tuple(g for g, f in zip(genre_names, flags) if f == "1")
    return titles, genres


def as_triples(data, name="triples"):
    """An (N, 3) int64 array of user id, movie id, rating from a RatingsData or array-like."""
    if isinstance(data, RatingsData):
        return data.triples
    try:
        arr = np.asarray(data)
    except ValueError:
        raise UserError(f"{name} must be an (N, 3) array of user id, movie id, rating") from None
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise UserError(f"{name} must be an (N, 3) array of user id, movie id, rating; "
                        f"got shape {arr.shape}")
    if arr.dtype.kind not in "iuf":
        raise UserError(f"{name} must hold numbers (integer ids and ratings), got {arr.dtype}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise UserError(f"{name} must hold whole numbers (integer ids and 1-5 ratings)")
    return arr.astype(np.int64)


class UserMovieCounts:
    """``n_users`` and ``n_movies`` of anything holding ``user_ids`` and ``movie_ids`` arrays."""

    @property
    def n_users(self):
        return len(self.user_ids)

    @property
    def n_movies(self):
        return len(self.movie_ids)


@dataclasses.dataclass
class RatingsData(UserMovieCounts):
    """Ratings as (N, 3) int64 triples of raw user id, raw movie id, rating, with their universe.

    ``user_ids``/``movie_ids`` are the sorted raw ids of the whole data set (a split keeps the
    parent's, so dense indices agree between train and test). ``titles`` maps raw movie id to
    title. ``name`` says where the data came from.
    """
    triples: np.ndarray
    user_ids: np.ndarray
    movie_ids: np.ndarray
    titles: dict = dataclasses.field(default_factory=dict)
    genres: dict = dataclasses.field(default_factory=dict)
    timestamps: np.ndarray = None
    name: str = "ratings"
    path: pathlib.Path = None

    def __post_init__(self):
        self.triples = as_triples(self.triples)
        self.user_ids = np.asarray(self.user_ids, dtype=np.int64)
        self.movie_ids = np.asarray(self.movie_ids, dtype=np.int64)
        self._user_pos = {int(u): i for i, u in enumerate(self.user_ids)}
        self._movie_pos = {int(m): i for i, m in enumerate(self.movie_ids)}

    # ---- sizes and maps -------------------------------------------------------------------
    def __len__(self):
        return len(self.triples)

    def __repr__(self):
        return (f"RatingsData({self.name!r}: {len(self)} ratings, {self.n_users} users, "
                f"{self.n_movies} movies)")

    @property
    def users(self):
        return self.triples[:, 0]

    @property
    def movies(self):
        return self.triples[:, 1]

    @property
    def ratings(self):
        return self.triples[:, 2]

    @property
    def user_index(self):
        """{raw user id: dense index 0..n_users-1}."""
        return dict(self._user_pos)

    @property
    def movie_index(self):
        """{raw movie id: dense index 0..n_movies-1}."""
        return dict(self._movie_pos)

    def dense_indices(self):
        """(user index, movie index, rating) as three int arrays in 0-based dense numbering."""
        return (np.searchsorted(self.user_ids, self.users),
                np.searchsorted(self.movie_ids, self.movies), self.ratings)

    def title(self, movie_id):
        return self.titles.get(int(movie_id), f"movie {int(movie_id)}")

    # ---- splits ---------------------------------------------------------------------------
    def subset(self, selector, name=None):
        """A RatingsData of the rows picked by a boolean mask or index array (same universe)."""
        ts = None if self.timestamps is None else self.timestamps[selector]
        return dataclasses.replace(self, triples=self.triples[selector], timestamps=ts,
                                   name=name or self.name)

    def split(self, test_fraction=0.2, seed=0, by="rating"):
        """Seeded random (train, test) split.

        ``by="rating"``: each rating goes to test with probability ``test_fraction`` (exactly
        round(N * fraction) ratings). ``by="user"``: the same fraction of each user's ratings is
        held out (at least one kept in train), so every test user has a history.
        """
        if not 0.0 < float(test_fraction) < 1.0:
            raise UserError(f"test_fraction must be in (0, 1), got {test_fraction}")
        rng = np.random.default_rng(seed)
        n = len(self)
        test = np.zeros(n, dtype=bool)
        if by == "rating":
            test[rng.permutation(n)[:int(round(n * test_fraction))]] = True
        elif by == "user":
            order = np.argsort(self.users, kind="stable")
            bounds = np.flatnonzero(np.diff(self.users[order])) + 1
            for rows in np.split(order, bounds):
                k = min(int(round(len(rows) * test_fraction)), len(rows) - 1)
                test[rng.permutation(rows)[:k]] = True
        else:
            raise UserError(f"by must be 'rating' or 'user', got {by!r}")
        return (self.subset(~test, f"{self.name}:train(seed={seed})"),
                self.subset(test, f"{self.name}:test(seed={seed})"))

    def fold(self, name):
        """The published ML-100k split ``name`` ("u1".."u5", "ua", "ub") as (train, test)."""
        if name not in FOLDS_100K:
            raise UserError(f"unknown fold {name!r}; the published ML-100k folds are "
                             f"{', '.join(FOLDS_100K)}")
        if self.path is None or not (self.path / f"{name}.base").is_file():
            raise DataNotFoundError(
                f"fold {name!r} needs {name}.base and {name}.test beside u.data (the ML-100k "
                f"files); {self.name} was not read from such a folder")
        parts = []
        for kind in ("base", "test"):
            triples, ts = read_ratings_file(self.path / f"{name}.{kind}")
            parts.append(dataclasses.replace(self, triples=triples, timestamps=ts,
                                             name=f"{self.name}:{name}.{kind}"))
        for part in parts:
            unknown = ~np.isin(part.users, self.user_ids) | ~np.isin(part.movies, self.movie_ids)
            if unknown.any():
                raise RatingsFormatError(f"{name} holds {int(unknown.sum())} ratings whose user "
                                         f"or movie is not in u.data")
        return parts[0], parts[1]

    def folds(self, names=("u1", "u2", "u3", "u4", "u5")):
        """[(name, train, test), ...] for the published folds (default: the 5-fold u1-u5)."""
        return [(n, *self.fold(n)) for n in names]

    # ---- tf.data --------------------------------------------------------------------------
    def user_rows(self, batch_size=None, shuffle=False, seed=None):
        """Per-user rating rows as a ``tf.data.Dataset``.

        Each element is ``{"user": int32 dense user index, "movies": int32[n] dense movie
        indices, "ratings": int32[n] ratings}`` for one user with at least one rating; with
        ``batch_size`` the rows are batched as ragged tensors (shape (B, None)).
        """
        import tensorflow as tf
        users, movies, ratings = self.dense_indices()
        order = np.lexsort((movies, users))
        users, movies, ratings = users[order], movies[order], ratings[order]
        uniq, starts = np.unique(users, return_index=True)
        splits = np.append(starts, len(users)).astype(np.int64)
        ds = tf.data.Dataset.from_tensor_slices({
            "user": uniq.astype(np.int32),
            "movies": tf.RaggedTensor.from_row_splits(movies.astype(np.int32), splits),
            "ratings": tf.RaggedTensor.from_row_splits(ratings.astype(np.int32), splits),
        })
        if shuffle:
            ds = ds.shuffle(len(uniq), seed=seed, reshuffle_each_iteration=True)
        if batch_size:
            ds = ds.ragged_batch(int(batch_size))
        return ds


def _from_files(variant, folder):
    spec = VARIANTS[variant]
    folder = pathlib.Path(folder)
    ratings_path = folder / spec["ratings"]
    if not ratings_path.is_file():
        raise DataNotFoundError(
            f"{ratings_path} not found: MovieLens {variant} needs {spec['ratings']} (and "
            f"{spec['titles']} for titles); pass path= to the folder holding it, or "
            f"source='tfds' to download it with tensorflow-datasets")
    triples, ts = read_ratings_file(ratings_path)
    titles, genres = {}, {}
    if (folder / spec["titles"]).is_file():
        titles, genres = read_titles_file(folder / spec["titles"])
    return RatingsData(triples=triples, user_ids=np.unique(triples[:, 0]),
                       movie_ids=np.unique(triples[:, 1]), titles=titles, genres=genres,
                       timestamps=ts, name=f"movielens-{variant}", path=folder)


def _from_tfds(variant, data_dir=None, download=True):
    import tensorflow_datasets as tfds
    ds = tfds.load(VARIANTS[variant]["tfds"], split="train", data_dir=data_dir,
                   download=download, batch_size=-1)
    ds = tfds.as_numpy(ds)
    users = np.array([int(u) for u in ds["user_id"]], dtype=np.int64)
    movies = np.array([int(m) for m in ds["movie_id"]], dtype=np.int64)
    ratings = np.asarray(ds["user_rating"]).round().astype(np.int64)
    titles = {}
    for m, t in zip(movies, ds["movie_title"]):
        titles.setdefault(int(m), t.decode("utf-8", "replace") if isinstance(t, bytes) else str(t))
    triples = np.stack([users, movies, ratings], axis=1)
    return RatingsData(triples=triples, user_ids=np.unique(users), movie_ids=np.unique(movies),
                       titles=titles, timestamps=np.asarray(ds["timestamp"], dtype=np.int64),
                       name=f"movielens-{variant}(tfds)")


def movielens(variant="100k", path=None, *, data_dir=None, source="files", download=True):
    """Load MovieLens ``variant`` ("100k" or "1m") as a :class:`RatingsData`.

    Args:
      variant: "100k" (943 users, 1,682 movies, 100,000 ratings) or "1m" (6,040 users, 3,706
        rated movies, 1,000,209 ratings).
      path: the folder holding the GroupLens files (``u.data``/``u.item`` or
        ``ratings.dat``/``movies.dat``). Default: found by
        :func:`tfrbm.data.paths.resolve_data_dir` ("movielens_100k" / "movielens_1m") under
        ``data_dir``, ``$TFRBM_DATA_DIR`` or ``../shared/datasets``.
      source: "files" (the default) or "tfds" (tensorflow-datasets, downloads when needed;
        ``data_dir`` is then its cache folder). The published folds need the files.
    """
    variant = str(variant).lower()
    if variant not in VARIANTS:
        raise UserError(f"unknown MovieLens variant {variant!r}; choose '100k' or '1m'")
    if source == "tfds":
        return _from_tfds(variant, data_dir=data_dir, download=download)
    if source != "files":
        raise UserError(f"source must be 'files' or 'tfds', got {source!r}")
    if path is None:
        path = resolve_data_dir(VARIANTS[variant]["folder"], data_dir,
                                required=(VARIANTS[variant]["ratings"],))
    return _from_files(variant, path)
