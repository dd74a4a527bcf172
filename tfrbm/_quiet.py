"""Import TensorFlow without its C++ start-up messages (CUDA probes, oneDNN and CPU notes).

Those lines are written straight to file descriptor 2 before Python's logging exists, so they
are silenced by pointing fd 2 at /dev/null for the duration of the import. Python exceptions are
unaffected. Set TFRBM_VERBOSE_TF=1 to see the messages.
"""
import os
import sys


def import_tensorflow_quietly():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules or os.environ.get("TFRBM_VERBOSE_TF") == "1":
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (some notebook front ends)
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow
            import keras  # noqa: F401
            tensorflow.config.list_physical_devices("GPU")  # the CUDA probe also prints on fd 2
    finally:
        os.dup2(saved, 2)
        os.close(saved)
