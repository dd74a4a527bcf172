"""The leave-one-class-out anomaly benchmark's plumbing (benchmarks/bench_anomaly.py): the
labelled-only path trains, saves and reloads just the labelled model (per seed), and the
summary over seeds gives each seed's mean over classes and the 95% t-interval over seeds."""
import argparse
import math
import os
import sys

import numpy as np
import pytest
from scipy import stats

from tfrbm import anomaly

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
sys.path.insert(0, BENCH)

import bench_anomaly  # noqa: E402
import harness  # noqa: E402


def _run(seed, aurocs, hidden=200, noise=1.0, fashion=0.99):
    row = lambda a: {"auroc": a, "aupr": a / 2, "auroc_vs_noise": noise,  # noqa: E731
                     "auroc_vs_fashion_mnist": fashion}
    return {"settings": {"seed": seed, "hidden": hidden, "epochs": 3, "learning_rate": 0.02},
            "per_class": {str(c): {"train_s": 1.0, "score_s": 1.0, "labelled guarded_entropy": row(a)}
                          for c, a in aurocs.items()}}


def test_over_seeds_means_interval_and_worst_class():
    runs = [("a", _run(0, {0: 0.9, 1: 0.8})), ("b", _run(0, {2: 0.7})),   # seed 0 in two files
            ("c", _run(1, {0: 0.95, 1: 0.85, 2: 0.6}, fashion=0.98)),
            ("d", _run(2, {0: 0.9, 1: 0.9, 2: 0.75}))]
    merged = bench_anomaly.merge_runs(runs)
    assert list(merged["seeds"]) == ["0", "1", "2"]
    s = bench_anomaly.over_seeds(merged["seeds"])["labelled guarded_entropy"]
    means = [0.8, 0.8, 0.85]
    assert s["per_seed_mean_auroc"] == pytest.approx(dict(zip("012", means)))
    half = stats.t.ppf(0.975, 2) * np.std(means, ddof=1) / math.sqrt(3)
    assert s["mean_auroc"] == pytest.approx(np.mean(means))
    assert s["interval_95"] == pytest.approx([np.mean(means) - half, np.mean(means) + half])
    assert s["worst_class_per_seed"]["1"] == {"class": "2", "auroc": 0.6}
    assert s["auroc_vs_fashion_mnist_worst_model"] == pytest.approx(0.98)
    assert harness.t_interval([0.5])[1] != harness.t_interval([0.5])[1]   # nan for one value


def test_summary_refuses_mixed_settings_and_uneven_classes():
    with pytest.raises(SystemExit, match="hidden"):
        bench_anomaly.merge_runs([("a", _run(0, {0: 0.9})), ("b", _run(1, {0: 0.9}, hidden=500))])
    merged = bench_anomaly.merge_runs([("a", _run(0, {0: 0.9, 1: 0.8})), ("b", _run(1, {0: 0.9}))])
    with pytest.raises(SystemExit, match="same held-out classes"):
        bench_anomaly.over_seeds(merged["seeds"])


def test_labelled_only_trains_saves_and_reloads_each_model_per_seed(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.random((60, 12)) < 0.5).astype("float32")
    y = np.repeat([0, 2, 3], 20)
    args = argparse.Namespace(labelled_only=True, models=str(tmp_path), hidden=4, epochs=1,
                              learning_rate=0.02, seed=1)
    rbm, dbn, trained = bench_anomaly._train_models(x, y, args, seed=2, held=1)
    assert rbm is None and trained
    assert sorted(p.name for p in tmp_path.iterdir()) == ["held1_labelled_h4_e1_s1.keras"]
    assert bench_anomaly.model_path(tmp_path, 1, "labelled", 4, 1, 0).name == "held1_labelled_h4_e1.keras"
    scores = bench_anomaly._score_all(None, dbn, {}, x[:5])
    assert sorted(scores) == sorted(f"labelled {m}" for m in anomaly.LABEL_METHODS)
    args.labelled_only = False          # a full run after it trains only the unlabelled RBM
    rbm, again, trained = bench_anomaly._train_models(x, y, args, seed=2, held=1)
    assert trained and rbm is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["held1_labelled_h4_e1_s1.keras",
                                                          "held1_rbm_h4_e1_s1.keras"]
    np.testing.assert_allclose(bench_anomaly._score_all(None, again, {}, x[:5])["labelled entropy"],
                               scores["labelled entropy"], rtol=1e-5, atol=1e-6)
