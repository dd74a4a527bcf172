"""RBM recommender vs baselines on the published MovieLens-100k folds, plus an ML-1M memory check.

    python benchmarks/bench_recommender.py                  # u1-u5 and ua/ub, all models
    python benchmarks/bench_recommender.py --folds u1 --models rbm,popularity
    python benchmarks/bench_recommender.py --memory-1m      # synthetic ML-1M-size run
    python benchmarks/bench_recommender.py --ranking        # top-N: RBM vs ranking baselines

``--ranking``: the top-N benchmark (models run in the order below, the RBM last). Every model is fitted on each fold's training pairs and
ranks every movie the user did not rate in training; relevant = the user's test pairs ("will
watch"), and separately the test pairs rated >= 4 ("will watch and like"); precision, recall,
nDCG and MAP at 10 over the users with a relevant pair, and catalogue coverage
(:mod:`tfrbm.ranking_metrics`). Models (``--models``, default all): ``rbm`` (the default
``RBMRecommender``'s ranking model: the implicit-feedback RBM, ``kind="implicit"`` with the
default implicit settings), ``rbm_liked`` (the same with the liked films as side input,
``implicit_conditional=True``; not in the default list), ``popularity``, ``itemknn`` (cosine, all neighbours), ``ease``
(EASE^R, lambda 500), ``course`` (the lab's Bernoulli RBM on ratings / 5), ``course_watched``
(the same on the 0/1 watched matrix), ``als`` and ``bpr`` (the ``implicit`` package's
AlternatingLeastSquares and BayesianPersonalizedRanking, one thread). Folds run in
``--jobs`` processes; the summary gives each metric's mean over u1-u5 with a 95% t-interval
over the five folds, the paired difference rbm - best baseline, and the ua/ub means.

Prints, per model and fold group (u1-u5, ua/ub): RMSE mean and std over the folds, MAE, and
for the ranking models (``--ranked``: the RBM, popularity, biased MF and bias baseline by
default) precision@10 / recall@10 / nDCG@10 (relevant = test rating >= 4; candidates = every
movie the user did not rate in training), catalogue coverage of the top-10 lists and the mean
number of training ratings of the recommended movies; training seconds and CPU seconds
(process time, all threads) per fold. With ``--jobs 1`` (the default) the folds run one after
the other, every model on a fold before the next fold, so the per-fold lines printed so far
are complete side-by-side comparisons. scikit-surprise's BaselineOnly, SVD, SVD++ and
KNNBaseline (their defaults, random_state=0) run on the same folds. The RBM stops early on a
validation split taken from each training fold only; the test fold is never seen in training
(``--implicit-test`` gives the conditional RBM the test pairs, without ratings, as the
paper's "which movies were rated" input, and is reported as such).
"""
import argparse
import json
import os
import resource
import time

from harness import peak_rss_mib, t_interval  # before TF
import numpy as np

from tfrbm.data.ratings import RatingsData, movielens
from tfrbm.models.recommender import RBMRecommender
from tfrbm.models.ranking_baselines import EASE, ImplicitRanker, ItemKNN
from tfrbm.course.recommender import CourseBernoulliRBM
from tfrbm.models.rating_evaluation import evaluate, ranking_metrics
from tfrbm.models.rating_model import RatingModel
from tfrbm.models.recommender_baselines import (BiasBaseline, BiasedMF,
                                                GlobalMeanBaseline, ItemMeanBaseline,
                                                PopularityBaseline)


def _peak_rss_gib():
    return peak_rss_mib() / 1024


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

    def predict(self, user_ids, movie_ids, **_):
        return np.array([self.algo.predict(str(int(u)), str(int(m))).est
                         for u, m in zip(user_ids, movie_ids)])

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


SURPRISE = {"baseline_only": ("BaselineOnly", {}), "svd": ("SVD", {"random_state": 0}),
            "svdpp": ("SVDpp", {"random_state": 0}),
            "knn_baseline": ("KNNBaseline", {"verbose": False})}


