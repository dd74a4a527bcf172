"""The course's recommender lab and echen's six-movie example.

* :class:`CourseBernoulliRBM`: the Cognitive Class lab's recommender: ratings / 5 with 0 for
  missing, one Bernoulli unit per movie, 20 hidden units, CD-1 with sampled states, lr 1.0, 15
  epochs, batch 100; a rating is predicted as 5 x the reconstruction probability. It is a
  :class:`~tfrbm.models.rating_model.RatingModel`, so :func:`tfrbm.models.rating_evaluation.evaluate`
  measures it beside the RBM recommender and the baselines.
* :func:`six_movie_demo`: echen's "RBM in Python" example (:data:`SIX_MOVIES`,
  :data:`SIX_MOVIE_USERS`) through :class:`tfrbm.models.recommender.RBMRecommender`.
"""
import numpy as np
import tensorflow as tf

from tfrbm import gibbs
from tfrbm.layers import RBMLayer
from tfrbm.models.rating_model import RatingModel
from tfrbm.models.recommender import RBMRecommender
from tfrbm.validation import Predicate, check_param, finite_number, validate_params, whole_number

__all__ = ["CourseBernoulliRBM", "SIX_MOVIES", "SIX_MOVIE_USERS", "six_movie_demo"]


class CourseBernoulliRBM(RatingModel):
    """The course lab's recommender: Bernoulli RBM on ratings/5 with 0 for missing ratings.

    p(h=1|v) = sigmoid(c + vW), p(v=1|h) = sigmoid(b + hW^T); CD-1 with sampled h0 and v1 (the
    positive statistics use the sampled h0, the negative ones p(h | v1)), plain gradient steps
    of size ``learning_rate`` from zero weights; prediction = 5 p(v=1 | h sampled from v).
    Missing ratings enter as zeros, so the model learns "unrated" as "rated 0"; that is the
    point of keeping it as a baseline. ``inputs="watched"`` feeds the 0/1 watched matrix
    instead of ratings / 5 (the lab's model on implicit feedback; scores are then 5 x
    p(watched)). The conditionals and the sampling are tfrbm's: an :class:`tfrbm.RBMLayer`
    (``self.layer`` after ``fit``) and :func:`tfrbm.gibbs.k_steps`; only the lab's update rule
    is written here.
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
        """CD-1 on the users of ``data`` (triples or RatingsData), ``epochs`` (default
        ``self.epochs``) passes in a seeded order. Returns self."""
        epochs = self.epochs if epochs is None else check_param("epochs", epochs, whole_number(1))
        self._prepare(data)
        rng = np.random.default_rng(self.seed)
        layer = RBMLayer(self.n_hidden, kernel_initializer="zeros")
        layer.build((None, self.n_movies))
        lr = self.learning_rate

        @tf.function
        def step(v0, seed):
            _, h0 = layer.sample_hidden(v0, gibbs.fold(seed, 0))
            _, v1, h1, _ = gibbs.k_steps(layer, h0, 1, gibbs.fold(seed, 1),
                                         sample_last_hidden=False)
            n = tf.cast(tf.shape(v0)[0], tf.float32)
            layer.kernel.assign_add(lr * (tf.transpose(v0) @ h0 - tf.transpose(v1) @ h1) / n)
            layer.visible_bias.assign_add(lr * tf.reduce_mean(v0 - v1, 0))
            layer.hidden_bias.assign_add(lr * tf.reduce_mean(h0 - h1, 0))

        seed = int(rng.integers(2**62)) if self.seed is None else self.seed
        base = tf.constant([seed, 0], tf.int64)
        users = np.flatnonzero(np.diff(self._csr[0]) > 0)
        n_steps = 0
        for _ in range(epochs):
            order = rng.permutation(users)
            for start in range(0, len(order), self.batch_size):
                step(tf.constant(self._dense(order[start:start + self.batch_size])),
                     gibbs.fold(base, n_steps))
                n_steps += 1
        self.layer = layer
        self._rng = rng
        return self

    def score_users(self, user_index):
        """5 p(v = 1 | h), h sampled from p(h | the users' rows): (B, n_movies)."""
        seed = tf.constant(self._rng.integers(0, 2**62, size=2), tf.int64)
        _, h = self.layer.sample_hidden(tf.constant(self._dense(user_index)), seed)
        return 5.0 * np.asarray(self.layer.visible_probs(h), np.float64)


# ---- echen's six-movie example ---------------------------------------------------------------
SIX_MOVIES = ("Harry Potter", "Avatar", "LOTR 3", "Gladiator", "Titanic", "Glitter")
SIX_MOVIE_USERS = {  # 1 = wants to watch, 0 = does not (echen's Alice..Fred)
    "Alice": (1, 1, 1, 0, 0, 0), "Bob": (1, 0, 1, 0, 0, 0), "Carol": (1, 1, 1, 0, 0, 0),
    "David": (0, 0, 1, 1, 1, 0), "Eric": (0, 0, 1, 1, 0, 0), "Fred": (0, 0, 1, 1, 1, 0)}


def six_movie_demo(epochs=300, n_hidden=2, seed=0):
    """echen's example through the same API: 'wants to watch' = rating 2, 'does not' = 1 (K=2).

    George (user 7) has said yes to Gladiator and Titanic only; returns (fitted recommender,
    George's predicted p(wants to watch) for the other four films as Recommendations): the
    Oscar-winner unit should put LOTR 3 first.
    """
    triples = [(u + 1, m + 1, 1 + v) for u, prefs in enumerate(SIX_MOVIE_USERS.values())
               for m, v in enumerate(prefs)]
    triples += [(7, 4, 2), (7, 5, 2)]
    rec = RBMRecommender(n_hidden=n_hidden, kind="user", conditional=False,
                         blend_baseline=False, n_levels=2, learning_rate=0.1,
                         momentum=0.5, weight_decay=0.0, cd_k=1, batch_size=7,
                         validation_fraction=0.0, shrinkage=0.0, like=2, ranking="ratings",
                         seed=seed)
    rec.fit(np.array(triples), epochs=epochs,
            titles={i + 1: t for i, t in enumerate(SIX_MOVIES)})
    return rec, rec.recommend(7, n=4)
