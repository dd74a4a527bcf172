"""The recommenders' common base: :class:`RatingModel` and its top-N lists.

:class:`RatingModel` keeps the id bookkeeping (raw user and movie ids to dense indices, with a
:class:`~tfrbm.errors.UserError` naming an unknown id), the checks of the training ratings, and
the training matrix as CSR rows. Its subclasses (the RBM recommender, the baselines, the
ranking baselines and the course's lab RBM) implement ``fit`` (calling ``_prepare``) and
``score_users(user_index) -> (len(user_index), n_movies)`` predicted ratings; they then share
``predict(user_ids, movie_ids)`` and ``recommend(user, n)``, which returns
:class:`Recommendations`. How well they do on held-out ratings: :mod:`tfrbm.models.rating_evaluation`.
"""
import dataclasses

import numpy as np

from tfrbm.data.ratings import RatingsData, UserMovieCounts, as_triples
from tfrbm.errors import UserError
from tfrbm.validation import check_param, whole_number

__all__ = ["RatingModel", "Recommendations", "check_unique_pairs"]


@dataclasses.dataclass
class Recommendations:
    """A top-N list: raw movie ids, their titles and ranking scores, best first.

    ``ratings``: the predicted (expected) ratings of the listed movies when the model has a
    rating model beside its ranking (the hybrid ``RBMRecommender``), else None.
    """
    movie_ids: np.ndarray
    titles: list
    scores: np.ndarray
    ratings: np.ndarray = None

    def __len__(self):
        return len(self.movie_ids)

    def __iter__(self):
        return iter(zip(self.movie_ids.tolist(), self.titles, self.scores.tolist()))

    def to_dicts(self):
        out = [{"movie_id": m, "title": t, "score": round(s, 4)} for m, t, s in self]
        if self.ratings is not None:
            for d, r in zip(out, self.ratings.tolist()):
                d["predicted_rating"] = round(r, 4)
        return out


def check_unique_pairs(triples):
    """UserError when a (user, movie) pair is rated more than once (it would count twice)."""
    # unique rows, not an arithmetic key: any ids (negative or huge) stay distinct
    pairs = triples[:, :2].astype(np.int64)
    uniq, inverse, counts = np.unique(pairs, axis=0, return_inverse=True, return_counts=True)
    if (counts > 1).any():
        first = np.flatnonzero(inverse.reshape(-1) == np.flatnonzero(counts > 1)[0])[:2]
        raise UserError(f"{int((counts > 1).sum())} (user, movie) pair(s) are rated more than "
                        f"once, e.g. user {triples[first[0], 0]} movie {triples[first[0], 1]} "
                        f"rated {triples[first[0], 2]} and {triples[first[1], 2]}; keep one "
                        f"rating per pair (e.g. the latest)")


