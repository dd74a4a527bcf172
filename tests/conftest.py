"""Shared fixtures: where the real data sets are, and quiet, seeded TensorFlow."""
import os
import pathlib

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = pathlib.Path(__file__).resolve().parents[1]


def shared_data_dir():
    """TFRBM_DATA_DIR if set, else ../shared/datasets beside the repository, else None."""
    env = os.environ.get("TFRBM_DATA_DIR")
    if env and pathlib.Path(env).is_dir():
        return pathlib.Path(env)
    fallback = REPO.parent / "shared" / "datasets"
    return fallback if fallback.is_dir() else None


@pytest.fixture(scope="session")
def data_dir():
    path = shared_data_dir()
    if path is None:
        pytest.skip("real data sets not found: set TFRBM_DATA_DIR or place ../shared/datasets")
    return path


@pytest.fixture(autouse=True)
def _seed():
    import keras
    keras.utils.set_random_seed(1234)
    yield


def pytest_itemcollected(item):
    """Under ``--dist loadgroup`` each test file is one group, so its module-scoped fixtures (a
    trained model, a batch of CLI runs) are built on one worker, once, as with ``loadfile``; a test
    that names its own ``xdist_group`` (each notebook run) keeps it and is scheduled on its own.
    (Marked as each item is collected: xdist reads the groups in its own modifyitems hook.)"""
    if not any(item.iter_markers("xdist_group")):
        item.add_marker(pytest.mark.xdist_group(item.path.stem))


def _labelled_dbn(seed=0):
    """A one-layer labelled DBN (a labelled RBM), built: 4 Bernoulli feature units + 3 label
    units, 3 hidden units; W ~ N(0, 1.5²), biases ~ N(0, 1)."""
    from tfrbm.layers import RBMLayer
    from tfrbm.models.dbn import DBNModel
    from tfrbm.testing import randomize
    dbn = DBNModel([RBMLayer(3)], n_labels=3, seed=seed)
    dbn.build((None, 4))
    randomize(dbn.rbms[0], seed, scale=1.5, bias_mean=0.0)
    return dbn


@pytest.fixture
def toy_labelled_dbn():
    """Makes a small labelled DBN whose exact answers can be enumerated: ``toy_labelled_dbn(seed=0)``."""
    return _labelled_dbn
