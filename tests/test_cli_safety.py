"""The CLI and the library refuse bad input with one clear line; long runs stop on Ctrl-C.

Issue 20 items 5 (tracebacks instead of ``tfrbm: error:``), 7 (Ctrl-C ignored by long graph
loops) and 11 (smaller silent acceptances). CLI cases run ``tfrbm.cli.main`` in-process (the
same code as the ``tfrbm`` entry point); the Ctrl-C case sends a real SIGINT to a real process.
"""
import gzip
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import tracemalloc
import warnings
import zipfile
import zlib

import keras
import numpy as np
import pytest

from tfrbm import cli
from tfrbm.commands import common
from tfrbm.errors import UserError
from tfrbm.layers import RBMLayer
from tfrbm.models.rbm import RBMModel

REPO = pathlib.Path(__file__).resolve().parents[1]


def _rbm_file(path, n_visible=6, n_hidden=2):
    model = RBMModel(RBMLayer(n_hidden), seed=0)
    model.build((None, n_visible))
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    model.save(path)
    return path


def _run(capsys, *argv, stdin=None, monkeypatch=None):
    if stdin is not None:
        import io
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _one_error_line(code, err):
    assert code == 2, err
    # informational lines (e.g. "tfrbm: running on CPU ...") may precede the error
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("tfrbm: running on")]
    assert len(lines) == 1 and lines[0].startswith("tfrbm: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    rbm = _rbm_file(root / "rbm.keras")
    other = root / "other.keras"
    seq = keras.Sequential([keras.Input((6,)), keras.layers.Dense(2)])
    seq.save(other)
    unknown = root / "unknown.keras"       # a .keras naming a class nobody registered
    with zipfile.ZipFile(other) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    config = json.loads(parts["config.json"])
    config.update(module="evil", class_name="Evil", registered_name="evil>Evil")
    parts["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(unknown, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return {"rbm": rbm, "other": other, "unknown": unknown, "root": root}


# ---------------------------------------------------------------------------- item 5
@pytest.mark.parametrize("command", ["run-visible", "run-hidden", "daydream", "daydream-trace"])
def test_a_model_of_another_type_is_one_error_line(capsys, files, monkeypatch, command):
    argv = [command, files["other"]] + (["3"] if command.startswith("daydream") else [])
    code, _, err = _run(capsys, *argv, stdin="0 1 0 1 0 1\n", monkeypatch=monkeypatch)
    assert "holds a Sequential, not an RBM" in _one_error_line(code, err)


def test_export_of_an_unknown_class_is_one_error_line(capsys, files):
    code, _, err = _run(capsys, "export", "--model", files["unknown"], "--name", "m",
                        "--base", files["root"] / "sm")
    assert "Evil" in _one_error_line(code, err)


@pytest.mark.parametrize("argv,expected", [
    (["init", "{root}/huge.keras", "1000000", "1000000"], "would need about"),
    (["daydream", "{rbm}", "1", "1000000000000"], "daydream chains would need"),
    (["daydream-trace", "{rbm}", "1000000000000"], "steps must be an integer in [1, "),
    (["recommend", "--model", "{rbm}", "--user", str(2 ** 70)], "not a MovieLens user id"),
    (["recommend", "--model", "{other}", "--user", "1"], "cannot load recommender"),
])
def test_huge_sizes_and_bad_ids_are_one_error_line(capsys, files, argv, expected):
    argv = [a.format(**files) for a in argv]
    code, _, err = _run(capsys, *argv)
    assert expected in _one_error_line(code, err)
    assert not (files["root"] / "huge.keras").exists()


def test_huge_hidden_layer_is_refused_before_allocation():
    with pytest.raises(UserError, match=r"1,000,000,000 hidden units would need about"):
        RBMModel(RBMLayer(10 ** 9)).build((None, 784))


# ---------------------------------------------------------------------------- item 7
def test_sigint_stops_a_huge_daydream_promptly_with_status_130(files):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # a test runner may run us with SIGINT ignored (pytest-xdist workers, nohup), and an ignored
    # signal stays ignored across exec: give the CLI the disposition an interactive shell gives it
    proc = subprocess.Popen([sys.executable, "-m", "tfrbm", "daydream", str(files["rbm"]),
                             "2000000000"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        first = proc.stderr.readline()         # progress shows after 2 s of sampling
        assert "/2,000,000,000 Gibbs steps" in first, first
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        waited = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-2000:]
    assert err.strip().splitlines()[-1] == "tfrbm: interrupted"
    assert waited < 30, f"took {waited:.1f} s to stop"   # one bounded chunk, even on a busy CI


def test_long_runs_go_in_chunks_and_one_chunk_equals_one_call():
    from tfrbm import gibbs
    from tfrbm.models import rbm as rbm_module
    model = RBMModel(RBMLayer(3), seed=0)
    model.build((None, 5))
    seen = []
    model.daydream(2, steps=1234, seed=1, progress=lambda done, total: seen.append(done))
    chunk = rbm_module.CHUNK_MAX_STEPS
    assert seen[0] == chunk and seen[-1] == 1234 and len(seen) == -(-1234 // chunk)
    # a run inside one chunk computes exactly what one compiled run_chain call computes
    v0 = (np.random.RandomState(0).rand(2, 5) > 0.5).astype("float32")
    ours = model.gibbs(v0, steps=chunk, seed=3, sample=False)
    seed = model.next_seed(3)
    reference = gibbs.run_chain(model.layer, v0, chunk, seed)[0].numpy()
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-6)


def test_cd_k_beyond_the_cap_is_refused():
    with pytest.raises(UserError, match="PCD"):
        RBMModel(RBMLayer(3), cd_k=10 ** 9)


# ---------------------------------------------------------------------------- item 11
def test_init_refuses_to_overwrite_without_the_flag(capsys, tmp_path):
    path = _rbm_file(tmp_path / "trained.keras")
    before = path.read_bytes()
    code, _, err = _run(capsys, "init", path, "6", "2")
    assert "--overwrite" in _one_error_line(code, err) and path.read_bytes() == before
    code, out, err = _run(capsys, "init", path, "6", "3", "--overwrite")
    assert code == 0 and keras.saving.load_model(path).layer.units == 3


@pytest.mark.parametrize("argv", [
    ["init", "{root}/nan.keras", "6", "2", "nan"],
    ["train", "--momentum", "nan"],
    ["train", "--lr", "inf"],
    ["dbn", "train", "--finetune-lr", "nan"],
    ["recommender", "train", "--learning-rate=-inf"],
])
def test_nan_and_inf_settings_are_refused(capsys, files, argv):
    code, _, err = _run(capsys, *[a.format(**files) for a in argv])
    assert "must be a finite number" in _one_error_line(code, err)
    assert not (files["root"] / "nan.keras").exists()


def test_library_refuses_a_nan_momentum():
    model = RBMModel(RBMLayer(3), seed=0)
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=float("nan")))
    with pytest.raises(ValueError, match="momentum"):
        model.fit(np.zeros((8, 4), "float32"), epochs=1, verbose=0)


def test_json_is_strict_nan_becomes_null_with_the_reason(capsys):
    common.print_json({"loss": float("nan"), "ok": 1.5, "n": 3, "xs": [1.0, float("inf")]})
    line = capsys.readouterr().out.strip()
    data = json.loads(line, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert data == {"loss": None, "ok": 1.5, "n": 3, "xs": [1.0, None],
                    "non_finite": {"loss": "nan", "xs[1]": "inf"}}


def test_train_model_applies_lr_and_cd_k_and_refuses_fixed_settings(capsys, tmp_path, monkeypatch):
    path = _rbm_file(tmp_path / "m.keras")
    code, _, err = _run(capsys, "train", "--model", path, "--hidden", "50")
    assert "--hidden cannot apply to an existing --model" in _one_error_line(code, err)
    rows = "0 1 0 1 0 1\n1 0 1 0 1 0\n"
    code, out, err = _run(capsys, "train", "--model", path, "--lr", "0.25", "--cd-k", "3",
                          "--epochs", "2", "--quiet", stdin=rows, monkeypatch=monkeypatch)
    assert code == 0, err
    model = keras.saving.load_model(path)
    assert model.cd_k == 3
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.25)


@pytest.mark.parametrize("row,problem", [("0,,1,0,1,0", "empty field"),
                                         ("0_1 1 0 1 0 1", "not a plain decimal"),
                                         ("0 1 nan 1 0 1", "not a plain decimal")])
def test_row_parser_is_strict(capsys, files, monkeypatch, row, problem):
    code, _, err = _run(capsys, "run-visible", files["rbm"], stdin=row + "\n",
                        monkeypatch=monkeypatch)
    assert problem in _one_error_line(code, err)


def test_gzip_bomb_is_refused_early_in_bounded_memory(tmp_path):
    from tfrbm.data.images import IDXFormatError, read_idx
    path = tmp_path / "bomb-idx3-ubyte.gz"
    pack = zlib.compressobj(9, zlib.DEFLATED, 31)      # gzip container
    header = b"\x00\x00\x08\x02" + (10).to_bytes(4, "big") * 2     # declares 10 x 10 bytes
    parts = [pack.compress(header + bytes(100))]
    zeros = bytes(1 << 20)
    parts += [pack.compress(zeros) for _ in range(256)]     # then 256 MiB more
    path.write_bytes(b"".join(parts) + pack.flush())
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(IDXFormatError, match="inflates past the 112 bytes"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"peak {peak / 2**20:.1f} MiB"
    ok = tmp_path / "ok-idx1-ubyte.gz"
    ok.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + b"\x01\x02\x03"))
    np.testing.assert_array_equal(read_idx(ok), [1, 2, 3])


