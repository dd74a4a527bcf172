"""Anomaly scores (issue 35): each score against its formula by enumeration on tiny models, the
training summary's round trip, the threshold's false-positive rate, and bad input."""
import itertools
import math
import zlib

import keras
import numpy as np
import pytest

from tfrbm import anomaly
from tfrbm.errors import UserError
from tfrbm.layers import RBMLayer
from tfrbm.models.dbn import DBNModel
from tfrbm.models.rbm import RBMModel
from tfrbm.testing import random_layer


def _states(n):
    return np.array(list(itertools.product([0, 1], repeat=n)), np.float64)


def _tiny_rbm(n_visible=6, n_hidden=3, seed=0):
    """A built RBMModel with random weights and a random pixel (base-rate) model."""
    model = RBMModel(random_layer(n_visible, n_hidden, seed=seed, scale=1.5), seed=seed)
    model.build((None, n_visible))
    rng = np.random.default_rng(seed + 100)
    model.base_rate_bias.assign(rng.normal(0, 1, n_visible).astype("float32"))
    model.initialized.assign(1.0)
    return model


def _exact(model):
    """All visible states with log p(v) and -log Z from the joint E(v, h) enumerated in full."""
    layer = model.layer
    w, b, c = (layer.kernel.numpy().astype(np.float64), layer.visible_bias.numpy().astype(np.float64),
               layer.hidden_bias.numpy().astype(np.float64))
    vs, hs = _states(layer.n_visible), _states(layer.units)
    neg_energy = (vs @ b)[:, None] + (hs @ c)[None, :] + vs @ w @ hs.T     # -E(v, h)
    log_unnorm = np.logaddexp.reduce(neg_energy, axis=1)                  # -F(v)
    log_z = np.logaddexp.reduce(log_unnorm)
    return vs, log_unnorm - log_z, log_z


def test_free_energy_and_ratio_scores_match_enumeration():
    model = _tiny_rbm()
    vs, log_p, log_z = _exact(model)
    b0 = model.base_rate_bias.numpy().astype(np.float64)
    log_p0 = vs @ b0 - np.logaddexp.reduce(vs @ b0)          # the pixel model, enumerated
    x = vs.astype("float32")
    # free energy: F(v) = -log p(v) - log Z
    np.testing.assert_allclose(model.anomaly_scores(x, method="free_energy"), -log_p - log_z,
                               rtol=0, atol=2e-4)
    # ratio: log p0(v) - log p(v), up to the constant -log Z
    np.testing.assert_allclose(model.anomaly_scores(x, method="ratio"), log_p0 - log_p - log_z,
                               rtol=0, atol=2e-4)
    # higher = more anomalous: the least probable state under the RBM scores highest by F
    assert np.argmax(model.anomaly_scores(x, method="free_energy")) == np.argmin(log_p)


def test_complexity_score_matches_its_formula():
    model = _tiny_rbm(n_visible=8)
    vs, log_p, log_z = _exact(model)
    x = vs.astype("float32")
    bits = np.array([8.0 * len(zlib.compress(np.packbits(row.astype(bool)).tobytes(), 9))
                     for row in vs])
    np.testing.assert_allclose(anomaly.complexity_bits(x), bits)
    expected = -log_p / math.log(2) - bits - log_z / math.log(2)     # -log2 p(v) - L(v) + const
    np.testing.assert_allclose(model.anomaly_scores(x, method="complexity"), expected,
                               rtol=0, atol=3e-4)
    # a blank image compresses to fewer bits than a noisy one
    rng = np.random.default_rng(0)
    blank, noisy = np.zeros((1, 784)), (rng.random((1, 784)) < 0.5)
    assert anomaly.complexity_bits(blank)[0] < anomaly.complexity_bits(noisy)[0]


