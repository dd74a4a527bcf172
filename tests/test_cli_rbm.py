"""The ``tfrbm`` RBM commands end to end, as a user runs them (in a subprocess).

The two rbmcmd sessions run their first command in a subprocess, as a user does, and the rest
through ``tfrbm.cli.main`` in this process (the same parser and commands, stdin and stdout swapped
for strings), so the suite pays TensorFlow's start-up once per session, not six times.
"""
import contextlib
import io
import json
import os
import subprocess
import sys
import types
import zipfile

import numpy as np

from tfrbm import cli

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def _tfrbm(*args, stdin=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "tfrbm", *args], input=stdin, capture_output=True,
                          text=True, env=ENV, cwd=cwd, timeout=600)


def _tfrbm_here(*args, stdin=None, cwd=None, monkeypatch=None):
    """``tfrbm ARGS`` through ``cli.main`` in this process: what _tfrbm returns, without a new
    interpreter (stdin from ``stdin``, the working directory ``cwd``)."""
    out, err = io.StringIO(), io.StringIO()
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stdin", io.StringIO(stdin or ""))
        if cwd is not None:
            patch.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(list(args))
    return types.SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def test_train_on_embedded_digits_writes_model_figures_and_json(tmp_path):
    out, new = tmp_path / "out", tmp_path / "new.keras"
    result = _tfrbm("train", "--epochs", "2", "--hidden", "16", "--output", str(out), "--json",
                    "--model", str(new))
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert metrics["epochs"] == 2
    assert 0 < metrics["reconstruction_error"] < 0.25
    assert np.isfinite(metrics["test_free_energy"])
    for name in ("model.keras", "weights.png", "samples.png", "reconstructions.png", "training.png",
                 "metrics.json"):
        assert (out / name).stat().st_size > 0, name
    with zipfile.ZipFile(new) as saved, zipfile.ZipFile(out / "model.keras") as beside:
        assert saved.namelist() == beside.namelist()   # a new --model receives the model too


def test_rbmcmd_workflow_on_a_model_file(tmp_path, monkeypatch):
    rows = "1 1 1 0 0 0\n1 0 1 0 0 0\n1 1 1 0 0 0\n0 0 1 1 1 0\n0 0 1 1 0 0\n0 0 1 1 1 0\n"
    model = str(tmp_path / "movies.keras")
    assert _tfrbm("init", model, "6", "2", "0.1").returncode == 0

    def here(*args, **kw):   # the rest of the session in this process
        return _tfrbm_here(*args, monkeypatch=monkeypatch, **kw)

    trained = here("train", "--model", model, "--epochs", "3000", "--json", "--seed", "1", stdin=rows)
    assert trained.returncode == 0, trained.stderr
    assert json.loads(trained.stdout.strip().splitlines()[-1])["reconstruction_error"] < 0.15
    hidden = here("run-visible", model, "--probabilities", stdin="0 0 0 1 1 0\n1 1 0 0 0 0\n")
    oscar, fantasy = np.array([line.split() for line in hidden.stdout.split("\n") if line], float)
    unit = int(np.argmax(oscar - fantasy))
    assert oscar[unit] > 0.5 > fantasy[unit]  # the two hidden units split the two kinds of film
    visible = here("run-hidden", model, stdin="1 0\n")
    assert len(visible.stdout.split()) == 6
    dream = here("daydream", model, "3", "5")
    assert len(dream.stdout.strip().splitlines()) == 5
    trace = here("daydream-trace", model, "4")
    assert len(trace.stdout.strip().splitlines()) == 4
    assert set("".join(trace.stdout.split())) <= {"0", "1"}


def test_cli_errors_are_one_line_without_traceback(tmp_path):
    result = _tfrbm("run-visible", str(tmp_path / "missing.keras"), stdin="1 0\n")
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_echen_rbmcmd_command_lines_run_as_written(tmp_path, monkeypatch):
    """The tutorial's rbmcmd session (echen, "rbmcmd"), word for word apart from the program
    name and the state file's extension (a Keras model file ends in .keras)."""
    rows = "1 1 1 0 0 0\n1 0 1 0 0 0\n1 1 1 0 0 0\n0 0 1 1 1 0\n0 0 1 1 0 0\n0 0 1 1 1 0\n"
    state = "rbmstate.keras"
    assert _tfrbm(state, "init", "6", "2", "0.1", cwd=tmp_path).returncode == 0

    def here(*args, **kw):   # the rest of the session in this process
        return _tfrbm_here(*args, monkeypatch=monkeypatch, **kw)

    trained = here(state, "train", "5000", cwd=tmp_path, stdin=rows)
    assert trained.returncode == 0, trained.stderr
    assert "for 5000 epochs" in trained.stdout
    hidden = here(state, "run_visible", cwd=tmp_path, stdin="0 0 0 1 1 0\n")
    assert hidden.returncode == 0, hidden.stderr
    assert sorted(hidden.stdout.split()) == ["0", "1"]   # George turns on one unit: "1 0" or "0 1"
    unit = hidden.stdout.split().index("1")
    george_unit = " ".join("1" if j == unit else "0" for j in range(2))
    visible = here(state, "run_hidden", cwd=tmp_path, stdin=george_unit + "\n")
    assert visible.returncode == 0 and len(visible.stdout.split()) == 6, visible.stderr
    assert visible.stdout.split()[3] == "1"   # Gladiator, George's film, comes back
    trace = here(state, "daydream_trace", "3", cwd=tmp_path)
    assert trace.returncode == 0 and len(trace.stdout.strip().splitlines()) == 3, trace.stderr
    dream = here(state, "daydream", "3", "5", cwd=tmp_path)
    assert dream.returncode == 0 and len(dream.stdout.strip().splitlines()) == 5, dream.stderr


def test_rbmcmd_order_and_its_limits(monkeypatch):
    from tfrbm.cli import rbmcmd_order
    verbs = {"train", "init", "run_visible", "rbm"}
    assert rbmcmd_order(["s.keras", "train", "5000"], verbs) == ["train", "--model", "s.keras", "5000"]
    assert rbmcmd_order(["s.keras", "run_visible"], verbs) == ["run_visible", "s.keras"]
    for unchanged in (["train", "--epochs", "2"], ["rbm", "train"], ["--version"], ["s.keras"]):
        assert rbmcmd_order(unchanged, verbs) == unchanged
    both = _tfrbm_here("train", "3", monkeypatch=monkeypatch)
    assert both.returncode == 2 and "needs a model file" in both.stderr
