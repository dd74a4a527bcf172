"""The MNIST assignment's analysis functions, on scikit-learn's 8x8 digits."""
import json

import numpy as np
import pytest

from tfrbm.course import assignment
from tfrbm.data.images import load_digits


@pytest.fixture(scope="module")
def trained():
    import keras
    keras.utils.set_random_seed(0)
    x_train, _ = load_digits("train")
    x_test, _ = load_digits("test")
    model = assignment.assignment_model(n_hidden=64, seed=0)
    data = np.concatenate([assignment.binarize_once(x_train, seed=s) for s in range(4)])
    # 5 epochs: after 2 the weak model's 10-step mean-field recall settles on the mean image and
    # only ties the baseline (0.7778 both); after 5 it beats it (0.7891 vs 0.7778)
    model.fit(data, epochs=5, batch_size=16, verbose=0)
    return model, x_train, x_test


def test_reconstructions_and_recall_beat_baseline(trained):
    model, x_train, x_test = trained
    v = assignment.binarize_once(x_test[:64], seed=1)
    rec = assignment.reconstructions(model, v, seed=0)
    assert rec["sampled"].shape == v.shape and set(np.unique(rec["sampled"])) <= {0.0, 1.0}
    assert np.all((rec["probabilities"] > 0) & (rec["probabilities"] < 1))
    # probabilities reconstruct better than chance and than the sample does
    err_p = np.mean((rec["probabilities"] - v) ** 2)
    assert err_p < np.mean((rec["sampled"] - v) ** 2) and err_p < 0.15
    mask = assignment.half_mask((8, 8), 64, "bottom")
    assert mask.sum() == 32
    rc = assignment.recall(model, v, mask, x_train.mean(0), steps=(1, 10), seed=0)
    assert rc["filled"][10].shape == v.shape
    np.testing.assert_array_equal(rc["filled"][10][:, mask == 1], v[:, mask == 1])
    assert 0.5 < rc["baseline_accuracy"] < 0.9
    assert rc["accuracy"][1] > rc["baseline_accuracy"] + 0.01
    assert rc["accuracy"][10] > rc["baseline_accuracy"]
    gibbs = assignment.recall(model, v, mask, x_train.mean(0), steps=(5,), method="gibbs", seed=0)
    np.testing.assert_array_equal(gibbs["filled"][5][:, mask == 1], v[:, mask == 1])
    assert gibbs["accuracy"][5] > 0.6


def test_recall_argument_errors(trained):
    model, x_train, x_test = trained
    v = assignment.binarize_once(x_test[:4], seed=1)
    with pytest.raises(ValueError, match="mask has shape"):
        assignment.recall(model, v, np.ones(10), x_train.mean(0))
    with pytest.raises(ValueError, match="only 0"):
        assignment.recall(model, v, np.full(64, 0.5), x_train.mean(0))
    with pytest.raises(ValueError, match="binarize"):
        assignment.recall(model, x_test[:4], np.ones(64), x_train.mean(0))
    with pytest.raises(ValueError, match="method"):
        assignment.recall(model, v, assignment.half_mask((8, 8), 64), x_train.mean(0), method="exact")
    with pytest.raises(ValueError, match="which"):
        assignment.half_mask((8, 8), 64, "top")


def test_resample_and_free_energy(trained):
    model, _, x_test = trained
    v = assignment.binarize_once(x_test[:16], seed=2)
    rs = assignment.resample(model, v, steps=(5, 50), seed=0)
    assert rs[5].shape == rs[50].shape == v.shape
    assert rs["final_probabilities"].shape == v.shape
    assert not np.array_equal(rs[5], rs[50])
    fe = assignment.free_energy_digits_vs_noise(model, assignment.binarize_once(x_test, seed=3), seed=0)
    assert fe["free_energy_digits"] < fe["free_energy_noise"]
    assert fe["auc"] > 0.95


def test_cli_assignment_and_likelihood(tmp_path, capsys):
    from tfrbm import cli
    out = tmp_path / "fig"
    rc = cli.main(["assignment", "--output", str(out), "--data", "digits", "--hidden", "8",
                   "--epochs", "1", "--steps", "2,5", "--limit", "200", "--images", "8", "--json"])
    assert rc == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for name in ["data", "reconstruction_sampled", "reconstruction_probabilities", "recall",
                 "resample_2", "resample_5", "resample_5_probabilities", "weights", "free_energy",
                 "training_curves"]:
        assert (out / f"{name}.png").stat().st_size > 1000, name
    saved = json.loads((out / "summary.json").read_text())
    assert saved["recall_baseline_accuracy"] == pytest.approx(last["recall_baseline_accuracy"])
    assert set(saved["recall_accuracy"]) == {"1", "10"} and set(saved["recall_accuracy_gibbs"]) == {"100"}
    assert 0 < last["recall_accuracy_10"] <= 1
    with pytest.raises(ValueError, match="epochs"):
        assignment.run_assignment(tmp_path, epochs=0, data="digits")
    # argparse rejects a non-positive epoch count before anything runs
    assert cli.main(["assignment", "--output", str(out), "--data", "digits", "--epochs", "0"]) == 2
    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel
    m = RBMModel(RBMLayer(6), seed=0)
    m.fit(load_digits("train")[0][:100], epochs=1, verbose=0)
    m.save(tmp_path / "m.keras")
    rc = cli.main(["likelihood", "--model", str(tmp_path / "m.keras"), "--data", "digits",
                   "--runs", "8", "--max-betas", "50", "--json"])
    # strict JSON: an infinite bound must not print as -Infinity
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1],
                        parse_constant=lambda name: pytest.fail(f"not strict JSON: {name}"))
    # the command reports a bracket (RAISE lower, AIS upper), no single number; on 6 hidden units
    # both ends must sit on the exact mean log-likelihood, within 4 standard errors + 0.05 nats
    from tfrbm.likelihood import exact_log_likelihood
    exact = exact_log_likelihood(m.layer, load_digits("test")[0])
    assert rc == 0 and exact < 0
    for end in ("lower", "upper"):
        se = result[f"log_likelihood_{end}_se"]
        assert abs(result[f"log_likelihood_{end}"] - exact) < 4 * se + 0.05, (end, result, exact)
    assert cli.main(["likelihood", "--model", str(tmp_path / "missing.keras")]) == 2
