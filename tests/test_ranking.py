"""Top-N ranking: the metrics against hand-computed lists, EASE^R and item-kNN against their
definitions, and the implicit-feedback RBM against enumeration on a tiny model."""
import itertools

import numpy as np
import pytest
import tensorflow as tf

from tfrbm.errors import UserError
from tfrbm.models.implicit_rbm import ImplicitRBM
from tfrbm.models.ranking_baselines import EASE, ItemKNN
from tfrbm.ranking_metrics import (average_precision_at, ndcg_at, precision_at, ranking_report,
                                   recall_at, top_n)


# ---- metrics --------------------------------------------------------------------------------
def test_metrics_of_a_hand_computed_list():
    ranked, relevant = [3, 1, 7, 2, 9], {1, 9, 5}          # hits at ranks 2 and 5
    assert precision_at(ranked, relevant, 5) == pytest.approx(2 / 5)
    assert recall_at(ranked, relevant, 5) == pytest.approx(2 / 3)
    dcg = 1 / np.log2(3) + 1 / np.log2(6)
    ideal = 1 + 1 / np.log2(3) + 1 / np.log2(4)             # 3 relevant items, n = 5
    assert ndcg_at(ranked, relevant, 5) == pytest.approx(dcg / ideal)
    assert average_precision_at(ranked, relevant, 5) == pytest.approx((1 / 2 + 2 / 5) / 3)
    # at n = 2: one hit at rank 2; the ideal list has 2 hits
    assert precision_at(ranked, relevant, 2) == pytest.approx(1 / 2)
    assert ndcg_at(ranked, relevant, 2) == pytest.approx((1 / np.log2(3)) / (1 + 1 / np.log2(3)))
    assert average_precision_at(ranked, relevant, 2) == pytest.approx((1 / 2) / 2)
    assert ndcg_at([9, 1, 5], relevant, 3) == pytest.approx(1.0)
    assert average_precision_at([9, 1, 5], relevant, 3) == pytest.approx(1.0)
    with pytest.raises(UserError, match="relevant"):
        recall_at(ranked, set(), 5)


def test_top_n_excludes_seen_and_breaks_ties_by_index():
    scores = np.array([[0.1, 0.9, 0.5, 0.9], [4.0, 3.0, 2.0, 1.0]])
    out = top_n(scores, 3, exclude=[[2], [0, 1, 2]])
    assert out[0].tolist() == [1, 3, 0]
    assert out[1].tolist() == [3, -1, -1]                   # only one item left: padded


def test_report_means_and_coverage():
    lists = {0: [1, 2], 1: [2, 3], 2: [4, 5]}
    relevant = {0: {2}, 1: {0}}                             # user 2 has nothing relevant
    rep = ranking_report(lists, relevant, n_items=10, n=2)
    assert rep["users"] == 2
    assert rep["precision@2"] == pytest.approx((1 / 2 + 0) / 2)
    assert rep["recall@2"] == pytest.approx(0.5)
    assert rep["ndcg@2"] == pytest.approx((1 / np.log2(3)) / 2)
    assert rep["map@2"] == pytest.approx((1 / 2) / 2)
    assert rep["coverage"] == pytest.approx(3 / 10)         # items 1, 2, 3 shown to scored users


# ---- baselines ------------------------------------------------------------------------------
def _triples(X):
    u, m = np.nonzero(X)
    return np.stack([u + 1, m + 1, np.full(len(u), 4)], 1)


@pytest.fixture
def tiny_matrix():
    rng = np.random.default_rng(3)
    X = (rng.random((12, 6)) < 0.45).astype(float)
    X[:, 5] = 1                                 # every item and user has a rating
    X[0, :] = 1
    return X


def test_ease_is_the_constrained_ridge_regression(tiny_matrix):
    X, lam = tiny_matrix, 3.0
    model = EASE(l2=lam).fit(_triples(X))
    B = model.weights
    assert np.allclose(np.diag(B), 0)
    for j in range(X.shape[1]):                  # column j regressed on the other columns
        others = [k for k in range(X.shape[1]) if k != j]
        A = X[:, others]
        beta = np.linalg.solve(A.T @ A + lam * np.eye(len(others)), A.T @ X[:, j])
        assert np.allclose(B[others, j], beta, atol=1e-8)
    assert np.allclose(model.ranking_scores(np.arange(12)), X @ B)
    with pytest.raises(UserError, match="predicts no ratings"):
        model.predict([1], [1])


def test_item_knn_is_cosine_similarity(tiny_matrix):
    X = tiny_matrix
    full = ItemKNN().fit(_triples(X))
    n = X.shape[1]
    S = np.array([[0.0 if i == j else X[:, i] @ X[:, j] / np.sqrt(X[:, i].sum() * X[:, j].sum())
                   for j in range(n)] for i in range(n)])
    assert np.allclose(full.similarity, S)
    two = ItemKNN(n_neighbors=2).fit(_triples(X))
    assert ((two.similarity > 0).sum(0) <= 2).all()
    for i in range(n):                          # column i keeps i's two most similar items
        kept = np.flatnonzero(two.similarity[:, i])
        assert set(S[kept, i]) <= set(np.sort(S[:, i])[-2:])
    recs = full.recommend(1 + 1, n=3)
    assert not set(recs.movie_ids.tolist()) & set((np.flatnonzero(X[1]) + 1).tolist())


