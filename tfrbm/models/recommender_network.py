"""The fitted RBMRecommender as one Keras model: its RBM(s), the blend and the bookkeeping.

``RecommenderNetwork`` holds the user-based and/or item-based :class:`RatingsRBM`, the blend
weights w (r_hat = w_0 + sum_o w_o r_o) and, as an asset of the ``.keras`` archive, the
estimator's bookkeeping: ids, titles, the training ratings matrix, the "rated" matrix of the
conditional model, the baseline biases, configuration and history.

``call(user_index)`` (int32 dense user indices, (B,)) returns the blended expected rating of
every movie for those users, (B, movies), conditioned on the stored training ratings (a
ranking-only network, ``kind="implicit"``, returns its ranking scores). With an
``implicit_model`` (:class:`ImplicitRBM`, the default ``ranking="implicit"``) the exported
``recommend`` signature serves its ranking scores, the ones ``RBMRecommender.recommend``
ranks by, beside the predicted ratings.
"""
import json
import os

import keras
import numpy as np
import tensorflow as tf

from tfrbm import serving
from tfrbm.export import ServingMixin
from tfrbm.models.implicit_rbm import ImplicitRBM
from tfrbm.models.ratings_rbm import RatingsRBM
from tfrbm.validation import Instance, Predicate, validate_params

__all__ = ["RecommenderNetwork"]

_METADATA_FILE = "recommender_metadata.npz"


def _is_weights(value):
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        return False
    [float(w) for w in value]                  # TypeError/ValueError: not numbers
    return True


