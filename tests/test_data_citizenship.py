"""Data-side citizenship: the tfds route declares what it imports, an explicit data folder is
authoritative, sparse input is accepted and sample weights are refused rather than ignored."""
import configparser
import os
import types

import numpy as np
import pytest
import scipy.sparse as sp

import tfrbm
from tfrbm.data import images
from tfrbm.errors import UserError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_setup_declares_what_the_tfds_route_imports():
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(REPO, "setup.cfg"))
    requires = cfg["options"]["install_requires"].split()
    assert "tensorflow-datasets" in requires and "importlib_resources" in requires


def test_missing_tfds_dependency_is_named(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "tensorflow_datasets":           # present or not, it is not what is tested
            return types.ModuleType(name)
        if name == "importlib_resources":
            raise ModuleNotFoundError("No module named 'importlib_resources'", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(FileNotFoundError, match="importlib_resources"):
        images.load_mnist(source="tfds")


@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_explicit_data_dir_is_authoritative(tmp_path, monkeypatch, kind):
    def no_download(*args, **kwargs):
        raise AssertionError("an explicit data folder must never fall back to tensorflow-datasets")

    monkeypatch.setattr(images, "_load_tfds", no_download)
    folder = tmp_path / "nowhere" if kind == "missing" else tmp_path
    with pytest.raises(FileNotFoundError, match=str(folder.name)):
        images.load_mnist(data_dir=str(folder))


def test_rbm_accepts_sparse_and_refuses_sample_weight():
    x = (np.random.default_rng(0).random((40, 6)) < 0.3).astype("float32")
    rbm = tfrbm.RBMModel(tfrbm.RBMLayer(3), seed=0)
    rbm.fit(sp.csr_matrix(x), epochs=1, batch_size=20, verbose=0)
    np.testing.assert_allclose(rbm.hidden_probs(sp.csr_matrix(x)), rbm.hidden_probs(x))
    with pytest.raises(UserError, match="sample_weight"):
        rbm.fit(x, sample_weight=np.ones(40), epochs=1, verbose=0)
    import tensorflow as tf
    weighted = tf.data.Dataset.from_tensor_slices((x, np.zeros(40), np.ones(40))).batch(20)
    with pytest.raises(UserError, match="sample weights"):
        rbm.fit(weighted, epochs=1, verbose=0)