# ---- the implicit RBM ----------------------------------------------------------------------
def _tiny_rbm(conditional=True, n_items=4, n_hidden=3, seed=0):
    m = ImplicitRBM(n_items, n_hidden, conditional=conditional, seed=seed)
    m.build()
    rng = np.random.default_rng(seed)
    m.layer.kernel.assign(rng.normal(0, 1.0, (n_items, n_hidden)).astype(np.float32))
    m.layer.visible_bias.assign(rng.normal(0, 1.0, n_items).astype(np.float32))
    m.layer.hidden_bias.assign(rng.normal(0, 1.0, n_hidden).astype(np.float32))
    if conditional:
        m.side_kernel.assign(rng.normal(0, 1.0, (n_items, n_hidden)).astype(np.float32))
    return m


def _exact_free_energy(m, v, s):
    W, b, c = (x.numpy().astype(np.float64) for x in
               (m.layer.kernel, m.layer.visible_bias, m.layer.hidden_bias))
    D = m.side_kernel.numpy().astype(np.float64) if m.conditional else 0 * W
    total = 0.0
    for h in itertools.product((0, 1), repeat=len(c)):
        h = np.array(h, float)
        energy = -(b @ v) - (c @ h) - (v @ W @ h) - (s @ D @ h)
        total += np.exp(-energy)
    return -np.log(total)


STATES = np.array(list(itertools.product((0, 1), repeat=4)), np.float32)


def test_free_energy_and_conditionals_against_enumeration():
    m = _tiny_rbm()
    side = np.array([1, 0, 0, 1], np.float32)
    for v in STATES:
        s = side * v                             # liked implies watched
        got = float(m.free_energy({"watched": v[None], "side": s[None]})[0])
        assert got == pytest.approx(_exact_free_energy(m, v, s), abs=1e-4)
        logits = m.conditional_logits({"watched": v[None], "side": s[None]}).numpy()[0]
        for i in range(4):                      # item i left out of both inputs
            on, off, s_out = v.copy(), v.copy(), s.copy()
            on[i], off[i], s_out[i] = 1, 0, 0
            want = _exact_free_energy(m, off, s_out) - _exact_free_energy(m, on, s_out)
            assert logits[i] == pytest.approx(want, abs=1e-4)


def test_gibbs_sampler_matches_the_enumerated_distribution():
    m = _tiny_rbm()
    side = np.array([[1, 0, 0, 0]], np.float32)
    f = np.array([_exact_free_energy(m, v, side[0]) for v in STATES])
    exact = np.exp(-(f - f.min()))
    exact /= exact.sum()
    n = 20000
    v0 = np.zeros((n, 4), np.float32)
    vk = m.sample_given(v0, 30, seed=5, side=np.repeat(side, n, 0)).numpy()
    index = (vk @ (2 ** np.arange(3, -1, -1))).astype(int)
    freq = np.bincount(index, minlength=16) / n
    # 20,000 independent chains: each state's frequency within 4.5 standard errors
    se = np.sqrt(exact * (1 - exact) / n)
    assert np.all(np.abs(freq - exact) <= 4.5 * se + 1e-3), (freq, exact)


def test_sampled_pseudo_likelihood_is_unbiased():
    m = _tiny_rbm(conditional=False, n_items=6)
    rng = np.random.default_rng(1)
    v = (rng.random((5, 6)) < 0.4).astype(np.float32)
    v[:, 0] = 1
    p = tf.sigmoid(m.conditional_logits(v)).numpy().astype(np.float64)
    exact = -np.mean(np.sum(v * np.log(p) + (1 - v) * np.log(1 - p), 1))
    m.negatives = 6                              # all the unwatched items: exact
    assert float(m.pseudo_likelihood_loss(v, tf.constant([1, 2]))) == pytest.approx(exact, rel=1e-5)
    m.negatives = 2                              # two of them, weighted: unbiased
    draws = [float(m.pseudo_likelihood_loss(v, tf.constant([s, 3]))) for s in range(400)]
    assert np.mean(draws) == pytest.approx(exact, rel=4 * np.std(draws) / np.sqrt(400) / exact)


def test_implicit_rbm_learns_and_round_trips(tmp_path):
    import keras
    rng = np.random.default_rng(0)
    taste = rng.integers(0, 2, 60)                      # two groups watch two halves
    X = (rng.random((60, 12)) < np.where(taste[:, None] == (np.arange(12) < 6), 0.7, 0.05))
    X = X.astype(np.float32)
    m = ImplicitRBM(12, 4, seed=0, negatives=4)
    m.compile(optimizer=keras.optimizers.Adam(0.03))
    h = m.fit(X, batch_size=20, epochs=30, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    s = m.scores(X)
    own = np.where(taste[:, None] == (np.arange(12) < 6), s, np.nan)
    other = np.where(taste[:, None] != (np.arange(12) < 6), s, np.nan)
    assert np.nanmean(own) > np.nanmean(other) + 1.0
    m.save(tmp_path / "m.keras")
    back = keras.saving.load_model(tmp_path / "m.keras")
    assert np.allclose(back.scores(X), s, atol=1e-5)
    with pytest.raises(UserError, match="0/1"):
        m.fit(X * 2)
