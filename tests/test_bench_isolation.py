"""The speed benchmarks' plumbing: peers get native BLAS kernels in their own process only, and
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
