"""``--backup`` through the command line itself: kill -9 a run, rerun it, get the same model.

Issue 32: ``tfrbm train --backup`` resumed with epoch 0's order and binarization (its dataset
did not know the epoch), so the resumed model differed from the uninterrupted one by 0.72. Each
command with ``--backup`` now keys its data on the epoch; here every such command is run three
times in child processes with the same environment: uninterrupted; with ``--backup``, SIGKILLed
as soon as its first backup exists; and again with the same ``--backup`` (the resume). The
resumed model file must equal the uninterrupted one bit for bit.
"""
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]

#: command -> (arguments, the model file under the output folder, epochs before the kill)
COMMANDS = {
    "train": (["train", "--epochs", "12", "--hidden", "8", "--limit", "300", "--quiet"],
              "model.keras"),
    "dbn train": (["dbn", "train", "--layers", "8", "--epochs", "6", "--finetune-epochs", "6",
                   "--limit", "300", "--sample-steps", "5"], "model.keras"),
    "assignment": (["assignment", "--data", "digits", "--hidden", "8", "--epochs", "12",
                    "--limit", "300", "--steps", "2", "--images", "8"], "summary.json"),
    "cnn train": (["cnn", "train", "--epochs", "6", "--limit", "200", "--quiet"], "model.keras"),
}


def _env():
    return dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3",
                TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1", TFRBM_QUIET_TF="1")


def _run(args, check=True):
    proc = subprocess.run([sys.executable, "-m", "tfrbm", *args], env=_env(),
                          capture_output=True, text=True, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def _first_backup(folder):
    for meta in [folder / "training_metadata.json", *sorted(folder.glob("*/training_metadata.json"))]:
        try:
            if json.loads(meta.read_text()).get("epoch", 0) >= 1:
                return True
        except (OSError, ValueError):
            pass
    return False


def _weights(path):
    if path.suffix == ".json":   # the assignment writes figures and a summary, not a model
        summary = json.loads(path.read_text())
        return [np.asarray(json.dumps({k: v for k, v in sorted(summary.items())
                                       if "second" not in k and "time" not in k}))]
    import keras

    import tfrbm
    tfrbm.register_keras_classes()
    return keras.saving.load_model(path).get_weights()


@pytest.mark.slow   # three child processes per command
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_cli_resume_after_kill_is_bit_identical(tmp_path, command):
    args, model_name = COMMANDS[command]
    _run([*args, "--output", str(tmp_path / "ref")])
    backup = tmp_path / "bk"
    run = [*args, "--output", str(tmp_path / "run"), "--backup", str(backup)]
    proc = subprocess.Popen([sys.executable, "-m", "tfrbm", *run], env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 400
    while not _first_backup(backup):
        assert proc.poll() is None, "the run ended before its first backup could be killed"
        assert time.time() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    _, killed_err = proc.communicate()
    assert "running on CPU" in killed_err or "running on GPU" in killed_err   # says where it runs
    assert not (tmp_path / "run" / model_name).exists()
    resumed = _run(run)
    if command != "dbn train":   # (the DBN's layers each resume; its message names the layer)
        assert f"resumed from the backup in {backup} at epoch" in resumed.stderr, resumed.stderr
    ref = _weights(tmp_path / "ref" / model_name)
    got = _weights(tmp_path / "run" / model_name)
    assert len(ref) == len(got)
    for a, b in zip(ref, got):
        np.testing.assert_array_equal(a, b)
    assert not backup.exists()
