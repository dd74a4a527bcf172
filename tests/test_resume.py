"""Kill -9 mid-training, resume in a new process, and end with the uninterrupted run's weights.

Each scenario trains in a child process that SIGKILLs itself (a real ``kill -9``) after the last
backup and a few more steps, so work is lost and has to be redone; a second child resumes from
the backup. The reference run is uninterrupted, in this process, with the same seeds.
"""
import json
import os
import pathlib
import signal
import subprocess
import sys

import numpy as np
import pytest

TESTS = pathlib.Path(__file__).resolve().parent
REPO = TESTS.parent
ATOL = 1e-5   # same ops in the same order: differences would be round-off only


class _Killer:
    """A callback that SIGKILLs its own process at the end of global step ``at`` (1-based)."""

    def __new__(cls, at, layer=None):
        import keras

        class Killer(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.step = 0
                self.fits = 0

            def on_train_begin(self, logs=None):
                self.fits += 1

            def on_train_batch_end(self, batch, logs=None):
                if layer is not None and self.fits != layer:
                    return
                self.step += 1
                if self.step == at:
                    os.kill(os.getpid(), signal.SIGKILL)
        return Killer()


def _rbm_data():
    return (np.random.RandomState(0).rand(64, 16) > 0.6).astype("float32")


def train_rbm(backup_dir, kill_at=None):
    """PCD RBM, 3 epochs of 8 steps, backups every 3 steps (last before the kill: step 12)."""
    import keras
    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel
    from tfrbm.resume import TrainingBackup
    keras.utils.set_random_seed(0)
    model = RBMModel(RBMLayer(6), persistent=True, n_chains=10, cd_k=2, seed=5)
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    callbacks = [TrainingBackup(backup_dir, save_freq=3)]
    if kill_at:
        callbacks.append(_Killer(kill_at))
    model.fit(_rbm_data(), epochs=3, batch_size=8, shuffle=False, verbose=0, callbacks=callbacks)
    return {"weights": [w.tolist() for w in model.get_weights()],
            "seed_state": model.seed_generator.state.numpy().tolist(),
            "iterations": int(model.optimizer.iterations.numpy()),
            "restored_from": callbacks[0].restored_from}


def train_lm(backup_dir, kill_at=None):
    """Stateful LSTM LM, 3 epochs of 6 steps with state carried across batches, backups every 2."""
    import keras
    from tfrbm.course.language import ResetStatesCallback, StatefulLSTMModel, SummedSequenceLoss
    from tfrbm.resume import TrainingBackup
    keras.utils.set_random_seed(0)
    rng = np.random.RandomState(1)
    x = rng.randint(0, 12, size=(24, 5)).astype("int32")
    y = np.roll(x, -1, axis=1)
    model = StatefulLSTMModel(12, hidden_sizes=(8,), embedding_dim=6, batch_size=4, dropout=0.25)
    model.build((4, 5))
    model.compile(optimizer=keras.optimizers.SGD(0.5, global_clipnorm=5.0), loss=SummedSequenceLoss())
    callbacks = [ResetStatesCallback(), TrainingBackup(backup_dir, save_freq=2)]
    if kill_at:
        callbacks.append(_Killer(kill_at))
    model.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0, callbacks=callbacks)
    return {"weights": [w.tolist() for w in model.get_weights()],
            "restored_from": callbacks[1].restored_from}


def train_dbn(backup_dir, kill_at=None):
    """Two-layer DBN fit (PCD), 2 epochs of 8 steps per layer, backups every 3 steps; the kill
    comes in layer 2 (global step 19, after the backup at step 18 = epoch 3, batch 2)."""
    import keras
    from tfrbm.layers import RBMLayer
    from tfrbm.models.dbn import DBNModel
    from tfrbm.resume import TrainingBackup
    keras.utils.set_random_seed(0)
    dbn = DBNModel([RBMLayer(8), RBMLayer(4)], seed=3,
                   layer_options=[{"persistent": True, "n_chains": 10}] * 2)
    dbn.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.5))
    callbacks = [TrainingBackup(backup_dir, save_freq=3)]
    if kill_at:
        callbacks.append(_Killer(kill_at))
    dbn.fit(_rbm_data(), epochs=2, batch_size=8, shuffle=False, verbose=0, callbacks=callbacks)
    return {"weights": [w.tolist() for w in dbn.get_weights()],
            "restored_from": callbacks[0].restored_from}


def _child(kind, backup_dir, out, kill_at):
    result = globals()[f"train_{kind}"](backup_dir, kill_at=kill_at)
    pathlib.Path(out).write_text(json.dumps(result))


def _run_child(kind, backup_dir, out, kill_at=None):
    code = (f"import sys; sys.path[:0] = [{str(REPO)!r}, {str(TESTS)!r}]; import test_resume as t; "
            f"t._child({kind!r}, {str(backup_dir)!r}, {str(out)!r}, {kill_at!r})")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=240)


