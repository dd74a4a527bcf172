"""Anomaly scores on MNIST, leave one class out (issue 35), with baselines and sanity rows.

For each held-out class c (``--classes``): train on the training digits of the other nine,
score the 10,000 test digits, and measure how well each score finds the test digits of class
c (positives; higher score = more anomalous): AUROC and AUPR (average precision; the positive
rate, about 0.1, is chance). Every score is computed in the same run:

* tfrbm, unlabelled RBM (``--hidden`` 500, ``--epochs`` 10 by default, PCD-1 with centering):
  ``RBMModel.anomaly_scores`` with each of ``tfrbm.anomaly.METHODS`` (typicality with batches of 1);
* tfrbm, labelled RBM (a one-layer ``DBNModel`` with ``n_labels=9``, as many hidden units and
  epochs, trained on the same digits and their labels): ``DBNModel.anomaly_scores`` with each
  of ``tfrbm.anomaly.LABEL_METHODS``;
* baselines: the independent-pixel model (-log p0(v)), PCA reconstruction error (50
  components), scikit-learn's IsolationForest on the pixels and on the RBM's hidden
  probabilities.

Sanity rows, per held-out model: the nine known classes' test digits against ``--n-sanity``
(2,000) uniform-noise images (pixel = 1 with probability 1/2) and against as many Fashion-MNIST
test images (the "letters" case of the original anomaly lab), AUROC per score, averaged over models.
All images are binarized once with numpy.random.default_rng(--seed).

    TF_NUM_INTRAOP_THREADS=1 nice -n 10 python benchmarks/bench_anomaly.py --out /tmp/loco.json
    python benchmarks/bench_anomaly.py --classes 9 --hidden 200 --epochs 3   # one class, quickly
    python benchmarks/bench_anomaly.py --labelled-only --seed 1 --out /tmp/loco_s1.json  # default row only

``--seed`` sets the binarization, and the models' initialisation and data order (model seed =
seed + held-out class), so runs with different seeds give the spread of the figure.
"""
import argparse
import json
import pathlib
import sys
import time

from harness import binarize



def _classes(text):
    out = sorted({int(c) for c in text.split(",") if c.strip()})
    if not out or any(not 0 <= c <= 9 for c in out):
        raise argparse.ArgumentTypeError(f"classes are digits 0-9, comma-separated; got {text!r}")
    return out


def model_path(models, held, kind, hidden, epochs, seed):
    """Where ``--models`` keeps one trained model: seed 0 has no suffix (the first runs' names),
    other seeds end in ``_s{seed}``."""
    suffix = f"_s{seed}" if seed else ""
    return pathlib.Path(models) / f"held{held}_{kind}_h{hidden}_e{epochs}{suffix}.keras"


def _train_models(x, y, args, seed, held):
    """The unlabelled RBM (None with ``--labelled-only``) and the labelled RBM (one-layer
    labelled DBN) on the same digits, each as ``tfrbm anomaly detect`` fits it
    (:func:`tfrbm.pipelines.anomaly.fit_detector`, batch 100); with ``--models DIR`` each is
    saved there and loaded (not retrained) on the next run, so a full run after a
    ``--labelled-only`` one trains only the unlabelled RBM. ``trained``: whether any was trained."""
    import keras

    from tfrbm.pipelines.anomaly import AnomalyConfig, fit_detector

    models, trained = [], False
    for kind in ("labelled",) if args.labelled_only else ("rbm", "labelled"):
        path = (model_path(args.models, held, kind, args.hidden, args.epochs, args.seed)
                if args.models else None)
        if path is not None and path.exists():
            models.append(keras.saving.load_model(path))
            continue
        models.append(fit_detector(AnomalyConfig(labels=kind == "labelled", hidden=args.hidden,
                                                 learning_rate=args.learning_rate, seed=seed),
                                   x, y, args.epochs, 100))
        trained = True
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            models[-1].save(path)
    return (None if args.labelled_only else models[0]), models[-1], trained


