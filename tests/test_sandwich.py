"""Both sides of the log-likelihood: AIS diagnostics, reverse AIS (RAISE) and the sandwich.

Checked against exact enumeration: the RAISE weights are unbiased for the annealing model's
p_ann(v) (computed exactly by multiplying the Gibbs kernels), the two sides bracket the exact
mean log p(v) and close as the schedule lengthens, and a sharp model's dominated AIS run is flagged.
"""
import math
import warnings

import numpy as np
import pytest

from tfrbm import likelihood
from tfrbm.likelihood import ais, reverse_ais
from tfrbm.layers import RBMLayer
from tfrbm.testing import exact_samples as _model_samples, random_layer as _layer


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _annealing_model(layer, betas, b_a):
    """p_ann over all 2^V visible states: p_0 T_1 ... T_K, each T_k the Gibbs kernel at beta_k."""
    W, b, c = (layer.kernel.numpy().astype(float), layer.visible_bias.numpy().astype(float),
               layer.hidden_bias.numpy().astype(float))
    vs, hs = likelihood.binary_states(layer.n_visible), likelihood.binary_states(layer.units)

    def bern(x, p):  # prod_i p_i^x_i (1 - p_i)^(1 - x_i), rows of x against rows of p
        return np.exp(x @ np.log(p).T + (1 - x) @ np.log(1 - p).T)

    p = bern(vs, _sigmoid(b_a)[None])[:, 0]
    for beta in betas[1:]:
        p_h_given_v = bern(hs, _sigmoid(beta * (vs @ W + c))).T            # [v, h]
        p_v_given_h = bern(vs, _sigmoid((1 - beta) * b_a + beta * (hs @ W.T + b))).T  # [h, v']
        p = p @ (p_h_given_v @ p_v_given_h)
    return p


def test_raise_weights_are_unbiased_for_the_annealing_model():
    layer = _layer(5, 3, seed=0, scale=1.5)
    betas = ais.make_betas(5)
    b_a = np.full(5, -0.3)
    p_ann = _annealing_model(layer, betas, b_a)
    assert p_ann.sum() == pytest.approx(1.0)
    states = likelihood.binary_states(5).astype("float32")
    exact = np.log(likelihood.exact_visible_distribution(layer))
    for i in (3, 17, 30):
        v = states[i:i + 1]
        # many chains' weights averaged: log of an unbiased estimate of p_ann(v)
        pooled = reverse_ais.raise_log_likelihoods(layer, v, betas=betas, base_biases=b_a,
                                                   chains=20000, seed=i)[0]
        assert pooled == pytest.approx(math.log(p_ann[i]), abs=0.03)
        # one chain per estimate: E[log w] <= log p_ann(v) (Jensen)
        single = reverse_ais.raise_log_likelihoods(layer, np.repeat(v, 4000, 0), betas=betas,
                                                   base_biases=b_a, seed=i)
        assert single.mean() < math.log(p_ann[i])
        # 5 betas: the annealing model is not yet the RBM
        assert abs(math.log(p_ann[i]) - exact[i]) > 0.01


@pytest.mark.parametrize("n_visible,n_hidden,seed,scale,final_gap", [
    (12, 10, 0, 0.6, 0.1), (16, 8, 1, 0.6, 0.1), (10, 14, 2, 0.8, 0.1),
    (20, 10, 4, 3.0, 0.3)])   # sharp: large weights, the 10-beta AIS has one dominant run
def test_sandwich_brackets_exact_and_closes(n_visible, n_hidden, seed, scale, final_gap):
    layer = _layer(n_visible, n_hidden, seed, scale)
    data = _model_samples(layer, 200, seed)
    exact = likelihood.exact_log_likelihood(layer, data)
    gaps = []
    for k in (10, 300, 3000):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ais.AISWarning)
            s = likelihood.sandwich_log_likelihood(layer, data, n_runs=100, n_betas=k, seed=seed)
        lower, upper = s
        assert lower == s.lower and upper == s.upper
        assert lower - 3 * s.lower_se <= exact
        if s.ais.ess >= ais.MIN_ESS_FRACTION * s.ais.n_runs:  # AIS's side holds once not flagged
            assert exact <= upper + 3 * s.upper_se
        gaps.append(s.gap)
    # the gap closes (on gentle models the last two are both within noise of 0)
    assert gaps[0] > max(gaps[1:]) and gaps[1] > gaps[2] - 0.02 and gaps[2] > -0.1
    assert gaps[2] < final_gap and s.lower - exact > -final_gap and s.upper - exact < final_gap


def test_dominated_run_is_flagged_and_warned_once():
    layer = _layer(20, 12, seed=5, scale=4.0)       # sharp: large weights
    with pytest.warns(ais.AISWarning) as caught:
        result = ais.ais_log_partition(layer, n_runs=100, n_betas=100, seed=5)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "effective sample size" in message and "more betas" in message and "more runs" in message
    log_z, lower, upper = result                    # still unpacks as before
    assert (log_z, lower, upper) == (result.log_z, result.log_z_lower, result.log_z_upper)
    assert result.ess < 10 and result.log_w_std > 3
    assert result.n_betas == 100 and result.n_runs == 100 and result.log_weights.shape == (100,)
    # one run carries most of the weight
    w = np.exp(result.log_weights - result.log_weights.max())
    assert w.max() / w.sum() > 0.3
    d = result.to_dict()
    assert d["ess"] == result.ess and d["runs"] == 100 and d["problems"]
    # a well-converged estimate on a gentle model does not warn
    gentle = _layer(12, 10, seed=0, scale=0.6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ais.AISWarning)
        fine = ais.ais_log_partition(gentle, n_runs=100, n_betas=1000, seed=0)
    assert fine.ess > 90 and not fine.problems()


