"""DBMModel (issue 27): mean field, the bound, the sampler and AIS against exact enumeration;
training, save/load, serving, the classifier and bad input. Tiny models only."""
import itertools
import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.optimize import minimize

from tfrbm.likelihood import dbm as dbm_likelihood
from tfrbm.errors import UserError
from tfrbm.models.dbm import DBMModel


def tiny_dbm(sizes, seed=0, scale=1.0, **kwargs):
    """A built DBM with random weights W ~ N(0, scale^2) and biases ~ N(0, 0.5^2)."""
    rng = np.random.default_rng(seed)
    dbm = DBMModel(hidden=list(sizes[1:]), seed=seed, **kwargs)
    dbm.build((None, sizes[0]))
    for w in dbm.kernels:
        w.assign(rng.normal(0, scale, w.shape).astype("float32"))
    for b in dbm.biases:
        b.assign(rng.normal(0, 0.5, b.shape).astype("float32"))
    return dbm


def params(dbm):
    return ([w.numpy().astype(float) for w in dbm.kernels],
            [b.numpy().astype(float) for b in dbm.biases])


def all_states(sizes):
    """Every joint state, as a list of per-layer arrays (rows = states)."""
    n = sum(sizes)
    flat = np.array(list(itertools.product([0.0, 1.0], repeat=n)))
    out, start = [], 0
    for s in sizes:
        out.append(flat[:, start:start + s])
        start += s
    return out, flat


def neg_energy(W, b, x):
    value = sum(xl @ bl for xl, bl in zip(x, b))
    for l, w in enumerate(W):
        value = value + np.einsum("ri,ij,rj->r", x[l], w, x[l + 1])
    return value


def logsumexp(a, axis=None):
    m = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def elbo_numpy(W, b, v, mus):
    """E_q[-E] + H(q) for factorial q (independent numpy implementation)."""
    x = [v] + mus
    value = neg_energy(W, b, x)
    for m in mus:
        m = np.clip(m, 1e-12, 1 - 1e-12)
        value = value - np.sum(m * np.log(m) + (1 - m) * np.log(1 - m), axis=-1)
    return value


# ----------------------------------------------------------------------------- mean field
def test_mean_field_converges_to_a_fixed_point():
    dbm = tiny_dbm([6, 5, 4, 3], seed=1, mean_field_steps=500, mean_field_tolerance=1e-7)
    v = (np.random.default_rng(0).random((20, 6)) < 0.5).astype("float32")
    mus, iterations, change = dbm.mean_field_graph(tf.constant(v))
    assert int(iterations) < 500 and float(change) <= 1e-7
    # every layer satisfies mu_l = sigmoid(b_l + mu_{l-1} W_{l-1} + mu_{l+1} W_l^T)
    for l in range(1, 4):
        residual = np.abs(mus[l].numpy() - tf.sigmoid(dbm.layer_input(l, mus)).numpy()).max()
        assert residual < 1e-5, (l, residual)


def test_mean_field_bound_never_decreases_over_iterations():
    dbm = tiny_dbm([6, 5, 4], seed=2, scale=2.0, mean_field_tolerance=0.0)
    v = tf.constant((np.random.default_rng(1).random((30, 6)) < 0.5).astype("float32"))
    bounds = [dbm.unnormalized_bound(dbm.mean_field_graph(v, steps=k, tolerance=0.0)[0]).numpy()
              for k in range(1, 12)]
    diffs = np.diff(np.stack(bounds), axis=0)
    assert diffs.min() > -1e-4


def test_mean_field_maximises_the_bound_as_an_independent_solver_finds():
    """The naive mean-field fixed point is a (local) maximum of the variational objective; on a
    tiny model with moderate weights the objective has one maximum, which L-BFGS from many
    random starts (scipy, numpy objective) finds independently of tfrbm's iteration."""
    sizes = [5, 4, 3]
    dbm = tiny_dbm(sizes, seed=3, scale=0.7, mean_field_steps=1000, mean_field_tolerance=1e-8)
    W, b = params(dbm)
    rng = np.random.default_rng(2)
    v = (rng.random((5, 5)) < 0.5).astype("float32")
    mus_tf = [m.astype(float) for m in dbm.mean_field(v)]
    ours = dbm.unnormalized_bound([tf.constant(v)] + [tf.constant(m, tf.float32) for m in mus_tf]).numpy()
    for r in range(len(v)):
        def negative(z):
            mus = [1 / (1 + np.exp(-z[:4]))[None], 1 / (1 + np.exp(-z[4:]))[None]]
            return -elbo_numpy(W, b, v[r:r + 1].astype(float), mus)[0]
        best = min(minimize(negative, rng.normal(0, 3, 7), method="L-BFGS-B").fun for _ in range(6))
        numpy_value = elbo_numpy(W, b, v[r:r + 1].astype(float), [m[r:r + 1] for m in mus_tf])[0]
        assert abs(numpy_value - ours[r]) < 1e-4      # the TF bound formula equals numpy's
        assert abs(-best - ours[r]) < 1e-4, (r, -best, ours[r])