def _baselines(x_train, rbm, seed):
    """Fitted baseline scorers: name -> function(rows) -> scores (higher = more anomalous)."""
    import numpy as np
    from sklearn.decomposition import PCA
    from sklearn.ensemble import IsolationForest

    from tfrbm import anomaly

    units, b0 = rbm.layer.visible_units, rbm.base_rate_bias.numpy()
    sub = x_train[np.random.default_rng(seed).permutation(len(x_train))[:20000]]
    pca = PCA(50, random_state=seed).fit(sub)
    if_pixels = IsolationForest(random_state=seed).fit(x_train)
    hidden = rbm.layer.hidden_probs(x_train).numpy()
    if_hidden = IsolationForest(random_state=seed).fit(hidden)
    return {
        "baseline: pixel model": lambda v: -anomaly.background_log_prob(units, b0, v),
        "baseline: PCA(50) reconstruction error":
            lambda v: ((pca.inverse_transform(pca.transform(v)) - v) ** 2).sum(axis=1),
        "baseline: IsolationForest on pixels": lambda v: -if_pixels.score_samples(v),
        "baseline: IsolationForest on RBM features":
            lambda v: -if_hidden.score_samples(rbm.layer.hidden_probs(v).numpy()),
    }


def _score_all(rbm, dbn, baselines, v):
    """Every score of rows ``v``: name -> scores (no unlabelled scores when ``rbm`` is None).
    The labelled scores share one computation of
    the class free energies (``DBNModel.anomaly_scores`` is exactly ``label_scores`` of them,
    tests/test_anomaly.py)."""
    from tfrbm import anomaly
    out = ({} if rbm is None else
           {f"rbm {m}": rbm.anomaly_scores(v, method=m) for m in anomaly.METHODS})
    fk = dbn.class_free_energies(v)
    out.update({f"labelled {m}": anomaly.label_scores(m, fk, dbn.anomaly_reference)
                for m in anomaly.LABEL_METHODS})
    out.update({name: score(v) for name, score in baselines.items()})
    return out


def _summarize(result):
    import numpy as np
    names = [k for k in next(iter(result["per_class"].values())) if k not in ("train_s", "score_s")]
    summary = {}
    for name in names:
        rows = [r[name] for r in result["per_class"].values()]
        summary[name] = {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}
        summary[name]["min_auroc"] = float(min(r["auroc"] for r in rows))
    result["mean"] = summary
    print(f"classes: {','.join(result['per_class'])}")
    print(f"{'score':45s} {'AUROC':>6s} {'AUPR':>6s} {'min':>6s} {'noise':>6s} {'fashion':>7s}")
    for name, s in summary.items():
        print(f"{name:45s} {s['auroc']:6.3f} {s['aupr']:6.3f} {s['min_auroc']:6.3f} "
              f"{s['auroc_vs_noise']:6.3f} {s['auroc_vs_fashion_mnist']:7.3f}")
    return result


def merge_runs(runs):
    """Merge earlier runs' results ``[(file, result), ...]`` into one result per seed:
    ``{"seeds": {seed: {"per_class": ...}}, "runs": [...]}``. Runs with different model settings
    (hidden, epochs, learning rate) are refused: their classes would not make one figure."""
    merged = {"seeds": {}, "runs": []}
    model_keys = ("hidden", "epochs", "learning_rate")
    first = runs[0][1]["settings"]
    for path, run in runs:
        settings = run["settings"]
        differ = [k for k in model_keys if settings.get(k) != first.get(k)]
        if differ:
            raise SystemExit(f"{path}: {', '.join(differ)} differ from {runs[0][0]}'s; "
                             "summarize one model setting at a time")
        seed = str(settings.get("seed", 0))
        merged["seeds"].setdefault(seed, {"per_class": {}})["per_class"].update(run["per_class"])
        merged["runs"].append({"file": str(path), "settings": settings, "wall_s": run.get("wall_s")})
    merged["seeds"] = {seed: {"per_class": dict(sorted(r["per_class"].items()))}
                       for seed, r in sorted(merged["seeds"].items(), key=lambda kv: int(kv[0]))}
    return merged


