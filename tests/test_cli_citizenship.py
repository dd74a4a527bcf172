"""The CLI answers --help/--version without TensorFlow, checks every argument before training,
keeps the old spellings as aliases. (Where it runs and the resume of a killed --backup run:
tests/test_cli_resume.py.)"""
import os
import pathlib
import subprocess
import sys
import time

import pytest

from tfrbm import cli

REPO = pathlib.Path(__file__).resolve().parents[1]


def _env():
    env = dict(os.environ, PYTHONPATH=str(REPO), CUDA_VISIBLE_DEVICES="")
    env.pop("TFRBM_VERBOSE_TF", None)
    return env


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_do_not_import_tensorflow(flag):
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "tfrbm", flag],
                          capture_output=True, text=True, env=_env(), timeout=600)
    assert proc.returncode == 0 and proc.stdout.strip()
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert not {m for m in imported if m.split(".")[0] in ("tensorflow", "keras")}, \
        "tfrbm --help/--version must not import TensorFlow"


@pytest.mark.parametrize("argv, message", [
    (["train", "--epochs", "0"], "--epochs: must be an integer >= 1"),
    (["rbm", "train", "--learning-rate", "-1"], "must be a number > 0"),
    (["train", "--data-dir", "/no/such/folder"], "does not exist"),
    (["cnn", "train", "--model-file", "m.h5"], "must end in .keras"),
    (["dbn", "train", "--layers", "10,x"], "--layers"),
    (["ae", "train", "--noise", "1.5"], "--noise"),
    (["run-visible", "/no/such/model.keras"], "does not exist"),
    (["recommender", "train", "--epochs", "-3"], "--epochs"),
])
def test_bad_arguments_fail_before_anything_runs(argv, message, capsys):
    start = time.perf_counter()
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err
    assert time.perf_counter() - start < 30          # parsing only: no data, no training


def test_output_that_is_a_file_is_refused_up_front(tmp_path, capsys):
    blocker = tmp_path / "taken"
    blocker.write_text("x")
    assert cli.main(["dbn", "train", "--output", str(blocker)]) == 2
    assert "is a file; --output is a folder" in capsys.readouterr().err
    assert cli.main(["dbn", "train", "--output", str(blocker / "sub")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_old_spellings_are_aliases():
    parser = cli.build_parser()
    a = parser.parse_args(["train", "--lr", "0.2"])
    b = parser.parse_args(["rbm", "train", "--learning-rate", "0.2"])
    assert a.lr == b.lr == 0.2 and a.func is b.func
    c = parser.parse_args(["cnn", "train", "--output", "old.keras"])      # the old file form
    assert c.model_file == "old.keras" and c.output is None
    d = parser.parse_args(["recommend", "--user", "1"])
    e = parser.parse_args(["recommender", "recommend", "--user", "1"])
    assert d.func is e.func
