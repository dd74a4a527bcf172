"""Data that leaves the machine only when it may: tensorflow-datasets behind three checks.

Every tfrbm loader reads local files first. tensorflow-datasets (tfds) is tried only:

* when the user asked for it (``source="tfds"``), or, as the ``"auto"`` fallback, when the user
  named no data folder at all (no ``data_dir``/``--data-dir``, no ``$TFRBM_DATA_DIR``): a named
  folder lacking a file is an error that names the folder and the expected files, never a
  download;
* from tfds's own cache first (``download=False``: offline, instant);
* and to download, only when the network answers within :data:`NETWORK_TIMEOUT` seconds (a TCP
  connection to tfds's storage host, name lookup included). Offline, the error comes in seconds
  instead of tfds's minutes of retries, and nothing is written.

If a download starts and fails, whatever it created in tfds's data folder (``incomplete.*``
folders and the like; entries that did not exist before the call) is removed, so nothing is
left half-written. Set ``TFRBM_OFFLINE=1`` to forbid every download.
"""
import os
import pathlib
import shutil
import socket
import threading

from tfrbm.data.paths import ENV_VAR
from tfrbm.errors import DataNotFoundError

__all__ = ["NETWORK_TIMEOUT", "OFFLINE_VAR", "network_answers", "tfds_load", "folder_named"]

#: seconds the network has to answer before a download is given up
NETWORK_TIMEOUT = 3.0
#: set to 1 to forbid every download
OFFLINE_VAR = "TFRBM_OFFLINE"
_HOST = ("storage.googleapis.com", 443)


def folder_named(data_dir=None):
    """True when the user named a data folder (``data_dir``/``--data-dir`` or ``$TFRBM_DATA_DIR``)."""
    return data_dir is not None or bool(os.environ.get(ENV_VAR))


def network_answers(host=_HOST, timeout=NETWORK_TIMEOUT):
    """True when a TCP connection to ``host`` opens within ``timeout`` seconds (name lookup
    included: it runs in a daemon thread, since ``getaddrinfo`` has no timeout of its own)."""
    result = []

    def connect():
        try:
            with socket.create_connection(host, timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)
    thread = threading.Thread(target=connect, daemon=True, name="tfrbm-network-check")
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def _tfds_data_dir(tfds, data_dir):
    if data_dir is not None:
        return pathlib.Path(data_dir).expanduser()
    try:
        return pathlib.Path(tfds.core.constants.DATA_DIR).expanduser()
    except AttributeError:   # pragma: no cover - older tfds
        return pathlib.Path(os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")).expanduser()


def _entries(folder):
    """Every path under ``folder`` down to three levels (dataset/config/version)."""
    found = set()
    if not folder.is_dir():
        return found
    for root, dirs, files in os.walk(folder):
        depth = len(pathlib.Path(root).relative_to(folder).parts)
        found.update(pathlib.Path(root) / n for n in dirs + files)
        if depth >= 3:
            dirs[:] = []
    return found


def _remove_new(folder, before, folder_existed):
    """Remove what a failed download created under ``folder`` (entries absent ``before``)."""
    if not folder_existed:
        shutil.rmtree(folder, ignore_errors=True)   # the whole folder was made by this call
        return
    removed = set()
    for path in sorted(_entries(folder) - before, key=lambda p: len(p.parts)):
        if removed.intersection(path.parents):
            continue                                   # went with its new parent folder
        removed.add(path)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists() or path.is_symlink():
            path.unlink()


def tfds_load(name, *, expected, asked, data_dir=None, as_numpy=False, **load_kwargs):
    """``tfds.load(name, **load_kwargs)`` under the rules of the module docstring.

    ``expected``: what the local files would be (for the message, e.g. "mnist/ with
    train-images-idx3-ubyte.gz ..."). ``asked``: the user chose tfds (``source="tfds"``); else
    this is the "auto" fallback, refused when a data folder was named. ``data_dir`` is tfds's
    own folder; ``as_numpy`` returns ``tfds.as_numpy`` of the result. Raises :class:`tfrbm.errors.DataNotFoundError` in seconds when offline.
    """
    fix = f"set {ENV_VAR} (or pass --data-dir) to a folder holding {expected}"
    if not asked and folder_named(data_dir):
        where = data_dir if data_dir is not None else os.environ.get(ENV_VAR)
        raise DataNotFoundError(
            f"{name} is not in the data folder {str(where)!r}: expected {expected} there; "
            "a named data folder is never replaced by a download")
    try:
        import importlib_resources  # noqa: F401  (tfds imports it lazily inside load())
        import tensorflow_datasets as tfds
    except ImportError as exc:
        raise DataNotFoundError(
            f"{name} is not on this machine and tensorflow-datasets cannot fetch it (module "
            f"{exc.name!r} is missing); {fix}") from None
    allow_download = load_kwargs.pop("download", True)
    convert = tfds.as_numpy if as_numpy else (lambda data: data)
    try:   # tfds's cache first: offline and instant
        return convert(tfds.load(name, data_dir=None if data_dir is None else str(data_dir),
                                 download=False, **load_kwargs))
    except Exception:   # not prepared (AssertionError), or a broken cache: try the download
        pass
    if not allow_download:
        raise DataNotFoundError(f"{name} is not in tensorflow-datasets' cache and download=False; "
                                f"{fix}")
    if os.environ.get(OFFLINE_VAR, "").strip() not in ("", "0"):
        raise DataNotFoundError(f"{name} is not on this machine and {OFFLINE_VAR} forbids a "
                                f"download; {fix}")
    if not network_answers():
        raise DataNotFoundError(
            f"{name} is not on this machine and the network does not answer (no connection to "
            f"{_HOST[0]} in {NETWORK_TIMEOUT:g} s), so it cannot be downloaded; {fix}")
    folder = _tfds_data_dir(tfds, data_dir)
    existed = folder.exists()
    before = _entries(folder)
    try:
        return convert(tfds.load(name, data_dir=None if data_dir is None else str(data_dir),
                                 download=True, **load_kwargs))
    except BaseException as exc:
        _remove_new(folder, before, existed)
        if not isinstance(exc, Exception):
            raise
        raise DataNotFoundError(
            f"downloading {name} with tensorflow-datasets failed ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:300]}); nothing was kept; {fix}") from None
