"""Every user mistake at a public entry point is a UserError, not a bare ValueError.

A small corpus of bad inputs (an argument out of range, a wrong option, malformed data), one per
entry point; each must raise :class:`tfrbm.errors.UserError` (a ValueError subclass) with a
message naming the argument. A bare ValueError (or any other exception) fails the test. Nothing
here trains: every check runs before any work.
"""
import numpy as np
import pytest

from tfrbm import gibbs, viz
from tfrbm.errors import UserError
from tfrbm.layers import RBMLayer, check_matmul_dtype
from tfrbm.likelihood import ais, exact, reverse_ais
from tfrbm.models.dbn import DBNModel
from tfrbm.models.rbm import RBMModel
from tfrbm.pipelines.dbn import DBNTrainingConfig
from tfrbm.pipelines.likelihood import LikelihoodConfig
from tfrbm.sklearn import DBNTransformer, RBMTransformer
from tfrbm.units import get_units


def _layer(n_visible=4, n_hidden=3):
    layer = RBMLayer(n_hidden)
    layer.build((None, n_visible))
    return layer


def _data(n=6, d=4):
    return (np.random.default_rng(0).random((n, d)) < 0.5).astype("float32")


CORPUS = {
    # the core and the likelihoods
    "gibbs k": (lambda: gibbs.k_steps(_layer(), np.zeros((2, 3), "float32"), 0, [0, 0]), "k"),
    "matmul dtype": (lambda: check_matmul_dtype("float16"), "matmul_dtype"),
    "unit family": (lambda: get_units(42), "unit type"),
    "AIS runs": (lambda: ais.ais_log_partition(_layer(), n_runs=0, n_betas=10), "n_runs"),
    "AIS n_betas": (lambda: ais.ais_log_partition(_layer(), n_betas="many"), "n_betas"),
    "AIS schedule": (lambda: ais.check_betas([0.0, 0.5, 0.4, 1.0]), "increasing"),
    "AIS tolerance": (lambda: ais.auto_log_partition(_layer(), tolerance=0.0), "tolerance"),
    "AIS max_betas": (lambda: ais.auto_log_partition(_layer(), max_betas="many"), "max_betas"),
    "AIS chunk": (lambda: ais.run_annealing(_layer(), _data(), ais.make_betas(10), np.zeros(4),
                                            [0, 0], chunk_steps=0), "chunk_steps"),
    "RAISE chains": (lambda: reverse_ais.raise_log_likelihoods(_layer(), _data(), n_betas=10,
                                                               chains=0), "chains"),
    "RAISE rows": (lambda: reverse_ais.raise_mean_log_likelihood(_layer(), _data(), n_sampled=0),
                   "n_sampled"),
    "exact size": (lambda: exact.exact_log_partition(_layer(40, 30)), "enumeration"),
    "unbuilt layer": (lambda: ais.ais_log_partition(RBMLayer(3)), "built"),
    # models
    "RBM cd_k": (lambda: RBMModel(RBMLayer(3), cd_k=0), "cd_k"),
    "RBM tempering": (lambda: RBMModel(RBMLayer(3), tempering=4, persistent=False), "persistent"),
    "RBM data": (lambda: RBMModel(RBMLayer(3)).fit(np.full((4, 4), 2.0, "float32"), verbose=0),
                 "visible"),
    "DBN classifier init": (lambda: DBNModel([4, 3]).to_classifier(2, init="glorot"), "init"),
    "DBN autoencoder init": (lambda: DBNModel([4, 3]).to_autoencoder(init="glorot"), "init"),
    "DBN samples": (lambda: DBNModel([4, 3]).sample(0), "n"),
    # adapters, figures, pipelines
    "sklearn momentum": (lambda: RBMTransformer(momentum=1.5).fit(_data()), "momentum"),
    "sklearn n_iter": (lambda: RBMTransformer(n_iter=0).fit(_data()), "n_iter"),
    "sklearn sizes": (lambda: DBNTransformer(hidden_layer_sizes=(3, 0)).fit(_data()),
                      "hidden_layer_sizes"),
    "figure grid": (lambda: viz.image_grid(np.zeros((4, 16)), nrows=0), "nrows"),
    "likelihood config": (lambda: LikelihoodConfig(max_betas=3), "max_betas"),
    "DBN config": (lambda: DBNTrainingConfig(epochs=0), "epochs"),
}


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_bad_input_is_a_user_error_naming_the_problem(case):
    call, named = CORPUS[case]
    with pytest.raises(UserError, match=named):
        call()
