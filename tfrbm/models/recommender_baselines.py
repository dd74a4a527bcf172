"""Rating-prediction baselines beside the RBM recommender, and the shared evaluation.

* :class:`GlobalMeanBaseline`: every prediction is the mean training rating mu.
* :class:`ItemMeanBaseline`: r(u, i) = mean rating of item i (mu for unrated items).
* :class:`BiasBaseline`: r(u, i) = mu + b_u + b_i with regularised biases (alternating least
  squares, Koren 2010 / Surprise's BaselineOnly): the fallback estimate of the RBM recommender.
* :class:`PopularityBaseline`: ranks movies by their number of training ratings (predicts item
  means).
* :class:`BiasedMF`: r(u, i) = mu + b_u + b_i + p_u . q_i, a small Keras model trained with Adam
  on squared error plus L2 (Koren, Bell & Volinsky 2009).
* :class:`CourseBernoulliRBM`: the course's lab: ratings / 5 with 0 for missing, one Bernoulli
  unit per movie, 20 hidden units, CD-1 with sampled states, lr 1.0, 15 epochs, batch 100; a
  rating is predicted as 5 x the reconstruction probability.

All share the interface of :class:`RatingModel`: ``fit(triples_or_RatingsData)``,
``predict(user_ids, movie_ids)``, ``score_users(user_index)`` and ``recommend(...)``.
:func:`evaluate` measures RMSE/MAE and precision/recall/nDCG/MAP at N on a held-out set.
"""
import dataclasses
import math

import numpy as np

from tfrbm.data.ratings import RatingsData, UserMovieCounts, as_triples
from tfrbm.errors import UserError
from tfrbm.ranking_metrics import ranking_report, relevant_sets, top_n
from tfrbm.validation import Predicate, finite_number, validate_params, whole_number

__all__ = ["RatingModel", "GlobalMeanBaseline", "ItemMeanBaseline", "BiasBaseline",
           "PopularityBaseline", "BiasedMF",
           "CourseBernoulliRBM", "Recommendations", "evaluate", "ranking_metrics"]


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
    keys = triples[:, 0].astype(np.int64) * (int(triples[:, 1].max()) + 1) + triples[:, 1]
    uniq, counts = np.unique(keys, return_counts=True)
    if (counts > 1).any():
        dup = uniq[counts > 1]
        first = np.flatnonzero(keys == dup[0])[:2]
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
        if int(n) < 1:
            raise UserError(f"n must be at least 1, got {n}")
        scores, seen = self._user_scores_for(user)
        scores = np.array(scores, dtype=np.float64)
        if exclude_seen and len(seen):
            scores[seen] = -np.inf
        order = np.argsort(-scores, kind="stable")[:int(n)]
        order = order[np.isfinite(scores[order])]
        ids = self.movie_ids[order]
        titles = [self.titles.get(int(i), f"movie {int(i)}") for i in ids]
        return Recommendations(ids, titles, scores[order])


class GlobalMeanBaseline(RatingModel):
    """Predict the mean training rating for every pair."""

    def fit(self, data, **_):
        self._prepare(data)
        return self

    def score_users(self, user_index):
        return np.full((len(user_index), self.n_movies), self.global_mean)


class ItemMeanBaseline(RatingModel):
    """Predict each movie's mean training rating (the global mean for unrated movies)."""

    def fit(self, data, **_):
        self._prepare(data)
        _, cols, vals = self._csr
        sums = np.bincount(cols, weights=vals, minlength=self.n_movies)
        counts = np.bincount(cols, minlength=self.n_movies)
        self.item_means = np.where(counts > 0, sums / np.maximum(counts, 1), self.global_mean)
        return self

    def score_users(self, user_index):
        return np.broadcast_to(self.item_means, (len(user_index), self.n_movies)).copy()

    def _score_new_user(self, user_ratings):
        seen, _ = self._parse_user_ratings(user_ratings)
        return self.item_means.copy(), seen


def fit_biases(users, items, ratings, n_users, n_items, reg_user=15.0, reg_item=10.0,
               n_iter=10):
    """Regularised baseline biases by alternating least squares (Koren 2010, section 2.1):

        b_i = sum_{u in R(i)} (r_ui - mu - b_u) / (reg_item + |R(i)|)
        b_u = sum_{i in R(u)} (r_ui - mu - b_i) / (reg_user + |R(u)|)

    Returns (mu, b_user (n_users,), b_item (n_items,)); a user or item without ratings gets 0.
    """
    r = np.asarray(ratings, np.float64)
    mu = float(r.mean())
    bu, bi = np.zeros(n_users), np.zeros(n_items)
    nu = np.bincount(users, minlength=n_users)
    ni = np.bincount(items, minlength=n_items)
    for _ in range(int(n_iter)):
        bi = np.bincount(items, weights=r - mu - bu[users], minlength=n_items) / (reg_item + ni)
        bu = np.bincount(users, weights=r - mu - bi[items], minlength=n_users) / (reg_user + nu)
    return mu, bu, bi