def test_typicality_score_matches_its_formula():
    model = _tiny_rbm()
    vs, log_p, log_z = _exact(model)
    f = -log_p - log_z
    rng = np.random.default_rng(1)
    train = vs[rng.choice(len(vs), 500, p=np.exp(log_p))].astype("float32")
    ref = model.fit_anomaly_reference(train)
    f_train = f[(train @ (1 << np.arange(5, -1, -1))).astype(int)]
    assert ref.rows == 500
    assert ref.free_energy_mean == pytest.approx(f_train.mean(), abs=1e-4)
    assert ref.free_energy_std == pytest.approx(f_train.std(ddof=1), abs=1e-4)
    x = vs[:10].astype("float32")
    fx = f[:10]
    per_row = np.abs(fx - f_train.mean()) / f_train.std(ddof=1)
    np.testing.assert_allclose(model.anomaly_scores(x, method="typicality"), per_row, atol=2e-4)
    # batches of 4 (the last one of 2): each row gets its batch's statistic
    got = model.anomaly_scores(x, method="typicality", batch_size=4)
    for start, stop in ((0, 4), (4, 8), (8, 10)):
        stat = abs(fx[start:stop].mean() - f_train.mean()) / (f_train.std(ddof=1)
                                                               / math.sqrt(stop - start))
        np.testing.assert_allclose(got[start:stop], stat, atol=2e-4)


def test_label_scores_match_enumeration(toy_labelled_dbn):
    dbn = toy_labelled_dbn()
    top = dbn.rbms[0]
    w, b, c = (top.kernel.numpy().astype(np.float64), top.visible_bias.numpy().astype(np.float64),
               top.hidden_bias.numpy().astype(np.float64))
    xs, hs = _states(4), _states(3)
    fk = np.empty((16, 3))
    for k in range(3):
        v = np.concatenate([xs, np.tile(np.eye(3)[k], (16, 1))], axis=1)
        fk[:, k] = -np.logaddexp.reduce((v @ b)[:, None] + (hs @ c)[None, :] + v @ w @ hs.T, axis=1)
    x = xs.astype("float32")
    np.testing.assert_allclose(dbn.class_free_energies(x), fk, atol=2e-4)
    np.testing.assert_allclose(dbn.anomaly_scores(x, method="class_free_energy"), fk.min(1),
                               atol=2e-4)
    srt = np.sort(fk, axis=1)
    np.testing.assert_allclose(dbn.anomaly_scores(x, method="margin"), srt[:, 0] - srt[:, 1],
                               atol=2e-4)
    p = np.exp(-fk) / np.exp(-fk).sum(1, keepdims=True)       # p(label | x), enumerated
    entropy = -(p * np.log(p)).sum(1)
    np.testing.assert_allclose(dbn.anomaly_scores(x, method="entropy"), entropy, atol=2e-4)
    np.testing.assert_allclose(dbn.classify(x), p, atol=1e-5)
    # guarded entropy: + max(0, z - 3), z the marginal free energy's z-score vs the reference
    marginal = -np.log(np.exp(-fk).sum(1))
    typical = np.argsort(marginal)[:6]              # the reference: the 6 most probable inputs
    ref = dbn.fit_anomaly_reference(x[typical])
    assert ref.free_energy_mean == pytest.approx(marginal[typical].mean(), abs=1e-4)
    assert ref.free_energy_std == pytest.approx(marginal[typical].std(ddof=1), abs=1e-4)
    z = (marginal - marginal[typical].mean()) / marginal[typical].std(ddof=1)
    expected = entropy + np.maximum(0, z - anomaly.GUARD_Z)
    assert (z > anomaly.GUARD_Z).any()           # the guard is exercised
    np.testing.assert_allclose(dbn.anomaly_scores(x), expected, atol=5e-4)


def test_fit_keeps_a_summary_that_survives_the_keras_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.random((300, 12)) < 0.3).astype("float32")
    model = RBMModel(RBMLayer(4), seed=0)
    assert model.anomaly_reference is None
    model.fit(x, epochs=1, batch_size=50, verbose=0)
    ref = model.anomaly_reference
    assert ref.rows == 300 and ref.free_energy_std > 0
    assert ref.free_energy_mean == pytest.approx(model.free_energy(x).astype(np.float64).mean(),
                                                 abs=1e-3)
    path = tmp_path / "rbm.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.anomaly_reference == ref
    for method in anomaly.METHODS:
        np.testing.assert_allclose(loaded.anomaly_scores(x[:20], method=method, batch_size=5),
                                   model.anomaly_scores(x[:20], method=method, batch_size=5),
                                   atol=1e-5)
    # fit_in_memory refreshes the summary too
    model.fit_in_memory(x, epochs=1, batch_size=50)
    assert model.anomaly_reference != ref
    # score_samples keeps its meaning: -F(v), higher = more like the data
    np.testing.assert_allclose(model.score_samples(x[:5]), -model.free_energy(x[:5]))