def test_effective_sample_size():
    assert ais.effective_sample_size(np.zeros(50)) == pytest.approx(50)
    assert ais.effective_sample_size(np.array([0.0, -800.0, -900.0])) == pytest.approx(1.0)
    assert ais.effective_sample_size(np.log([1.0, 1.0, 2.0])) == pytest.approx(16 / 6)


def test_auto_schedule_doubles_until_converged():
    layer = _layer(20, 10, seed=4, scale=3.0)
    exact = likelihood.exact_log_partition(layer)
    result = ais.ais_log_partition(layer, n_runs=100, n_betas="auto", seed=1, tolerance=0.1,
                                   start_betas=250, max_betas=64000, time_budget=120)
    assert result.converged, result.stop_reason
    sizes = [h["n_betas"] for h in result.history]
    assert sizes == [250 * 2 ** i for i in range(len(sizes))] and len(sizes) >= 2
    assert result.n_betas == sizes[-1] and abs(result.change_on_doubling) < 0.1
    assert result.ess >= 10 and abs(result.log_z - exact) < 0.2
    # a budget too small to double: stops, says so, warns
    with pytest.warns(ais.AISWarning, match="did not converge"):
        short = ais.ais_log_partition(layer, n_runs=100, n_betas="auto", seed=1, start_betas=10,
                                      max_betas=20)
    assert short.converged is False and "max_betas" in short.stop_reason
    with pytest.raises(ValueError, match="auto"):
        ais.ais_log_partition(layer, n_betas="fast")


def test_raise_subset_uses_every_row_free_energy():
    layer = _layer(12, 10, seed=0, scale=0.6)
    data = _model_samples(layer, 300, 0)
    full = reverse_ais.raise_mean_log_likelihood(layer, data, n_betas=500, seed=0)
    sub = reverse_ais.raise_mean_log_likelihood(layer, data, n_sampled=60, n_betas=500, seed=0)
    exact = likelihood.exact_log_likelihood(layer, data)
    assert full.n_sampled == 300 and sub.n_sampled == 60 and sub.n_rows == 300
    assert abs(sub.mean - exact) < 4 * sub.std_error + 0.02
    assert sub.std_error < 0.05  # the per-row log Z estimates vary far less than log p(v)
    with pytest.raises(ValueError, match="n_sampled"):
        reverse_ais.raise_mean_log_likelihood(layer, data, n_sampled=301)
    with pytest.raises(ValueError, match="shape"):
        reverse_ais.raise_log_likelihoods(layer, np.zeros((3, 5)), n_betas=10)


def test_model_sandwich_uses_the_base_rate_model():
    from tfrbm.models.rbm import RBMModel
    rng = np.random.default_rng(0)
    data = (rng.random((400, 12)) < np.linspace(0.1, 0.9, 12)).astype("float32")
    model = RBMModel(RBMLayer(8), seed=0)
    model.fit(data, epochs=2, batch_size=20, verbose=0)
    s = model.log_likelihood(data[:100], method="sandwich", n_runs=50, n_betas=500, seed=0)
    exact = model.log_likelihood(data[:100], method="exact")
    assert s.lower - 3 * s.lower_se <= exact <= s.upper + 3 * s.upper_se
    assert s.gap < 0.1 and "RAISE" in s.describe() and "ESS" in s.describe()
    d = s.to_dict()
    assert d["log_likelihood_lower"] == s.lower and d["ais_betas"] == 500


def test_json_of_an_infinite_bound_is_strict_json_with_a_flag():
    """``tfrbm likelihood --json`` prints ``json_line(result.to_dict())``: an infinite AIS bound
    (a dominated run) becomes null plus a ``non_finite`` entry, never the invalid -Infinity."""
    import json

    from tfrbm.commands.common import json_line
    layer = _layer(20, 12, seed=5, scale=4.0)       # sharp: 3 runs, one dominates
    data = _model_samples(layer, 20, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ais.AISWarning)
        s = likelihood.sandwich_log_likelihood(layer, data, n_runs=3, n_betas=10, seed=0)
    assert math.isinf(s.ais.log_z_lower)

    def reject(name):
        raise ValueError(f"not strict JSON: {name}")

    line = json_line(s.to_dict())
    parsed = json.loads(line, parse_constant=reject)
    assert parsed["ais_log_z_lower"] is None
    assert parsed["non_finite"]["ais_log_z_lower"] == "-inf"
    assert parsed["log_likelihood_upper_range"][1] is None
    assert parsed["non_finite"]["log_likelihood_upper_range[1]"] == "inf"
    assert parsed["log_likelihood_lower"] == pytest.approx(s.lower)