def test_bound_gap_is_the_exact_kl_so_the_bound_is_below_log_p():
    sizes = [4, 3, 3]
    dbm = tiny_dbm(sizes, seed=4, scale=1.5)
    W, b = params(dbm)
    v = np.array(list(itertools.product([0.0, 1.0], repeat=4)), dtype="float32")
    mus = [m.numpy().astype(float) for m in dbm.mean_field_graph(tf.constant(v))[0][1:]]
    bound = dbm.variational_bound(v) - dbm.log_partition("exact")
    log_p = dbm_likelihood.exact_log_probability(dbm, v)
    assert np.all(bound <= log_p + 1e-6)
    # log p(v) - bound = KL(q || p(h | v)), by enumerating every hidden state
    (h1, h2), _ = all_states(sizes[1:])
    for r in range(len(v)):
        x = [np.broadcast_to(v[r], (len(h1), 4)).astype(float), h1, h2]
        log_joint = neg_energy(W, b, x)
        log_post = log_joint - logsumexp(log_joint)
        q = np.prod(np.where(h1, mus[0][r], 1 - mus[0][r]), 1) * np.prod(
            np.where(h2, mus[1][r], 1 - mus[1][r]), 1)
        kl = np.sum(q * (np.log(np.maximum(q, 1e-300)) - log_post))
        assert abs((log_p[r] - bound[r]) - kl) < 1e-4


# ----------------------------------------------------------------------------- exact and AIS
def test_exact_log_partition_and_log_probability_match_brute_force():
    for sizes in ([3, 2, 2], [2, 3, 2, 2], [4, 3]):
        dbm = tiny_dbm(sizes, seed=5, scale=1.2)
        W, b = params(dbm)
        x, _ = all_states(sizes)
        log_z = logsumexp(neg_energy(W, b, x))
        assert abs(dbm.log_partition("exact") - log_z) < 1e-9
        v = np.array(list(itertools.product([0.0, 1.0], repeat=sizes[0])), dtype="float32")
        log_p = dbm_likelihood.exact_log_probability(dbm, v)
        assert abs(logsumexp(log_p)) < 1e-9     # a distribution over v


def test_gibbs_sampler_leaves_the_exact_distribution_invariant():
    sizes = [3, 2, 2]
    dbm = tiny_dbm(sizes, seed=6, scale=1.5)
    W, b = params(dbm)
    x, flat = all_states(sizes)
    p = np.exp(neg_energy(W, b, x) - logsumexp(neg_energy(W, b, x)))
    rng = np.random.default_rng(0)
    n = 40000
    index = rng.choice(len(p), size=n, p=p)
    states = [tf.constant(xl[index], tf.float32) for xl in x]
    codes = 2 ** np.arange(sum(sizes))[::-1]

    def tv(states):
        joint = np.concatenate([s.numpy() for s in states], axis=1)
        counts = np.bincount((joint @ codes).astype(int), minlength=len(p)) / len(joint)
        return 0.5 * np.abs(counts - p[np.argsort(flat @ codes)]).sum()

    start = tv(states)
    moved = dbm.run_chains(states, 3, tf.constant([1, 0], tf.int64))
    after = tv(moved)
    # sampling noise of 40,000 draws over 128 states is about 0.02 in TV
    assert start < 0.03 and after < 0.03, (start, after)
    # and chains started far away (all zeros) reach the same distribution
    zeros = [tf.zeros((n, s)) for s in sizes]
    assert tv(dbm.run_chains(zeros, 200, tf.constant([2, 0], tf.int64))) < 0.03
    # the check has power: a sweep that drops the top-down input is rejected
    wrong = list(moved)
    wrong[1] = tf.cast(tf.random.stateless_uniform(wrong[1].shape, [3, 0]) < tf.sigmoid(
        dbm.biases[1] + tf.matmul(wrong[0], dbm.kernels[0])), tf.float32)
    assert tv(wrong) > 0.05


