"""SavedModel export in the layout TF Serving loads: ``<base>/<name>/<version>/``.

``export_model(model, "saved_models/rbm_mnist")`` asks the model for its endpoints
(``model.serving_endpoints()``, see :mod:`tfrbm.serving`) and writes them as one SavedModel in
``saved_models/rbm_mnist/<version>/``. This module knows no model class: a new kind of model is
exported by giving it a ``serving_endpoints()`` method.

Publishing is atomic and exclusive:

* the SavedModel is written into a fresh hidden folder beside the versions and renamed into
  place, so TF Serving never sees half a model;
* the rename is the version allocation: renaming onto an existing (non-empty) version fails in
  the kernel, so two exports running at once get different versions (``version=None``), or the
  second fails (an explicit ``version`` without ``overwrite``); nothing is ever replaced unless
  ``overwrite=True``;
* folders and files get the modes a new folder and file get under the process umask (0755/0644
  with the usual umask 022), so a server running as another user can read them.

Signatures, per model (the first listed is also ``serving_default``; randomness is stateless:
``seed`` is an int64 pair, and the Python model's ``seed=s`` means ``[s, 0]``):

* RBM (:class:`tfrbm.RBMModel`): ``hidden_probabilities(visible)``, ``reconstruct(visible)``,
  ``free_energy(visible)``, ``sample(n_samples, steps, seed)`` (as ``daydream``),
  ``inpaint(visible, mask, steps, seed)``.
* DBN (:class:`tfrbm.DBNModel`): ``features(inputs)``, ``sample(n_samples, steps, seed)``.
* Keras classifiers (``DBNModel.to_classifier``, the CNN, ...): ``predict(inputs) -> probabilities``.
* Recommender (:class:`tfrbm.RBMRecommender` or its ``RecommenderNetwork``):
  ``recommend(user_ids) -> scores, known_user, movie_ids``.
* Language models: ``next_token(ids) -> log_probabilities`` from zero states.

The loaded object needs only TensorFlow: ``tf.saved_model.load(path).signatures["reconstruct"]``.
"""
import errno
import os
import pathlib
import re
import secrets
import shutil

import keras
import numpy as np

from tfrbm.errors import ExportError
from tfrbm.safety import check_finite_weights, current_umask
from tfrbm.serving import endpoints_of, keras_model_endpoints

__all__ = ["ServingMixin", "atomic_export", "export_model", "export_named", "next_version",
           "signature_names", "ExportError"]

_FORMATS = ("tf_saved_model",)
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_TAKEN = (errno.EEXIST, errno.ENOTEMPTY)


# ------------------------------------------------------------------ versions and names
def next_version(base):
    """1 + the largest integer-named sub-directory of ``base`` (1 when there is none)."""
    base = pathlib.Path(base)
    versions = [int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit()] \
        if base.is_dir() else []
    return max(versions, default=0) + 1


def _check_version(version):
    if version is None or version is False:
        return version
    if isinstance(version, bool) or not isinstance(version, (int, np.integer)) or version < 0:
        raise ExportError(f"version must be a non-negative integer, got {version!r}")
    return int(version)


