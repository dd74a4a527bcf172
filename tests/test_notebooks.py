"""Execute every course notebook at its small (CI) setting; any failing cell fails the test.

The notebooks read the real data sets through TFRBM_DATA_DIR (the ``data_dir`` fixture) when
present and otherwise fall back to the bundled 8x8 digits, so these tests never skip for
missing data. The kernel is started with this interpreter (jupyter_client swaps the kernel
spec's "python" for sys.executable), so it sees the same environment as pytest.
"""
import pathlib
import re
import sys
import time

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK_DIR = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(p.stem for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
sys.path.insert(0, str(NOTEBOOK_DIR))


def test_notebooks_exist_and_are_small():
    assert len(NOTEBOOKS) >= 2, NOTEBOOKS
    for name in NOTEBOOKS:
        path = NOTEBOOK_DIR / f"{name}.ipynb"
        assert path.stat().st_size < 3_000_000, f"{path.name} is {path.stat().st_size} bytes"
        nb = nbformat.read(path, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{name}: expected one cell tagged 'parameters'"
        assert "SMALL = True" in tagged[0].source, f"{name}: SMALL must default to True"


def test_sources_and_notebooks_are_paired():
    """Every notebook is a jupytext pair: the .py source (percent format) holds exactly the cells of
    the .ipynb (which adds the outputs); `python notebooks/_build.py sync` restores a pair."""
    jupytext = pytest.importorskip("jupytext")
    sources = sorted(p.stem for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.py"))
    assert sources == NOTEBOOKS
    for name in NOTEBOOKS:
        text = jupytext.read(NOTEBOOK_DIR / f"{name}.py", fmt="py:percent")
        nb = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
        assert nb.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent", name
        assert [(c.cell_type, c.source) for c in text.cells] == [(c.cell_type, c.source) for c in nb.cells], \
            f"{name}.py and {name}.ipynb differ: run `python notebooks/_build.py sync {name}`"


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


# every notebook must end by interpreting what it showed (none is exempt)
_SUMMARY_PENDING = set()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebook_hygiene(name):
    """What a learner opens: Run All keeps SMALL from the parameters cell (papermill sees it), the
    set-up imports the installed package without path edits, the outputs carry no errors,
    warnings or log lines, and the notebook ends with a "What you saw" interpretation."""
    path = NOTEBOOK_DIR / f"{name}.ipynb"
    assert path.stat().st_size < 600_000, f"{path.name} is {path.stat().st_size} bytes"
    nb = nbformat.read(path, as_version=4)
    assert not [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    later = [c.source for c in _code_cells(nb) if "parameters" not in c.metadata.get("tags", [])]
    assert not [src for src in later if re.search(r"^SMALL\s*=", src, re.M)], "a later cell sets SMALL"
    assert not [src for src in later if "sys.path" in src], "a cell edits sys.path"
    for cell in _code_cells(nb):
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", cell.source[:200]
            text = out.get("text", "") if out.get("output_type") == "stream" else ""
            assert out.get("name") != "stderr", f"stderr in committed output: {text[:300]}"
            assert not re.search(r"WARNING|^INFO|Warning:|^[IWE]0000 ", text, re.M), text[:300]
    if name not in _SUMMARY_PENDING:
        last = nb.cells[-1]
        assert last.cell_type == "markdown" and last.source.startswith("## What you saw"), name
    import papermill  # a test dependency: `papermill -p SMALL True` must see the parameter
    assert "SMALL" in papermill.inspect_notebook(str(path)), "papermill does not see SMALL"


# a number as written in prose or printed: 12, -0.5, 1,000, 60,000.5, 97.1%
_NUMBER = re.compile(r"(?<![\w.])[-−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?%?")
_NOT_QUOTED = re.compile(r"`[^`]*`|\$[^$]*\$|\bnotebooks? \d\d\w*(?:(?:,| and| or) \d\d\w*)*")   # code, maths, cross-references


def _numbers(text):
    """(value, decimals, percent) of every number in ``text``."""
    found = []
    for m in _NUMBER.finditer(text):
        token = m.group(0).replace("−", "-").rstrip("%").replace(",", "")
        decimals = len(token.split(".")[1]) if "." in token else 0
        found.append((float(token), decimals, m.group(0).endswith("%")))
    return found


def _output_text(nb):
    parts = []
    for cell in _code_cells(nb):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            else:
                parts.append(out.get("data", {}).get("text/plain", ""))
    return re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(parts))   # without terminal colour codes


def _shown(value, decimals, percent, printed):
    """Whether a printed number, rounded as the prose rounds it, is ``value`` (or ``value``% of 1)."""
    tolerance = 0.5 * 10 ** -decimals + 1e-9
    return any(abs(p - value) <= tolerance or (percent and abs(100 * p - value) <= tolerance)
               for p in printed)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_summary_quotes_only_numbers_the_outputs_show(name):
    """Every number in the closing "What you saw" is one that an output cell printed (as printed or
    rounded, a percentage also as a fraction). Numbers in `code` and $maths$ are not quotes; a
    summary that cites "notebook NN" may quote that notebook's outputs too."""
    nb = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    summary = nb.cells[-1].source
    assert summary.startswith("## What you saw"), name
    cited = {name} | {n for n in NOTEBOOKS for ref in re.findall(r"\bnotebooks? (\d\d\w*)", summary)
                      if n.startswith(ref)}
    printed = [v for n in sorted(cited)
               for v, _, _ in _numbers(_output_text(nbformat.read(NOTEBOOK_DIR / f"{n}.ipynb", as_version=4)))]
    prose = _NOT_QUOTED.sub(" ", summary.split("\n", 1)[1])
    unshown = [f"{v:g}{'%' if pct else ''}" for v, d, pct in _numbers(prose) if not _shown(v, d, pct, printed)]
    assert not unshown, f"{name}: the summary quotes numbers no output shows: {unshown}"


@pytest.fixture
def notebook_env(monkeypatch):
    from conftest import shared_data_dir
    path = shared_data_dir()
    if path is not None:
        monkeypatch.setenv("TFRBM_DATA_DIR", str(path))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    return path


@pytest.mark.parametrize("name", [
    # each run is its own xdist group, so `--dist loadgroup` spreads the runs over the workers
    # (the other tests of this file stay together, as with loadfile)
    pytest.param(name, marks=pytest.mark.xdist_group(f"notebook-{name}")) for name in NOTEBOOKS])
def test_notebook_runs_small(name, notebook_env):
    from _build import set_parameters
    nb = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    # drop the parameters injected for the committed run; start without committed outputs
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    set_parameters(nb, SMALL=True)
    start = time.perf_counter()
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=False,
                                     resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    elapsed = time.perf_counter() - start
    # every code cell ran (none skipped), in order
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert None not in counts and counts == sorted(counts), counts
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert images, f"{name} drew no figures"
    print(f"{name}: {elapsed:.1f}s")
