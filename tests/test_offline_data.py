"""Data never silently leaves the machine (issue 32 Medium 1, issue 30 item 1).

A named data folder lacking a file is an error naming the folder and the expected files, with no
download and nothing written elsewhere; the tfds fallback, when allowed, fails in seconds
offline and leaves nothing half-written.
"""
import os
import pathlib
import sys
import time

import pytest

from tfrbm import cli
from tfrbm.data import images, paths, remote, text
from tfrbm.errors import DataNotFoundError


@pytest.fixture
def no_local_data(tmp_path, monkeypatch):
    """A HOME, working folder and repository with no data, and no TFRBM_DATA_DIR."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("TFDS_DATA_DIR", raising=False)
    monkeypatch.delenv(paths.ENV_VAR, raising=False)
    monkeypatch.delenv(remote.OFFLINE_VAR, raising=False)
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    monkeypatch.setattr(paths, "_REPO", tmp_path / "a" / "repo")
    if "tensorflow_datasets" in sys.modules:   # its data folder was read at import
        import tensorflow_datasets as tfds
        monkeypatch.setattr(tfds.core.constants, "DATA_DIR", str(home / "tensorflow_datasets"))
    return home


def _no_tfds(*args, **kwargs):
    raise AssertionError("tensorflow-datasets was called for a named data folder")


@pytest.mark.parametrize("loader", [
    lambda: images.load_mnist("train"),
    lambda: images.load_fashion_mnist("test"),
    lambda: text.load_tiny_shakespeare(),
])
def test_wrong_data_dir_env_is_an_error_not_a_download(no_local_data, tmp_path, monkeypatch,
                                                       loader):
    empty = tmp_path / "emptydir"
    empty.mkdir()
    monkeypatch.setenv(paths.ENV_VAR, str(empty))
    monkeypatch.setattr(remote, "tfds_load", _no_tfds)
    monkeypatch.setattr(images, "tfds_load", _no_tfds)
    monkeypatch.setattr(text, "tfds_load", _no_tfds)
    with pytest.raises(DataNotFoundError) as info:
        loader()
    message = str(info.value)
    assert str(empty) in message and paths.ENV_VAR in message
    assert not list(empty.iterdir()) and not list(no_local_data.iterdir())


def test_cli_wrong_data_dir_is_one_line_and_writes_nothing(no_local_data, tmp_path, monkeypatch,
                                                           capsys):
    empty = tmp_path / "emptydir"
    empty.mkdir()
    monkeypatch.setenv(paths.ENV_VAR, str(empty))
    code = cli.main(["train", "--data", "mnist", "--epochs", "1", "--output", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith("tfrbm: error:")
    assert str(empty) in err[-1] and "train-images-idx3-ubyte" in err[-1]
    assert "Downloading" not in "".join(err)
    assert not list(no_local_data.iterdir()) and not list(empty.iterdir())


def test_auto_fallback_offline_fails_in_seconds_and_writes_nothing(no_local_data, monkeypatch):
    monkeypatch.setattr(remote, "_HOST", ("192.0.2.1", 9))   # TEST-NET-1: never answers
    start = time.monotonic()
    with pytest.raises(DataNotFoundError) as info:
        images.load_mnist("train")
    took = time.monotonic() - start
    assert took < remote.NETWORK_TIMEOUT + 20, took
    assert "network does not answer" in str(info.value) and paths.ENV_VAR in str(info.value)
    assert not list(no_local_data.iterdir())   # no ~/tensorflow_datasets


def test_offline_switch_forbids_the_download(no_local_data, monkeypatch):
    monkeypatch.setenv(remote.OFFLINE_VAR, "1")
    monkeypatch.setattr(remote, "network_answers", lambda *a, **k: pytest.fail("network asked"))
    with pytest.raises(DataNotFoundError, match=remote.OFFLINE_VAR):
        images.load_mnist("test", source="tfds")
    assert not list(no_local_data.iterdir())


def test_network_check_is_bounded(monkeypatch):
    start = time.monotonic()
    assert remote.network_answers(("192.0.2.1", 9), timeout=0.5) is False
    assert time.monotonic() - start < 2


def test_a_failed_download_leaves_nothing_half_written(tmp_path, monkeypatch):
    """What a failed download made in tfds's folder goes; what was there before stays."""
    import tensorflow_datasets as tfds
    cache = tmp_path / "tfds"
    (cache / "mine").mkdir(parents=True)
    (cache / "mine" / "keep.txt").write_text("x")
    monkeypatch.setattr(remote, "network_answers", lambda *a, **k: True)
    real_load = tfds.load

    def failing_load(name, data_dir=None, download=True, **kwargs):
        if not download:
            return real_load(name, data_dir=data_dir, download=False, **kwargs)
        half = pathlib.Path(data_dir) / name / "3.0.1.incomplete.ABC"
        half.mkdir(parents=True)
        (half / "mnist-train.tfrecord-00000").write_bytes(b"partial")
        raise ConnectionError("reset by peer")
    monkeypatch.setattr(tfds, "load", failing_load)
    with pytest.raises(DataNotFoundError, match="nothing was kept"):
        remote.tfds_load("mnist", expected="mnist/ with the IDX files", asked=True,
                         data_dir=cache, split="train")
    assert sorted(os.listdir(cache)) == ["mine"]
    assert (cache / "mine" / "keep.txt").read_text() == "x"
