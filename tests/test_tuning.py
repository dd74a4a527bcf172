"""keras-tuner: a real 3-trial RBM search on small data, and the companion HyperModels build and
train one trial each."""
import keras_tuner as kt
import numpy as np
import pytest

from tfrbm import monitors
from tfrbm.course.tuning import CNNHyperModel, LSTMLMHyperModel
from tfrbm.tuning import DBNClassifierHyperModel, RBMHyperModel, TuningDataError, tuner_objective


def _bars(n, side=4, seed=0):
    """Bars-and-stripes-like binary images: one random row or column lit, plus a little noise."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, side, side), np.float32)
    for i in range(n):
        if rng.random() < 0.5:
            x[i, rng.integers(side), :] = 1
        else:
            x[i, :, rng.integers(side)] = 1
    flip = rng.random(x.shape) < 0.02
    return np.abs(x - flip).reshape(n, side * side).astype(np.float32)


def test_three_trial_rbm_search_reports_the_best_pll(tmp_path):
    x, val = _bars(160), _bars(40, seed=1)
    hypermodel = RBMHyperModel(units=(4, 12), learning_rate=(0.01, 0.3), cd_k=(1, 2),
                               weight_decay=(0.0, 1e-3), batch_size=20, n_chains=20)
    tuner = kt.RandomSearch(hypermodel, objective=hypermodel.get_objective(), max_trials=3,
                            seed=3, directory=tmp_path, project_name="rbm", overwrite=True)
    tuner.search(x, validation_data=val, epochs=3)
    trials = tuner.oracle.get_best_trials(3)
    assert len(trials) == 3 and all(t.status == "COMPLETED" for t in trials)
    scores = [t.score for t in trials]
    assert scores == sorted(scores, reverse=True) and np.isfinite(scores).all()
    hp = tuner.get_best_hyperparameters(1)[0].values
    assert set(hp) == {"units", "learning_rate", "cd_k", "persistent", "weight_decay"}
    assert hp["units"] in (4, 12) and 0.01 <= hp["learning_rate"] <= 0.3
    # the reported score is the held-out pseudo-log-likelihood of the trained model
    best = tuner.get_best_models(1)[0]
    assert best.layer.units == hp["units"]
    pll = float(np.mean(monitors.pseudo_log_likelihood(best, val, seed=0)))
    assert pll == pytest.approx(scores[0], rel=1e-4)
    untrained = hypermodel.build(tuner.get_best_hyperparameters(1)[0])   # built: n_visible known
    assert pll > float(np.mean(monitors.pseudo_log_likelihood(untrained, val, seed=0)))


def test_objectives_and_bad_arguments():
    assert tuner_objective("free_energy_gap").name == "abs_free_energy_gap"
    assert tuner_objective().direction == "max"
    with pytest.raises(ValueError, match="objective"):
        RBMHyperModel(objective="accuracy")
    with pytest.raises(ValueError, match="learning_rate"):
        RBMHyperModel(learning_rate=(0.1, 0.01))
    with pytest.raises(ValueError, match="units"):
        RBMHyperModel(units=())
    with pytest.raises(ValueError, match="validation_data"):
        hm = RBMHyperModel(units=(3,))
        hp = kt.HyperParameters()
        hm.fit(hp, hm.build(hp), _bars(8))


def test_empty_validation_data_stops_the_search_with_its_name(tmp_path):
    # not a failed trial per hyperparameter set and a missing checkpoint later: the search stops
    tuner = kt.RandomSearch(RBMHyperModel(units=(3,)), objective=tuner_objective(), max_trials=2,
                            directory=tmp_path, project_name="empty", overwrite=True)
    with pytest.raises(TuningDataError, match="validation_data: data set is empty"):
        tuner.search(_bars(8), validation_data=_bars(8)[8:], epochs=1)
    with pytest.raises(ValueError, match="expected 16 features, got 9"):
        hm = RBMHyperModel(units=(3,))
        hp = kt.HyperParameters()
        hm.fit(hp, hm.build(hp), _bars(8), validation_data=np.zeros((4, 9), np.float32))


def test_companion_hypermodels_train_a_trial():
    rng = np.random.default_rng(0)
    x = _bars(60, side=8)
    y = (x.reshape(60, 8, 8).sum(1).max(1) > 4).astype("int32")     # a vertical bar?
    hp = kt.HyperParameters()
    dbn_hm = DBNClassifierHyperModel(n_classes=2, layer_sizes=((8,),), pretrain_epochs=(1,),
                                     batch_size=20)
    history = dbn_hm.fit(hp, dbn_hm.build(hp), x, y, validation_data=(x, y), epochs=1)
    assert "val_accuracy" in history.history

    hp = kt.HyperParameters()
    cnn_hm = CNNHyperModel(input_shape=(64,), image_shape=(8, 8, 1), num_classes=2,
                           filters=((2, 4),), dense=(8,))
    cnn = cnn_hm.build(hp)
    history = cnn_hm.fit(hp, cnn, x, y, validation_data=(x, y), epochs=1, verbose=0)
    assert cnn.output_shape == (None, 2) and "val_accuracy" in history.history

    hp = kt.HyperParameters()
    ids = rng.integers(0, 7, (8, 6)).astype("int32")
    lm_hm = LSTMLMHyperModel(vocab_size=7, hidden=(8,), layers=(1,), embedding_dim=(4,),
                             batch_size=4)
    lm = lm_hm.build(hp)
    history = lm_hm.fit(hp, lm, ids[:, :-1], ids[:, 1:], validation_data=(ids[:, :-1], ids[:, 1:]),
                        epochs=1, verbose=0)
    assert np.isfinite(history.history["val_loss"]).all()
    with pytest.raises(ValueError, match="multiple of batch_size"):
        lm_hm.fit(hp, lm, ids[:6, :-1], ids[:6, 1:], epochs=1)