def check_name(name):
    """A model name is one path component: letters, digits, '_', '.', '-', not starting with '.'.

    So ``.``, ``..``, absolute paths and names with separators are refused: an export never
    leaves its base folder.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ExportError(f"model name {name!r} must be letters, digits, '_', '.' or '-' and "
                          "must not start with '.' (one folder inside the base)")
    return name


# ------------------------------------------------------------------ atomic, exclusive publishing
def _apply_umask_modes(root):
    """Give every folder 0777 & ~umask and every file 0666 & ~umask (as if freshly created)."""
    mask = current_umask()
    os.chmod(root, 0o777 & ~mask)
    for folder, dirs, files in os.walk(root):
        for d in dirs:
            os.chmod(os.path.join(folder, d), 0o777 & ~mask)
        for f in files:
            os.chmod(os.path.join(folder, f), 0o666 & ~mask)


def _fresh_folder(parent, name):
    """A new, empty hidden folder in ``parent`` (``os.mkdir``: exclusive, umask respected)."""
    while True:
        path = parent / f".{name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            continue


def publish_directory(write, parent, version=None, overwrite=False):
    """Build a folder with ``write(tmp)`` and publish it as ``parent/<version>`` atomically.

    The one atomic folder writer of tfrbm (SavedModels). ``version=None`` takes the next free
    number, retrying if another process takes it first; ``version=N`` fails with
    :class:`ExportError` if ``N`` exists, unless ``overwrite``; ``version=False`` publishes at
    ``parent`` itself. On any error (or KeyboardInterrupt) the temporary folder is removed and
    an overwritten version is put back. Returns the published path.
    """
    parent = pathlib.Path(parent)
    if version is False:
        parent, target = parent.parent, parent
    else:
        target = None if version is None else parent / str(version)
    if target is not None and target.exists() and not overwrite:
        raise ExportError(f"{target} already exists; pass overwrite=True or another version")
    parent.mkdir(parents=True, exist_ok=True)
    tmp = _fresh_folder(parent, target.name if target is not None else "version")
    aside = None
    try:
        write(str(tmp))
        _apply_umask_modes(tmp)
        while True:
            dest = target if target is not None else parent / str(next_version(parent))
            try:
                os.rename(tmp, dest)          # fails when dest is a non-empty folder
                break
            except OSError as exc:
                if exc.errno not in _TAKEN:
                    raise
            if target is None:
                continue                      # another export took that number: try the next
            if not overwrite:
                raise ExportError(f"{target} already exists (written by another export just "
                                  "now); pass overwrite=True or another version")
            if aside is None:
                aside = _fresh_folder(parent, target.name + ".old")
            try:
                os.rename(target, aside / "model")
            except FileNotFoundError:
                pass
            except OSError as exc:
                if exc.errno not in _TAKEN:
                    raise
                shutil.rmtree(aside / "model", ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if aside is not None and (aside / "model").exists() and not target.exists():
            os.rename(aside / "model", target)
        raise
    finally:
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
    return dest


# ------------------------------------------------------------------ the public entry points
def _write_out(archive, directory, verbose):
    """Write the SavedModel files (a seam the atomic-write test interrupts)."""
    archive.write_out(directory, verbose=verbose)


def signature_names(model):
    """The signature keys an export of ``model`` will have (``serving_default`` first)."""
    return endpoints_of(model).names


def export_model(model, filepath, format="tf_saved_model", version=None, overwrite=False,
                 verbose=False):
    """Export ``model``'s serving endpoints as a SavedModel; returns the directory written.

    Args:
        model: anything with ``serving_endpoints()`` (every tfrbm model), or a single-input
            Keras model (served as ``predict``).
        filepath: the model's directory, e.g. ``saved_models/rbm_mnist``; the SavedModel goes in
            its sub-directory ``<version>`` (TF Serving layout).
        format: only ``"tf_saved_model"``.
        version: integer version; None takes the next free one; False writes to ``filepath``
            itself (no version directory).
        overwrite: replace an existing version directory (atomically) instead of failing.
        verbose: print the signatures written.
    """
    if format not in _FORMATS:
        raise ExportError(f"unknown export format {format!r}; supported: {', '.join(_FORMATS)}")
    version = _check_version(version)
    endpoints = endpoints_of(model)
    check_finite_weights(endpoints.owner, what=f"export to {filepath}")

    def write(tmp):
        archive = keras.export.ExportArchive()
        archive.track(endpoints.owner)
        for name, fn, signature in endpoints:
            archive.add_endpoint(name, fn, input_signature=signature)
        _write_out(archive, tmp, verbose)

    return publish_directory(write, filepath, version=version, overwrite=overwrite)


def export_named(model, name, base="saved_models", version=None, overwrite=False):
    """Export to ``<base>/<name>/<version>/``; returns the directory written."""
    return export_model(model, pathlib.Path(base) / check_name(name), version=version,
                        overwrite=overwrite)


def atomic_export(model, path, check_finite=True, **kwargs):
    """A SavedModel of ``model``'s serving endpoints at ``path`` (no version folder), replacing
    what is there atomically: :func:`export_model` with ``version=False``, the one atomic folder
    writer. NaN/Inf weights are always refused."""
    kwargs.setdefault("overwrite", True)
    return export_model(model, path, version=False, **kwargs)


class ServingMixin:
    """Gives a model tfrbm's ``export``: an atomic SavedModel of its endpoints at a path.

    A class using it defines ``serving_endpoints()``; the default serves a single-input Keras
    model's outputs as ``predict``.
    """

    def serving_endpoints(self):
        return keras_model_endpoints(self)

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None,
               overwrite=False, **kwargs):
        """Write a SavedModel of :meth:`serving_endpoints` at ``filepath``, as Keras'
        ``Model.export`` does: ``tf.saved_model.load(filepath)`` loads it.

        The folder is built beside ``filepath`` and renamed into place (never half written);
        an existing ``filepath`` is kept unless ``overwrite=True``. The signatures are the
        model's own (``input_signature`` is not taken). TF Serving's numbered version folders
        (``<base>/<name>/<version>/``) come from :func:`export_model` (or ``export_named``,
        which ``tfrbm export --name`` uses), not from this method.
        """
        if input_signature is not None:
            raise ExportError("tfrbm models declare their signatures (serving_endpoints()); "
                              "export takes no input_signature")
        if kwargs:
            raise ExportError(f"export got unexpected arguments {sorted(kwargs)}")
        return export_model(self, filepath, format=format, version=False,
                            overwrite=overwrite, verbose=bool(verbose))