def test_threshold_false_positive_rate_is_within_its_binomial_interval():
    rng = np.random.default_rng(0)
    for fpr in (0.01, 0.05, 0.2):
        calibration = rng.gumbel(size=4000)
        fresh = rng.gumbel(size=20000)
        t = anomaly.fpr_threshold(calibration, fpr)
        assert (calibration > t).mean() <= fpr
        flagged = int((fresh > t).sum())
        lo, hi = anomaly.binomial_interval(flagged, len(fresh), level=0.999)
        # the calibration quantile's own noise widens it: n = 4,000 adds sd sqrt(fpr/4000)
        slack = 3 * math.sqrt(fpr * (1 - fpr) / len(calibration))
        assert lo - slack <= fpr <= hi + slack, (fpr, flagged / len(fresh), lo, hi)
    lo, hi = anomaly.binomial_interval(50, 1000)
    assert lo < 0.05 < hi and hi - lo < 0.03


def test_bad_input_gets_clear_errors(toy_labelled_dbn):
    model = _tiny_rbm()
    x = np.zeros((3, 6), "float32")
    with pytest.raises(UserError, match="unknown anomaly method 'nope'"):
        model.anomaly_scores(x, method="nope")
    with pytest.raises(UserError, match="batch_size"):
        model.anomaly_scores(x, method="typicality", batch_size=0)
    with pytest.raises(UserError, match="fit_anomaly_reference"):
        model.anomaly_scores(x, method="typicality")          # no summary yet
    with pytest.raises(UserError, match="6"):
        model.anomaly_scores(np.zeros((3, 5), "float32"))
    with pytest.raises(UserError):
        model.anomaly_scores(np.full((3, 6), 2.0, "float32"))   # not a Bernoulli state
    fresh = RBMModel(RBMLayer(3))
    fresh.build((None, 6))
    with pytest.raises(UserError, match="fit the model first"):
        fresh.anomaly_scores(x, method="ratio")
    gauss = RBMModel(RBMLayer(3, visible="gaussian"))
    gauss.build((None, 6))
    with pytest.raises(UserError, match="complexity"):
        gauss.anomaly_scores(x, method="complexity")
    unlabelled = DBNModel([RBMLayer(3)])
    unlabelled.build((None, 4))
    with pytest.raises(UserError, match="n_labels"):
        unlabelled.anomaly_scores(np.zeros((2, 4), "float32"))
    with pytest.raises(UserError, match="unknown anomaly method 'ratio'"):
        toy_labelled_dbn().anomaly_scores(np.zeros((2, 4), "float32"), method="ratio")
    with pytest.raises(UserError, match="fit_anomaly_reference"):
        toy_labelled_dbn().anomaly_scores(np.zeros((2, 4), "float32"))   # no summary yet
    with pytest.raises(UserError, match=r"\(0, 1\)"):
        anomaly.fpr_threshold(np.zeros(100), 1.5)
    with pytest.raises(UserError, match="at least 100 held-out normal rows"):
        anomaly.fpr_threshold(np.zeros(50), 0.01)
    with pytest.raises(UserError, match="non-finite"):
        anomaly.fpr_threshold(np.r_[np.zeros(100), np.nan], 0.05)
    with pytest.raises(UserError, match="anomaly_reference"):
        anomaly.AnomalyReference.from_config({"rows": 3})
    with pytest.raises(UserError, match="at least 2"):
        model.fit_anomaly_reference(x[:1])
    one = RBMModel(RBMLayer(2), seed=0)
    one.fit(x[:1], epochs=1, verbose=0)                  # one row: fits, keeps no summary
    assert one.anomaly_reference is None


# ----------------------------------------------------------------------------- pipeline and command
def test_labelled_dbn_keeps_its_summary_through_fit_and_the_keras_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.random((200, 10)) < 0.3).astype("float32")
    y = rng.integers(0, 3, 200).astype("int32")
    dbn = DBNModel([RBMLayer(4)], n_labels=3, seed=0)
    dbn.fit(x, y, epochs=1, batch_size=50, verbose=0)
    ref = dbn.anomaly_reference
    assert ref is not None and ref.rows == 200
    path = tmp_path / "dbn.keras"
    dbn.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.anomaly_reference == ref
    np.testing.assert_allclose(loaded.anomaly_scores(x[:10]), dbn.anomaly_scores(x[:10]), atol=1e-5)


