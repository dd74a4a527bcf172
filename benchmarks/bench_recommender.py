"""RBM recommender vs baselines on the published MovieLens-100k folds, plus an ML-1M memory check.

    python benchmarks/bench_recommender.py                      # 5 folds u1-u5, all models
    python benchmarks/bench_recommender.py --folds u1 --models rbm,items
    python benchmarks/bench_recommender.py --memory-1m          # synthetic ML-1M-size run

Prints, per model: RMSE mean and std over the folds, MAE, precision@10 / recall@10 / nDCG@10
(relevant = test rating >= 4; candidates = every movie the user did not rate in training),
and training seconds. scikit-surprise SVD / SVD++ run on the same folds when installed.
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from tfrbm.data.ratings import RatingsData, movielens  # noqa: E402
from tfrbm.models.recommender import RBMRecommender  # noqa: E402
from tfrbm.models.recommender_baselines import (BiasedMF, CourseBernoulliRBM,  # noqa: E402
                                                GlobalMeanBaseline, ItemMeanBaseline,
                                                RatingModel, evaluate)


def _peak_rss_gib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20


class SurpriseModel(RatingModel):
    """Wraps a scikit-surprise algorithm in the RatingModel interface (same folds, same metrics)."""

    def __init__(self, algo_name, **kw):
        self.algo_name, self.kw = algo_name, kw

    def fit(self, data, **_):
        import tempfile
        import surprise
        self._prepare(data)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "train.tsv")
            np.savetxt(path, data.triples, fmt="%d", delimiter="\t")
            reader = surprise.Reader(line_format="user item rating", sep="\t",
                                     rating_scale=(1, 5))
            ds = surprise.Dataset.load_from_file(path, reader).build_full_trainset()
        self.algo = getattr(surprise, self.algo_name)(**self.kw)
        self.algo.fit(ds)
        self._ts = ds
        return self

    def score_users(self, user_index):
        out = np.empty((len(user_index), self.n_movies))
        bu, bi = self.algo.bu, self.algo.bi
        mu = self._ts.global_mean
        inner_items = np.array([self._ts._raw2inner_id_items.get(str(m), -1)
                                for m in self.movie_ids])
        known = inner_items >= 0
        for row, u in enumerate(user_index):
            raw = str(int(self.user_ids[u]))
            if raw not in self._ts._raw2inner_id_users:  # a user with no training ratings
                out[row] = mu
                continue
            if self.algo_name == "SVD":
                iu = self._ts.to_inner_uid(raw)
                s = np.full(self.n_movies, mu + bu[iu])
                ii = inner_items[known]
                s[known] += bi[ii] + self.algo.qi[ii] @ self.algo.pu[iu]
                out[row] = np.clip(s, 1, 5)
            else:
                out[row] = [self.algo.predict(raw, str(m)).est for m in self.movie_ids]
        return out


def make_models(names, epochs, args):
    models = {}
    for name in names:
        if name == "rbm":
            models[name] = lambda: RBMRecommender(
                n_hidden=args.hidden, optimizer=args.optimizer, learning_rate=args.lr,
                weight_decay=args.wd, batch_size=args.batch, seed=0)
        elif name == "global":
            models[name] = GlobalMeanBaseline
        elif name == "items":
            models[name] = ItemMeanBaseline
        elif name == "mf":
            models[name] = lambda: BiasedMF(n_factors=50, l2=0.05, learning_rate=3e-3,
                                            epochs=30)
        elif name == "course":
            models[name] = CourseBernoulliRBM
        elif name in ("svd", "svdpp"):
            try:
                import surprise  # noqa: F401
            except ImportError:
                print(f"scikit-surprise not installed: skipping {name}")
                continue
            models[name] = (lambda: SurpriseModel("SVD", random_state=0)) if name == "svd" \
                else (lambda: SurpriseModel("SVDpp", random_state=0))
        else:
            raise SystemExit(f"unknown model {name}")
    return models


def run_folds(args):
    data = movielens("100k", data_dir=args.data_dir)
    folds = data.folds(args.folds.split(","))
    models = make_models(args.models.split(","), args.epochs, args)
    results = {}
    for name, make in models.items():
        rows = []
        for fold, train, test in folds:
            model = make()
            t0 = time.perf_counter()
            if name == "rbm":
                model.fit(train, epochs=args.epochs)
            else:
                model.fit(train)
            secs = time.perf_counter() - t0
            m = evaluate(model, train, test)
            m["train_seconds"] = secs
            rows.append(m)
            print(f"{name:7s} {fold}: rmse {m['rmse']:.4f} mae {m['mae']:.4f} "
                  f"p@10 {m['precision@10']:.4f} r@10 {m['recall@10']:.4f} "
                  f"ndcg@10 {m['ndcg@10']:.4f} train {secs:.1f}s", flush=True)
        summary = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
        summary["rmse_std"] = float(np.std([r["rmse"] for r in rows]))
        results[name] = summary
    print("\nmodel    RMSE mean ± std    MAE     P@10    R@10    nDCG@10  train s/fold")
    for name, s in results.items():
        print(f"{name:7s}  {s['rmse']:.4f} ± {s['rmse_std']:.4f}  {s['mae']:.4f}  "
              f"{s['precision@10']:.4f}  {s['recall@10']:.4f}  {s['ndcg@10']:.4f}   "
              f"{s['train_seconds']:.1f}")
    print(json.dumps({"folds": args.folds, "results": results}, sort_keys=True))


def memory_1m(args):
    """A synthetic matrix of ML-1M's size and sparsity: 6040 x 3706, 1,000,209 ratings."""
    rng = np.random.default_rng(0)
    n_users, n_movies, n = 6040, 3706, 1_000_209
    # like ML-1M: every user has at least 20 ratings, activity and popularity are long-tailed
    tail = rng.pareto(1.5, n_users)
    counts = 20 + np.floor(tail * (n - 20 * n_users) / tail.sum()).astype(np.int64)
    counts = np.minimum(counts, n_movies)
    while counts.sum() < n:                                    # hit the total exactly
        room = np.flatnonzero(counts < n_movies)
        counts[rng.choice(room, min(n - counts.sum(), len(room)), replace=False)] += 1
    pop = rng.pareto(1.0, n_movies) + 0.05
    pop /= pop.sum()
    keys = np.concatenate([u * n_movies + rng.choice(n_movies, c, replace=False, p=pop)
                           for u, c in enumerate(counts)])
    uu, mm = keys // n_movies + 1, keys % n_movies + 1
    triples = np.stack([uu, mm, rng.integers(1, 6, len(keys))], 1)
    data = RatingsData(triples, np.arange(1, n_users + 1), np.arange(1, n_movies + 1))
    print(f"synthetic: {len(data)} ratings, {len(np.unique(uu))} users, "
          f"{len(np.unique(mm))} movies; peak RSS before fit {_peak_rss_gib():.2f} GiB")
    rec = RBMRecommender(n_hidden=args.hidden, batch_size=args.batch, cd_k={0: 1, 1: 3},
                         seed=0)
    t0 = time.perf_counter()
    rec.fit(data, epochs=args.epochs_1m, verbose=1)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = rec.predict(triples[:100_000, 0], triples[:100_000, 1])
    pred_s = time.perf_counter() - t0
    recs = rec.recommend(1, n=10)
    out = {"ratings": len(data), "users": n_users, "movies": n_movies, "hidden": args.hidden,
           "epochs": args.epochs_1m, "fit_seconds": round(fit_s, 1),
           "predict_100k_seconds": round(pred_s, 1), "peak_rss_gib": round(_peak_rss_gib(), 2),
           "recommended": len(recs), "pred_mean": float(pred.mean())}
    print(json.dumps(out, sort_keys=True))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--folds", default="u1,u2,u3,u4,u5")
    p.add_argument("--models", default="rbm,global,items,mf,course,svd,svdpp")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--hidden", type=int, default=100)
    p.add_argument("--optimizer", default="adam", choices=("adam", "sgd"))
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--wd", type=float, default=0.01)
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--memory-1m", action="store_true")
    p.add_argument("--epochs-1m", type=int, default=2)
    args = p.parse_args()
    if args.memory_1m:
        memory_1m(args)
    else:
        run_folds(args)


if __name__ == "__main__":
    main()