def _assert_same_weights(resumed, reference):
    assert len(resumed) == len(reference)
    for got, want in zip(resumed, reference):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=ATOL, rtol=0)


@pytest.mark.parametrize("kind, kill_at", [("rbm", 14), ("lm", 9), ("dbn", 19)])
def test_sigkill_then_resume_matches_uninterrupted(kind, kill_at, tmp_path):
    backup = tmp_path / "backup"
    killed = _run_child(kind, backup, tmp_path / "killed.json", kill_at=kill_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert not (tmp_path / "killed.json").exists()
    assert (backup / "training_metadata.json").is_file(), "no backup was written before the kill"
    meta = json.loads((backup / "training_metadata.json").read_text())

    resumed = _run_child(kind, backup, tmp_path / "resumed.json")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    result = json.loads((tmp_path / "resumed.json").read_text())
    assert not backup.exists(), "the backup should be deleted when training completes"

    reference = globals()[f"train_{kind}"](tmp_path / "reference")
    if kind == "rbm":
        # backups every 3 steps: the last before the kill at step 14 is step 12 = epoch 2, batch 4
        assert meta["epoch"] == 1 and meta["batches_done"] == 4
        assert result["restored_from"] == {"epoch": 1, "batches_done": 4}
        assert result["iterations"] == reference["iterations"] == 24
        assert result["seed_state"] == reference["seed_state"]
    elif kind == "lm":
        assert meta["epoch"] == 1 and meta["batches_done"] == 2
        assert result["restored_from"] == {"epoch": 1, "batches_done": 2}
    else:
        # backups every 3 steps: the last before the kill at step 19 is step 18 = epoch 3
        # (layer 2's first epoch), batch 2
        assert meta["epoch"] == 2 and meta["batches_done"] == 2
        assert result["restored_from"] == {"epoch": 2, "batches_done": 2}
    _assert_same_weights(result["weights"], reference["weights"])


def test_save_weights_holds_chains_and_optimizer_state(tmp_path):
    """What Keras' BackupAndRestore (save_weights) keeps: chains, optimizer state, maybe the RNG.

    TrainingBackup saves every SeedGenerator state itself, whether or not the model does.
    """
    import h5py
    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel
    model = RBMModel(RBMLayer(3), persistent=True, n_chains=4, seed=1)
    model.fit(_rbm_data()[:16], epochs=1, batch_size=8, verbose=0)
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5") as f:
        shapes = []
        f.visititems(lambda name, obj: shapes.append((name, obj.shape)) if isinstance(obj, h5py.Dataset) else None)
    names = [n for n, _ in shapes]
    assert any(s == (4, 16) for _, s in shapes), "persistent chains are saved"
    assert any(n.startswith("optimizer/") for n in names), "optimizer state is saved"
    n_seed = sum(1 for v in model.variables if "seed_generator_state" in v.path)
    n_saved = len(shapes) - len([n for n in names if n.startswith("optimizer/")])
    n_model = len(model.variables)
    # if a future Keras/RBMModel saves the seed state too, this documents the change
    assert n_saved >= n_model - n_seed
    if n_saved == n_model - n_seed:
        from tfrbm.resume import seed_generator_states
        assert len(seed_generator_states(model)) == n_seed == 1


def test_backup_survives_kill_during_save(tmp_path):
    """A half-written backup (the temp file) never replaces the committed one."""
    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel
    from tfrbm.resume import TrainingBackup, read_backup_metadata
    backup = tmp_path / "b"
    model = RBMModel(RBMLayer(3), persistent=True, n_chains=4, seed=1)
    cb = TrainingBackup(backup, save_freq=1, delete_checkpoint=False)
    model.fit(_rbm_data()[:16], epochs=1, batch_size=8, verbose=0, callbacks=[cb])
    meta = read_backup_metadata(backup)
    # simulate a process killed while writing the next backup: a truncated temp file is left
    (backup / f".state-{meta['serial'] + 1}.weights.h5.xyz.tmp.weights.h5").write_bytes(b"\x89HDF\r\n")
    other = RBMModel(RBMLayer(3), persistent=True, n_chains=4, seed=1)
    other.fit(_rbm_data()[:16], epochs=1, batch_size=8, verbose=0,
              callbacks=[TrainingBackup(backup, save_freq=100, delete_checkpoint=False)])
    np.testing.assert_allclose(other.persistent_chains.numpy(), model.persistent_chains.numpy())
    assert len([p for p in backup.iterdir() if p.name.startswith("state-")]) <= 1


def test_training_backup_rejects_bad_save_freq(tmp_path):
    from tfrbm.resume import TrainingBackup
    for bad in (0, -3, 1.5, "often", True):
        with pytest.raises(ValueError, match="save_freq"):
            TrainingBackup(tmp_path, save_freq=bad)