def test_detector_threshold_fpr_on_held_out_normal_data_is_within_its_binomial_interval(tmp_path):
    from tfrbm.pipelines.anomaly import detect_anomalies
    fpr = 0.1
    result = detect_anomalies(data="digits", normal=tuple(range(9)), hidden=32, epochs=10,
                              fpr=fpr, calibration=0.3, output=tmp_path / "d.keras")
    m = result.metrics
    assert m["novel_classes"] == "9" and m["test_normal_rows"] > 200
    assert m["calibration_rows"] >= 10 and m["threshold"] == result.threshold
    # the realized rate on the test split's normal rows, within its interval (widened by the
    # calibration quantile's own sampling noise)
    n_fp = round(m["test_fpr"] * m["test_normal_rows"])
    lo, hi = anomaly.binomial_interval(n_fp, m["test_normal_rows"], level=0.99)
    slack = 3 * math.sqrt(fpr * (1 - fpr) / m["calibration_rows"])
    assert lo - slack <= fpr <= hi + slack, m
    assert (m["test_fpr_low"], m["test_fpr_high"]) == pytest.approx(
        anomaly.binomial_interval(n_fp, m["test_normal_rows"]))
    assert m["noise_detection_rate"] > 0.9
    assert 0.0 <= m["novel_detection_rate"] <= 1.0
    loaded = keras.saving.load_model(tmp_path / "d.keras")
    assert loaded.anomaly_reference == result.detector.anomaly_reference


@pytest.mark.parametrize("setting, value, match", [
    ("fpr", 0.7, "fpr must be"), ("calibration", 1.0, "calibration must be"),
    ("normal", (), "normal must be"), ("method", "ratio", "'ratio' is a score of the unlabelled"),
    ("method", "nope", "unknown anomaly method 'nope'"),
    ("hidden", 0, "hidden must be"), ("data", "cifar", "data must be")])
def test_anomaly_config_rejects_bad_settings_by_name(setting, value, match):
    from tfrbm.pipelines.anomaly import AnomalyConfig
    with pytest.raises(UserError, match=match):
        AnomalyConfig(**{setting: value})


def test_anomaly_pipeline_names_bad_classes_and_too_few_rows():
    from tfrbm.pipelines.anomaly import detect_anomalies
    with pytest.raises(UserError, match=r"normal classes \[42\] are not in digits"):
        detect_anomalies(normal=(1, 42))
    with pytest.raises(UserError, match="at least two normal classes"):
        detect_anomalies(normal=(3,))
    with pytest.raises(UserError, match="needs at least 100"):
        detect_anomalies(normal=(0, 1), fpr=0.01, calibration=0.1)
    with pytest.raises(UserError, match="output must end in .keras"):
        detect_anomalies(output="d.h5")


def test_anomaly_command_defaults_are_the_pipelines_and_bad_arguments_are_one_line(capsys):
    from tfrbm import cli
    from tfrbm.pipelines.anomaly import AnomalyConfig
    args = cli.build_parser().parse_args(["anomaly", "detect"])
    defaults = AnomalyConfig()
    for name in ("data", "normal", "method", "hidden", "epochs", "learning_rate", "fpr",
                 "calibration", "limit", "seed"):
        assert getattr(args, name) == getattr(defaults, name), name
    assert args.unlabelled is (not defaults.labels)
    for argv, match in ((["--fpr", "0.9"], "--fpr"), (["--normal", "a,b"], "--normal"),
                        (["--calibration", "0"], "--calibration"),
                        (["--normal", "0", "--limit", "50"], "at least two normal classes"),
                        (["--method", "ratio"], "'ratio' is a score of the unlabelled detector")):
        code = cli.main(["anomaly", "detect", *argv])
        out, err = capsys.readouterr()
        assert code == 2 and match in err and err.count("\n") <= 2, (argv, err)


def test_auto_is_the_best_measured_method():
    model = _tiny_rbm()
    x = _states(6)[:10].astype("float32")
    np.testing.assert_allclose(model.anomaly_scores(x),
                               model.anomaly_scores(x, method=anomaly.AUTO_METHOD))
    gauss = RBMModel(RBMLayer(3, visible="gaussian"), seed=0)
    gauss.build((None, 6))
    np.testing.assert_allclose(gauss.anomaly_scores(x), gauss.free_energy(x), atol=1e-6)