class RatingModel(UserMovieCounts):
    """Base for rating predictors: id bookkeeping, validation, training matrix as CSR.

    Subclasses implement ``_fit()`` (training rows are in ``self._csr``) and
    ``score_users(user_index) -> (len(user_index), n_movies)`` predicted ratings.
    """
    n_levels = 5
    #: whether ``predict`` gives ratings (False for the rankers on the watched matrix)
    predicts_ratings = True

    def _check_ratings(self, ratings):
        bad = (ratings < 1) | (ratings > self.n_levels)
        if bad.any():
            raise UserError(f"ratings must be whole numbers from 1 to {self.n_levels}; got "
                             f"{sorted(set(ratings[bad].tolist()))[:5]}")

    def _prepare(self, data, titles=None):
        triples = as_triples(data)
        if len(triples) == 0:
            raise UserError("no ratings to fit")
        self._check_ratings(triples[:, 2])
        check_unique_pairs(triples)
        if isinstance(data, RatingsData):
            self.user_ids, self.movie_ids = data.user_ids.copy(), data.movie_ids.copy()
            self.titles = dict(data.titles)
        elif getattr(self, "user_ids", None) is None:
            self.user_ids = np.unique(triples[:, 0])
            self.movie_ids = np.unique(triples[:, 1])
            self.titles = {}
        if titles:
            self.titles = {int(k): str(v) for k, v in dict(titles).items()}
        u = self._user_index(triples[:, 0])
        m = self._movie_index(triples[:, 1])
        self._set_training_rows(u, m, triples[:, 2])

    def _set_training_rows(self, u, m, r):
        order = np.lexsort((m, u))
        u, m, r = u[order], m[order], r[order]
        indptr = np.zeros(len(self.user_ids) + 1, dtype=np.int64)
        np.add.at(indptr, u + 1, 1)
        self._csr = (np.cumsum(indptr), m.astype(np.int32), r.astype(np.int32))
        self.global_mean = float(r.mean())

    def _lookup(self, ids, universe, what):
        if getattr(self, "user_ids", None) is None:
            raise UserError(f"{type(self).__name__} is not fitted yet: call fit() first")
        ids = np.asarray(ids).reshape(-1)
        if ids.dtype.kind == "f" and np.any(ids != np.round(ids)):
            raise UserError(f"{what} ids must be integers")
        ids = ids.astype(np.int64)
        pos = np.searchsorted(universe, ids)
        pos = np.minimum(pos, len(universe) - 1)
        unknown = universe[pos] != ids
        if unknown.any():
            shown = ", ".join(str(i) for i in np.unique(ids[unknown])[:5])
            raise UserError(f"unknown {what} id(s): {shown} ({int(unknown.sum())} in all); the "
                             f"model knows {len(universe)} {what}s with ids "
                             f"{universe[0]}..{universe[-1]}")
        return pos

    def _user_index(self, user_ids):
        return self._lookup(user_ids, self.user_ids, "user")

    def _movie_index(self, movie_ids):
        return self._lookup(movie_ids, self.movie_ids, "movie")

    def _rows_of(self, user_index):
        """Training entries (row in batch, movie index, rating) of the given dense users."""
        indptr, cols, vals = self._csr
        user_index = np.asarray(user_index, dtype=np.int64)
        starts, ends = indptr[user_index], indptr[user_index + 1]
        lengths = ends - starts
        rows = np.repeat(np.arange(len(user_index)), lengths)
        offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        take = np.repeat(starts, lengths) + offsets
        return rows.astype(np.int32), cols[take], vals[take]

    def seen(self, user_index):
        """Dense movie indices the dense user ``user_index`` rated in training."""
        indptr, cols, _ = self._csr
        return cols[indptr[user_index]:indptr[user_index + 1]]

    def predict(self, user_ids, movie_ids, batch_size=256):
        """Predicted ratings (float array) for the pairs (user_ids[i], movie_ids[i])."""
        u = self._user_index(user_ids)
        m = self._movie_index(movie_ids)
        if len(u) != len(m):
            raise UserError(f"user_ids and movie_ids differ in length: {len(u)} vs {len(m)}")
        return self._predict_pairs(u, m, batch_size)

    def _predict_pairs(self, u, m, batch_size=256):
        out = np.empty(len(u), dtype=np.float64)
        users, inverse = np.unique(u, return_inverse=True)
        for start in range(0, len(users), batch_size):
            chunk = users[start:start + batch_size]
            scores = self.score_users(chunk)
            sel = np.flatnonzero((inverse >= start) & (inverse < start + len(chunk)))
            out[sel] = scores[inverse[sel] - start, m[sel]]
        return out

    def _user_scores_for(self, user):
        """(scores over all movies, dense indices already seen) for a user id or ratings."""
        if isinstance(user, (int, np.integer)):
            u = int(self._user_index([user])[0])
            return self.score_users(np.array([u]))[0], self.seen(u)
        return self._score_new_user(user)

    def _score_new_user(self, user_ratings):
        raise NotImplementedError(f"{type(self).__name__} only recommends for known users")

    def _parse_user_ratings(self, user_ratings):
        if isinstance(user_ratings, dict):
            pairs = np.array(list(user_ratings.items()), dtype=np.float64).reshape(-1, 2)
        else:
            pairs = np.asarray(user_ratings, dtype=np.float64).reshape(-1, 2)
        if np.any(pairs != np.round(pairs)):
            raise UserError("user ratings must be whole movie ids and whole ratings 1-5")
        pairs = pairs.astype(np.int64)
        self._check_ratings(pairs[:, 1])
        return self._movie_index(pairs[:, 0]), pairs[:, 1]

    def recommend(self, user, n=10, exclude_seen=True):
        """Top-``n`` movies for ``user``: a known user id, or a new user's ratings given as
        {movie id: rating} or [(movie id, rating), ...]. Returns :class:`Recommendations`."""
        n = check_param("n", n, whole_number(1))
        scores, seen = self._user_scores_for(user)
        scores = np.array(scores, dtype=np.float64)
        if exclude_seen and len(seen):
            scores[seen] = -np.inf
        order = np.argsort(-scores, kind="stable")[:n]
        order = order[np.isfinite(scores[order])]
        ids = self.movie_ids[order]
        titles = [self.titles.get(int(i), f"movie {int(i)}") for i in ids]
        return Recommendations(ids, titles, scores[order])