class BiasBaseline(RatingModel):
    """r(u, i) = mu + b_u + b_i, biases from :func:`fit_biases` (Surprise's BaselineOnly, ALS)."""

    def fit(self, data, **_):
        self._prepare(data)
        indptr, cols, vals = self._csr
        users = np.repeat(np.arange(self.n_users), np.diff(indptr))
        self.mu, self.b_user, self.b_item = fit_biases(users, cols, vals, self.n_users,
                                                       self.n_movies)
        return self

    def score_users(self, user_index):
        s = self.mu + self.b_user[np.asarray(user_index)][:, None] + self.b_item[None, :]
        return np.clip(s, 1.0, self.n_levels)


class PopularityBaseline(ItemMeanBaseline):
    """Ranks movies by their number of training ratings; predicts each movie's mean rating."""

    def fit(self, data, **_):
        super().fit(data)
        self.counts = np.bincount(self._csr[1], minlength=self.n_movies).astype(np.float64)
        return self

    def ranking_scores(self, user_index):
        return np.broadcast_to(self.counts, (len(user_index), self.n_movies)).copy()


class BiasedMF(RatingModel):
    """Biased matrix factorisation in Keras: r(u, i) = mu + b_u + b_i + p_u . q_i.

    Trained with Adam on squared error with L2 penalty ``l2`` on factors and biases.
    """

    _parameter_constraints = {
        "n_factors": [whole_number(1)],
        "l2": [finite_number(0)],
        "learning_rate": [finite_number(0, low_open=True)],
        "epochs": [whole_number(1)],
        "batch_size": [whole_number(1)],
        "seed": [None, whole_number(0)],
    }

    def __init__(self, n_factors=50, l2=0.05, learning_rate=3e-3, epochs=30, batch_size=512,
                 seed=0):
        p = validate_params({"n_factors": n_factors, "l2": l2, "learning_rate": learning_rate,
                             "epochs": epochs, "batch_size": batch_size, "seed": seed},
                            self._parameter_constraints, type(self))
        for name, value in p.items():
            setattr(self, name, value)

    def fit(self, data, epochs=None, verbose=0):
        import keras
        self._prepare(data)
        indptr, cols, vals = self._csr
        users = np.repeat(np.arange(self.n_users), np.diff(indptr)).astype(np.int32)
        keras.utils.set_random_seed(self.seed)
        reg = keras.regularizers.L2(self.l2 / len(vals) * self.batch_size)
        u_in = keras.Input((), dtype="int32")
        i_in = keras.Input((), dtype="int32")
        emb = lambda n, d: keras.layers.Embedding(  # noqa: E731
            n, d, embeddings_initializer=keras.initializers.RandomNormal(0.0, 0.05),
            embeddings_regularizer=reg)
        p, q = emb(self.n_users, self.n_factors)(u_in), emb(self.n_movies, self.n_factors)(i_in)
        bu = keras.ops.squeeze(emb(self.n_users, 1)(u_in), -1)
        bi = keras.ops.squeeze(emb(self.n_movies, 1)(i_in), -1)
        out = keras.ops.sum(p * q, axis=-1) + bu + bi + self.global_mean
        self.model = keras.Model([u_in, i_in], out)
        self.model.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss="mse")
        self.model.fit([users, cols], vals.astype(np.float32), epochs=epochs or self.epochs,
                       batch_size=self.batch_size, shuffle=True, verbose=verbose)
        self._weights = [w.numpy() if hasattr(w, "numpy") else np.asarray(w)
                         for w in self.model.get_weights()]
        return self

    def score_users(self, user_index):
        P, Q, BU, BI = self._weights
        s = P[user_index] @ Q.T + BU[user_index] + BI[:, 0][None, :] + self.global_mean
        return np.clip(s, 1.0, 5.0)


