"""Softmax RBMs for ratings: exact small cases, Keras citizenship, the estimator, bad input."""
import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfrbm.data.ratings import RatingsData
from tfrbm.errors import UserError
from tfrbm.models.ratings_rbm import CDSchedule, RatingsRBM
from tfrbm.models.recommender import RBMRecommender
from tfrbm.models.rating_evaluation import evaluate
from tfrbm.models.recommender_baselines import BiasBaseline, ItemMeanBaseline, PopularityBaseline
from tfrbm.units import SoftmaxUnits

K = 3


def _tiny(conditional, M=3, F=3, seed=0):
    """A RatingsRBM with random weights: M items, K=3 levels, F hidden units."""
    rbm = RatingsRBM(M, F, K, conditional=conditional, seed=seed)
    rbm.build()
    rng = np.random.default_rng(seed)
    rbm.layer.kernel.assign(rng.normal(0, 0.8, (M * K, F)).astype("float32"))
    rbm.layer.visible_bias.assign(rng.normal(0, 0.8, M * K).astype("float32"))
    rbm.layer.hidden_bias.assign(rng.normal(0, 0.8, F).astype("float32"))
    if conditional:
        rbm.rated_kernel.assign(rng.normal(0, 0.8, (M, F)).astype("float32"))
    return rbm


def _params(rbm):
    M, F = rbm.n_items, rbm.n_hidden
    W = rbm.layer.kernel.numpy().astype(np.float64).reshape(M, K, F)
    b = rbm.layer.visible_bias.numpy().astype(np.float64).reshape(M, K)
    c = rbm.layer.hidden_bias.numpy().astype(np.float64)
    D = rbm.rated_kernel.numpy().astype(np.float64) if rbm.conditional else np.zeros((M, F))
    return W, b, c, D


def _neg_energy(params, ratings, r, h):
    """-E(V, h; r) of one case: ratings (M,) 0..K (0 = missing), r (M,) 0/1, h (F,)."""
    W, b, c, D = params
    out = h @ c + r @ D @ h
    for i, k in enumerate(ratings):
        if k:
            out += b[i, k - 1] + W[i, k - 1] @ h
    return out


def _all_h(F):
    return [np.array(h, float) for h in itertools.product((0, 1), repeat=F)]


def test_masked_softmax_units_have_no_state_where_missing():
    mask = tf.constant([[1.0, 0.0, 1.0]])
    units = SoftmaxUnits(K).observed(mask)
    a = tf.constant(np.random.default_rng(0).normal(size=(1, 9)), tf.float32)
    mean = units.mean(a).numpy().reshape(3, K)
    np.testing.assert_allclose(mean.sum(1), [1, 0, 1], atol=1e-6)
    sample = units.sample(units.mean(a), tf.constant([1, 2], tf.int64)).numpy().reshape(3, K)
    np.testing.assert_array_equal(sample.sum(1), [1, 0, 1])


@pytest.mark.parametrize("conditional", [False, True])
def test_exact_hidden_conditional(conditional):
    """p(h_j = 1 | V, r) equals the marginal of exp(-E) enumerated over all 2^F hidden states."""
    rbm = _tiny(conditional)
    params = _params(rbm)
    ratings, r = np.array([2, 0, 3]), np.array([1, 1, 1])       # item 1 rated, rating unknown
    weights = np.array([np.exp(_neg_energy(params, ratings, r if conditional else 0 * r, h))
                        for h in _all_h(3)])
    exact = (weights[:, None] * np.array(_all_h(3))).sum(0) / weights.sum()
    x = {"ratings": ratings[None]}
    if conditional:
        x["rated"] = r[None]
    got = tf.sigmoid(rbm.hidden_input(x)).numpy()[0]
    np.testing.assert_allclose(got, exact, rtol=1e-5)