def make_models(names, args):
    models = {}
    for name in names:
        if name == "rbm":
            models[name] = lambda: RBMRecommender(
                n_hidden=args.hidden, kind=args.kind, conditional=bool(args.conditional),
                learning_rate=args.lr, momentum=args.momentum, weight_decay=args.wd,
                batch_size=args.batch, validation_fraction=args.val_fraction,
                patience=args.patience, min_epochs=args.min_epochs,
                blend_baseline=bool(args.blend_baseline),
                shrinkage=args.shrinkage, seed=args.seed)
        elif name == "global":
            models[name] = GlobalMeanBaseline
        elif name == "items":
            models[name] = ItemMeanBaseline
        elif name == "popularity":
            models[name] = PopularityBaseline
        elif name == "baseline":
            models[name] = BiasBaseline
        elif name == "mf":
            models[name] = lambda: BiasedMF(n_factors=50, l2=0.05, learning_rate=3e-3,
                                            epochs=30)
        elif name == "course":
            models[name] = CourseBernoulliRBM
        elif name in SURPRISE:
            try:
                import surprise  # noqa: F401
            except ImportError:
                print(f"scikit-surprise not installed: skipping {name}")
                continue
            algo, kw = SURPRISE[name]
            models[name] = (lambda algo=algo, kw=kw: SurpriseModel(algo, **kw))
        else:
            raise SystemExit(f"unknown model {name}")
    return models


class ImplicitLibModel(ImplicitRanker):
    """The ``implicit`` package's ALS or BPR on the watched matrix (one thread, seeded)."""

    def __init__(self, algo, **kw):
        self.algo, self.kw = algo, kw

    def _fit_matrix(self, X):
        import scipy.sparse
        from implicit.cpu.als import AlternatingLeastSquares
        from implicit.cpu.bpr import BayesianPersonalizedRanking
        cls = {"als": AlternatingLeastSquares, "bpr": BayesianPersonalizedRanking}[self.algo]
        self.model = cls(num_threads=1, random_state=0, **self.kw)
        self.model.fit(scipy.sparse.csr_matrix(X), show_progress=False)

    def ranking_scores(self, user_index):
        return self.model.user_factors[user_index] @ self.model.item_factors.T


RANKERS = {     # the baselines first: cheap, so a stopped run still compares them
    "popularity": PopularityBaseline,
    "itemknn": ItemKNN,
    "ease": lambda: EASE(500.0),
    "course": CourseBernoulliRBM,
    "course_watched": lambda: CourseBernoulliRBM(inputs="watched"),
    "als": lambda: ImplicitLibModel("als", factors=64, regularization=0.05, iterations=15),
    "bpr": lambda: ImplicitLibModel("bpr", factors=64, learning_rate=0.01,
                                    regularization=0.01, iterations=100),
    "rbm": lambda: RBMRecommender(kind="implicit"),
    "rbm_liked": lambda: RBMRecommender(kind="implicit", implicit_conditional=True),
}
DEFAULT_RANKERS = [n for n in RANKERS if n != "rbm_liked"]
RANK_KEYS = ("precision@10", "recall@10", "ndcg@10", "map@10", "coverage")


def rank_fold(job):
    """One fold, every ranking model: {model: {"all": metrics, "liked": metrics, ...}}."""
    fold, names, data_dir = job
    data = movielens("100k", data_dir=data_dir)
    train, test = data.fold(fold)
    out = {}
    for name in names:
        t0, c0 = time.perf_counter(), time.process_time()
        model = RANKERS[name]().fit(train)
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        row = {"train_seconds": secs, "train_cpu_seconds": cpu}
        for label, threshold in (("all", None), ("liked", 4)):
            m = ranking_metrics(model, train, test, n=10, threshold=threshold)
            m.pop("per_user")
            row[label] = m
        out[name] = row
        a, b = row["all"], row["liked"]
        print(f"{fold} {name:15s} all: P@10 {a['precision@10']:.4f} R@10 {a['recall@10']:.4f} "
              f"nDCG@10 {a['ndcg@10']:.4f} MAP@10 {a['map@10']:.4f} cov {a['coverage']:.3f} | "
              f">=4: P@10 {b['precision@10']:.4f} R@10 {b['recall@10']:.4f} nDCG@10 "
              f"{b['ndcg@10']:.4f} MAP@10 {b['map@10']:.4f} | train {secs:.1f}s cpu {cpu:.1f}s",
              flush=True)
    return fold, out


