"""How well a recommender does on held-out ratings: :func:`evaluate` (RMSE and MAE of the
predicted ratings) and :func:`ranking_metrics` (precision, recall, nDCG and MAP at N, catalogue
coverage and popularity of the top-N lists).

Both take any :class:`~tfrbm.models.rating_model.RatingModel` (the RBM recommender, a baseline,
the course's lab RBM), the training data it was fitted on and the test data.
"""
import math

import numpy as np

from tfrbm.data.ratings import as_triples
from tfrbm.ranking_metrics import ranking_report, relevant_sets, top_n

__all__ = ["evaluate", "ranking_metrics"]


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
