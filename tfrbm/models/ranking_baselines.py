"""Top-N ranking baselines on the implicit ("watched") matrix, beside the RBM recommender.

All are fitted on the binary matrix X (users x movies, X_ui = 1 when u rated i in training,
whatever the rating) and rank the movies a user has not seen; they predict no ratings.

* :class:`EASE`: Steck's "Embarrassingly Shallow Autoencoder" (EASE^R, WWW 2019), the
  closed-form item-item model
      B = argmin ||X - X B||^2 + lambda ||B||^2  subject to diag(B) = 0,
      P = (X^T X + lambda I)^{-1},  B = I - P diag(1 / diag(P)),  scores = X B.
* :class:`ItemKNN`: item-based nearest neighbours with cosine similarity on X,
  s_ij = (x_i . x_j) / (|x_i| |x_j|), keeping each item's ``n_neighbors`` most similar
  items (None keeps all); the score of i for u is sum_{j seen by u} s_ji.

Both share :class:`ImplicitRanker`: ``fit(triples_or_RatingsData)``,
``ranking_scores(user_index)`` (higher = better) and ``recommend(user, n)``.
"""
import numpy as np

from tfrbm.errors import UserError
from tfrbm.models.rating_model import RatingModel
from tfrbm.validation import finite_number, validate_params, whole_number

__all__ = ["ImplicitRanker", "EASE", "ItemKNN", "watched_matrix"]


def watched_matrix(model, user_index=None, dtype=np.float32):
    """The 0/1 matrix of the training pairs of a fitted RatingModel (rows ``user_index``)."""
    user_index = np.arange(model.n_users) if user_index is None else np.asarray(user_index)
    rows, cols, _ = model._rows_of(user_index)
    X = np.zeros((len(user_index), model.n_movies), dtype)
    X[rows, cols] = 1
    return X


class ImplicitRanker(RatingModel):
    """Base of the rankers on the watched matrix: ``_fit_matrix(X)`` and ``ranking_scores``."""

    predicts_ratings = False

    def fit(self, data, **_):
        """Fit on (user id, movie id, rating) triples or a RatingsData; ratings only say
        "watched". Returns self."""
        self._prepare(data)
        self._fit_matrix(watched_matrix(self))
        return self

    def score_users(self, user_index):
        """Ranking scores (not ratings) of every movie: the same as :meth:`ranking_scores`."""
        return self.ranking_scores(user_index)

    def predict(self, user_ids, movie_ids, batch_size=256):
        raise UserError(f"{type(self).__name__} ranks movies from what users watched; it "
                        f"predicts no ratings (use ranking_scores or recommend)")


class EASE(ImplicitRanker):
    """EASE^R (Steck 2019): closed-form item-item weights with a zero diagonal.

    Args:
      l2: lambda, the L2 penalty on B (Steck uses 500 on ML-20M-like data; 500 also suits
        ML-100k).
    """

    _parameter_constraints = {"l2": [finite_number(0, low_open=True)]}

    def __init__(self, l2=500.0):
        self.l2 = validate_params({"l2": l2}, self._parameter_constraints, type(self))["l2"]

    def _fit_matrix(self, X):
        X = X.astype(np.float64)
        G = X.T @ X + self.l2 * np.eye(X.shape[1])
        P = np.linalg.inv(G)
        B = -P / np.diag(P)[None, :]
        np.fill_diagonal(B, 0.0)
        self.weights = B

    def ranking_scores(self, user_index):
        return watched_matrix(self, user_index, np.float64) @ self.weights


class ItemKNN(ImplicitRanker):
    """Item-based k nearest neighbours, cosine similarity on the watched matrix.

    Args:
      n_neighbors: similar items kept per item (None: all of them).
    """

    _parameter_constraints = {"n_neighbors": [None, whole_number(1)]}

    def __init__(self, n_neighbors=None):
        self.n_neighbors = validate_params({"n_neighbors": n_neighbors},
                                           self._parameter_constraints,
                                           type(self))["n_neighbors"]

    def _fit_matrix(self, X):
        X = X.astype(np.float64)
        norm = np.sqrt(X.sum(0))
        norm[norm == 0] = 1.0
        S = (X.T @ X) / norm[:, None] / norm[None, :]
        np.fill_diagonal(S, 0.0)
        if self.n_neighbors is not None and self.n_neighbors < S.shape[0] - 1:
            keep = np.argpartition(-S, self.n_neighbors - 1, axis=0)[:self.n_neighbors]
            mask = np.zeros_like(S, dtype=bool)
            mask[keep, np.arange(S.shape[1])[None, :]] = True    # column i: i's neighbours
            S = np.where(mask, S, 0.0)
        self.similarity = S

    def ranking_scores(self, user_index):
        return watched_matrix(self, user_index, np.float64) @ self.similarity
