"""Anomaly scores on MNIST, leave one class out (issue 35), with baselines and sanity rows.

For each held-out class c (``--classes``): train on the training digits of the other nine,
score the 10,000 test digits, and measure how well each score finds the test digits of class
c (positives; higher score = more anomalous): AUROC and AUPR (average precision; the positive
rate, about 0.1, is chance). Every score is computed in the same run:

* tfrbm, unlabelled RBM (200 hidden by default, PCD-1 with centering, ``--epochs``):
  ``RBMModel.anomaly_scores`` with each of ``tfrbm.anomaly.METHODS`` (typicality with batches of 1);
* tfrbm, labelled RBM (a one-layer ``DBNModel`` with ``n_labels=9``, trained on the same digits
  and their labels): ``DBNModel.anomaly_scores`` with each of ``tfrbm.anomaly.LABEL_METHODS``;
* baselines: the independent-pixel model (-log p0(v)), PCA reconstruction error (50
  components), scikit-learn's IsolationForest on the pixels and on the RBM's hidden
  probabilities.

Sanity rows, per held-out model: the nine known classes' test digits against 10,000
uniform-noise images (pixel = 1 with probability 1/2) and against the 10,000 Fashion-MNIST test
images (the "letters" case of the original anomaly lab), AUROC per score, averaged over models.
All images are binarized once with numpy.random.default_rng(--seed).

    TF_NUM_INTRAOP_THREADS=1 nice -n 10 python benchmarks/bench_anomaly.py --out /tmp/loco.json
    python benchmarks/bench_anomaly.py --classes 9 --epochs 3      # one class, while developing
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


def _train_models(x, y, args, seed, held):
    """The unlabelled RBM and the labelled RBM (one-layer labelled DBN) on the same digits, each
    as ``tfrbm anomaly detect`` fits it (:func:`tfrbm.pipelines.anomaly.fit_detector`, batch
    100); with ``--models DIR`` they are saved there and loaded (not retrained) on the next run."""
    import keras

    from tfrbm.pipelines.anomaly import AnomalyConfig, fit_detector

    if args.models:
        paths = [pathlib.Path(args.models) / f"held{held}_{kind}_h{args.hidden}_e{args.epochs}.keras"
                 for kind in ("rbm", "labelled")]
        if all(p.exists() for p in paths):
            return (*(keras.saving.load_model(p) for p in paths), False)
    rbm, dbn = (fit_detector(AnomalyConfig(labels=labels, hidden=args.hidden,
                                           learning_rate=args.learning_rate, seed=seed),
                             x, y, args.epochs, 100) for labels in (False, True))
    if args.models:
        pathlib.Path(args.models).mkdir(parents=True, exist_ok=True)
        rbm.save(paths[0])
        dbn.save(paths[1])
    return rbm, dbn, True


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
    """Every score of rows ``v``: name -> scores. The labelled scores share one computation of
    the class free energies (``DBNModel.anomaly_scores`` is exactly ``label_scores`` of them,
    tests/test_anomaly.py)."""
    from tfrbm import anomaly
    out = {f"rbm {m}": rbm.anomaly_scores(v, method=m) for m in anomaly.METHODS}
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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--classes", type=_classes, default=list(range(10)), help="held-out classes")
    p.add_argument("--hidden", type=int, default=200)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--learning-rate", type=float, default=0.02)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", default=None, help="write the full results as JSON (after each class)")
    p.add_argument("--n-sanity", type=int, default=2000,
                   help="noise and Fashion-MNIST images in the sanity rows (default 2000)")
    p.add_argument("--summarize", nargs="+", default=None, metavar="JSON",
                   help="merge the per-class results of earlier runs' --out files and print "
                        "the table (no training)")
    p.add_argument("--models", default=None, metavar="DIR",
                   help="save the trained models here; a rerun loads them instead of training")
    args = p.parse_args(argv)

    if args.summarize:
        merged = {"per_class": {}, "runs": []}
        for path in args.summarize:
            run = json.loads(pathlib.Path(path).read_text())
            merged["per_class"].update(run["per_class"])
            merged["runs"].append({"file": path, "settings": run["settings"],
                                   "wall_s": run.get("wall_s")})
        merged["per_class"] = dict(sorted(merged["per_class"].items()))
        _summarize(merged)
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
        baselines = _baselines(x[keep], rbm, args.seed + held)
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
