"""Rating-prediction baselines beside the RBM recommender.

* :class:`GlobalMeanBaseline`: every prediction is the mean training rating mu.
* :class:`ItemMeanBaseline`: r(u, i) = mean rating of item i (mu for unrated items).
* :class:`BiasBaseline`: r(u, i) = mu + b_u + b_i with regularised biases (alternating least
  squares, Koren 2010 / Surprise's BaselineOnly): the fallback estimate of the RBM recommender.
* :class:`PopularityBaseline`: ranks movies by their number of training ratings (predicts item
  means).
* :class:`BiasedMF`: r(u, i) = mu + b_u + b_i + p_u . q_i, a small Keras model trained with Adam
  on squared error plus L2 (Koren, Bell & Volinsky 2009).

All share the interface of :class:`~tfrbm.models.rating_model.RatingModel`:
``fit(triples_or_RatingsData)``, ``predict(user_ids, movie_ids)``, ``score_users(user_index)``
and ``recommend(...)``; :func:`tfrbm.models.rating_evaluation.evaluate` measures them. The
course lab's Bernoulli RBM on ratings is :class:`tfrbm.course.recommender.CourseBernoulliRBM`.
"""
import numpy as np

from tfrbm.models.rating_model import RatingModel
from tfrbm.validation import finite_number, validate_params, whole_number

__all__ = ["GlobalMeanBaseline", "ItemMeanBaseline", "BiasBaseline", "PopularityBaseline",
           "BiasedMF", "fit_biases"]


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