def test_ais_matches_exact_log_z_within_its_spread():
    dbm = tiny_dbm([6, 4, 3], seed=7, scale=1.0)
    exact = dbm.log_partition("exact")
    result = dbm.log_partition("ais", n_runs=200, n_betas=1000, seed=3)
    assert result.log_z_lower <= exact <= result.log_z_upper, (result, exact)
    assert result.ess > 20
    doubled = dbm_likelihood.ais_with_doubling(dbm, 500, n_runs=200, seed=4)
    assert [h["n_betas"] for h in doubled.history] == [500, 1000]
    assert abs(doubled.change_on_doubling) < 0.2
    assert abs(doubled.log_z - exact) < 0.1


def test_log_likelihood_bound_is_below_the_exact_log_likelihood():
    dbm = tiny_dbm([5, 4, 3], seed=8, scale=1.2)
    v = (np.random.default_rng(3).random((20, 5)) < 0.5).astype("float32")
    exact = dbm.log_likelihood(v, method="exact")
    bound = dbm.log_likelihood(v, method="bound")              # exact log Z (enumerable)
    assert bound <= exact + 1e-9 and exact - bound < 1.0


# ----------------------------------------------------------------------------- training
@pytest.fixture(scope="module")
def digits():
    from tfrbm.data.images import load_digits
    x, y = load_digits("train", holdout="stratified")
    return x[:400], y[:400]


@pytest.fixture(scope="module")
def trained(digits):
    x, _ = digits
    dbm = DBMModel(hidden=[20, 10], seed=0, pretrain_epochs=2, n_chains=20)
    history = dbm.fit(x, epochs=3, batch_size=40, verbose=0)
    return dbm, history


def test_fit_pretrains_then_trains_with_loss_and_callbacks(trained, digits):
    dbm, history = trained
    assert float(dbm.pretrained.numpy()) == 1.0 and dbm.pretrain_history
    assert set(history.history) >= {"loss", "mean_field_steps", "mean_field_change"}
    assert len(history.history["loss"]) == 3 and np.all(np.isfinite(history.history["loss"]))
    # the mean-field reconstruction error of the digits (pixel variance about 0.11)
    assert history.history["loss"][-1] < 0.08


def test_fit_any_optimizer_and_callbacks(digits):
    x, _ = digits
    seen = []
    dbm = DBMModel(hidden=[8, 4], seed=1, pretrain_epochs=0, n_chains=10)
    dbm.compile(optimizer=keras.optimizers.Adam(1e-3))
    cb = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(logs["loss"]))
    before = dbm.kernels[0].numpy() if dbm.built else None
    history = dbm.fit(x[:100], epochs=2, batch_size=50, verbose=0, callbacks=[cb])
    assert before is None and len(seen) == 2 and seen == history.history["loss"]
    assert isinstance(dbm.optimizer, keras.optimizers.Adam)


def test_training_raises_the_exact_likelihood_of_a_tiny_model():
    """On 6-pixel data a 6-4-3 DBM is enumerable: joint training raises the exact mean log
    p(v) of the training data well above the base-rate model."""
    rng = np.random.default_rng(0)
    prototypes = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]], dtype="float32")
    x = prototypes[rng.integers(0, 2, 600)]
    x = np.abs(x - (rng.random(x.shape) < 0.05)).astype("float32")
    dbm = DBMModel(hidden=[4, 3], seed=0, pretrain_epochs=3, n_chains=50)
    dbm.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.5))
    dbm.fit(x, epochs=10, batch_size=20, verbose=0)
    exact = dbm.log_likelihood(x, method="exact")
    p = x.mean(0).clip(1e-3, 1 - 1e-3)
    base_rate = float(np.mean(x @ np.log(p) + (1 - x) @ np.log(1 - p)))
    assert exact > base_rate + 1.0, (exact, base_rate)
    assert dbm.log_likelihood(x, method="bound") <= exact + 1e-9


def test_save_load_round_trip(trained, digits, tmp_path):
    dbm, _ = trained
    x, _ = digits
    path = tmp_path / "dbm.keras"
    dbm.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, DBMModel) and loaded.get_config()["hidden"] == [20, 10]
    for a, b in zip(dbm.mean_field(x[:50]), loaded.mean_field(x[:50])):
        np.testing.assert_allclose(a, b, atol=1e-6)
    for a, b in zip(dbm.chains, loaded.chains):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(dbm.seed_generator.state.numpy(), loaded.seed_generator.state.numpy())
    assert float(loaded.pretrained.numpy()) == 1.0
    np.testing.assert_array_equal(dbm.sample(4, steps=5, seed=3), loaded.sample(4, steps=5, seed=3))
    loaded.fit(x[:80], epochs=1, batch_size=40, verbose=0)     # continues without pretraining


