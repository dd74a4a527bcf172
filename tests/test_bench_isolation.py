"""The benchmarks' shared plumbing (benchmarks/harness.py): peers get native BLAS kernels in their own process only, and
``--device`` places the TF sides (checked on the CPU, as a GPU run would be)."""
import os
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
sys.path.insert(0, BENCH)

import harness  # noqa: E402


class EnvProbe:
    """A worker object that reports its environment (used through ``harness.Worker``)."""

    k = 1

    def warmup(self):
        pass

    def env(self):
        return {n: os.environ.get(n) for n in harness.CRIPPLING_BLAS_VARIABLES}


def test_native_blas_workers_drop_the_crippling_variables_only_there(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setenv("OPENBLAS_L2_SIZE", "1048576")
    monkeypatch.syspath_prepend(os.path.dirname(os.path.abspath(__file__)))
    native = harness.Worker("test_bench_isolation:EnvProbe", native_blas=True)
    plain = harness.Worker("test_bench_isolation:EnvProbe")
    try:
        assert native.run("env")[2] == {"OPENBLAS_CORETYPE": None, "OPENBLAS_L2_SIZE": None}
        assert plain.run("env")[2] == {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "1048576"}
    finally:
        native.close()
        plain.close()
    # the parent keeps its environment
    assert os.environ["OPENBLAS_CORETYPE"] == "Haswell"
    assert os.environ["OPENBLAS_L2_SIZE"] == "1048576"


def test_blas_kernels_names_the_kernel():
    import numpy as np
    np.ones((4, 4)) @ np.ones((4, 4))
    kernels = harness.blas_kernels()
    assert kernels and all(isinstance(k, str) for k in kernels)
    assert any(k.split()[0] in ("openblas", "mkl", "blis") for k in kernels), kernels
    assert harness.kernel_tag(["openblas 0.3.31 SkylakeX (2 threads)",
                                  "openblas 0.3.30 SkylakeX (2 threads)"]) == "SkylakeX"


@pytest.mark.parametrize("sides", ["tfrbm-bf16"])
def test_bench_sampling_runs_on_the_named_device(sides):
    import bench_sampling
    out = bench_sampling.main(["--sides", sides, "--chains", "8", "--steps", "3", "--runs", "4",
                               "--betas", "30", "--repeats", "1", "--device", "/CPU:0"])
    for side in sides.split(","):
        assert out["placed_on"][side].endswith("CPU:0")
        assert out["daydream"]["seconds"][side] > 0 and out["ais"]["seconds"][side] > 0


def test_run_side_gives_native_blas_to_the_peers_process_only(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    script = tmp_path / "side.py"
    script.write_text("import json, os, sys\n"
                      "print('noise')\n"
                      "print(json.dumps({'core': os.environ.get('OPENBLAS_CORETYPE'), "
                      "'args': sys.argv[1:]}))\n")
    assert harness.run_side(script, ["--x", 3], native_blas=True) == {"core": None, "args": ["--x", "3"]}
    assert harness.run_side(script, [])["core"] == "Haswell"
    script.write_text("import sys\nsys.exit('broken side')\n")
    with pytest.raises(RuntimeError, match="broken side"):
        harness.run_side(script, [])


def test_add_options_types_each_option_by_its_default():
    import argparse
    p = harness.add_options(argparse.ArgumentParser(), epochs=10, lr=0.05, data="mnist",
                            limit=(int, None), batch_size=100)
    args = p.parse_args(["--epochs", "3", "--lr", "1e-3", "--limit", "7"])
    assert (args.epochs, args.lr, args.data, args.limit, args.batch_size) == (3, 1e-3, "mnist", 7, 100)
    assert p.parse_args([]).limit is None
    with pytest.raises(SystemExit):
        p.parse_args(["--epochs", "2.5"])


def test_binarize_is_one_seeded_draw_per_pixel():
    import numpy as np
    x = np.random.default_rng(3).random((200, 50)).astype(np.float32)
    a = harness.binarize(x, 0)
    assert a.dtype == np.float32 and set(np.unique(a)) <= {0.0, 1.0}
    assert np.array_equal(a, harness.binarize(x, np.random.default_rng(0)))
    assert not np.array_equal(a, harness.binarize(x, 0, "float32"))   # another stream
    assert abs(a.mean() - x.mean()) < 0.02
    assert np.array_equal(harness.binarize(np.zeros((2, 3)), 1), np.zeros((2, 3)))


def test_judge_rates_give_each_class_its_wilson_interval():
    import numpy as np
    from tfrbm.anomaly import binomial_interval
    labels = np.repeat(np.arange(3), 10)
    predicted = labels.copy()
    predicted[:4] = 1                                  # class 0: 6 of 10 right
    rates = harness.judge_rates(predicted, labels, n_classes=3)
    assert rates["per_class"] == [0.6, 1.0, 1.0] and rates["min"] == 0.6
    assert rates["per_class_lower95"][0] == binomial_interval(6, 10)[0]
    assert rates["min_lower95"] == binomial_interval(6, 10)[0]


def test_command_line_names_the_script_from_the_repository_root():
    assert harness.command_line("/any/where/bench_x.py", ["a", 2]) == "python benchmarks/bench_x.py a 2"