def run_ranking(args):
    t_start = time.perf_counter()
    names = args.models.split(",")
    unknown = set(names) - set(RANKERS)
    if unknown:
        raise SystemExit(f"unknown ranking model(s) {sorted(unknown)}; choose from {sorted(RANKERS)}")
    folds = args.folds.split(",")
    jobs = [(f, names, args.data_dir) for f in folds]
    if args.jobs > 1:
        import multiprocessing
        with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
            results = dict(pool.imap_unordered(rank_fold, jobs))
    else:
        results = dict(map(rank_fold, jobs))
    summary = {}
    for gname, members in (("u1-u5", ["u1", "u2", "u3", "u4", "u5"]), ("ua/ub", ["ua", "ub"])):
        present = [f for f in members if f in results]
        if not present:
            continue
        for label in ("all", "liked"):
            print(f"\n{gname} ({len(present)} folds), relevant = "
                  + ("every test pair" if label == "all" else "test pairs rated >= 4")
                  + ": mean ± 95% t-interval half-width over folds")
            print("  model            " + "  ".join(f"{k:>17s}" for k in RANK_KEYS)
                  + "  train CPU s/fold")
            for name in names:
                cells = {k: t_interval([results[f][name][label][k] for f in present])
                         for k in RANK_KEYS}
                summary.setdefault(gname, {}).setdefault(label, {})[name] = cells
                cpu = np.mean([results[f][name]["train_cpu_seconds"] for f in present])
                print(f"  {name:15s}  " + "  ".join(f"{m:.4f} ± {h:.4f}" for m, h in
                                                   cells.values()) + f"  {cpu:.1f}")
            if "rbm" in names and len(names) > 1:
                base = [n for n in names if not n.startswith("rbm")]
                best = max(base, key=lambda n: summary[gname][label][n]["ndcg@10"][0])
                for key in ("ndcg@10", "precision@10"):
                    d = t_interval([results[f]["rbm"][label][key] - results[f][best][label][key]
                                   for f in present])
                    print(f"  paired rbm - {best} (best baseline by nDCG@10), {key}: "
                          f"{d[0]:+.4f} ± {d[1]:.4f}")
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    print(f"\ntotal: wall {time.perf_counter() - t_start:.0f} s, CPU {cpu:.0f} s, load "
          f"{os.getloadavg()}")
    print(json.dumps({"args": vars(args), "per_fold": results}, sort_keys=True, default=str))


def _fmt(v):
    return "-" if v is None else f"{v:.4f}"


def run_model(name, args):
    """All folds of one model (a worker process with ``--jobs`` > 1): a list of per-fold dicts."""
    data = movielens("100k", data_dir=args.data_dir)
    folds = data.folds(args.folds.split(","))
    make = make_models([name], args)[name]
    ranked = set(args.ranked.split(","))
    rows = []
    for fold, train, test in folds:
        model = make()
        t0, c0 = time.perf_counter(), time.process_time()
        if name == "rbm":
            implicit = test.triples[:, :2] if args.implicit_test else None
            model.fit(train, epochs=args.epochs, implicit=implicit)
        else:
            model.fit(train)
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        m = evaluate(model, train, test, ranking=name in ranked)
        m.update(train_seconds=secs, train_cpu_seconds=cpu, fold=fold,
                 eval_cpu_seconds=time.process_time() - c0 - cpu)
        if name == "rbm":
            m["epochs_run"] = {o: len(h["loss"]) for o, h in model.history.items()}
            m["blend"] = [round(float(w), 4) for w in model.blend]
        rows.append(m)
        extra = (f" p@10 {m['precision@10']:.4f} r@10 {m['recall@10']:.4f} ndcg@10 "
                 f"{m['ndcg@10']:.4f} cov {m['coverage']:.3f} pop "
                 f"{m['mean_popularity']:.1f}") if name in ranked else ""
        print(f"{name:12s} {fold}: rmse {m['rmse']:.4f} mae {m['mae']:.4f}{extra} "
              f"train {secs:.1f}s cpu {cpu:.1f}s eval cpu {m['eval_cpu_seconds']:.1f}s"
              + (f" epochs {m['epochs_run']} blend {m['blend']}" if name == "rbm" else ""),
              flush=True)
    return rows


def _run_model_job(job):
    return job[0], run_model(*job)