def test_served_signatures_from_a_fresh_process_without_tfrbm(trained, digits, tmp_path):
    dbm, _ = trained
    x, _ = digits
    out = dbm.export(str(tmp_path / "served"))
    np.save(tmp_path / "x.npy", x[:5])
    script = tmp_path / "serve.py"
    script.write_text(
        "import json, sys\nimport numpy as np\nimport tensorflow as tf\n"
        f"m = tf.saved_model.load({str(out)!r})\n"
        f"x = np.load({str(tmp_path / 'x.npy')!r})\n"
        "f = m.signatures['features'](visible=tf.constant(x))\n"
        "s = m.signatures['sample'](n_samples=tf.constant(3), steps=tf.constant(4),"
        " seed=tf.constant([1, 0], tf.int64))\n"
        "b = m.signatures['bound'](visible=tf.constant(x))\n"
        "print(json.dumps({'tfrbm': 'tfrbm' in sys.modules, 'keys': sorted(m.signatures),"
        " 'h2': f['hidden_2'].numpy().tolist(), 'shape': list(s['visible_mean'].shape),"
        " 'bound': b['bound_plus_log_z'].numpy().tolist()}))\n")
    proc = subprocess.run([sys.executable, "-I", str(script)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["tfrbm"] is False
    assert set(got["keys"]) >= {"serving_default", "features", "sample", "bound"}
    np.testing.assert_allclose(got["h2"], dbm.mean_field(x[:5])[1], atol=1e-5)
    np.testing.assert_allclose(got["bound"], dbm.variational_bound(x[:5]), rtol=1e-5, atol=1e-3)
    assert got["shape"] == [3, 64]


def test_classifier_starts_as_one_mean_field_update(trained, digits):
    dbm, _ = trained
    x, y = digits
    clf = dbm.to_classifier(10, optimizer=keras.optimizers.Adam(0.01))
    inputs = dbm.classifier_inputs(x[:50])
    hidden_1 = keras.Model(clf.inputs, clf.get_layer("hidden_1").output)(inputs)
    mus = dbm.mean_field_graph(tf.constant(x[:50]))[0]
    expected = tf.sigmoid(dbm.layer_input(1, mus))
    np.testing.assert_allclose(hidden_1.numpy(), expected.numpy(), atol=1e-5)
    history = clf.fit(dbm.classifier_inputs(x), y, epochs=20, batch_size=40, verbose=0)
    assert history.history["accuracy"][-1] > 0.8


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("hidden", [[0], [], [3, -1], [2.5], "12", None])
def test_bad_layer_sizes(hidden):
    with pytest.raises(UserError):
        DBMModel(hidden=hidden)


def test_bad_data(trained):
    dbm, _ = trained
    bad = np.full((4, 64), 0.5, dtype="float32")
    bad[2, 7] = np.nan
    with pytest.raises(UserError, match="NaN|finite"):
        DBMModel(hidden=[3], pretrain_epochs=0).fit(bad)
    with pytest.raises(UserError, match="features"):
        dbm.mean_field(np.zeros((3, 10), "float32"))
    with pytest.raises(UserError, match="2-D"):
        dbm.variational_bound(np.zeros(64, "float32"))
    with pytest.raises(UserError, match=r"\[0, 1\]|outside"):
        dbm.fit(np.full((4, 64), 2.0, "float32"))
    with pytest.raises(UserError, match="labels"):
        dbm.fit(np.zeros((4, 64), "float32"), np.zeros(4))
    with pytest.raises(UserError, match="not built"):
        DBMModel(hidden=[3]).sample(2)
    big = DBMModel(hidden=[30])
    big.build((None, 64))
    with pytest.raises(UserError, match="enumerates"):
        big.log_partition("exact")


def test_cli_dbm_train_json(capsys):
    from tfrbm.cli import main
    code = main(["dbm", "train", "--limit", "300", "--hidden", "16,8", "--pretrain-epochs", "1", "--ais-betas", "100",
                 "--epochs", "1", "--finetune-epochs", "2", "--json"])
    assert code == 0
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert 0 <= metrics["test_accuracy"] <= 1 and "train_bound" in metrics
