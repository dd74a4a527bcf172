"""One round-trip harness over every model class: config, .keras, SavedModel.

For each class: ``from_config(get_config())`` rebuilds the same configuration; a ``.keras`` file
reloads with equal predictions; the SavedModel's default endpoint gives the Python model's
predictions. A new model class joins by adding one ``Case``.
"""
import dataclasses
from typing import Callable

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfrbm import export
from tfrbm.layers import RBMLayer

RNG = np.random.default_rng(0)
X12 = (RNG.random((6, 12)) < 0.4).astype("float32")


@dataclasses.dataclass
class Case:
    make: Callable            # () -> a built model
    predict: Callable         # (model) -> numpy predictions of the Python model
    inputs: dict              # the default signature's inputs giving the same predictions
    output: str               # ... and its output that holds them


def _rbm():
    from tfrbm.models.rbm import RBMModel
    model = RBMModel(RBMLayer(5), cd_k=2, seed=3)
    model.fit(X12, epochs=1, batch_size=6, verbose=0)
    return model


def _dbn():
    from tfrbm.models.dbn import DBNModel
    model = DBNModel([RBMLayer(6), RBMLayer(3)], seed=0)
    model.build((None, 12))
    return model


def _dbn_classifier():
    return _dbn().to_classifier(3)


def _recommender():
    from tfrbm.models.recommender import RBMRecommender
    triples = np.array([(u, m, 1 + (u * m) % 5) for u in range(1, 9) for m in range(1, 8)
                        if (u + m) % 3])
    rec = RBMRecommender(n_hidden=4, kind="both", batch_size=4, seed=0).fit(triples, epochs=2)
    return rec.network


USER_IDS = np.array([1, 3, 8], np.int64)       # raw ids = dense index + 1 here
IDS = np.array([[1, 4, 2, 7]], np.int32)


def _word_lm():
    from tfrbm.course.language import WordLanguageModel
    model = WordLanguageModel(vocab_size=9, hidden_sizes=(6,), embedding_dim=4, batch_size=1,
                              vocabulary=[f"w{i}" for i in range(9)])
    model.build((1, 4))
    return model


def _char_lm():
    from tfrbm.course.char import CharLanguageModel
    model = CharLanguageModel(vocab_size=9, hidden_sizes=(5,), embedding_dim=3, batch_size=1,
                              vocabulary=list("abcdefgh "))
    model.build((1, 4))
    return model


def _sequence():
    from tfrbm.course.sequence import build_sequence_classifier
    return build_sequence_classifier(units=6, rows=4, cols=3)


def _autoencoder():
    from tfrbm.course.autoencoders import build_denoising_autoencoder
    return build_denoising_autoencoder("course", noise=0.2, sizes=(12, 6, 3))


def _next_token(model):
    probs, _ = model.next_token_probs(IDS[0])
    return np.log(probs)[None]


def _keras_predict(model):
    return model.predict(X12, verbose=0)


CASES = {
    "RBMModel": Case(_rbm, lambda m: m.hidden_probs(X12), {"visible": X12}, "hidden_probabilities"),
    "DBNModel": Case(_dbn, lambda m: m.transform(X12), {"inputs": X12}, "features"),
    "DBN classifier": Case(_dbn_classifier, _keras_predict, {"inputs": X12}, "probabilities"),
    "RecommenderNetwork": Case(_recommender, lambda m: m(USER_IDS - 1).numpy(),
                               {"user_ids": USER_IDS}, "ratings"),
    "WordLanguageModel": Case(_word_lm, _next_token, {"ids": IDS}, "log_probabilities"),
    "CharLanguageModel": Case(_char_lm, _next_token, {"ids": IDS}, "log_probabilities"),
    "sequence classifier": Case(_sequence, _keras_predict, {"inputs": X12}, "probabilities"),
    "denoising autoencoder": Case(_autoencoder, _keras_predict, {"inputs": X12}, "probabilities"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_round_trip(name, tmp_path):
    case = CASES[name]
    keras.utils.set_random_seed(1)
    model = case.make()
    expected = case.predict(model)

    # 1. configuration: from_config(get_config()) describes the same model
    config = model.get_config()
    clone = type(model).from_config(config)
    assert clone.get_config() == config

    # 2. .keras: the reloaded model predicts the same
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert type(loaded) is type(model)
    np.testing.assert_allclose(case.predict(loaded), expected, rtol=1e-5, atol=1e-6)

    # 3. SavedModel: the default endpoint serves the same numbers
    path = export.export_model(model, tmp_path / "served")
    serving_default = tf.saved_model.load(str(path)).signatures["serving_default"]
    got = serving_default(**{k: tf.constant(v) for k, v in case.inputs.items()})[case.output]
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-5)
