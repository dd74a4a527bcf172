"""The backup folder's ownership rule: tfrbm deletes only what it created there.

A backup folder (``TrainingBackup(backup_dir)``, ``--backup DIR``) is claimed before anything is
written to it:

* a folder that does not exist is created and marked (a ``.tfrbm-backup`` file);
* an existing empty folder, a folder already marked, or a folder holding only files of an
  earlier tfrbm backup (``training_metadata.json``, ``state-N.weights.h5``, ``rng-N.npz``, their
  temporaries, and the ``pretrain``/``finetune`` sub-backups of ``tfrbm dbn train``) is taken
  over and marked;
* anything else (a folder with a file or folder tfrbm did not write, or a path that is a file)
  is refused with :class:`tfrbm.errors.UserError` before training starts.

When a backup is finished, :func:`remove_backup` deletes the files tfrbm wrote, one by one by
name, and then removes the folder itself only when it is empty and tfrbm created it. It never
calls ``rmtree`` on the folder: a file someone put there after the claim survives too.

No TensorFlow here: the command line checks ``--backup`` with it while parsing.
"""
import os
import pathlib
import re

from tfrbm.errors import UserError

__all__ = ["MARKER", "SUBFOLDERS", "check_backup_dir", "claim_backup_dir", "is_backup_file",
           "remove_backup"]

#: the file that marks a folder as a tfrbm backup (its text says which run created the folder)
MARKER = ".tfrbm-backup"
#: sub-backups of one command (``tfrbm dbn train``: pre-training and fine-tuning)
SUBFOLDERS = ("pretrain", "finetune")
_TEMP_TAG = ".tfrbm-tmp"   # tfrbm.safety.TEMP_TAG (safety imports Keras; this module must not)
_FILES = re.compile(r"^(?:training_metadata\.json|state-\d+\.weights\.h5|rng-\d+\.npz)$")
_TEMPS = re.compile(r"^\.(?:training_metadata\.json|state-\d+\.weights\.h5|rng-\d+\.npz)"
                    r"\.\d+\.[^/]*" + re.escape(_TEMP_TAG) + r"[^/]*$")
_CREATED = "created"
_ADOPTED = "adopted"


def is_backup_file(name):
    """True for a name tfrbm's backup writes: metadata, weights, RNG states, their temporaries,
    and the marker."""
    return name == MARKER or bool(_FILES.match(name) or _TEMPS.match(name))


def _foreign_entries(folder, depth=0):
    """Entries of ``folder`` that tfrbm's backup did not write (a few, for the message)."""
    foreign = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.is_symlink():
            foreign.append(entry.name)
        elif entry.is_file() and is_backup_file(entry.name):
            continue
        elif entry.is_dir() and depth == 0 and entry.name in SUBFOLDERS:
            foreign += [f"{entry.name}/{n}" for n in _foreign_entries(entry.path, depth + 1)]
        else:
            foreign.append(entry.name + ("/" if entry.is_dir() else ""))
    return foreign


def check_backup_dir(path, what="--backup"):
    """Raise UserError unless ``path`` may be used as a backup folder (see the module's rules).

    Nothing is created or changed. Returns the path as a ``pathlib.Path``.
    """
    folder = pathlib.Path(path).expanduser()
    if folder.is_symlink() and not folder.is_dir():
        raise UserError(f"{what} {str(path)!r} is a broken symlink; give a folder")
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{what} {str(path)!r} is a file; the backup is a folder (give a new "
                        "or empty folder)")
    if folder.is_dir() and not (folder / MARKER).is_file():
        try:
            foreign = _foreign_entries(folder)
        except OSError as exc:
            raise UserError(f"{what} folder {str(path)!r} cannot be read: {exc.strerror}") from None
        if foreign:
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more"
                                               if len(foreign) > 3 else "")
            raise UserError(f"{what} folder {str(path)!r} is not empty and is not a tfrbm backup "
                            f"(it holds {shown}); tfrbm deletes its backup when training ends, "
                            "so give a new or empty folder")
    return folder


def claim_backup_dir(path, what="--backup"):
    """Check ``path`` (:func:`check_backup_dir`), create it if needed and mark it as a backup.

    The marker records whether tfrbm created the folder (then :func:`remove_backup` may remove
    the emptied folder) or adopted an existing one (then the folder itself stays).
    """
    folder = check_backup_dir(path, what)
    marker = folder / MARKER
    if marker.is_file():
        return folder
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(marker, "x") as f:
            f.write((_CREATED if created else _ADOPTED) + "\n")
    except FileExistsError:
        pass   # another process marked it first
    except OSError as exc:
        raise UserError(f"cannot write the backup folder {str(path)!r}: {exc.strerror}") from None
    return folder


def remove_backup(path):
    """Delete the backup tfrbm wrote in ``path``: its own files by name, its ``pretrain`` and
    ``finetune`` sub-backups, and the folder when it is then empty and tfrbm created it.

    Anything else in the folder (a user's file) is left alone, and so is the folder then.
    Returns the list of paths removed. A missing folder is not an error.
    """
    folder = pathlib.Path(path)
    removed = []
    if folder.is_symlink() or not folder.is_dir():
        return removed
    marker = folder / MARKER
    try:
        created = marker.read_text().strip() == _CREATED
    except OSError:
        created = False
    for entry in list(os.scandir(folder)):
        if entry.name in SUBFOLDERS and entry.is_dir(follow_symlinks=False) \
                and (pathlib.Path(entry.path) / MARKER).is_file():
            removed += remove_backup(entry.path)
        elif entry.name != MARKER and entry.is_file(follow_symlinks=False) \
                and is_backup_file(entry.name):
            try:
                os.unlink(entry.path)
                removed.append(pathlib.Path(entry.path))
            except FileNotFoundError:
                pass
    try:
        marker.unlink()
        removed.append(marker)
    except FileNotFoundError:
        pass
    if created:
        try:
            folder.rmdir()           # only succeeds when nothing is left in it
            removed.append(folder)
        except OSError:
            pass
    return removed