def run_folds(args):
    t_start = time.perf_counter()
    names = list(make_models(args.models.split(","), args))
    if args.jobs > 1:
        import multiprocessing
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(args.jobs) as pool:       # each model in its own process, all in one run
            results = dict(pool.imap_unordered(_run_model_job, [(n, args) for n in names]))
        results = {n: results[n] for n in names}
    else:                                   # fold by fold, so a stopped run has whole folds
        results = {n: [] for n in names}
        for fold in args.folds.split(","):
            one = argparse.Namespace(**{**vars(args), "folds": fold})
            for n in names:
                results[n] += run_model(n, one)
    groups = [("u1-u5", {"u1", "u2", "u3", "u4", "u5"}), ("ua/ub", {"ua", "ub"})]
    keys = ("rmse", "mae", "precision@10", "recall@10", "ndcg@10", "coverage",
            "mean_popularity", "train_seconds", "train_cpu_seconds")
    summary = {}
    for gname, members in groups:
        print(f"\n{gname}: model  RMSE mean ± std  MAE  P@10  R@10  nDCG@10  coverage  "
              "mean pop.  train s/fold  train CPU s/fold")
        for name, rows in results.items():
            sel = [r for r in rows if r["fold"] in members]
            if not sel:
                continue
            s = {k: float(np.mean([r[k] for r in sel])) if k in sel[0] else None for k in keys}
            s["rmse_std"] = float(np.std([r["rmse"] for r in sel]))
            s["folds"] = [r["fold"] for r in sel]
            summary.setdefault(gname, {})[name] = s
            print(f"  {name:12s} {s['rmse']:.4f} ± {s['rmse_std']:.4f}  {s['mae']:.4f}  "
                  f"{_fmt(s['precision@10'])}  {_fmt(s['recall@10'])}  {_fmt(s['ndcg@10'])}  "
                  f"{_fmt(s['coverage'])}  {s['mean_popularity'] or 0:.1f}  "
                  f"{s['train_seconds']:.1f}  {s['train_cpu_seconds']:.1f}")
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    print(f"\ntotal: wall {time.perf_counter() - t_start:.0f} s, CPU {cpu:.0f} s (this process "
          f"and its workers: user {me.ru_utime + kids.ru_utime:.0f} s, sys "
          f"{me.ru_stime + kids.ru_stime:.0f} s), load {os.getloadavg()}")
    print(json.dumps({"folds": args.folds, "args": vars(args), "summary": summary,
                      "per_fold": results}, sort_keys=True, default=str))


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
    rec = RBMRecommender(n_hidden=args.hidden, kind="user", batch_size=args.batch,
                         cd_k={0: 1, 1: 3}, validation_fraction=0.0, seed=0)
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
    p.add_argument("--folds", default="u1,u2,u3,u4,u5,ua,ub")
    p.add_argument("--models", default="rbm,popularity,baseline,mf,baseline_only,svd,svdpp,"
                                       "knn_baseline")
    p.add_argument("--ranked", default="rbm,popularity,mf,baseline",
                   help="models whose top-10 lists are scored")
    p.add_argument("--epochs", type=int, default=40, help="most epochs (early stopping)")
    p.add_argument("--jobs", type=int, default=1, help="models run in parallel processes")
    p.add_argument("--kind", default="both", choices=("user", "item", "both"))
    p.add_argument("--conditional", type=int, default=1, choices=(0, 1))
    p.add_argument("--implicit-test", action="store_true")
    p.add_argument("--hidden", type=int, default=100)
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--wd", type=float, default=1e-3)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--val-fraction", type=float, default=0.05)
    p.add_argument("--patience", type=int, default=5)
    p.add_argument("--seed", type=int, default=0, help="the RBM's seed (initial weights, noise, validation split)")
    p.add_argument("--min-epochs", type=int, default=10,
                   help="epochs before early stopping starts watching (default 10)")
    p.add_argument("--shrinkage", type=float, default=50.0)
    p.add_argument("--blend-baseline", type=int, default=1, choices=(0, 1),
                   help="add mu + b_u + b_i to the RBMs' least-squares blend (default 1)")
    p.add_argument("--ranking", action="store_true",
                   help="the top-N benchmark (models: " + ",".join(RANKERS) + ")")
    p.add_argument("--memory-1m", action="store_true")
    p.add_argument("--epochs-1m", type=int, default=2)
    args = p.parse_args()
    if args.ranking:
        if args.models == p.get_default("models"):
            args.models = ",".join(DEFAULT_RANKERS)
        run_ranking(args)
    elif args.memory_1m:
        memory_1m(args)
    else:
        run_folds(args)


if __name__ == "__main__":
    main()
