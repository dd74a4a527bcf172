"""Quiet TensorFlow's start-up messages, for the CLI and the notebooks only.

``import tfrbm`` calls this only when asked to (``TFRBM_QUIET_TF=1``, which the course notebooks
set): a library must not redirect a process's stderr unasked. The ``tfrbm`` command calls
:func:`import_tensorflow_quietly` before TensorFlow loads.

TensorFlow's C++ start-up lines (CUDA probes, oneDNN and CPU notes) are written straight to file
descriptor 2 before Python's logging exists, so they are silenced by pointing fd 2 at /dev/null
for the duration of the import; Python exceptions are unaffected. An error a user needs is not
hidden: when a GPU is present but TensorFlow sees none, one line says so.

Set ``TFRBM_VERBOSE_TF=1`` to see everything (nothing is redirected and TensorFlow's own log
level is left alone).
"""
import os
import sys


def verbose():
    """Whether the user asked for TensorFlow's own messages (``TFRBM_VERBOSE_TF=1``)."""
    return os.environ.get("TFRBM_VERBOSE_TF", "").strip().lower() in ("1", "true", "yes")


def _gpu_hardware_present():
    """An NVIDIA device node or driver is visible (cheap; does not load CUDA)."""
    return os.path.exists("/dev/nvidia0") or os.path.exists("/proc/driver/nvidia/version")


def import_tensorflow_quietly():
    """Import TensorFlow and Keras with fd 2 silenced, unless ``TFRBM_VERBOSE_TF=1``.

    Returns the list of GPUs TensorFlow sees (None when it was not probed here).
    """
    if verbose():                    # checked first: nothing is set or redirected
        return None
    if "tensorflow" in sys.modules:  # too late to quiet anything
        return None
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real stderr (some notebook front ends)
        import tensorflow
        return None
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow
            import keras  # noqa: F401
            gpus = tensorflow.config.list_physical_devices("GPU")  # the CUDA probe prints on fd 2
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    if not gpus and _gpu_hardware_present() and os.environ.get("CUDA_VISIBLE_DEVICES", None) != "":
        print("tfrbm: an NVIDIA GPU is present but TensorFlow cannot use it; rerun with "
              "TFRBM_VERBOSE_TF=1 to see why", file=sys.stderr)
    return gpus