def over_seeds(seeds):
    """Per score present for every seed and every held-out class of the first seed: the mean
    AUROC over classes for each seed, their mean and 95% t-interval over seeds (the spread
    that model initialisation, data order and binarization give), the worst class of each
    seed and the noise/Fashion-MNIST sanity AUROCs (mean over classes; worst single model)."""
    import numpy as np

    from harness import t_interval

    results = list(seeds.values())
    classes = set(results[0]["per_class"])
    missing = {s: sorted(classes ^ set(r["per_class"])) for s, r in seeds.items()
               if set(r["per_class"]) != classes}
    if missing:
        raise SystemExit(f"the seeds do not cover the same held-out classes: {missing}")
    names = set.intersection(*({k for k in next(iter(r["per_class"].values()))
                                if k not in ("train_s", "score_s")} for r in results))
    out = {}
    for name in sorted(names):
        rows = {s: [r["per_class"][c][name] for c in sorted(r["per_class"])]
                for s, r in seeds.items()}
        means = {s: float(np.mean([x["auroc"] for x in v])) for s, v in rows.items()}
        mean, half = t_interval(list(means.values()))
        worst = {s: min(((x["auroc"], c) for c, x in zip(sorted(seeds[s]["per_class"]), v)))
                 for s, v in rows.items()}
        out[name] = {
            "per_seed_mean_auroc": means, "mean_auroc": mean, "half_width_95": half,
            "interval_95": [mean - half, mean + half],
            "worst_class_per_seed": {s: {"class": c, "auroc": a} for s, (a, c) in worst.items()},
            **{f"{key}_mean": float(np.mean([x[key] for v in rows.values() for x in v]))
               for key in ("aupr", "auroc_vs_noise", "auroc_vs_fashion_mnist")},
            **{f"{key}_worst_model": float(min(x[key] for v in rows.values() for x in v))
               for key in ("auroc_vs_noise", "auroc_vs_fashion_mnist")},
        }
    return out