@pytest.mark.parametrize("conditional", [False, True])
def test_exact_predicted_rating_distribution(conditional):
    """p(v_q = k | V, r) from the model equals sum_h exp(-E(V + {q: k}, h)) normalised over k,
    with q counted as rated in the conditional model."""
    rbm = _tiny(conditional)
    params = _params(rbm)
    ratings, r = np.array([3, 1, 0]), np.array([1, 1, 0])
    q = 2
    r_q = r.copy()
    r_q[q] = 1
    joint = []
    for k in range(1, K + 1):
        full = ratings.copy()
        full[q] = k
        joint.append(sum(np.exp(_neg_energy(params, full, r_q if conditional else 0 * r, h))
                         for h in _all_h(3)))
    exact = np.array(joint) / np.sum(joint)
    x = {"ratings": ratings[None]}
    if conditional:
        x["rated"] = r[None]
    got = rbm.predict_pairs(x, [0], [q])[0]
    np.testing.assert_allclose(got, exact, rtol=1e-5)
    np.testing.assert_allclose(rbm.level_probabilities(x).numpy()[0, q], exact, rtol=1e-5)


def _exact_log_likelihood(rbm, ratings, rated):
    """Mean log p(V_S | r) over cases: each case's RBM holds only its rated items S, so
    Z_S sums exp(-F) over the K^|S| ratings of S (hidden units summed out analytically)."""
    M = rbm.n_items
    W = tf.reshape(rbm.layer.kernel, (M, K, -1))
    b = tf.reshape(rbm.layer.visible_bias, (M, K))
    c = rbm.layer.hidden_bias
    D = rbm.rated_kernel if rbm.conditional else tf.zeros((M, rbm.n_hidden))

    def neg_free_energy(assign, r):
        x = c + tf.linalg.matvec(D, tf.constant(r, tf.float32), transpose_a=True)
        out = 0.0
        for i, k in assign.items():
            x += W[i, k - 1]
            out += b[i, k - 1]
        return out + tf.reduce_sum(tf.nn.softplus(x))

    total = 0.0
    for row, r in zip(ratings, rated):
        S = [i for i in range(M) if row[i]]
        logz = tf.reduce_logsumexp(tf.stack([
            neg_free_energy(dict(zip(S, ks)), r)
            for ks in itertools.product(range(1, K + 1), repeat=len(S))]))
        total += neg_free_energy({i: int(row[i]) for i in S}, r) - logz
    return total / len(ratings)


@pytest.mark.parametrize("conditional", [False, True])
def test_cd_gradient_points_along_the_exact_gradient(conditional):
    """On a 3-item model the mean of many CD-k gradients is close in direction to the exact
    log-likelihood gradient (autodiff through enumeration), and CD-1's is positively aligned."""
    rbm = _tiny(conditional, seed=1)
    ratings = np.array([[1, 3, 0], [2, 0, 3], [0, 1, 1], [3, 3, 2]])
    rated = np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1], [1, 1, 1]])
    variables = rbm.cd_variables()
    with tf.GradientTape() as tape:
        ll = _exact_log_likelihood(rbm, ratings, rated)
    exact = np.concatenate([-g.numpy().ravel() for g in tape.gradient(ll, variables)])
    x = {"ratings": tf.constant(np.repeat(ratings, 200, 0))}
    if conditional:
        x["rated"] = tf.constant(np.repeat(rated, 200, 0))
    for k, min_cos in ((1, 0.5), (10, 0.97)):
        rbm.cd_k = k
        grads, _, _ = tf.function(rbm.cd_gradients)(x, tf.constant([k, 7], tf.int64))
        cd = np.concatenate([g.numpy().ravel() for g in grads])
        cos = cd @ exact / np.linalg.norm(cd) / np.linalg.norm(exact)
        assert cos > min_cos, (k, cos)


def test_missing_items_never_change_the_gradient():
    rbm = _tiny(False)
    ratings = np.array([[1, 0, 2], [0, 0, 3]])
    grads, _, n = rbm.cd_gradients({"ratings": tf.constant(ratings)},
                                    tf.constant([3, 4], tf.int64))
    dW = grads[0].numpy().reshape(3, K, -1)
    assert np.all(grads[1].numpy().reshape(3, K)[1] == 0) and np.all(dW[1] == 0)
    assert np.abs(dW[2]).sum() > 0 and float(n) == 3


