"""Where the real data sets live: one function that finds a data set's folder or says how to fix it.

Search order for a data set folder ``name`` (for example ``"mnist"``):

1. the ``data_dir`` argument: either a parent that contains ``name/``, or the data set folder
   itself (accepted when its last component is ``name``, or when it holds every file named in
   ``required``);
2. the environment variable ``TFRBM_DATA_DIR``: a parent folder containing ``name/`` (when set,
   only it is searched);
3. ``../shared/datasets/name`` relative to the current working directory;
4. ``../shared/datasets/name`` relative to the repository (the folder holding ``tfrbm/``).

An explicit ``data_dir`` is authoritative: when it is given, only it is searched, so a typo in
``--data-dir`` is reported instead of silently reading some other copy.
"""
import os
import pathlib
from tfrbm.errors import DataNotFoundError, UserError

__all__ = ["resolve_data_dir", "ENV_VAR"]

ENV_VAR = "TFRBM_DATA_DIR"

_REPO = pathlib.Path(__file__).resolve().parents[2]


def _candidates(name, data_dir):
    """Yield (label, path) pairs in search order."""
    if data_dir is not None:
        base = pathlib.Path(data_dir).expanduser()
        yield "data_dir argument", base / name
        yield "data_dir argument", base
        return  # an explicit folder is authoritative: never fall back silently
    env = os.environ.get(ENV_VAR)
    if env:
        yield f"${ENV_VAR}", pathlib.Path(env).expanduser() / name
        return  # a named folder is authoritative too: a wrong one is reported, not bypassed
    yield "current directory", pathlib.Path.cwd().parent / "shared" / "datasets" / name
    yield "repository", _REPO.parent / "shared" / "datasets" / name


def _holds(path, required):
    return path.is_dir() and all((path / f).is_file() for f in required)


def resolve_data_dir(name, data_dir=None, required=()):
    """Return the folder holding data set ``name`` (see the module docstring for the order).

    ``required``: optional file names the folder must contain for a candidate to count (a
    folder lacking them is skipped, so a later candidate can still match).
    Raises FileNotFoundError saying what was looked for, where, and how to point tfrbm at it.
    """
    required = tuple(required)
    if not isinstance(name, str) or not name:
        raise UserError(f"data set name must be a non-empty string, got {name!r}")
    if data_dir is not None:
        base = pathlib.Path(data_dir).expanduser()
        if base.is_file():
            raise DataNotFoundError(
                f"--data-dir {str(base)!r} is a file; pass the folder that holds {name}/ "
                f"(or the {name} folder itself)")
        if not base.exists():
            raise DataNotFoundError(
                f"data folder {str(base)!r} (given as data_dir/--data-dir) does not exist; "
                f"pass the folder that holds {name}/ or set {ENV_VAR}")
    tried = []
    for label, path in _candidates(name, data_dir):
        bare = data_dir is not None and path == pathlib.Path(data_dir).expanduser()
        if bare and path.name != name and not required:
            continue  # a parent without name/ is not the data set folder
        if _holds(path, required):
            return path.resolve()
        if path.is_dir() and required:
            missing = [f for f in required if not (path / f).is_file()]
            tried.append(f"{path} ({label}; missing {', '.join(missing)})")
        else:
            tried.append(f"{path} ({label})")
    if data_dir is None and not os.environ.get(ENV_VAR):
        hint = f"pass --data-dir DIR (the folder holding {name}/) or set {ENV_VAR}=DIR"
    else:
        hint = f"check --data-dir / {ENV_VAR}: it should be the folder holding {name}/"
    raise DataNotFoundError(
        f"data set {name!r} not found"
        + (f" (needs {', '.join(required)})" if required else "")
        + "; looked in: " + "; ".join(tried) + f". To fix: {hint}.")
