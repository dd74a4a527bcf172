"""RBMRecommender: masked softmax math, planted structure, errors, saving, CLI, baselines."""
import numpy as np
import pytest
import tensorflow as tf

from tfrbm.data.ratings import RatingsData
from tfrbm.models.recommender import (RBMRecommender, softmax_cd_gradients, softmax_hidden_probs,
                                      softmax_visible_probs)
from tfrbm.models.recommender_baselines import (BiasedMF, CourseBernoulliRBM,
                                                GlobalMeanBaseline, ItemMeanBaseline, evaluate)


def _params(M=7, K=5, F=4, seed=0):
    rng = np.random.default_rng(seed)
    return (tf.constant(rng.normal(0, 0.5, (M, K, F)), tf.float32),
            tf.constant(rng.normal(0, 0.5, (M, K)), tf.float32),
            tf.constant(rng.normal(0, 0.5, (F,)), tf.float32))


def test_softmax_conditionals_sum_to_one_on_rated_items():
    W, b, c = _params()
    h = tf.constant(np.random.default_rng(1).integers(0, 2, (3, 4)), tf.float32)
    mask = tf.constant([[1, 1, 0, 1, 0, 0, 1], [0] * 7, [1] * 7], tf.float32)
    p = softmax_visible_probs(h, W, b, mask).numpy()
    np.testing.assert_allclose(p.sum(-1), mask.numpy(), atol=1e-6)
    assert (p >= 0).all()
    ph = softmax_hidden_probs(tf.zeros((2, 7, 5)), W, c).numpy()
    np.testing.assert_allclose(ph, np.tile(1 / (1 + np.exp(-c.numpy())), (2, 1)), rtol=1e-6)


def test_masked_items_never_change_the_gradient():
    W, b, c = _params()
    rng = np.random.default_rng(2)
    levels = rng.integers(0, 5, (4, 7))
    V = tf.one_hot(levels, 5)
    mask = np.ones((4, 7), np.float32)
    mask[:, 2] = 0              # nobody rated movie 2
    mask[1, [0, 5]] = 0
    garbage = V.numpy().copy()
    garbage[mask == 0] = rng.random((int((mask == 0).sum()), 5))   # anything where unrated
    grads = []
    for values in (V, tf.constant(garbage)):
        gen = tf.random.Generator.from_seed(7)
        grads.append(softmax_cd_gradients(values, tf.constant(mask), W, b, c, tf.constant(3), gen))
    for g1, g2 in zip(grads[0], grads[1]):
        np.testing.assert_array_equal(g1.numpy(), g2.numpy())
    dW, db, _, vk = grads[0]
    assert np.all(dW.numpy()[2] == 0) and np.all(db.numpy()[2] == 0)
    assert np.all(vk.numpy()[mask == 0] == 0)
    assert np.abs(dW.numpy()[3]).sum() > 0


def _planted(n_users=120, n_movies=30, density=0.5, seed=0):
    """Two user tastes x two movie groups: taste A rates group 1 high and group 2 low, B inverse."""
    rng = np.random.default_rng(seed)
    taste = rng.integers(0, 2, n_users)
    group = np.arange(n_movies) % 2
    rows = []
    for u in range(n_users):
        for m in range(n_movies):
            if rng.random() < density:
                likes = taste[u] == group[m]
                r = rng.choice([4, 5]) if likes else rng.choice([1, 2])
                rows.append((u + 1, m + 101, r))
    t = np.array(rows)
    data = RatingsData(t, np.unique(t[:, 0]), np.unique(t[:, 1]),
                       titles={m: f"film {m}" for m in np.unique(t[:, 1])})
    return data.split(0.2, seed=seed, by="user")