def _matrix(n_cases=60, n_items=10, seed=0):
    """Two tastes x two item groups; 60% of the entries rated."""
    rng = np.random.default_rng(seed)
    taste = rng.integers(0, 2, n_cases)
    likes = taste[:, None] == (np.arange(n_items) % 2)[None]
    R = np.where(likes, rng.integers(4, 6, (n_cases, n_items)), rng.integers(1, 3, (n_cases, n_items)))
    return np.where(rng.random(R.shape) < 0.6, R, 0)


def test_ratings_rbm_is_a_keras_citizen(tmp_path):
    R = _matrix()
    held = np.where(np.random.default_rng(1).random(R.shape) < 0.2, R, 0)
    train = np.where(held > 0, 0, R)
    rbm = RatingsRBM(10, 6, 5, conditional=True, weight_decay=1e-4, seed=0)
    rbm.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    x = {"ratings": train, "rated": (R > 0).astype("uint8")}
    stop = keras.callbacks.EarlyStopping("val_rmse", mode="min", patience=6,
                                         restore_best_weights=True)
    hist = rbm.fit(x, batch_size=8, epochs=12, validation_data=(x, held),
                   callbacks=[CDSchedule({0: 1, 3: 2}), stop], verbose=0)
    h = hist.history
    assert {"loss", "rmse", "val_loss", "val_rmse", "cd_k"} <= set(h)
    assert h["cd_k"][:4] == [1, 1, 1, 2]
    assert h["loss"][-1] < h["loss"][0] and np.isfinite(h["val_rmse"]).all()
    path = tmp_path / "r.keras"
    rbm.save(path)
    back = keras.saving.load_model(path)
    np.testing.assert_allclose(back.predict_pairs(x, [0, 1], [2, 3]),
                               rbm.predict_pairs(x, [0, 1], [2, 3]), rtol=1e-6)
    np.testing.assert_allclose(back(x).numpy(), rbm(x).numpy(), rtol=1e-6)


def _planted(n_users=80, n_movies=24, seed=0):
    R = _matrix(n_users, n_movies, seed)
    u, m = np.nonzero(R)
    t = np.stack([u + 1, m + 101, R[u, m]], 1)
    data = RatingsData(t, np.unique(t[:, 0]), np.unique(t[:, 1]),
                       titles={mm: f"film {mm}" for mm in np.unique(t[:, 1])})
    return data.split(0.2, seed=seed, by="user")


@pytest.fixture(scope="module")
def planted():
    return _planted()


@pytest.mark.parametrize("kind, conditional", [("user", False), ("item", True)])
def test_planted_tastes_beat_item_means(planted, kind, conditional):
    train, test = planted
    rec = RBMRecommender(n_hidden=6, kind=kind, conditional=conditional, learning_rate=0.1,
                         batch_size=8, validation_fraction=0.1, blend_baseline=False,
                         ranking="ratings", seed=0).fit(train, epochs=10)
    t = test.triples
    rmse = lambda p: float(np.sqrt(np.mean((p - t[:, 2]) ** 2)))  # noqa: E731
    base = rmse(ItemMeanBaseline().fit(train).predict(t[:, 0], t[:, 1]))
    assert base > 1.2 and rmse(rec.predict(t[:, 0], t[:, 1])) < 0.7 * base
    assert len(rec.blend) == 2
    assert all("val_rmse" in rec.history[o] for o in rec.models) and rec.implicit_model is None


def test_early_stopping_waits_for_min_epochs(planted):
    """Early stopping watches the validation RMSE only from epoch ``min_epochs`` on, so with
    patience p a model trains at least min_epochs + p + 1 epochs (or all of them); without
    the warm-up this model stops after 6."""
    train, _ = planted
    runs = {}
    for min_epochs in (0, 6):
        rec = RBMRecommender(n_hidden=3, kind="user", conditional=False, learning_rate=0.5,
                             batch_size=8, validation_fraction=0.2, patience=1,
                             min_epochs=min_epochs, blend_baseline=False, seed=0)
        rec.fit(train, epochs=10)
        runs[min_epochs] = len(rec.history["user"]["val_rmse"])
        assert runs[min_epochs] >= min(10, min_epochs + 2), runs
        assert rec.get_config()["min_epochs"] == min_epochs
    assert runs[0] < runs[6], runs


