"""TrainingBackup treats its metadata as untrusted: no loading or deleting outside its folder.

Issue 20 item 10: tampered names with ``../``, absolute paths or symlinks leading out of the
backup folder used to be loaded and then deleted.
"""
import json

import numpy as np
import pytest

from tfrbm.errors import UserError
from tfrbm.layers import RBMLayer
from tfrbm.models.rbm import RBMModel
from tfrbm.resume import DBNPretrainBackup, TrainingBackup


def _fit(backup, epochs=1):
    x = (np.random.RandomState(0).rand(32, 6) > 0.5).astype("float32")
    model = RBMModel(RBMLayer(3), seed=0)
    model.build((None, 6))
    model.fit(x, epochs=epochs, batch_size=8, verbose=0, callbacks=[backup])
    return model


def _victims(tmp_path):
    victim = tmp_path / "precious.weights.h5"
    victim.write_bytes(b"not yours")
    rng = tmp_path / "precious.npz"
    rng.write_bytes(b"not yours either")
    return victim, rng


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_tampered_names_are_refused_before_loading_or_deleting(tmp_path, how):
    victim, rng = _victims(tmp_path)
    folder = tmp_path / "backup"
    folder.mkdir()
    if how == "dotdot":
        names = {"weights": f"../{victim.name}", "rng": f"../{rng.name}"}
    elif how == "absolute":
        names = {"weights": str(victim), "rng": str(rng)}
    else:
        (folder / "state-1.weights.h5").symlink_to(victim)
        (folder / "rng-1.npz").symlink_to(rng)
        names = {"weights": "state-1.weights.h5", "rng": "rng-1.npz"}
    meta = dict(serial=1, epoch=0, batches_done=0, rng_paths=[], **names)
    (folder / "training_metadata.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match="backup"):
        _fit(TrainingBackup(folder))
    assert victim.read_bytes() == b"not yours" and rng.read_bytes() == b"not yours either"


def test_a_tampered_old_name_is_never_deleted_by_the_next_backup(tmp_path):
    victim, rng = _victims(tmp_path)
    folder = tmp_path / "backup"
    backup = TrainingBackup(folder, delete_checkpoint=False)
    _fit(backup)                                    # a real backup exists now
    meta_path = folder / "training_metadata.json"
    meta = json.loads(meta_path.read_text())
    meta.update(weights=f"../{victim.name}", rng=str(rng))
    meta_path.write_text(json.dumps(meta))
    backup._save_model(epoch_done=True)
    assert victim.exists() and rng.exists()
    assert json.loads(meta_path.read_text())["weights"].startswith("state-")


@pytest.mark.parametrize("field,value", [("epoch", -1), ("batches_done", "3"), ("epoch", 1.5)])
def test_bad_counts_are_refused(tmp_path, field, value):
    folder = tmp_path / "backup"
    backup = TrainingBackup(folder, delete_checkpoint=False)
    _fit(backup)
    meta_path = folder / "training_metadata.json"
    meta = json.loads(meta_path.read_text())
    meta[field] = value
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(UserError, match=field):
        _fit(TrainingBackup(folder))


def test_dbn_pretrain_backup_refuses_a_name_outside_its_folder(tmp_path):
    from tfrbm.models.dbn import DBNModel
    victim, _ = _victims(tmp_path)
    folder = tmp_path / "dbn_backup"
    folder.mkdir()
    (folder / "training_metadata.json").write_text(
        json.dumps({"layers_done": 1, "weights": f"../{victim.name}"}))
    dbn = DBNModel([4, 3], seed=0)
    x = (np.random.RandomState(0).rand(32, 6) > 0.5).astype("float32")
    with pytest.raises(UserError, match="backup"):
        dbn.pretrain(x, epochs=1, batch_size=8, callbacks=[DBNPretrainBackup(dbn, folder)])
    assert victim.read_bytes() == b"not yours"
