"""`import tfrbm` writes nothing of its own and changes nothing outside tfrbm (issues 17, 19).

TensorFlow 2.21 writes its own start-up lines (oneDNN, CUDA probes) to file descriptor 2 while
it is imported, before its log level applies; those belong to `import tensorflow` and are not
tfrbm's. So the child imports TensorFlow and Keras first, then captures file descriptors 1 and 2
around `import tfrbm` alone and compares what the process-wide state looked like before and after.
"""
import json
import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]

CHILD = r"""
import json, logging, os, sys, tempfile, warnings
import tensorflow, keras                                  # TensorFlow's own lines come from here

def state():
    return {"environ": dict(os.environ),
            "root_handlers": [repr(h) for h in logging.getLogger().handlers],
            "loggers": {n: (logging.getLogger(n).level, len(logging.getLogger(n).handlers),
                            logging.getLogger(n).propagate)
                        for n in ("", "tensorflow", "absl", "keras", "py.warnings")},
            "warning_filters": len(warnings.filters),
            "streams": [id(sys.stdout), id(sys.stderr)],
            "keras": [keras.config.floatx(), keras.config.backend(), keras.config.epsilon(),
                      keras.config.image_data_format()],
            "tf_log_verbosity": tensorflow.get_logger().level}

before = state()
captured = {fd: tempfile.TemporaryFile() for fd in (1, 2)}
sys.stdout.flush(); sys.stderr.flush()
saved = {fd: os.dup(fd) for fd in (1, 2)}
for fd, f in captured.items():
    os.dup2(f.fileno(), fd)
try:
    import tfrbm
    sys.stdout.flush(); sys.stderr.flush()
finally:
    for fd in (1, 2):
        os.dup2(saved[fd], fd)
written = {}
for fd, f in captured.items():
    f.seek(0)
    written[fd] = f.read().decode(errors="replace")
after = state()
changed = sorted(k for k in before if before[k] != after[k])
env_diff = sorted(set(before["environ"].items()) ^ set(after["environ"].items()))
print(json.dumps({"stdout": written[1], "stderr": written[2], "changed": changed,
                  "env_diff": env_diff, "tfrbm": tfrbm.__file__}))
"""


def test_import_tfrbm_writes_and_changes_nothing_of_its_own():
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for name in ("TFRBM_QUIET_TF", "TFRBM_VERBOSE_TF"):
        env.pop(name, None)
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                          env=env, cwd=str(REPO), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["tfrbm"].startswith(str(REPO))
    assert result["stdout"] == "" and result["stderr"] == "", result
    assert result["changed"] == [] and result["env_diff"] == [], result
