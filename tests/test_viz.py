"""tfrbm.viz: every function returns a Figure with the right layout and writes a real PNG."""
import types

import matplotlib.image
import numpy as np
import pytest

from tfrbm import viz


def _png(path):
    """Read back a PNG: check it is non-empty and return its (height, width, channels) pixels."""
    assert path.is_file() and path.stat().st_size > 300
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return matplotlib.image.imread(path)


def _images_of(fig):
    return [ax.images[0].get_array() for ax in fig.axes if ax.images]


def test_image_grid_is_plotme(tmp_path):
    import tensorflow as tf
    rng = np.random.default_rng(0)
    data = rng.random((70, 784)).astype(np.float32)
    fig = viz.image_grid(tf.constant(data), path=tmp_path / "grid.png", title="PlotMe")
    assert len(fig.axes) == 64
    shown = _images_of(fig)
    assert len(shown) == 64 and shown[0].shape == (28, 28)
    np.testing.assert_allclose(shown[9], data[9].reshape(28, 28), rtol=1e-6)
    # rows run left to right: the 9th image sits in row 1, column 1
    assert fig.axes[9].get_subplotspec().rowspan.start == 1
    assert fig.axes[9].get_subplotspec().colspan.start == 1
    assert fig._suptitle.get_text() == "PlotMe"
    pixels = _png(tmp_path / "grid.png")
    assert pixels.shape[0] > 500 and pixels.shape[1] > 500
    assert pixels[..., :3].std() > 0.1  # an actual picture, not a blank canvas


def test_image_grid_fewer_images_and_shapes(tmp_path):
    fig = viz.image_grid(np.zeros((5, 8, 8)), nrows=2, ncols=3)
    assert len(fig.axes) == 6 and len(_images_of(fig)) == 5
    assert not fig.axes[5].axison
    fig = viz.image_grid(np.ones((4, 12)), nrows=2, ncols=2, shape=(3, 4))
    assert _images_of(fig)[0].shape == (3, 4)
    with pytest.raises(ValueError, match="cannot infer a square image shape from 700"):
        viz.image_grid(np.zeros((4, 700)))
    with pytest.raises(ValueError, match="does not hold 12 pixels"):
        viz.image_grid(np.zeros((4, 12)), shape=(5, 5))
    with pytest.raises(ValueError, match="nrows must be a positive integer"):
        viz.image_grid(np.zeros((4, 4)), nrows=0)


def test_weight_tiles_scale_each_tile(tmp_path):
    rng = np.random.default_rng(1)
    kernel = rng.normal(size=(64, 30)) * np.arange(1, 31)  # very different ranges per unit
    fig = viz.weight_tiles(kernel, n=20, ncols=5, path=tmp_path / "sub" / "w.png", title="W")
    assert len(fig.axes) == 20
    tiles = _images_of(fig)
    assert len(tiles) == 20 and tiles[0].shape == (8, 8)
    for j, tile in enumerate(tiles):
        assert tile.min() == pytest.approx(0.0) and tile.max() == pytest.approx(1.0)
        w = kernel[:, j]
        np.testing.assert_allclose(tile.ravel(), (w - w.min()) / (w.max() - w.min()), atol=1e-6)
    _png(tmp_path / "sub" / "w.png")
    # default: all units when fewer than n, in a near-square grid; a layer-like object works
    layer = types.SimpleNamespace(kernel=kernel[:, :12])
    fig = viz.weight_tiles(layer)
    assert len(_images_of(fig)) == 12 and len(fig.axes) == 12  # ceil(sqrt(12)) = 4 columns x 3 rows
    assert fig.axes[0].get_subplotspec().get_gridspec().get_geometry() == (3, 4)
    fig = viz.weight_tiles(kernel, n=7)
    assert len(_images_of(fig)) == 7 and len(fig.axes) == 9  # 3 x 3, two blank
    with pytest.raises(ValueError, match="must be 2-D"):
        viz.weight_tiles(np.zeros(64))