class CourseBernoulliRBM(RatingModel):
    """The course lab's recommender: Bernoulli RBM on ratings/5 with 0 for missing ratings.

    p(h=1|v) = sigmoid(c + vW), p(v=1|h) = sigmoid(b + hW^T); CD-1 with sampled h0 and v1,
    plain gradient steps of size ``learning_rate``; prediction = 5 p(v=1 | h sampled from v).
    Missing ratings enter as zeros, so the model learns "unrated" as "rated 0"; that is the
    point of keeping it as a baseline. ``inputs="watched"`` feeds the 0/1 watched matrix
    instead of ratings / 5 (the lab's model on implicit feedback; scores are then 5 x
    p(watched)).
    """

    _parameter_constraints = {
        "n_hidden": [whole_number(1)],
        "learning_rate": [finite_number(0, low_open=True)],
        "epochs": [whole_number(1)],
        "batch_size": [whole_number(1)],
        "seed": [None, whole_number(0)],
        "inputs": [Predicate(lambda v: v in ("ratings", "watched"), "'ratings' or 'watched'")],
    }

    def __init__(self, n_hidden=20, learning_rate=1.0, epochs=15, batch_size=100, seed=0,
                 inputs="ratings"):
        p = validate_params({"n_hidden": n_hidden, "learning_rate": learning_rate,
                             "epochs": epochs, "batch_size": batch_size, "seed": seed,
                             "inputs": inputs},
                            self._parameter_constraints, type(self))
        for name, value in p.items():
            setattr(self, name, value)

    def _dense(self, user_index):
        rows, cols, vals = self._rows_of(user_index)
        v = np.zeros((len(user_index), self.n_movies), dtype=np.float32)
        v[rows, cols] = 1.0 if self.inputs == "watched" else vals / 5.0
        return v

    def fit(self, data, epochs=None, verbose=0):
        import tensorflow as tf
        self._prepare(data)
        rng = np.random.default_rng(self.seed)
        W = tf.Variable(tf.zeros((self.n_movies, self.n_hidden)))
        vb = tf.Variable(tf.zeros((self.n_movies,)))
        hb = tf.Variable(tf.zeros((self.n_hidden,)))
        gen = tf.random.Generator.from_seed(self.seed)
        lr = self.learning_rate

        @tf.function
        def step(v0):
            h0p = tf.sigmoid(v0 @ W + hb)
            h0 = tf.nn.relu(tf.sign(h0p - gen.uniform(tf.shape(h0p))))
            v1p = tf.sigmoid(h0 @ tf.transpose(W) + vb)
            v1 = tf.nn.relu(tf.sign(v1p - gen.uniform(tf.shape(v1p))))
            h1 = tf.sigmoid(v1 @ W + hb)
            n = tf.cast(tf.shape(v0)[0], tf.float32)
            W.assign_add(lr * (tf.transpose(v0) @ h0 - tf.transpose(v1) @ h1) / n)
            vb.assign_add(lr * tf.reduce_mean(v0 - v1, 0))
            hb.assign_add(lr * tf.reduce_mean(h0 - h1, 0))

        users = np.flatnonzero(np.diff(self._csr[0]) > 0)
        for _ in range(epochs or self.epochs):
            order = rng.permutation(users)
            for start in range(0, len(order), self.batch_size):
                step(tf.constant(self._dense(order[start:start + self.batch_size])))
        self._params = (W.numpy(), vb.numpy(), hb.numpy())
        self._rng = rng
        return self

    def score_users(self, user_index):
        W, vb, hb = self._params
        v = self._dense(user_index)
        hp = 0.5 * (1.0 + np.tanh(0.5 * (v @ W + hb)))          # sigmoid without overflow
        h = (hp > self._rng.random(hp.shape)).astype(np.float32)
        return 5.0 * 0.5 * (1.0 + np.tanh(0.5 * (h @ W.T + vb)))


def ranking_metrics(model, train, test, n=10, threshold=4, batch_size=128):
    """precision@n, recall@n, nDCG@n, MAP@n, catalogue coverage and mean popularity of the
    top-n lists (definitions: :mod:`tfrbm.ranking_metrics`).

    Over test users with at least one relevant test pair: a test rating >= ``threshold``
    (``threshold=None``: every test pair is relevant, "did the user watch it"). Candidates are
    all movies the user did not rate in ``train``, ranked by ``model.ranking_scores`` when the
    model has it (the ranking ``recommend`` uses), else by predicted rating. Popularity: mean
    number of training ratings of the recommended movies. ``per_user`` holds each scored
    user's values.
    """
    t = as_triples(test)
    tu, tm = model._user_index(t[:, 0]), model._movie_index(t[:, 1])
    rel = np.ones(len(t), bool) if threshold is None else t[:, 2] >= threshold
    relevant = relevant_sets(tu[rel], tm[rel], model.n_users)
    users = np.array(sorted(relevant), np.int64)
    counts = np.bincount(model._csr[1], minlength=model.n_movies)
    score = getattr(model, "ranking_scores", model.score_users)
    lists = {}
    for start in range(0, len(users), batch_size):
        chunk = users[start:start + batch_size]
        tops = top_n(score(chunk), n, exclude=[model.seen(u) for u in chunk])
        lists.update(zip(chunk.tolist(), tops))
    out = ranking_report(lists, relevant, model.n_movies, n)
    out["mean_popularity"] = float(np.mean([counts[t[t >= 0]].mean() for t in lists.values()]))
    out["ranked_users"] = out.pop("users")
    return out


def evaluate(model, train, test, n=10, threshold=4, ranking=True):
    """RMSE, MAE (of predictions clipped to 1-5; None for a model that predicts no ratings)
    and (``ranking``) the ranking metrics."""
    out = {"rmse": None, "mae": None}
    if model.predicts_ratings:
        t = as_triples(test)
        err = np.clip(model.predict(t[:, 0], t[:, 1]), 1.0, 5.0) - t[:, 2]
        out = {"rmse": float(math.sqrt(np.mean(err ** 2))), "mae": float(np.mean(np.abs(err)))}
    if ranking:
        out.update(ranking_metrics(model, train, test, n=n, threshold=threshold))
    return out
