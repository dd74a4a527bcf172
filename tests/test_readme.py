"""Every Python snippet in README.md runs, in order, and gives what the text around it says.

Snippets that train on full MNIST for many epochs run on a small slice for fewer epochs: each
substitution is listed below and must match the README text exactly, so an edited snippet fails
here until this file is updated. Names a snippet takes from the reader's own session (x_train,
x_val, model, x) are given in PRELUDES.
"""
import os
import re

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (snippet's first code line) -> [(README text, what the test runs instead)]
SUBSTITUTIONS = {
    "import keras, numpy as np, tfrbm": [
        ('binarize="stochastic", batch_size=100)', 'binarize="stochastic", batch_size=100, limit=1000)'),
        ("epochs=10", "epochs=2"),
        ("daydream(64, steps=1000)", "daydream(64, steps=50)"),
    ],
    "import keras_tuner as kt": [
        ("units=(64, 128, 256)", "units=(16, 32)"),
        ("max_trials=8", "max_trials=2"),
        ("epochs=3", "epochs=1"),
    ],
    "from tfrbm.tensorboard import RBMTensorBoard": [("epochs=20", "epochs=1")],
    "strategy = tf.distribute.MirroredStrategy()": [("RBMLayer(500)", "RBMLayer(50)"),
                                                     ("epochs=20", "epochs=1")],
    "from tfrbm.resume import TrainingBackup": [("epochs=50", "epochs=2")],
}

# names the reader brings: set before the snippet runs (the MNIST RBM of the quick start is
# the `rbm` and `x` of the serving and TensorBoard snippets)
PRELUDES = {
    "from tfrbm import export": "rbm, x = _mnist_rbm, _mnist_x",
    "m = tf.saved_model.load": "import tensorflow as tf; x = _mnist_x[:5]",
    "from tfrbm.tensorboard import RBMTensorBoard": "rbm = _mnist_rbm",
    "import keras_tuner as kt": "x_train = (_mnist_x[:600] > 0.5).astype('float32'); "
                                "x_val = (_mnist_x[600:800] > 0.5).astype('float32')",
    "strategy = tf.distribute.MirroredStrategy()": "import tensorflow as tf",
    "from tfrbm.resume import TrainingBackup": "model = tfrbm.RBMModel(tfrbm.RBMLayer(20), seed=0); "
                                               "x = x_train",
}


with open(os.path.join(REPO, "README.md")) as _f:
    README_TEXT = _f.read()


def python_snippets(text):
    return [m.group(1) for m in re.finditer(r"```python\n(.*?)```", text, re.S)]


def _key(snippet, table):
    first = snippet.strip().splitlines()[0]
    return next((k for k in table if first.startswith(k)), None)


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory):
    import tfrbm
    try:
        tfrbm.data.load_mnist("test")
    except FileNotFoundError as exc:
        pytest.skip(f"MNIST not available: {exc}")
    os.environ.setdefault("MPLBACKEND", "Agg")
    with open(os.path.join(REPO, "README.md")) as f:
        snippets = python_snippets(f.read())
    cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("readme"))
    namespace, results = {}, {}
    try:
        for snippet in snippets:
            key = _key(snippet, SUBSTITUTIONS)
            for old, new in SUBSTITUTIONS.get(key, []):
                assert old in snippet, f"README snippet changed: {old!r} not in {snippet[:80]!r}"
                snippet = snippet.replace(old, new)
            prelude = PRELUDES.get(_key(snippet, PRELUDES))
            if prelude:
                exec(prelude, namespace)
            exec(compile(snippet, "README.md", "exec"), namespace)
            if "_mnist_rbm" not in namespace:           # the quick start ran first
                exec("_mnist_rbm, _mnist_x = rbm, x", namespace)
            results[snippet.strip().splitlines()[0]] = dict(namespace)
        results["cwd"] = os.getcwd()
    finally:
        os.chdir(cwd)
    return snippets, results


def _after(results, first_line):
    return next(ns for k, ns in results.items() if k.startswith(first_line))


def test_every_python_snippet_runs(readme_run):
    snippets, results = readme_run
    assert len(snippets) >= 8 and len(results) == len(snippets) + 1


def test_quick_start_does_what_it_says(readme_run):
    ns = _after(readme_run[1], "import keras, numpy as np, tfrbm")
    history, rbm, x = ns["history"], ns["rbm"], ns["x"]
    assert history.history["loss"] == history.history["reconstruction_error"]
    noise = (np.random.default_rng(0).random((5, 784)) < 0.5).astype("float32")
    assert rbm.free_energy(x[:5]).mean() < rbm.free_energy(noise).mean()   # low for digits
    assert ns["samples"].shape == (64, 784) and ns["recalled"].shape == (5, 784)
    assert ns["clf"].output_shape == (None, 10)
    assert os.path.exists(os.path.join(readme_run[1]["cwd"], "samples.png"))


def test_six_movie_example_finds_the_oscar_unit(readme_run):
    ns = _after(readme_run[1], "import numpy as np, keras, tfrbm")
    kernel = ns["rbm"].layer.kernel.numpy()              # (6 movies, 2 units)
    oscar = int(np.argmax(kernel[3] + kernel[4]))        # Gladiator, Titanic
    fantasy = 1 - oscar
    assert kernel[0, fantasy] + kernel[1, fantasy] > kernel[0, oscar] + kernel[1, oscar]  # HP, Avatar
    h = ns["rbm"].run_visible(np.array([[0, 0, 0, 1, 1, 0]], "float32"))[0]
    assert h[oscar] > 0.5 and h[oscar] > h[fantasy], h


def test_sklearn_snippet_scores_as_said_and_beats_bernoulli_rbm(readme_run, capsys):
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import BernoulliRBM
    from sklearn.pipeline import make_pipeline
    ns = _after(readme_run[1], "from sklearn.datasets import load_digits")
    x, y = ns["x"] / 16, ns["y"]
    ours = ns["clf"].score(x[1500:], y[1500:])
    assert "0.872" in README_TEXT and abs(ours - 0.872) < 0.02, ours   # what the comment says
    peer = make_pipeline(BernoulliRBM(n_components=256, random_state=0),
                         LogisticRegression(max_iter=1000)).fit(x[:1500], y[:1500])
    assert ours >= peer.score(x[1500:], y[1500:])   # BernoulliRBM at its defaults: 0.818


def test_export_resume_and_tuning_snippets_leave_their_files(readme_run):
    results = readme_run[1]
    cwd = results["cwd"]
    assert str(_after(results, "from tfrbm import export").get("path", "")).rstrip(os.sep).endswith(
        os.sep + "1")
    assert os.path.exists(os.path.join(cwd, "runs", "rbm", "model.keras"))
    assert _after(results, "import keras_tuner as kt")["best"] is not None
