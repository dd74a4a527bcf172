"""model.save() is atomic and NaN-refusing; atomic saves keep symlinks and modes, leave no temps.

Issue 20 items 6 and 8. The kill case uses a real SIGKILL in a child process; the full-disk case
a real 1 MiB tmpfs when this process may mount one (root), else RLIMIT_FSIZE in a child process.
"""
import os
import pathlib
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest

from tfrbm.layers import RBMLayer
from tfrbm.models.rbm import RBMModel
from tfrbm.safety import TEMP_TAG, NonFiniteWeightsError, atomic_path

REPO = pathlib.Path(__file__).resolve().parents[1]
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
           PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _model(seed=0, n_visible=6, n_hidden=3):
    model = RBMModel(RBMLayer(n_hidden), seed=seed)
    model.build((None, n_visible))
    return model


def _temps(folder):
    return [p.name for p in pathlib.Path(folder).iterdir() if TEMP_TAG in p.name]


def test_plain_save_refuses_nan_and_keeps_the_previous_file(tmp_path):
    path = tmp_path / "m.keras"
    model = _model()
    model.save(path)
    before = path.read_bytes()
    model.layer.kernel.assign(np.full((6, 3), np.nan, "float32"))
    with pytest.raises(NonFiniteWeightsError, match="kernel"):
        model.save(path)
    assert path.read_bytes() == before and not _temps(tmp_path)
    model.save(tmp_path / "debug.keras", allow_non_finite=True)   # the explicit escape hatch
    assert np.isnan(keras.saving.load_model(tmp_path / "debug.keras").layer.kernel.numpy()).all()


def test_save_writes_through_a_symlink_and_keeps_the_mode(tmp_path):
    real = tmp_path / "store" / "real.keras"
    real.parent.mkdir()
    model = _model()
    model.save(real)
    os.chmod(real, 0o600)
    link = tmp_path / "current.keras"
    link.symlink_to(real)
    other = _model(seed=5)
    other.save(link)
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert oct(os.stat(real).st_mode & 0o777) == oct(0o600)
    np.testing.assert_array_equal(keras.saving.load_model(real).layer.kernel.numpy(),
                                  other.layer.kernel.numpy())
    # a new file gets the umask's default, like open(): not mkstemp's private 0600
    fresh = tmp_path / "fresh.keras"
    old = os.umask(0o022)
    try:
        model.save(fresh)
    finally:
        os.umask(old)
    assert oct(os.stat(fresh).st_mode & 0o777) == oct(0o644)
    assert not _temps(tmp_path) and not _temps(real.parent)


def test_temporary_is_created_exclusively_and_removed_on_error(tmp_path):
    target = tmp_path / "w.weights.h5"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            # it exists already (mkstemp, O_EXCL), is ours, and keeps the extension Keras checks
            assert tmp.is_file() and not tmp.is_symlink() and tmp.name.endswith(".weights.h5")
            assert tmp.stat().st_uid == os.getuid() and tmp.stat().st_size == 0
            raise RuntimeError("crash mid-write")
    assert not target.exists() and not _temps(tmp_path)


KILLED_SAVE = r"""
import os, signal, sys
import keras, numpy as np
from tfrbm.layers import RBMLayer
from tfrbm.models.rbm import RBMModel
path = sys.argv[1]
model = RBMModel(RBMLayer(3), seed=1)
model.build((None, 6))
model.save(path)                              # a plain model.save(): atomic
np.save(path + ".expected.npy", model.layer.kernel.numpy())
model.layer.kernel.assign(np.ones((6, 3), "float32"))
real_save = keras.Model.save
def dying_save(self, filepath, *a, **k):
    real_save(self, filepath, *a, **k)
    with open(filepath, "r+b") as f:          # killed while the new file is half written
        f.truncate(os.path.getsize(filepath) // 2)
    os.kill(os.getpid(), signal.SIGKILL)
keras.Model.save = dying_save
model.save(path)
"""


def test_sigkill_during_plain_save_then_next_save_removes_the_stale_temp(tmp_path):
    path = tmp_path / "model.keras"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(path)], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == -signal.SIGKILL, err[-3000:]
    stale = _temps(tmp_path)
    assert len(stale) == 1 and f".{proc.pid}." in stale[0]   # named with the dead pid
    model = keras.saving.load_model(path)                    # the previous file is intact
    np.testing.assert_array_equal(model.layer.kernel.numpy(), np.load(f"{path}.expected.npy"))
    model.save(path)                                         # the next save cleans up
    assert not _temps(tmp_path)


def _mount_tmpfs(folder):
    if os.geteuid() != 0:
        return False
    folder.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                          capture_output=True).returncode == 0


FULL_DISK_BY_RLIMIT = r"""
import os, resource, signal, sys
import numpy as np
from tfrbm.layers import RBMLayer
from tfrbm.models.rbm import RBMModel
path = sys.argv[1]
model = RBMModel(RBMLayer(400), seed=1)
model.build((None, 784))
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # writes past the limit fail with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), int(sys.argv[2])))
try:
    model.save(path)
except OSError as exc:
    print("refused:", exc)
    sys.exit(3)
"""


def test_full_disk_leaves_the_previous_file_and_no_temp(tmp_path):
    mount = tmp_path / "small"
    small = _model(n_visible=20, n_hidden=5)
    if _mount_tmpfs(mount):           # a real full disk: a 1 MiB tmpfs
        try:
            path = mount / "m.keras"
            small.save(path)
            before = path.read_bytes()
            big = _model(n_visible=784, n_hidden=400)       # 1.25 MB of weights > 1 MiB
            with pytest.raises(OSError):
                big.save(path)
            assert path.read_bytes() == before and not _temps(mount)
            keras.saving.load_model(path)
        finally:
            subprocess.run(["umount", str(mount)], check=False)
        return
    # no tmpfs here: RLIMIT_FSIZE in a child makes every write past 200 kB fail with EFBIG
    path = tmp_path / "m.keras"
    small.save(path)
    before = path.read_bytes()
    proc = subprocess.run([sys.executable, "-c", FULL_DISK_BY_RLIMIT, str(path), "200000"],
                          env=ENV, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 3, proc.stderr[-3000:]
    assert path.read_bytes() == before and not _temps(tmp_path)
