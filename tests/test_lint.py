"""CI runs the linter: ``ruff check`` (configured in pyproject.toml) must find nothing (the notebooks as their
jupytext .py sources)."""
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_ruff_reports_nothing():
    pytest.importorskip("ruff")
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "tfrbm", "tests",
                           "benchmarks", "notebooks"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "All checks passed" in proc.stdout
