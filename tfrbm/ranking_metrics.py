"""Top-N ranking metrics: precision, recall, nDCG and MAP at n, and catalogue coverage.

A ranked list is a sequence of item indices, best first; ``relevant`` is the set of the user's
relevant items (for example the held-out test items, or those rated >= 4). With
hits_k = 1 when the k-th item (k = 1..n) is relevant:

* precision@n = sum_k hits_k / n;
* recall@n    = sum_k hits_k / |relevant|;
* nDCG@n      = sum_k hits_k / log2(k + 1)  divided by the ideal DCG, sum_{k <= min(n, |rel|)}
  1 / log2(k + 1) (binary gains);
* MAP@n       = mean over users of AP@n = sum_k hits_k precision@k / min(n, |relevant|);
* coverage    = distinct items in all the users' lists / items in the catalogue.

A user without relevant items has no recall, nDCG or AP: :func:`ranking_report` leaves such
users out (it says how many users it scored). :func:`top_n` turns a score matrix into lists,
excluding the items each user has already seen.
"""
import numpy as np

from tfrbm.errors import UserError

__all__ = ["top_n", "precision_at", "recall_at", "ndcg_at", "average_precision_at",
           "ranking_report", "relevant_sets"]


def _hits(ranked, relevant, n):
    if int(n) < 1:
        raise UserError(f"n must be at least 1, got {n}")
    relevant = set(int(i) for i in relevant)
    return np.array([int(i) in relevant for i in list(ranked)[:int(n)]], np.float64), relevant


def precision_at(ranked, relevant, n=10):
    """Relevant items among the first ``n`` of ``ranked``, divided by ``n``."""
    hits, _ = _hits(ranked, relevant, n)
    return float(hits.sum() / int(n))


def _need_relevant(relevant):
    if not relevant:
        raise UserError("recall, nDCG and AP need at least one relevant item")


def recall_at(ranked, relevant, n=10):
    """Relevant items among the first ``n``, divided by the number of relevant items."""
    hits, rel = _hits(ranked, relevant, n)
    _need_relevant(rel)
    return float(hits.sum() / len(rel))


def ndcg_at(ranked, relevant, n=10):
    """Binary-gain nDCG: sum of 1/log2(rank + 1) over hits, over the ideal list's DCG."""
    hits, rel = _hits(ranked, relevant, n)
    _need_relevant(rel)
    disc = 1.0 / np.log2(np.arange(2, int(n) + 2))
    return float((hits * disc[:len(hits)]).sum() / disc[:min(int(n), len(rel))].sum())


def average_precision_at(ranked, relevant, n=10):
    """AP@n: the mean of precision@k over the ranks k of the hits, over min(n, |relevant|)."""
    hits, rel = _hits(ranked, relevant, n)
    _need_relevant(rel)
    prec = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((prec * hits).sum() / min(int(n), len(rel)))


def top_n(scores, n=10, exclude=None):
    """The ``n`` best columns of each row of ``scores`` (B, items), best first: (B, n) ints.

    ``exclude``: for each row, the item indices it must not contain (already seen). Ties keep
    the lower index first. A row with fewer than ``n`` allowed items is padded with -1.
    """
    s = np.array(scores, dtype=np.float64, ndmin=2)
    if exclude is not None:
        for row, items in enumerate(exclude):
            s[row, np.asarray(items, np.int64)] = -np.inf
    n = int(n)
    k = min(n, s.shape[1])
    part = np.argpartition(-s, k - 1, axis=1)[:, :k] if k < s.shape[1] else \
        np.tile(np.arange(s.shape[1]), (len(s), 1))
    out = np.full((len(s), n), -1, np.int64)
    for row in range(len(s)):
        cand = part[row]
        cand = cand[np.lexsort((cand, -s[row, cand]))]
        cand = cand[np.isfinite(s[row, cand])]
        out[row, :len(cand)] = cand
    return out


def relevant_sets(users, items, n_users):
    """{user index: set of item indices} from parallel arrays (pairs of relevant items)."""
    out = {}
    for u, i in zip(np.asarray(users).tolist(), np.asarray(items).tolist()):
        if not 0 <= u < n_users:
            raise UserError(f"user index {u} is outside 0..{n_users - 1}")
        out.setdefault(u, set()).add(i)
    return out


def ranking_report(lists, relevant, n_items, n=10):
    """Mean metrics of top-n ``lists`` ({user: ranked items} or (user, list) pairs).

    ``relevant``: {user: set of relevant items}; users without relevant items are skipped.
    Coverage counts the lists of the users scored. Returns a dict with ``precision@n``,
    ``recall@n``, ``ndcg@n``, ``map@n``, ``coverage``, ``users`` and ``per_user`` (the
    users' values in a dict of arrays, for intervals).
    """
    lists = dict(lists)
    per = {"user": [], "precision": [], "recall": [], "ndcg": [], "ap": []}
    shown = set()
    for u, ranked in lists.items():
        rel = relevant.get(u)
        if not rel:
            continue
        ranked = [int(i) for i in ranked if int(i) >= 0][:int(n)]
        per["user"].append(u)
        per["precision"].append(precision_at(ranked, rel, n))
        per["recall"].append(recall_at(ranked, rel, n))
        per["ndcg"].append(ndcg_at(ranked, rel, n))
        per["ap"].append(average_precision_at(ranked, rel, n))
        shown.update(ranked)
    if not per["user"]:
        raise UserError("no user with relevant items among the ranked lists")
    per = {k: np.asarray(v) for k, v in per.items()}
    return {f"precision@{n}": float(per["precision"].mean()),
            f"recall@{n}": float(per["recall"].mean()), f"ndcg@{n}": float(per["ndcg"].mean()),
            f"map@{n}": float(per["ap"].mean()), "coverage": len(shown) / int(n_items),
            "users": len(per["user"]), "per_user": per}