def test_exact_likelihood_counts_both_layers():
    model = RBMModel(RBMLayer(2000), seed=0)
    model.build((None, 25))                 # 2^25 visible states x 2000 hidden units
    t = time.perf_counter()
    with pytest.raises(ValueError, match="both layers count"):
        model.log_partition(method="exact")
    assert time.perf_counter() - t < 5


def test_unscaled_gaussian_data_warns_with_the_remedy():
    x = np.random.RandomState(0).randint(0, 256, (64, 10)).astype("float32")
    model = RBMModel(RBMLayer(3, visible="gaussian"), seed=0)
    model.compile(optimizer=keras.optimizers.SGD(1e-4))
    with pytest.warns(UserWarning, match=r"Standardize each feature") as record:
        model.fit(x, epochs=1, verbose=0)
    assert any("Standardize each feature" in str(w.message) for w in record)
    standardized = (x - x.mean(0)) / x.std(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        RBMModel(RBMLayer(3, visible="gaussian"), seed=0).fit(standardized, epochs=1, verbose=0)


def test_ctrl_c_during_a_chunk_is_raised_between_chunks_and_the_handler_restored():
    from tfrbm.interrupt import between_chunks
    runner_handler = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
    try:
        done = []
        with pytest.raises(KeyboardInterrupt):
            with between_chunks() as interrupt:
                assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
                for chunk in range(5):
                    if chunk == 1:
                        os.kill(os.getpid(), signal.SIGINT)   # arrives "inside" chunk 1
                        time.sleep(0.05)
                    done.append(chunk)                        # the chunk still completes
                    interrupt.check()
        assert done == [0, 1]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        # a program with its own SIGINT handler keeps it: nothing is installed over it
        def own(signum, frame):
            pass
        signal.signal(signal.SIGINT, own)
        with between_chunks():
            assert signal.getsignal(signal.SIGINT) is own
        assert signal.getsignal(signal.SIGINT) is own
    finally:
        signal.signal(signal.SIGINT, runner_handler)
