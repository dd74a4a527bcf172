"""Issue 30 item 8: progress bars never pass N and end at N/N, with steps_per_execution "auto"
(32 CD steps per graph call): the recommender's RatingsRBM printed 32/59, then 64/59; a
``tf.data`` input of unknown length printed 32/32 for 10 real steps."""
import re

import numpy as np
import tensorflow as tf

from tfrbm import DBNModel, RBMLayer, RBMModel
from tfrbm.models.ratings_rbm import RatingsRBM

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _counts(text):
    """Every "k/N" of the bars (N an int, or None for "Unknown"), in order."""
    text = ANSI.sub("", text).replace("\r", "\n")
    return [(int(k), None if n == "Unknown" else int(n))
            for k, n in re.findall(r"^\s*(\d+)/(\d+|Unknown)\b", text, flags=re.M)]


def _check(counts, n):
    assert counts, "no progress bar printed"
    assert all(k <= n and (total is None or total == n) for k, total in counts), counts
    assert counts[-1] == (n, n), counts


def test_recommender_ratings_rbm_bar_stops_at_n(capsys):
    rng = np.random.default_rng(0)
    ratings = rng.integers(0, 4, size=(90, 10)).astype("float32")
    model = RatingsRBM(10, 4, 3, conditional=False, seed=0)
    model.fit(ratings, batch_size=2, epochs=2, verbose=1)          # 45 steps: 32, then 45
    assert model.steps_per_execution == 32
    counts = _counts(capsys.readouterr().out)
    _check(counts, 45)
    assert (32, 45) in counts


def test_rbm_bar_counts_real_steps_of_data_of_unknown_length(capsys):
    x = (np.random.default_rng(0).random((100, 16)) < 0.3).astype("float32")
    unknown = tf.data.Dataset.from_tensor_slices(x).batch(10).filter(lambda b: True)
    model = RBMModel(RBMLayer(4), seed=0)
    model.fit(unknown, epochs=2, verbose=1)                          # 10 real steps an epoch
    _check(_counts(capsys.readouterr().out), 10)
    model.evaluate(unknown, verbose=1)
    _check(_counts(capsys.readouterr().out), 10)
    model.fit(x, batch_size=30, epochs=1, verbose=1)                 # 4 steps, one call
    _check(_counts(capsys.readouterr().out), 4)


def test_dbn_bar_counts_the_trained_layers_steps(capsys):
    x = (np.random.default_rng(0).random((100, 16)) < 0.3).astype("float32")
    unknown = tf.data.Dataset.from_tensor_slices(x).batch(10).filter(lambda b: True)
    dbn = DBNModel([RBMLayer(6), RBMLayer(3)], seed=0)
    dbn.fit(unknown, epochs=1, verbose=1)
    _check(_counts(capsys.readouterr().out), 10)