def test_item_orientation_is_the_transposed_model(planted):
    """An item-based prediction is the RBM whose case is the movie and whose visible unit is
    the user: the estimator's p(r_um) equals the RatingsRBM's on the transposed matrix."""
    train, test = planted
    rec = RBMRecommender(n_hidden=3, kind="item", batch_size=8, validation_fraction=0.0,
                         blend_baseline=False, seed=0).fit(train, epochs=2)
    u, m = rec._user_index(test.users[:20]), rec._movie_index(test.movies[:20])
    direct = rec.models["item"].predict_pairs({"ratings": rec.R.T}, m, u)
    np.testing.assert_allclose(rec.predict(test.users[:20], test.movies[:20], kind="proba"),
                               direct, rtol=1e-6)


@pytest.fixture(scope="module")
def small(planted):
    train, test = planted
    rec = RBMRecommender(n_hidden=4, kind="both", conditional=True, blend_baseline=True,
                         batch_size=16, implicit_hidden=8, implicit_epochs=3,
                         implicit_conditional=True, seed=0)
    rec.fit(train, epochs=3)
    assert len(rec.blend) == 4                      # intercept, user, item, baseline
    return rec, train, test


def test_cold_start_falls_back_to_the_baseline_and_says_so(small):
    rec, train, _ = small
    base = BiasBaseline().fit(train)
    pred, fallback = rec.predict([1, 99999, 1, 99999], [101, 101, 5, 5], return_fallback=True)
    np.testing.assert_array_equal(fallback, [False, True, True, True])
    b = rec._movie_index([101])[0]
    assert pred[1] == pytest.approx(np.clip(base.mu + base.b_item[b], 1, 5))
    assert pred[2] == pytest.approx(np.clip(base.mu + base.b_user[0], 1, 5))
    assert pred[3] == pytest.approx(base.mu)
    assert len(rec.recommend(424242, n=3)) == 3          # unknown user: most rated movies


def test_bad_input_is_a_user_error_before_training():
    good = np.array([[1, 1, 5], [1, 2, 3], [2, 1, 4]])
    for data, match in ((np.array([[1, 1, 2], [1, 1, 2]]), "more than once"),
                        (np.array([[1, 1, 0], [1, 2, 3]]), "from 1 to 5"),
                        (np.array([[1, 1, 6]]), "from 1 to 5"),
                        (np.array([[1.5, 1, 3]]), "whole numbers"),
                        (np.array([["a", "b", "c"]]), "numbers"),
                        (np.array([1, 2, 3]), r"\(N, 3\)")):
        with pytest.raises(UserError, match=match):
            RBMRecommender(n_hidden=2).fit(data)
    for kw, match in (({"learning_rate": float("nan")}, "learning_rate"),
                      ({"learning_rate": -0.1}, "learning_rate"),
                      ({"batch_size": 0}, "batch_size"), ({"batch_size": 2.5}, "batch_size"),
                      ({"cd_k": 0}, "cd_k"), ({"cd_k": {1: 3}}, "epoch 0"),
                      ({"cd_k": {0: -1}}, "k >= 1"), ({"cd_k": "fast"}, "cd_k"),
                      ({"weight_decay": -1}, "weight_decay"), ({"kind": "movie"}, "kind"),
                      ({"n_hidden": 0}, "n_hidden"), ({"momentum": 1.5}, "momentum"),
                      ({"min_epochs": -1}, "min_epochs"), ({"patience": 0}, "patience")):
        with pytest.raises(UserError, match=match):
            RBMRecommender(**kw)
    with pytest.raises(UserError, match="not fitted"):
        RBMRecommender().predict([1], [1])
    with pytest.raises(UserError, match="epochs"):
        RBMRecommender().fit(good, epochs=0)
    with pytest.raises(UserError, match="0..5"):
        RatingsRBM(3, 2).fit(np.array([[1, 7, 0]]))


