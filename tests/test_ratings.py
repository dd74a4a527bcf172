"""MovieLens readers: the upstream 100k and 1M formats, splits, folds and tf.data rows."""
import numpy as np
import pytest

from tfrbm.data.ratings import RatingsData, RatingsFormatError, movielens

RATINGS_1M = (
    "1::1193::5::978300760\n"
    "1::661::3::978302109\n"
    "1::914::3::978301968\n"
    "2::1193::4::978298413\n"
    "2::3408::2::978299839\n"
    "3::73::5::978297867\n"
)
MOVIES_1M = (
    "73::Misérables, Les (1995)::Drama|Musical\n"
    "661::James and the Giant Peach (1996)::Animation|Children's|Musical\n"
    "914::My Fair Lady (1964)::Musical|Romance\n"
    "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
    "3408::Erin Brockovich (2000)::Drama\n"
    "3952::Contender, The (2000)::Drama|Thriller\n"
)


@pytest.fixture
def ml1m_dir(tmp_path):
    (tmp_path / "ratings.dat").write_bytes(RATINGS_1M.encode("latin-1"))
    (tmp_path / "movies.dat").write_bytes(MOVIES_1M.encode("latin-1"))
    return tmp_path


def test_1m_reader_reads_the_upstream_format(ml1m_dir):
    ds = movielens("1m", path=ml1m_dir)
    assert len(ds) == 6 and ds.n_users == 3
    assert ds.triples.tolist()[0] == [1, 1193, 5]
    assert ds.timestamps[0] == 978300760
    # movies are the rated ones; titles cover movies.dat, latin-1 decoded
    assert ds.movie_ids.tolist() == [73, 661, 914, 1193, 3408]
    assert ds.title(73) == "Misérables, Les (1995)"
    assert ds.genres[661] == ("Animation", "Children's", "Musical")
    assert ds.movie_index[1193] == 3 and ds.user_index[3] == 2


@pytest.mark.parametrize("bad, message", [
    ("4::1193::5\n", "ratings.dat line 7: expected 4"),
    ("4::abc::5::978300760\n", "ratings.dat line 7: fields must be integers"),
    ("4::1193::6::978300760\n", "ratings.dat line 7: rating 6 is outside 1-5"),
])
def test_malformed_line_names_file_and_line(ml1m_dir, bad, message):
    with open(ml1m_dir / "ratings.dat", "a", encoding="latin-1") as f:
        f.write(bad)
    with pytest.raises(RatingsFormatError, match=message):
        movielens("1m", path=ml1m_dir)


def test_100k_format_and_bad_title_line(tmp_path):
    (tmp_path / "u.data").write_text("1\t10\t4\t881250949\n2\t10\t2\t881250950\n2\t20\t5\t1\n")
    (tmp_path / "u.item").write_bytes(
        "10|Café (1995)|01-Jan-1995||http://x|0|1\n20|B (1996)|||http://y|1|0\n".encode("latin-1"))
    ds = movielens("100k", path=tmp_path)
    assert ds.triples.shape == (3, 3) and ds.title(10) == "Café (1995)"
    (tmp_path / "u.item").write_text("10|A\nnot-a-number|B\n")
    with pytest.raises(RatingsFormatError, match="u.item line 2"):
        movielens("100k", path=tmp_path)


def test_missing_files_and_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="ratings.dat"):
        movielens("1m", path=tmp_path)
    with pytest.raises(ValueError, match="variant"):
        movielens("10m", path=tmp_path)
    with pytest.raises(ValueError, match="source"):
        movielens("100k", path=tmp_path, source="web")


def _synthetic(n_users=30, n_movies=12, seed=0):
    rng = np.random.default_rng(seed)
    pairs = [(u, m) for u in range(1, n_users + 1) for m in range(1, n_movies + 1)
             if rng.random() < 0.5]
    triples = np.array([(u, m, rng.integers(1, 6)) for u, m in pairs])
    return RatingsData(triples, np.unique(triples[:, 0]), np.unique(triples[:, 1]))


def test_seeded_splits_are_reproducible_and_partition():
    ds = _synthetic()
    tr1, te1 = ds.split(0.25, seed=3)
    tr2, te2 = ds.split(0.25, seed=3)
    assert np.array_equal(te1.triples, te2.triples)
    assert len(te1) == round(0.25 * len(ds)) and len(tr1) + len(te1) == len(ds)
    both = np.concatenate([tr1.triples, te1.triples])
    assert sorted(map(tuple, both.tolist())) == sorted(map(tuple, ds.triples.tolist()))
    assert not np.array_equal(te1.triples, ds.split(0.25, seed=4)[1].triples)
    # a split keeps the parent's universe, so dense indices agree
    assert np.array_equal(te1.movie_ids, ds.movie_ids)
    tr, te = ds.split(0.3, seed=0, by="user")
    assert set(te.users.tolist()) <= set(tr.users.tolist())
    with pytest.raises(ValueError, match="test_fraction"):
        ds.split(1.5)


def test_user_rows_for_tf_data():
    ds = _synthetic()
    batch = next(iter(ds.user_rows(batch_size=4)))
    assert batch["movies"].shape[0] == 4
    users, movies, ratings = ds.dense_indices()
    first = int(batch["user"][0])
    expected = sorted(zip(movies[users == first].tolist(), ratings[users == first].tolist()))
    got = list(zip(batch["movies"][0].numpy().tolist(), batch["ratings"][0].numpy().tolist()))
    assert got == expected
    total = sum(int(b["movies"].row_lengths().numpy().sum()) for b in ds.user_rows(batch_size=7))
    assert total == len(ds)


def test_real_100k_and_published_folds(data_dir):
    ds = movielens("100k", data_dir=data_dir)
    assert (len(ds), ds.n_users, ds.n_movies) == (100000, 943, 1682)
    assert ds.title(1) == "Toy Story (1995)"
    assert np.bincount(ds.ratings)[1:].tolist() == [6110, 11370, 27145, 34174, 21201]
    train, test = ds.fold("u1")
    assert (len(train), len(test)) == (80000, 20000)
    assert train.n_movies == 1682 and np.array_equal(train.user_ids, ds.user_ids)
    with pytest.raises(ValueError, match="unknown fold"):
        ds.fold("u9")
