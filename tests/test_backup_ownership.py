"""A backup folder never costs a user's file (issue 32, High): tfrbm deletes only what it made.

Every path a backup can take, from Python and from the command line, on success, on failure and
on Ctrl-C, ends with the user's file still there, and a folder holding files tfrbm did not write
is refused before training.
"""
import os
import pathlib
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from tfrbm import cli
from tfrbm.backupdir import MARKER, remove_backup
from tfrbm.errors import UserError
from tfrbm.layers import RBMLayer
from tfrbm.models.rbm import RBMModel
from tfrbm.resume import TrainingBackup

REPO = pathlib.Path(__file__).resolve().parents[1]
NOTE = "important\n"


def _model():
    model = RBMModel(RBMLayer(4), seed=1)
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    return model


def _data():
    return (np.random.RandomState(0).rand(32, 6) > 0.5).astype("float32")


class _DropNote(keras.callbacks.Callback):
    """Writes a user's file into the backup folder mid-training, then optionally raises."""

    def __init__(self, folder, exc=None):
        super().__init__()
        self.folder, self.exc = pathlib.Path(folder), exc

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            (self.folder / "notes.txt").write_text(NOTE)
            if self.exc is not None:
                raise self.exc


def test_python_refuses_a_folder_with_user_files(tmp_path):
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "notes.txt").write_text(NOTE)
    with pytest.raises(UserError, match="not a tfrbm backup"):
        TrainingBackup(keep)
    assert (keep / "notes.txt").read_text() == NOTE


def test_python_refuses_a_file(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text(NOTE)
    with pytest.raises(UserError, match="is a file"):
        TrainingBackup(afile)
    assert afile.read_text() == NOTE


def test_python_refuses_a_folder_filled_after_construction(tmp_path):
    keep = tmp_path / "keep"
    backup = TrainingBackup(keep)          # checked now, claimed when fit begins
    keep.mkdir()
    (keep / "notes.txt").write_text(NOTE)
    with pytest.raises(UserError, match="not a tfrbm backup"):
        _model().fit(_data(), epochs=1, batch_size=8, verbose=0, callbacks=[backup])
    assert (keep / "notes.txt").read_text() == NOTE


@pytest.mark.parametrize("ending", ["success", "failure", "ctrl-c"])
def test_python_user_file_survives_every_ending(tmp_path, ending):
    folder = tmp_path / "bk"
    exc = {"success": None, "failure": RuntimeError("boom"), "ctrl-c": KeyboardInterrupt()}[ending]
    callbacks = [TrainingBackup(folder), _DropNote(folder, exc)]
    if exc is None:
        _model().fit(_data(), epochs=3, batch_size=8, verbose=0, callbacks=callbacks)
    else:
        with pytest.raises(type(exc)):
            _model().fit(_data(), epochs=3, batch_size=8, verbose=0, callbacks=callbacks)
        assert (folder / MARKER).is_file()         # the backup is kept for the resume
        # the resume (a folder with a marker and a user's file is still tfrbm's backup)
        _model().fit(_data(), epochs=3, batch_size=8, verbose=0,
                     callbacks=[TrainingBackup(folder)])
    assert (folder / "notes.txt").read_text() == NOTE
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]   # tfrbm's files are gone