def test_save_load_and_export(small, tmp_path):
    rec, train, test = small
    back = RBMRecommender.load(rec.save(tmp_path / "rec"))
    t = test.triples
    np.testing.assert_allclose(back.predict(t[:, 0], t[:, 1]), rec.predict(t[:, 0], t[:, 1]),
                               rtol=1e-5)
    assert back.get_config() == rec.get_config()
    np.testing.assert_allclose(back.ranking_scores([0, 1]), rec.ranking_scores([0, 1]),
                               rtol=1e-5, atol=1e-5)
    served = tf.saved_model.load(str(rec.export(tmp_path / "served")))
    out = served.signatures["recommend"](user_ids=tf.constant([1, 424242], tf.int64))
    np.testing.assert_allclose(out["ratings"].numpy()[0], rec.score_users([0])[0], rtol=1e-5)
    np.testing.assert_allclose(out["scores"].numpy()[0], rec.ranking_scores([0])[0], rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_array_equal(out["known_user"].numpy(), [True, False])
    # served and in-process recommend agree: the same top list, and the same ratings shown
    for user in (1, 2, 424242):
        out = served.signatures["recommend"](user_ids=tf.constant([user], tf.int64))
        s = np.where(out["seen"].numpy()[0], -np.inf, out["scores"].numpy()[0])
        top = out["movie_ids"].numpy()[np.argsort(-s, kind="stable")[:5]]
        recs = rec.recommend(user, n=5)
        np.testing.assert_array_equal(top, recs.movie_ids)
        if user != 424242:
            shown = out["ratings"].numpy()[0][np.searchsorted(rec.movie_ids, recs.movie_ids)]
            np.testing.assert_allclose(shown, recs.ratings, rtol=1e-5)


def test_implicit_kind_ranks_without_ratings(planted, tmp_path):
    train, test = planted
    rec = RBMRecommender(kind="implicit", implicit_hidden=6, implicit_epochs=4,
                         seed=0).fit(train)
    assert rec.models == {} and rec.implicit_model is not None and not rec.predicts_ratings
    with pytest.raises(UserError, match="predicts no ratings"):
        rec.predict([1], [101])
    recs = rec.recommend(1, n=4)
    assert len(recs) == 4 and recs.ratings is None
    assert not set(recs.movie_ids.tolist()) & set(train.movies[train.users == 1].tolist())
    metrics = evaluate(rec, train, test)
    assert metrics["rmse"] is None and 0 < metrics["ndcg@10"] <= 1
    back = RBMRecommender.load(rec.save(tmp_path / "implicit"))
    np.testing.assert_array_equal(back.recommend(1, n=4).movie_ids, recs.movie_ids)


def test_ranking_shrinks_items_with_few_ratings(small):
    """score = n_i / N * (n_i P(like) + m p0) / (n_i + m)."""
    rec, train, test = small
    rec.ranking = "ratings"
    try:
        scores = rec.ranking_scores(np.array([0, 1]))
        metrics = evaluate(rec, train, test)
    finally:
        rec.ranking = "implicit"
    n = np.bincount(rec._csr[1], minlength=rec.n_movies)
    like = rec.score_users(np.array([0, 1]), kind="like")
    p0 = np.mean(train.ratings >= 4)
    m = rec.shrinkage
    np.testing.assert_allclose(scores, n / n.sum() * (n * like + m * p0) / (n + m), rtol=1e-9)
    pop = evaluate(PopularityBaseline().fit(train), train, test)
    assert 0 < metrics["coverage"] <= 1 and metrics["mean_popularity"] > 0
    assert pop["coverage"] <= metrics["coverage"]


def test_six_movie_demo_recommends_lotr_to_george(capsys):
    from tfrbm.cli import main
    assert main(["recommender", "demo", "--epochs", "200", "--json"]) == 0
    assert '"top": "LOTR 3"' in capsys.readouterr().out.splitlines()[-1]
