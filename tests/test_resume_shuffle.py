"""Resume with the default ``shuffle=True`` equals the uninterrupted run (issue 20 item 12).

A real SIGKILL ends a child process mid-training; a new process resumes from the backup, once
with Keras's stock ``BackupAndRestore`` (epoch backups) and once with tfrbm's ``TrainingBackup``
(backups every 5 steps, killed mid-epoch). Before the fix each epoch's order depended on how
many passes the dataset object had made in *this* process, so a resumed run saw different
orders and ended up to 2e-2 away; now the order is a function of (seed, epoch).
"""
import os
import pathlib
import signal
import subprocess
import sys

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
TESTS = pathlib.Path(__file__).resolve().parent
EPOCHS, BATCH, ROWS = 4, 16, 256          # 16 steps per epoch


def train(kind, backup_dir, out=None, kill_epoch=None, kill_step=None):
    """Fit an RBM on arrays with the default shuffle; SIGKILL itself at an epoch or global step."""
    import keras

    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel
    from tfrbm.resume import TrainingBackup

    keras.utils.set_random_seed(7)
    x = (np.random.RandomState(0).rand(ROWS, 12) > 0.5).astype("float32")
    model = RBMModel(RBMLayer(5), seed=3)
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.5))
    if kind == "stock":
        backup = keras.callbacks.BackupAndRestore(str(backup_dir))
    else:
        backup = TrainingBackup(backup_dir, save_freq=5)

    class Killer(keras.callbacks.Callback):
        steps = 0

        def on_epoch_begin(self, epoch, logs=None):
            if epoch == kill_epoch:
                os.kill(os.getpid(), signal.SIGKILL)

    class StepKiller(Killer):
        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            if self.steps == kill_step:
                os.kill(os.getpid(), signal.SIGKILL)

    callbacks = [backup, (StepKiller if kill_step else Killer)()]
    model.fit(x, epochs=EPOCHS, batch_size=BATCH, verbose=0, callbacks=callbacks)  # shuffle=True
    weights = np.concatenate([w.numpy().ravel() for w in model.layer.weights])
    if out:
        np.save(out, weights)
    return weights


def _child(code, tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
               PYTHONPATH=os.pathsep.join([str(REPO), str(TESTS), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-c", "import test_resume_shuffle as t; " + code],
                          env=env, capture_output=True, text=True, timeout=400, cwd=tmp_path)


def test_sigkill_then_resume_with_shuffle_matches_uninterrupted(tmp_path):
    stock, ours = tmp_path / "stock_backup", tmp_path / "tfrbm_backup"
    # 1: stock BackupAndRestore, killed as epoch 3 begins (epochs 1-2 are backed up)
    killed = _child(f"t.train('stock', {str(stock)!r}, kill_epoch=2)", tmp_path)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert stock.is_dir()
    # 2: resume it to the end; then TrainingBackup killed mid-epoch 2 (global step 23)
    resumed = _child(f"t.train('stock', {str(stock)!r}, out='stock.npy'); "
                     f"t.train('ours', {str(ours)!r}, kill_step=23)", tmp_path)
    assert resumed.returncode == -signal.SIGKILL, resumed.stderr[-3000:]
    assert (tmp_path / "stock.npy").is_file() and ours.is_dir()
    # 3: resume TrainingBackup (it skips the 5 done batches of the epoch: 16 + 5 = 21 < 23)
    finished = _child(f"t.train('ours', {str(ours)!r}, out='ours.npy')", tmp_path)
    assert finished.returncode == 0, finished.stderr[-3000:]

    reference_stock = train("stock", tmp_path / "ref_stock")
    reference_ours = train("ours", tmp_path / "ref_ours")
    np.testing.assert_allclose(np.load(tmp_path / "stock.npy"), reference_stock, rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.load(tmp_path / "ours.npy"), reference_ours, rtol=0, atol=1e-6)
    # the orders really differ between epochs (a fixed order would pass trivially)
    assert not np.allclose(reference_stock, train_without_shuffle(tmp_path), atol=1e-4)


def train_without_shuffle(tmp_path):
    import keras

    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel
    keras.utils.set_random_seed(7)
    x = (np.random.RandomState(0).rand(ROWS, 12) > 0.5).astype("float32")
    model = RBMModel(RBMLayer(5), seed=3)
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.5))
    model.fit(x, epochs=EPOCHS, batch_size=BATCH, verbose=0, shuffle=False)
    return np.concatenate([w.numpy().ravel() for w in model.layer.weights])