def test_python_pre_existing_empty_folder_is_kept_and_a_new_one_removed(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    new = tmp_path / "new"
    for folder in (empty, new):
        _model().fit(_data(), epochs=2, batch_size=8, verbose=0, callbacks=[TrainingBackup(folder)])
    assert empty.is_dir() and not list(empty.iterdir())
    assert not new.exists()


def test_remove_backup_deletes_only_tfrbm_files(tmp_path):
    folder = tmp_path / "bk"
    folder.mkdir()
    (folder / MARKER).write_text("created\n")
    names = ["training_metadata.json", "state-3.weights.h5", "rng-3.npz",
             ".state-4.weights.h5.123.abc.tfrbm-tmp.weights.h5"]
    for name in names:
        (folder / name).write_text("x")
    user = ["state-3.weights.h5.mine", "notes.txt", "rng.npz", "training_metadata.json~"]
    for name in user:
        (folder / name).write_text(NOTE)
    (folder / "pretrain").mkdir()
    (folder / "pretrain" / "draft.txt").write_text(NOTE)   # unmarked: never entered
    remove_backup(folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted(user + ["pretrain"])
    assert (folder / "pretrain" / "draft.txt").read_text() == NOTE


def test_dbn_pipeline_refuses_user_files_and_keeps_them(tmp_path):
    from tfrbm.pipelines.dbn import train_dbn
    keep = tmp_path / "keep"
    (keep / "pretrain").mkdir(parents=True)
    (keep / "pretrain" / "notes.txt").write_text(NOTE)
    with pytest.raises(UserError, match="not a tfrbm backup"):
        train_dbn(layers=(4,), epochs=1, finetune_epochs=1, limit=64, backup=keep)
    assert (keep / "pretrain" / "notes.txt").read_text() == NOTE
    new = tmp_path / "new"
    train_dbn(layers=(4,), epochs=1, finetune_epochs=1, limit=64, backup=new)
    assert not new.exists()


# ----------------------------------------------------------------------------- the CLI
def _env():
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3",
               TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")
    return env


@pytest.mark.parametrize("where", ["keep", "."])
def test_cli_refuses_a_folder_with_user_files_before_training(tmp_path, capsys, monkeypatch,
                                                               where):
    monkeypatch.chdir(tmp_path)
    pathlib.Path("keep").mkdir()
    pathlib.Path("keep/notes.txt").write_text(NOTE)
    folder = "keep" if where == "keep" else "."
    code = cli.main(["train", "--epochs", "1", "--hidden", "4", "--backup", folder,
                     "--output", "out", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert "not a tfrbm backup" in err and "--backup" in err and len(err.strip().splitlines()) == 1
    assert pathlib.Path("keep/notes.txt").read_text() == NOTE
    assert not pathlib.Path("out").exists()


def test_cli_backup_that_is_a_file_says_backup(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text(NOTE)
    code = cli.main(["train", "--epochs", "1", "--backup", str(afile), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "--backup" in err and "--output" not in err
    assert afile.read_text() == NOTE


def test_cli_success_keeps_a_user_file_put_in_the_backup(tmp_path, capsys):
    """A file added to a tfrbm-made backup folder while the command runs survives its end."""
    import threading
    folder = tmp_path / "bk"

    def drop():
        deadline = time.time() + 300
        while not (folder / MARKER).exists() and time.time() < deadline:
            time.sleep(0.005)
        (folder / "notes.txt").write_text(NOTE)
    thread = threading.Thread(target=drop, daemon=True)
    thread.start()
    code = cli.main(["train", "--epochs", "4", "--hidden", "4", "--limit", "200", "--backup",
                     str(folder), "--output", str(tmp_path / "out"), "--quiet"])
    thread.join(5)
    assert code == 0, capsys.readouterr().err
    assert (folder / "notes.txt").read_text() == NOTE
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_cli_ctrl_c_keeps_the_user_file_and_the_backup(tmp_path):
    folder = tmp_path / "bk"
    args = ["train", "--epochs", "20000", "--hidden", "4", "--limit", "200",
            "--backup", str(folder), "--output", str(tmp_path / "out"), "--quiet"]
    # a runner started in the background of a non-interactive shell (nohup ... &) has SIGINT
    # ignored, and an ignored signal stays ignored across exec, so Python never installs its
    # KeyboardInterrupt handler in the child: give the CLI the disposition a terminal gives it
    proc = subprocess.Popen([sys.executable, "-m", "tfrbm", *args], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.time() + 120
        while not (folder / "training_metadata.json").exists() and time.time() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.02)
        (folder / "notes.txt").write_text(NOTE)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=300)
    finally:   # a run that ignored the SIGINT must not train on after the test
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "tfrbm: interrupted"
    assert (folder / "notes.txt").read_text() == NOTE
    assert (folder / "training_metadata.json").is_file()   # resumable


def test_tampered_metadata_never_deletes_a_user_file_in_the_folder(tmp_path):
    """The old backup's names come from the metadata (data, not code): a name that is not of
    tfrbm's own pattern is never unlinked when the next backup replaces the old one."""
    import json
    folder = tmp_path / "bk"
    model = _model()
    model.fit(_data(), epochs=1, batch_size=8, verbose=0)
    backup = TrainingBackup(folder)
    backup.set_model(model)
    backup._save_model(epoch_done=True)
    (folder / "notes.txt").write_text(NOTE)
    meta = json.loads((folder / "training_metadata.json").read_text())
    meta.update(weights="notes.txt")
    (folder / "training_metadata.json").write_text(json.dumps(meta))
    backup._save_model(epoch_done=True)
    assert (folder / "notes.txt").read_text() == NOTE
