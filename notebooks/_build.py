"""Execute and sync the course notebooks; the notebooks themselves are sources beside this file.

Each notebook is a pair: ``NN_name.py`` (jupytext percent format: the source you edit, linted by
ruff) and ``NN_name.ipynb`` (the same cells with the committed outputs). After editing a ``.py``:

    python notebooks/_build.py sync [names...]          # update the .ipynb inputs, keep their outputs
    python notebooks/_build.py execute names...         # run at the committed setting (COMMITTED)
    python notebooks/_build.py execute --small names... # run with SMALL=True (what CI runs)

``sync`` is ``jupytext --sync`` restricted to the notebooks named (all when none). ``execute``
runs a notebook in place (cwd = notebooks/) and writes both files of the pair.
"""
import pathlib
import sys
import time

import jupytext
import nbformat
from jupytext.combine import combine_inputs_with_outputs
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell

HERE = pathlib.Path(__file__).resolve().parent
FORMAT = "py:percent"
NOTE_START = "*The outputs shown come from"

# Settings of the committed outputs, passed like papermill's -p (the parameters cell keeps SMALL=True,
# so Run All is always the quick setting). Chosen to meet the course's numbers at the lowest CPU
# cost on the shared 2-core machine the outputs were made on; each notebook states its own.
COMMITTED = {
    "03_rbm_mnist": dict(SMALL=False, N_TRAIN=20000, EPOCHS=5),
    "05_dbn": dict(SMALL=False),   # the course lab's 784-500-200-50 DBN on all 60,000 MNIST images
    "06_cnn": dict(SMALL=False),   # 60,000 images, 4 epochs, Adam 1e-3 decayed to 1e-4
    "08_autoencoders": dict(SMALL=False, N_TRAIN=20000, EPOCHS=5),
    "07_word_language_model": dict(SMALL=False, EPOCHS=5),
    "07_char_language_model": dict(SMALL=False, EPOCHS=5),
    "13_mnist_lstm": dict(SMALL=False),
    "04_rbm_recommender": dict(SMALL=False),   # the defaults: both RBMs, 100 hidden, <= 40 epochs
    "19_dbm": dict(SMALL=False),   # 64-200-200 on the digits, 60 joint epochs (the CLI's 3,000 updates)
}


def names(selected=()):
    """The notebooks (stems of the .py sources), or the ``selected`` ones, checked to exist."""
    every = sorted(p.stem for p in HERE.glob("[0-9][0-9]_*.py"))
    unknown = sorted(set(selected) - set(every))
    if unknown:
        raise SystemExit(f"no notebook source for {', '.join(unknown)}; have {', '.join(every)}")
    return list(selected) or every


def read(name):
    """The notebook ``name``: cells from its .py source, outputs from its .ipynb where present."""
    nb = jupytext.read(HERE / f"{name}.py", fmt=FORMAT)
    ipynb = HERE / f"{name}.ipynb"
    if ipynb.exists():
        nb = combine_inputs_with_outputs(nb, nbformat.read(ipynb, as_version=4), fmt=FORMAT)
    return nb


def write(nb, name):
    """Write both files of the pair (a new pair gets the pairing and the kernel in its metadata)."""
    nb.metadata.setdefault("jupytext", {})["formats"] = "ipynb,py:percent"
    nb.metadata.setdefault("kernelspec", {"display_name": "Python 3", "language": "python",
                                          "name": "python3"})
    jupytext.write(nb, HERE / f"{name}.ipynb")
    jupytext.write(nb, HERE / f"{name}.py", fmt=FORMAT)


def sync(selected=()):
    for name in names(selected):
        write(read(name), name)
        print(f"synced {name}")


def note_cell(name, values, seconds):
    """A markdown note under the parameters cell: which setting produced the committed outputs."""
    flags = " ".join(f"-p {k} {v!r}" for k, v in values.items())
    return new_markdown_cell(
        f"{NOTE_START} a real run with those parameters changed, equivalent to\n"
        f"`papermill {name}.ipynb out.ipynb {flags}` ({seconds / 60:.0f} min on the shared 2-core CPU\n"
        "machine they were made on). \"Run All\" uses the cell above as written (`SMALL = True`, the\n"
        "quick setting the tests run), so its numbers will be those of a barely trained model.*")


def set_parameters(nb, **values):
    """Rewrite assignments in the cell tagged "parameters" (what papermill does, minus the dependency)."""
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            lines = cell.source.splitlines()
            for key, value in values.items():
                lines = [f"{key} = {value!r}" if ln.split("=")[0].strip() == key else ln for ln in lines]
            cell.source = "\n".join(lines)
            return nb
    raise ValueError("notebook has no cell tagged 'parameters'")


def execute(name, small=False, timeout=6000):
    """Run notebook ``name`` in place and keep its outputs.

    Parameters: SMALL=small, or the notebook's entry in COMMITTED. Like papermill, the values go
    into a cell after the parameters cell; after the run that cell is removed again and, for a
    non-small run, a note saying which values produced the outputs takes its place.
    """
    nb = read(name)
    nb.cells = [c for c in nb.cells if not (c.cell_type == "markdown" and c.source.startswith(NOTE_START))]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    values = dict(SMALL=True) if small else COMMITTED.get(name, dict(SMALL=False))
    where = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    injected = new_code_cell("\n".join(f"{k} = {v!r}" for k, v in values.items()))
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(where + 1, injected)
    start = time.time()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", startup_timeout=600,
                   resources={"metadata": {"path": str(HERE)}}).execute()
    del nb.cells[where + 1]
    if not small:
        nb.cells.insert(where + 1, note_cell(name, values, time.time() - start))
    write(nb, name)
    path = HERE / f"{name}.ipynb"
    print(path.name, f"{path.stat().st_size / 1e6:.2f} MB, {time.time() - start:.0f} s")


if __name__ == "__main__":
    command, *rest = sys.argv[1:] or ["sync"]
    selected = [a for a in rest if not a.startswith("--")]
    if command == "sync":
        sync(selected)
    elif command == "execute" and selected:
        for name in names(selected):
            execute(name, small="--small" in rest)
    else:
        raise SystemExit(__doc__)