def test_planted_structure_is_recovered_better_than_item_means():
    train, test = _planted()
    rec = RBMRecommender(n_hidden=8, optimizer="sgd", learning_rate=0.1, weight_decay=1e-4,
                         cd_k=1, batch_size=20, seed=0).fit(train, epochs=20)
    items = ItemMeanBaseline().fit(train)
    t = test.triples
    rmse = lambda p: float(np.sqrt(np.mean((p - t[:, 2]) ** 2)))  # noqa: E731
    rbm, base = rmse(rec.predict(t[:, 0], t[:, 1])), rmse(items.predict(t[:, 0], t[:, 1]))
    assert base > 1.3                       # item means cannot see the two tastes
    assert rbm < 0.8 and rbm < 0.6 * base
    probs = rec.predict(t[:5, 0], t[:5, 1], kind="proba")
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    mp = rec.predict(t[:, 0], t[:, 1], kind="most_probable")
    assert set(np.unique(mp)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert np.mean(np.abs(mp - t[:, 2]) <= 1) > 0.8
    # recommend for a known user: excludes seen, best first, titled
    user = int(train.users[0])
    recs = rec.recommend(user, n=5)
    seen = set(train.movies[train.users == user].tolist())
    assert len(recs) == 5 and not seen & set(recs.movie_ids.tolist())
    assert np.all(np.diff(recs.scores) <= 1e-9) and recs.titles[0].startswith("film ")
    # a new user who loves the even-indexed group gets that group recommended
    new = {101: 5, 103: 5, 102: 1, 104: 1}
    recs = rec.recommend(new, n=5)
    assert all((m - 101) % 2 == 0 for m in recs.movie_ids.tolist())
    assert rec.history["recon_rmse"][-1] < rec.history["recon_rmse"][0]


@pytest.fixture(scope="module")
def small():
    train, test = _planted(n_users=40, n_movies=12, seed=1)
    rec = RBMRecommender(n_hidden=4, cd_k={0: 1, 2: 3}, batch_size=16, seed=0)
    return rec.fit(train, epochs=3), train, test


def test_errors_are_clear(small):
    rec, train, _ = small
    with pytest.raises(ValueError, match="unknown user id"):
        rec.predict([99999], [101])
    with pytest.raises(ValueError, match="unknown movie id"):
        rec.predict([1], [5])
    with pytest.raises(ValueError, match="unknown user id"):
        rec.recommend(424242)
    with pytest.raises(ValueError, match="from 1 to 5"):
        rec.recommend({101: 6})
    with pytest.raises(ValueError, match="from 1 to 5"):
        RBMRecommender(n_hidden=2).fit(np.array([[1, 1, 0], [1, 2, 3]]))
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        RBMRecommender(n_hidden=2).fit(np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="not fitted"):
        RBMRecommender().predict([1], [1])
    with pytest.raises(ValueError, match="n_hidden"):
        RBMRecommender(n_hidden=0)
    with pytest.raises(ValueError, match="kind"):
        rec.predict([1], [101], kind="median")


def test_save_and_load_round_trip(small, tmp_path):
    rec, train, test = small
    path = rec.save(tmp_path / "rec")
    back = RBMRecommender.load(path)
    t = test.triples
    np.testing.assert_allclose(back.predict(t[:, 0], t[:, 1]), rec.predict(t[:, 0], t[:, 1]),
                               rtol=1e-6)
    assert back.get_config() == rec.get_config()
    assert back.recommend(int(t[0, 0]), n=3).titles == rec.recommend(int(t[0, 0]), n=3).titles
    assert path.suffix == ".keras" and back.history == rec.history


def test_keras_archive_round_trip_with_optimizer_state(small, tmp_path):
    """The .keras file is a Keras model: load_model gives the RecommenderNetwork with its
    weights and Adam state; training continues from there exactly as it would have."""
    import keras
    from tfrbm.models.recommender_network import RecommenderNetwork
    rec, train, _ = small
    path = rec.save(tmp_path / "rec.keras")
    net = keras.saving.load_model(path)
    assert isinstance(net, RecommenderNetwork)
    for a, b in zip(net.weights, rec.network.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    opt_now = [v.numpy() for v in rec.network.optimizer.variables]
    opt_back = [v.numpy() for v in net.optimizer.variables]
    assert len(opt_now) == len(opt_back) > 3 and int(opt_back[0]) == int(opt_now[0]) > 0
    for a, b in zip(opt_now, opt_back):
        np.testing.assert_array_equal(a, b)
    # the network itself maps a ratings matrix (0 = unrated) to expected ratings
    ratings = np.zeros((2, net.n_movies), "float32")
    ratings[0, :3] = [5, 4, 1]
    scores = net.predict(ratings, verbose=0)
    assert scores.shape == (2, net.n_movies) and (scores >= 1).all() and (scores <= 5).all()
    # and the loaded network exports its ``recommend`` signature on its own
    import tensorflow as tf
    from tfrbm.export import export_model
    served = tf.saved_model.load(str(export_model(net, tmp_path / "served", version=1)))
    out = served.signatures["recommend"](ratings=tf.constant(ratings))
    np.testing.assert_allclose(out["scores"].numpy(), scores, rtol=1e-5)
    np.testing.assert_array_equal(out["movie_ids"].numpy(), rec.movie_ids)
    # continuing training from the file equals continuing the original (optimizer state and
    # random stream included)
    back = RBMRecommender.load(path)
    twin = RBMRecommender.load(path)
    back.fit(train, epochs=1)
    twin.fit(train, epochs=1)
    np.testing.assert_array_equal(back.W.numpy(), twin.W.numpy())
    rec.fit(train, epochs=1)
    np.testing.assert_allclose(back.W.numpy(), rec.W.numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="not a recommender|no saved recommender"):
        RBMRecommender.load(tmp_path / "missing.keras")


def test_baselines_share_the_interface(small):
    _, train, test = small
    t = test.triples
    assert np.allclose(GlobalMeanBaseline().fit(train).predict(t[:, 0], t[:, 1]),
                       train.ratings.mean())
    items = ItemMeanBaseline().fit(train)
    movie = int(train.movies[0])
    assert items.predict([t[0, 0]], [movie])[0] == pytest.approx(
        train.ratings[train.movies == movie].mean())
    mf = BiasedMF(n_factors=4, epochs=2, batch_size=128).fit(train)
    course = CourseBernoulliRBM(n_hidden=5, epochs=1).fit(train)
    for model in (mf, course, items):
        pred = model.predict(t[:, 0], t[:, 1])
        assert pred.shape == (len(t),) and np.isfinite(pred).all()
        assert pred.min() >= 0 and pred.max() <= 5
        m = evaluate(model, train, test)
        assert 0 <= m["precision@10"] <= 1 and 0 <= m["ndcg@10"] <= 1 and m["rmse"] > 0


def test_six_movie_demo_and_cli(capsys):
    from tfrbm.cli import main
    assert main(["recommender", "demo", "--epochs", "200", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"top": "LOTR 3"' in out.splitlines()[-1]
    assert main(["recommend", "--data-dir", "/nonexistent/folder", "--user", "1"]) == 2


def test_cli_recommend_on_movielens(data_dir, capsys, tmp_path):
    from tfrbm.cli import main
    code = main(["recommend", "--data-dir", str(data_dir), "--user", "215", "-n", "5",
                 "--epochs", "1", "--hidden", "10", "--save", str(tmp_path / "m"), "--json"])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith("{") and '"user": 215' in lines[-1]
    assert sum(line.strip()[:2] in {"1.", "2.", "3.", "4.", "5."} for line in lines) == 5
    assert main(["recommend", "--model", str(tmp_path / "m.keras"), "--user", "99999"]) == 2