def test_reconstructions_rows(tmp_path):
    rng = np.random.default_rng(2)
    orig, rec = rng.random((12, 64)), rng.random((12, 64))
    fig = viz.reconstructions(orig, rec, n=10, path=tmp_path / "r.png")
    assert len(fig.axes) == 20
    assert fig.axes[0].get_ylabel() == "input" and fig.axes[10].get_ylabel() == "reconstruction"
    np.testing.assert_allclose(_images_of(fig)[13], rec[3].reshape(8, 8))
    _png(tmp_path / "r.png")
    fig = viz.reconstructions(orig, {"sample": rec, "probabilities": orig * 0.5}, n=4)
    assert len(fig.axes) == 12 and fig.axes[8].get_ylabel() == "probabilities"
    with pytest.raises(ValueError, match="shape"):
        viz.reconstructions(orig, rng.random((12, 49)))


def test_gibbs_chain_layout(tmp_path):
    rng = np.random.default_rng(3)
    trace = rng.random((30, 5, 64))
    fig = viz.gibbs_chain(trace, n_chains=3, path=tmp_path / "g.png",
                          step_labels=[f"step {10 * i}" for i in range(30)])
    assert len(fig.axes) == 3 * 10  # chains as rows, 10 evenly spaced steps as columns
    assert fig.axes[0].get_title() == "step 0" and fig.axes[9].get_title() == "step 290"
    np.testing.assert_allclose(_images_of(fig)[10], trace[0, 1].reshape(8, 8))  # row 1, col 0
    np.testing.assert_allclose(_images_of(fig)[29], trace[29, 2].reshape(8, 8))
    _png(tmp_path / "g.png")
    fig = viz.gibbs_chain(trace[:4])
    assert len(fig.axes) == 5 * 4
    with pytest.raises(ValueError, match="steps, chains, n_visible"):
        viz.gibbs_chain(np.zeros((2, 2, 2, 2, 2)))


def test_training_curves_from_dict_and_history(tmp_path):
    hist = {"loss": [3.0, 2.0, 1.5], "val_loss": [3.2, 2.5, 2.4], "free_energy": [-5, -6, -7]}
    fig = viz.training_curves(hist, path=tmp_path / "c.png", title="training")
    assert len(fig.axes) == 2
    assert [line.get_label() for line in fig.axes[0].lines] == ["loss", "val_loss"]
    np.testing.assert_allclose(fig.axes[0].lines[1].get_ydata(), hist["val_loss"])
    np.testing.assert_allclose(fig.axes[0].lines[0].get_xdata(), [1, 2, 3])
    _png(tmp_path / "c.png")
    history = types.SimpleNamespace(history=hist)  # what keras' History offers
    fig = viz.training_curves(history, keys=["free_energy"])
    assert len(fig.axes) == 1 and fig.axes[0].get_title() == "free_energy"
    with pytest.raises(ValueError, match="not in history"):
        viz.training_curves(hist, keys=["accuracy"])
    with pytest.raises(ValueError, match="non-empty dict"):
        viz.training_curves({})


def test_save_figure_creates_folders(tmp_path):
    fig = viz.image_grid(np.eye(4), nrows=2, ncols=2)
    out = viz.save_figure(fig, tmp_path / "a" / "b" / "eye.png")
    assert out == tmp_path / "a" / "b" / "eye.png"
    _png(out)


def test_figures_go_through_pyplot_when_it_displays_them():
    """In a notebook (pyplot with the inline backend) plt.show() must see viz's figures; with a
    file-only backend (scripts, tests, the CLI) they stay bare Figures that nothing global keeps."""
    import subprocess
    import sys
    pytest.importorskip("matplotlib_inline")
    code = (
        "import numpy as np\n"
        "import matplotlib\n"
        "matplotlib.use('Agg')\n"
        "import matplotlib.pyplot as plt\n"
        "from tfrbm import viz\n"
        "fig = viz.image_grid(np.zeros((4, 64)), 2, 2)\n"
        "assert plt.get_fignums() == [], plt.get_fignums()\n"
        "plt.switch_backend('module://matplotlib_inline.backend_inline')\n"
        "fig = viz.image_grid(np.zeros((4, 64)), 2, 2)\n"
        "assert plt.get_fignums() == [fig.number], plt.get_fignums()\n"
        "plt.close('all')\n"
        "assert plt.get_fignums() == []\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]