@keras.saving.register_keras_serializable(package="tfrbm")
class RecommenderNetwork(ServingMixin, keras.Model):
    """Container of a fitted recommender's RatingsRBM(s) (``user_model``, ``item_model``) and
    its ranking ImplicitRBM (``implicit_model``)."""

    _parameter_constraints = {
        "user_model": [None, Instance(RatingsRBM, "a RatingsRBM (or its serialized config)")],
        "item_model": [None, Instance(RatingsRBM, "a RatingsRBM (or its serialized config)")],
        "blend": [Predicate(_is_weights, "a sequence of numbers (blend weights)",
                            convert=lambda v: [float(w) for w in v])],
        "implicit_model": [None, Instance(ImplicitRBM, "an ImplicitRBM (or its serialized "
                                                       "config)")],
    }

    def __init__(self, user_model=None, item_model=None, blend=(0.0, 1.0), implicit_model=None,
                 **kwargs):
        super().__init__(**kwargs)
        user_model, item_model, implicit_model = (
            keras.saving.deserialize_keras_object(m) if isinstance(m, dict) else m
            for m in (user_model, item_model, implicit_model))
        p = validate_params({"user_model": user_model, "item_model": item_model, "blend": blend,
                             "implicit_model": implicit_model},
                            self._parameter_constraints, type(self))
        self.user_model, self.item_model = p["user_model"], p["item_model"]
        self.implicit_model = p["implicit_model"]
        self.blend = p["blend"]
        self.metadata = {}

    @staticmethod
    def _weights_only(model):
        """An uncompiled copy of a fitted RBM (the optimizer state is not kept)."""
        if model is None:
            return None
        copy = type(model).from_config(model.get_config())
        copy.build()
        copy.set_weights(model.get_weights())
        return copy

    @classmethod
    def from_estimator(cls, rec):
        """The network of a fitted RBMRecommender (copies of its RBMs, without optimizers)."""
        net = cls(cls._weights_only(rec.models.get("user")),
                  cls._weights_only(rec.models.get("item")), blend=list(rec.blend),
                  implicit_model=cls._weights_only(rec.implicit_model), name="rbm_recommender")
        ids = np.array(sorted(rec.titles), dtype=np.int64)
        indptr, cols, vals = rec._csr
        net.metadata = {
            "user_ids": np.asarray(rec.user_ids), "movie_ids": np.asarray(rec.movie_ids),
            "indptr": indptr, "cols": cols, "vals": vals, "rated": np.asarray(rec.rated),
            "b_user": rec.b_user, "b_item": rec.b_item, "mu": float(rec.mu),
            "title_ids": ids, "title_text": np.array([rec.titles[int(i)] for i in ids], str),
            "config": rec.get_config(), "history": rec.history}
        net._ratings = tf.constant(rec.R)
        net._rated = tf.constant(np.asarray(rec.rated, np.uint8))
        net._set_baseline(rec.mu, rec.b_user, rec.b_item)
        net.build()
        return net

    def _set_baseline(self, mu, b_user, b_item):
        self._mu = float(mu)
        self._b_user = tf.constant(np.asarray(b_user, np.float32))
        self._b_item = tf.constant(np.asarray(b_item, np.float32))

    def to_estimator(self, cls):
        meta = self.metadata
        if not meta or "config" not in meta:
            raise ValueError("this RecommenderNetwork carries no recommender metadata; it was "
                             "not written by RBMRecommender.save")
        config = dict(meta["config"])
        if isinstance(config.get("cd_k"), dict):
            config["cd_k"] = {int(k): v for k, v in config["cd_k"].items()}
        rec = cls(**config)
        rec.user_ids, rec.movie_ids = meta["user_ids"], meta["movie_ids"]
        rec.titles = {int(i): str(t) for i, t in zip(meta["title_ids"], meta["title_text"])}
        rec._csr = (meta["indptr"], meta["cols"], meta["vals"])
        rec.global_mean = float(meta["vals"].mean())
        users = np.repeat(np.arange(len(rec.user_ids)), np.diff(meta["indptr"]))
        rec.R = rec._matrix(users, meta["cols"], meta["vals"])
        rec.rated = meta["rated"].astype(bool)
        rec.mu, rec.b_user, rec.b_item = float(meta["mu"]), meta["b_user"], meta["b_item"]
        rec.models = {o: m for o, m in (("user", self.user_model), ("item", self.item_model))
                      if m is not None}
        rec.blend = np.asarray(self.blend)
        rec.implicit_model = self.implicit_model
        rec.history = meta["history"]
        self._ratings = tf.constant(rec.R)
        self._rated = tf.constant(meta["rated"].astype(np.uint8))
        self._set_baseline(rec.mu, rec.b_user, rec.b_item)
        return rec

    def get_config(self):
        config = super().get_config()
        config.update(
            user_model=None if self.user_model is None
            else keras.saving.serialize_keras_object(self.user_model),
            item_model=None if self.item_model is None
            else keras.saving.serialize_keras_object(self.item_model),
            blend=self.blend,
            implicit_model=None if self.implicit_model is None
            else keras.saving.serialize_keras_object(self.implicit_model))
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.saving.deserialize_keras_object(config["dtype"])
        return cls(**config)

    def build(self, input_shape=None):
        for m in (self.user_model, self.item_model, self.implicit_model):
            if m is not None and not m.built:
                m.build()
        self.built = True

    def ranking_scores(self, user_index):
        """The implicit RBM's log-odds p(watch i | the rest) of every movie: (B, movies)."""
        user_index = tf.cast(user_index, tf.int32)
        rated = tf.cast(tf.gather(self._rated, user_index), tf.float32)
        x = {"watched": rated}
        if self.implicit_model.conditional:
            like = int(self.metadata["config"]["like"])
            x["side"] = tf.cast(tf.gather(self._ratings, user_index) >= like, tf.float32)
        return self.implicit_model.conditional_logits(x)

    def call(self, user_index):
        """Blended expected rating of every movie for dense users ``user_index`` (B,) (the
        ranking scores for a network without rating models)."""
        if self.user_model is None and self.item_model is None:
            return self.ranking_scores(user_index)
        n_levels = (self.user_model or self.item_model).n_levels
        levels = tf.range(1, n_levels + 1, dtype=tf.float32)
        user_index = tf.cast(user_index, tf.int32)
        out = self.blend[0]
        w = iter(self.blend[1:])
        if self.user_model is not None:
            x = {"ratings": tf.gather(self._ratings, user_index)}
            if self.user_model.conditional:
                x["rated"] = tf.gather(self._rated, user_index)
            out += next(w) * tf.linalg.matvec(self.user_model.level_probabilities(x), levels)
        if self.item_model is not None:
            x = {"ratings": tf.transpose(self._ratings)}
            if self.item_model.conditional:
                x["rated"] = tf.transpose(self._rated)
            probs = self.item_model.level_probabilities(x, user_index)   # (movies, B, K)
            out += next(w) * tf.transpose(tf.linalg.matvec(probs, levels))
        n_models = (self.user_model is not None) + (self.item_model is not None)
        if len(self.blend) > 1 + n_models:                       # the baseline in the blend
            out += self.blend[-1] * (self._mu + tf.gather(self._b_user, user_index)[:, None]
                                     + self._b_item[None])
        return out

    def serving_endpoints(self):
        """``recommend(user_ids) -> scores, ratings, seen, known_user, movie_ids``.

        Raw user ids (B,) int64. ``scores``: what ``RBMRecommender.recommend`` ranks by: the
        implicit RBM's log-odds of every movie (``ranking="implicit"``) or, without an implicit
        model, the blended expected rating; ``ratings``: the blended expected rating of every
        movie (the ranking scores for a ranking-only network); ``seen``: the movies each user
        rated in training (``recommend`` leaves them out). An unknown user id gets
        ``known_user`` False, the baseline mu + b_i as ratings and, as scores, the movies'
        numbers of training ratings with an implicit model (``recommend`` lists the most rated
        films), else mu + b_i.
        """
        meta = self.metadata
        if not meta or not hasattr(self, "_ratings"):
            raise serving.ExportError("this RecommenderNetwork carries no fitted recommender "
                                      "(ids, training ratings); export the RBMRecommender")
        user_ids = tf.constant(np.asarray(meta["user_ids"], np.int64))
        movie_ids = tf.constant(np.asarray(meta["movie_ids"], np.int64))
        fallback = tf.constant(np.clip(float(meta["mu"]) + np.asarray(meta["b_item"]), 1, None),
                               tf.float32)
        counts = tf.constant(np.bincount(np.asarray(meta["cols"]), minlength=len(meta["movie_ids"])),
                             tf.float32)
        ranked = self.implicit_model is not None
        rating_model = self.user_model is not None or self.item_model is not None

        def recommend(ids):
            pos = tf.minimum(tf.searchsorted(user_ids, ids), tf.size(user_ids) - 1)
            known = tf.equal(tf.gather(user_ids, pos), ids)
            ratings = tf.where(known[:, None], tf.cast(self(pos), tf.float32), fallback[None])
            scores = ratings
            if ranked:
                scores = tf.where(known[:, None], tf.cast(self.ranking_scores(pos), tf.float32),
                                  counts[None])
                if not rating_model:
                    ratings = scores
            seen = tf.logical_and(known[:, None], tf.gather(self._rated, pos) > 0)
            return {"scores": scores, "ratings": ratings, "seen": seen, "known_user": known,
                    "movie_ids": tf.identity(movie_ids)}

        return serving.Endpoints(self, [
            ("recommend", recommend, [serving.spec((None,), tf.int64, "user_ids")])])

    # ---- the estimator's bookkeeping, saved beside the weights -----------------------------
    def save_assets(self, dir_path):
        if not self.metadata:
            return
        arrays = {k: v for k, v in self.metadata.items() if isinstance(v, np.ndarray)}
        other = {k: v for k, v in self.metadata.items() if not isinstance(v, np.ndarray)}
        np.savez_compressed(os.path.join(dir_path, _METADATA_FILE),
                            _json=np.array(json.dumps(other)), **arrays)

    def load_assets(self, dir_path):
        path = os.path.join(dir_path, _METADATA_FILE)
        if not os.path.exists(path):
            return
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["_json"]))
            meta.update({k: z[k] for k in z.files if k != "_json"})
        self.metadata = meta
        if "indptr" in meta:                       # the stored training ratings, for call()
            indptr = np.asarray(meta["indptr"])
            R = np.zeros((len(meta["user_ids"]), len(meta["movie_ids"])), np.uint8)
            R[np.repeat(np.arange(len(indptr) - 1), np.diff(indptr)), meta["cols"]] = meta["vals"]
            self._ratings = tf.constant(R)
            self._rated = tf.constant(np.asarray(meta["rated"], np.uint8))
            self._set_baseline(meta["mu"], meta["b_user"], meta["b_item"])


_ = RatingsRBM  # registered for deserialisation of the sub-models