def print_over_seeds(summary):
    seeds = list(next(iter(summary.values()))["per_seed_mean_auroc"])
    print(f"over seeds {','.join(seeds)}: mean AUROC over classes per seed; mean and 95% t-interval")
    for name, s in sorted(summary.items(), key=lambda kv: -kv[1]["mean_auroc"]):
        per = " ".join(f"{s['per_seed_mean_auroc'][k]:.4f}" for k in seeds)
        worst = " ".join(f"{w['class']}:{w['auroc']:.3f}" for w in s["worst_class_per_seed"].values())
        print(f"{name:45s} {per}  mean {s['mean_auroc']:.4f} [{s['interval_95'][0]:.4f}, "
              f"{s['interval_95'][1]:.4f}]  worst {worst}  noise {s['auroc_vs_noise_mean']:.3f} "
              f"(min {s['auroc_vs_noise_worst_model']:.3f})  fashion "
              f"{s['auroc_vs_fashion_mnist_mean']:.3f} (min {s['auroc_vs_fashion_mnist_worst_model']:.3f})")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--classes", type=_classes, default=list(range(10)), help="held-out classes")
    p.add_argument("--hidden", type=int, default=500,
                   help="hidden units of both models (default 500; the first runs used 200)")
    p.add_argument("--epochs", type=int, default=10,
                   help="training epochs of both models, batch 100 (default 10; the first runs used 3)")
    p.add_argument("--learning-rate", type=float, default=0.02)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", default=None, help="write the full results as JSON (after each class)")
    p.add_argument("--n-sanity", type=int, default=2000,
                   help="noise and Fashion-MNIST images in the sanity rows (default 2000)")
    p.add_argument("--summarize", nargs="+", default=None, metavar="JSON",
                   help="merge the per-class results of earlier runs' --out files (one model "
                        "setting; grouped by --seed) and print the table per seed and, with "
                        "several seeds, each score's mean over seeds with its 95%% t-interval "
                        "(no training)")
    p.add_argument("--models", default=None, metavar="DIR",
                   help="save the trained models here; a rerun loads them instead of training")
    p.add_argument("--labelled-only", action="store_true",
                   help="train and score only the labelled model (no unlabelled RBM, no "
                        "baselines): the default score's row alone, for extra seeds and settings")
    args = p.parse_args(argv)

    if args.summarize:
        runs = [(path, json.loads(pathlib.Path(path).read_text())) for path in args.summarize]
        merged = merge_runs(runs)
        for seed, result in merged["seeds"].items():
            print(f"seed {seed}:")
            _summarize(result)
        if len(merged["seeds"]) > 1:
            merged["over_seeds"] = over_seeds(merged["seeds"])
            print_over_seeds(merged["over_seeds"])
        if args.out:
            pathlib.Path(args.out).write_text(json.dumps(merged, indent=1))
        return 0

    import numpy as np
    from sklearn.metrics import average_precision_score, roc_auc_score

    from tfrbm import anomaly
    from tfrbm.data.images import load_fashion_mnist, load_mnist

    t_start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    x, y = load_mnist("train", data_dir=args.data_dir)
    xt, yt = load_mnist("test", data_dir=args.data_dir)
    fashion = load_fashion_mnist("test", data_dir=args.data_dir)[0]
    x, xt, fashion = (binarize(a, rng, "float32") for a in (x, xt, fashion))
    noise = (rng.random(xt.shape, dtype=np.float32) < 0.5).astype(np.float32)
    fashion, noise = fashion[:args.n_sanity], noise[:args.n_sanity]
    result = {"settings": {k: v for k, v in vars(args).items() if k != "out"},
              "default_labelled": anomaly.AUTO_LABEL_METHOD, "default_unlabelled": anomaly.AUTO_METHOD,
              "per_class": {}}
    for held in args.classes:
        t0 = time.perf_counter()
        keep = y != held
        rbm, dbn, trained = _train_models(x[keep], y[keep], args, args.seed + held, held)
        t_train = time.perf_counter() - t0
        is_new = (yt == held).astype(int)
        row = {"train_s": round(t_train, 1) if trained else None}
        baselines = {} if rbm is None else _baselines(x[keep], rbm, args.seed + held)
        test = _score_all(rbm, dbn, baselines, xt)
        others = {name: _score_all(rbm, dbn, baselines, other)
                  for name, other in (("noise", noise), ("fashion_mnist", fashion))}
        for name, s in test.items():
            s_known = s[yt != held]
            row[name] = {"auroc": float(roc_auc_score(is_new, s)),
                         "aupr": float(average_precision_score(is_new, s))}
            for other_name, scores in others.items():
                s_other = scores[name]
                labels = np.r_[np.zeros(len(s_known)), np.ones(len(s_other))]
                row[name][f"auroc_vs_{other_name}"] = float(
                    roc_auc_score(labels, np.r_[s_known, s_other]))
        row["score_s"] = round(time.perf_counter() - t0 - t_train, 1)
        result["per_class"][str(held)] = row
        if args.out:
            pathlib.Path(args.out).write_text(json.dumps(result, indent=1))
        print(json.dumps({"held_out": held, **{k: (v if not isinstance(v, dict) else
                                                   round(v["auroc"], 4)) for k, v in row.items()}}),
              flush=True)
    _summarize(result)
    result["wall_s"] = round(time.perf_counter() - t_start, 1)
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps({"wall_s": result["wall_s"]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
