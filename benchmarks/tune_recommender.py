"""Tune the RBM recommender on fold u1 only: validation RMSE per epoch, the u1 test RMSE of the
stopped model, and the top-10 nDCG of ranking rules on the validation split.

    python benchmarks/tune_recommender.py '{"kind": "item", "learning_rate": 0.02}' 40

The JSON holds RBMRecommender keyword arguments
the second argument is the most epochs.
Early stopping and the blend use the validation split taken from u1's training ratings
the
ranking rules are scored on that split too (relevant = validation rating >= 4, candidates =
movies the user has no training-split rating for, the model conditioned on the training split):
popularity n_i, the shrunk like-probability for several m, and n_i x P(like).
"""
import json
import sys
import time

import numpy as np

from tfrbm.data.ratings import movielens  # noqa: E402
from tfrbm.models.recommender import RBMRecommender  # noqa: E402
from tfrbm.models.rating_evaluation import evaluate  # noqa: E402
kw = json.loads(sys.argv[1])
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 40
train, test = movielens("100k").fold("u1")
t0 = time.time()
c0 = time.process_time()
rec = RBMRecommender(seed=0, **kw).fit(train, epochs=epochs)
for o, h in rec.history.items():
    print(o, "val_rmse", " ".join(f"{v:.4f}" for v in h["val_rmse"]), "best", min(h["val_rmse"]))
ev = evaluate(rec, train, test, ranking=False)
print("RESULT", json.dumps(kw), "blend", np.round(rec.blend, 3).tolist(), "u1 test rmse %.4f" % ev["rmse"], "wall %.0f cpu %.0f" % (time.time()-t0, time.process_time()-c0))
# ranking on the validation split (model conditioned on R_fit), for a grid of shrinkage m
vu, vm, vr = rec.validation_split_
Rf = rec.R_fit_
nfit = (Rf > 0).sum(0).astype(float)
p0 = float((Rf[Rf > 0] >= 4).mean())
users = np.unique(vu[vr >= 4])
disc = 1 / np.log2(np.arange(2, 12))
like = np.zeros((len(users), rec.n_movies))
for o in rec.models:
    uu = np.repeat(users, rec.n_movies)
    mm = np.tile(np.arange(rec.n_movies), len(users))
    like += rec._model_probs(o, uu, mm, Rf)[:, 3:].sum(1).reshape(len(users), -1) / len(rec.models)
def ndcg(S):
    out = []
    for row, u in enumerate(users):
        s = S[row].copy()
        s[Rf[u] > 0] = -np.inf
        top = np.argsort(-s)[:10]
        rel = set(vm[(vu == u) & (vr >= 4)].tolist())
        hits = np.array([t in rel for t in top], float)
        out.append((hits * disc).sum() / disc[:min(10, len(rel))].sum())
    return np.mean(out)
print("VAL-RANK popularity ndcg %.4f" % ndcg(np.tile(nfit, (len(users), 1))))
for m in (0, 10, 50, 200, 1000, 1e5):
    print("VAL-RANK m=%g ndcg %.4f" % (m, ndcg((nfit * like + m * p0) / (nfit + m + 1e-12))))
print("VAL-RANK n*like ndcg %.4f" % ndcg(nfit * like))
