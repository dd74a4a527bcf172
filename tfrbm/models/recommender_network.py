"""The RBM recommender's weights as a Keras model: a ratings matrix in, predicted ratings out.

``RecommenderNetwork`` owns the K-way softmax RBM's parameters (W: movies x K x hidden, visible
biases b: movies x K, hidden biases c) and computes, for each user row of ratings (0 = unrated,
1..K = a rating),

    x_j = c_j + sum_{i rated} W_{i r_i j}                               (total hidden input)
    log p(v_q = k | V) = b_qk + sum_j softplus(x_j + W_qkj) + const      ("exact")
    log p(v_q = k | V) = b_qk + sum_j sigmoid(x_j) W_qkj + const         ("mean_field")

and ``call`` returns the expected rating sum_k k p(v_q = k | V) of every movie. It is what
``RBMRecommender`` trains (through its compiled optimizer), what ``.keras`` files hold and what
the ``recommend`` SavedModel signature serves. The estimator's bookkeeping (ids, titles, the
training ratings, its configuration and history) travels with it as ``metadata``, written as an
asset of the ``.keras`` archive.
"""
import json
import os

import keras
import numpy as np
import tensorflow as tf

from tfrbm.serving import ServingMixin
from tfrbm.validation import POSITIVE_INT, Integral, Interval, Options, validate_params

__all__ = ["RecommenderNetwork"]

_METADATA_FILE = "recommender_metadata.npz"


@keras.saving.register_keras_serializable(package="tfrbm")
class RecommenderNetwork(ServingMixin, keras.Model):
    """Softmax-visible RBM for collaborative filtering, as a Keras model.

    Args:
        n_movies: number of movies M (one K-way softmax visible unit each).
        n_levels: rating levels K (ratings 1..K; 0 in the input means "not rated").
        n_hidden: hidden units F.
        prediction: "exact" (hidden units summed out) or "mean_field".
    """

    _parameter_constraints = {
        "n_movies": POSITIVE_INT,
        "n_levels": [Interval(Integral, 2, None)],
        "n_hidden": POSITIVE_INT,
        "prediction": [Options("exact", "mean_field")],
    }

    def __init__(self, n_movies, n_levels=5, n_hidden=100, prediction="exact", **kwargs):
        super().__init__(**kwargs)
        p = validate_params({"n_movies": n_movies, "n_levels": n_levels, "n_hidden": n_hidden,
                             "prediction": prediction}, self._parameter_constraints, type(self))
        self.n_movies, self.n_levels = p["n_movies"], p["n_levels"]
        self.n_hidden, self.prediction = p["n_hidden"], p["prediction"]
        self.metadata = {}
        self.W = self.add_weight(shape=(self.n_movies, self.n_levels, self.n_hidden),
                                 initializer="zeros", name="W")
        self.b = self.add_weight(shape=(self.n_movies, self.n_levels), initializer="zeros",
                                 name="visible_bias")
        self.c = self.add_weight(shape=(self.n_hidden,), initializer="zeros", name="hidden_bias")
        self.built = True

    def get_config(self):
        config = super().get_config()
        config.update(n_movies=self.n_movies, n_levels=self.n_levels, n_hidden=self.n_hidden,
                      prediction=self.prediction)
        return config


    # ---- the math ------------------------------------------------------------------------
    def one_hot(self, ratings):
        """(B, M) ratings (0 = unrated) -> (B, M, K) one-hot V, zero rows for unrated movies."""
        r = tf.cast(tf.round(tf.cast(ratings, tf.float32)), tf.int32)
        return tf.one_hot(r - 1, self.n_levels) * tf.cast(r > 0, tf.float32)[..., None]

    def hidden_input(self, V):
        """x = c + sum_{i,k} V_ik W_ik: (B, F) from one-hot V (B, M, K)."""
        M, K, F = self.n_movies, self.n_levels, self.n_hidden
        return tf.reshape(V, (-1, M * K)) @ tf.reshape(self.W, (M * K, F)) + self.c

    def level_logits(self, x, movie_index=None):
        """Unnormalised log p(v_q = k | V) for hidden inputs x (B, F): (B, Q, K).

        ``movie_index`` (Q,) selects movies (default: all M).
        """
        W, b = tf.convert_to_tensor(self.W), tf.convert_to_tensor(self.b)
        if movie_index is not None:
            W, b = tf.gather(W, movie_index), tf.gather(b, movie_index)
        if self.prediction == "exact":
            return b[None] + tf.reduce_sum(tf.nn.softplus(x[:, None, None, :] + W[None]), -1)
        return b[None] + tf.einsum("bf,qkf->bqk", tf.sigmoid(x), W)

    def pair_logits(self, xs, movie_index):
        """Unnormalised log p(v = k) for P (user input, movie) pairs: xs (P, F) -> (P, K)."""
        W, b = tf.gather(self.W, movie_index), tf.gather(self.b, movie_index)
        if self.prediction == "exact":
            return b + tf.reduce_sum(tf.nn.softplus(xs[:, None, :] + W), -1)
        return b + tf.einsum("pf,pkf->pk", tf.sigmoid(xs), W)

    def level_probabilities(self, ratings):
        """p(v_q = k | ratings) for every movie: (B, M, K)."""
        x = self.hidden_input(self.one_hot(ratings))
        return tf.nn.softmax(self.level_logits(x), axis=-1)

    def call(self, ratings):
        """Expected rating sum_k k p(v_q = k | ratings) of every movie: (B, M)."""
        levels = tf.range(1, self.n_levels + 1, dtype=tf.float32)
        return tf.linalg.matvec(self.level_probabilities(ratings), levels)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n_movies)

    def serving_endpoints(self, movie_ids=None):
        """``recommend(ratings) -> scores, probabilities, movie_ids`` for (B, M) ratings.

        ``ratings`` must be whole numbers in 0..K (0 = unrated), checked in the graph.
        ``movie_ids`` default to the metadata's (or 1..M).
        """
        from tfrbm import serving
        if movie_ids is None:
            movie_ids = self.metadata.get("movie_ids", np.arange(1, self.n_movies + 1))
        movie_ids = tf.constant(np.asarray(movie_ids, np.int64))
        levels = tf.range(1, self.n_levels + 1, dtype=tf.float32)

        def recommend(ratings):
            ratings = serving.check_range(ratings, 0, self.n_levels, "ratings")
            with tf.control_dependencies([tf.debugging.assert_equal(
                    ratings, tf.round(ratings), message="ratings must be whole numbers")]):
                probs = self.level_probabilities(ratings)
            return {"scores": tf.linalg.matvec(probs, levels), "probabilities": probs,
                    "movie_ids": tf.identity(movie_ids)}

        return serving.Endpoints(self, [
            ("recommend", recommend,
             [serving.spec((None, self.n_movies), tf.float32, "ratings")])])

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
