"""Pictures of RBMs: image grids, weight tiles, reconstructions, Gibbs chains and training curves.

Every function returns a ``matplotlib.figure.Figure`` and saves a PNG when ``path`` is given.
Figures come from :func:`new_figure`: through pyplot's figure manager when pyplot is in use with a
backend that displays figures (a notebook's inline backend, a GUI), so ``plt.show()`` and the inline
backend display them; otherwise as bare Figures (scripts, tests and the CLI keep no global figures). Images may be
numpy arrays, tf tensors or Keras variables, flat (N, rows*cols) or shaped (N, rows, cols); with
``shape=None`` a flat image is assumed square (784 -> 28x28, 64 -> 8x8).
"""
import math
import pathlib
import sys

import numpy as np

from tfrbm.errors import UserError
from tfrbm.validation import POSITIVE_INT, check_param

__all__ = [
    "conv_filters",
    "feature_maps",
    "gibbs_chain",
    "image_grid",
    "new_figure",
    "reconstructions",
    "save_figure",
    "training_curves",
    "weight_tiles",
]

_TILE_INCHES = 0.75


# Backends that only write files: with these, figures need no pyplot figure manager.
_FILE_BACKENDS = ("agg", "cairo", "pdf", "pgf", "ps", "svg", "template")


def new_figure(figsize, dpi=None):
    """A new empty Figure of ``figsize`` inches.

    When ``matplotlib.pyplot`` is in use with a backend that displays figures (a notebook's inline
    backend, a GUI window), the figure is made by ``pyplot.figure``, so that ``plt.show()`` (or the
    end of a notebook cell) displays it and ``plt.close`` closes it; its resolution is then
    pyplot's ``figure.dpi`` unless ``dpi`` is given. Otherwise (no pyplot, or a file-only backend
    such as Agg in scripts, tests and the CLI) it is a bare ``matplotlib.figure.Figure`` at ``dpi``
    (default 100) that nothing global keeps alive.
    """

    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        import matplotlib

        if matplotlib.get_backend().lower() not in _FILE_BACKENDS:
            return plt.figure(figsize=figsize, dpi=dpi)
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, dpi=dpi or 100)


_figure = new_figure


def _numpy(x, name):
    """Convert numpy / tf tensor / Keras variable / nested lists to a float numpy array."""
    if hasattr(x, "numpy") and callable(x.numpy):
        x = x.numpy()
    elif hasattr(x, "value") and hasattr(x, "assign"):  # Keras 3 Variable
        x = np.asarray(x.value)
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{name} must be numeric: {exc}") from None
    if arr.size == 0:
        raise UserError(f"{name} is empty (shape {arr.shape})")
    return arr


def _image_shape(n_features, shape, name):
    if shape is not None:
        shape = tuple(int(s) for s in shape)
        if len(shape) != 2 or shape[0] * shape[1] != n_features:
            raise UserError(f"{name}: shape {shape} does not hold {n_features} pixels")
        return shape
    side = math.isqrt(n_features)
    if side * side != n_features:
        raise UserError(f"{name}: cannot infer a square image shape from {n_features} "
                         "features; pass shape=(rows, cols)")
    return side, side


def _as_images(x, shape, name):
    """Return an array of images (N, rows, cols)."""
    arr = _numpy(x, name)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim == 3:
        if shape is not None and tuple(shape) != arr.shape[1:]:
            arr = arr.reshape(arr.shape[0], -1)
        else:
            return arr
    if arr.ndim != 2:
        raise UserError(f"{name} must be (N, pixels) or (N, rows, cols), got shape {arr.shape}")
    rows, cols = _image_shape(arr.shape[1], shape, name)
    return arr.reshape(arr.shape[0], rows, cols)


def _range(arr):
    """(vmin, vmax): [0, 1] for intensities, else the data's own range."""
    lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
    if lo >= 0.0 and hi <= 1.0:
        return 0.0, 1.0
    return lo, (hi if hi > lo else lo + 1.0)


def _grid_axes(fig, nrows, ncols, title):
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    top = 1.0 - (0.35 / fig.get_figheight() if title else 0.0)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=top - 0.01,
                        wspace=0.05, hspace=0.05)
    if title:
        fig.suptitle(title)
    return axes


def _finish(fig, path):
    if path is not None:
        save_figure(fig, path)
    return fig


def save_figure(fig, path, dpi=None):
    """Save ``fig`` as an image at ``path`` (PNG unless the suffix says otherwise), creating parent folders."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi or fig.dpi, facecolor="white")
    return path


def image_grid(images, nrows=8, ncols=8, shape=None, title=None, path=None, cmap="gray"):
    """The assignment's PlotMe: the first nrows*ncols images in an nrows x ncols grid.

    Intensities in [0, 1] are drawn on a fixed 0..1 scale; other data on its own range.
    """
    nrows, ncols = check_param("nrows", nrows, POSITIVE_INT), check_param("ncols", ncols, POSITIVE_INT)
    imgs = _as_images(images, shape, "images")[: nrows * ncols]
    vmin, vmax = _range(imgs)
    fig = _figure((ncols * _TILE_INCHES, nrows * _TILE_INCHES + (0.35 if title else 0)))
    axes = _grid_axes(fig, nrows, ncols, title)
    for i, ax in enumerate(axes.flat):
        if i < len(imgs):
            ax.imshow(imgs[i], cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        else:
            ax.set_axis_off()
    return _finish(fig, path)


def _kernel_of(kernel):
    """Accept a kernel array, an RBMLayer (``.kernel``) or an RBMModel (``.layer.kernel``)."""
    if hasattr(kernel, "kernel"):
        return kernel.kernel
    if hasattr(kernel, "layer") and hasattr(kernel.layer, "kernel"):
        return kernel.layer.kernel
    return kernel


def weight_tiles(kernel, shape=None, n=100, ncols=None, path=None, title=None, cmap="gray"):
    """Each hidden unit's incoming weights W[:, j] as a grayscale tile (a modern tile_raster_images).

    ``kernel``: (n_visible, n_hidden) array, or an RBMLayer / RBMModel. The first ``n`` units
    are drawn, each tile min-max scaled to its own range, (w - min w) / (max w - min w).
    """
    w = _numpy(_kernel_of(kernel), "kernel")
    if w.ndim != 2:
        raise UserError(f"kernel must be 2-D (n_visible, n_hidden), got shape {w.shape}")
    n = min(check_param("n", n, POSITIVE_INT), w.shape[1])
    rows, cols = _image_shape(w.shape[0], shape, "kernel")
    ncols = check_param("ncols", ncols, POSITIVE_INT) if ncols is not None else math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    tiles = w[:, :n].T.reshape(n, rows, cols)
    lo = tiles.min(axis=(1, 2), keepdims=True)
    span = tiles.max(axis=(1, 2), keepdims=True) - lo
    tiles = (tiles - lo) / np.where(span > 0, span, 1.0)
    fig = _figure((ncols * _TILE_INCHES, nrows * _TILE_INCHES + (0.35 if title else 0)))
    axes = _grid_axes(fig, nrows, ncols, title)
    for i, ax in enumerate(axes.flat):
        if i < n:
            ax.imshow(tiles[i], cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
        else:
            ax.set_axis_off()
    return _finish(fig, path)


def conv_filters(kernel, n=100, ncols=None, channel=0, path=None, title=None, cmap="gray"):
    """A convolutional RBM's filters, one k x k tile per feature map (of input ``channel``).

    ``kernel``: a (k, k, C, F) array, a :class:`tfrbm.ConvRBMLayer` or a model holding one.
    Each tile is min-max scaled to its own range, as in :func:`weight_tiles`.
    """
    w = _numpy(_kernel_of(kernel), "kernel")
    if w.ndim != 4:
        raise UserError(f"a convolutional kernel has shape (k, k, channels, filters), got {w.shape}")
    if not 0 <= int(channel) < w.shape[2]:
        raise UserError(f"channel must be in 0..{w.shape[2] - 1}, got {channel}")
    w = w[:, :, int(channel), :]
    return weight_tiles(w.reshape(-1, w.shape[-1]), shape=w.shape[:2], n=n, ncols=ncols,
                        path=path, title=title, cmap=cmap)


def feature_maps(maps, n=64, ncols=8, path=None, title=None, cmap="gray"):
    """One image's feature maps (height, width, F), e.g. ``layer(images)[0]`` of a ConvRBMLayer,
    as a grid of F grayscale images on a common scale."""
    maps = _numpy(maps, "maps")
    if maps.ndim == 4 and maps.shape[0] == 1:
        maps = maps[0]
    if maps.ndim != 3:
        raise UserError(f"feature maps have shape (height, width, maps), got {maps.shape}")
    n = min(check_param("n", n, POSITIVE_INT), maps.shape[-1])
    ncols = min(check_param("ncols", ncols, POSITIVE_INT), n)
    return image_grid(np.moveaxis(maps[..., :n], -1, 0), nrows=math.ceil(n / ncols), ncols=ncols,
                      title=title, path=path, cmap=cmap)


def reconstructions(originals, reconstructions, shape=None, n=10, path=None, title=None,
                    cmap="gray"):
    """Inputs in the top row and their reconstructions below, column by column.

    ``reconstructions`` may be one array or a dict {label: array} (for example
    {"sample": ..., "probabilities": ...}), giving one row per entry.
    """
    if isinstance(reconstructions, dict):
        rows = [("input", originals)] + list(reconstructions.items())
    else:
        rows = [("input", originals), ("reconstruction", reconstructions)]
    imgs = [_as_images(a, shape, label) for label, a in rows]
    count = min(check_param("n", n, POSITIVE_INT), *(len(a) for a in imgs))
    ref = imgs[0].shape[1:]
    for (label, _), a in zip(rows, imgs):
        if a.shape[1:] != ref:
            raise UserError(f"{label} images have shape {a.shape[1:]}, inputs have {ref}")
    vmin, vmax = _range(np.concatenate([a[:count].ravel() for a in imgs]))
    fig = _figure((count * _TILE_INCHES + 1.1, len(rows) * _TILE_INCHES + (0.35 if title else 0)))
    axes = _grid_axes(fig, len(rows), count, title)
    fig.subplots_adjust(left=1.1 / fig.get_figwidth())
    for r, ((label, _), a) in enumerate(zip(rows, imgs)):
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
        for c in range(count):
            axes[r, c].imshow(a[c], cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    return _finish(fig, path)


def gibbs_chain(trace, shape=None, n_chains=8, path=None, title=None, n_steps=None,
                step_labels=None, cmap="gray"):
    """Gibbs chains over time: ``trace`` (steps, chains, n_visible), chains as rows, steps as columns.

    ``n_steps``: how many recorded steps to show, evenly spaced and always including the first
    and last (None: all when there are at most 20, else 10). ``step_labels``: one label per
    recorded step (e.g. the Gibbs step numbers) used as column titles.
    """
    arr = _numpy(trace, "trace")
    if arr.ndim == 2:
        arr = arr[:, None, :]
    if arr.ndim != 3:
        raise UserError(f"trace must be (steps, chains, n_visible), got shape {arr.shape}")
    total, chains = arr.shape[0], min(check_param("n_chains", n_chains, POSITIVE_INT), arr.shape[1])
    if step_labels is not None and len(step_labels) != total:
        raise UserError(f"step_labels has {len(step_labels)} entries for {total} steps")
    if n_steps is None:
        n_steps = total if total <= 20 else 10
    n_steps = min(check_param("n_steps", n_steps, POSITIVE_INT), total)
    picks = np.unique(np.round(np.linspace(0, total - 1, n_steps)).astype(int))
    rows, cols = _image_shape(arr.shape[2], shape, "trace")
    imgs = arr[picks][:, :chains].reshape(len(picks), chains, rows, cols)
    vmin, vmax = _range(imgs)
    fig = _figure((len(picks) * _TILE_INCHES, chains * _TILE_INCHES + 0.3 + (0.35 if title else 0)))
    axes = _grid_axes(fig, chains, len(picks), title)
    fig.subplots_adjust(top=fig.subplotpars.top - 0.3 / fig.get_figheight())
    for c, step in enumerate(picks):
        label = step_labels[step] if step_labels is not None else step
        axes[0, c].set_title(str(label), fontsize=7)
        for r in range(chains):
            axes[r, c].imshow(imgs[c, r], cmap=cmap, vmin=vmin, vmax=vmax,
                              interpolation="nearest")
    return _finish(fig, path)


def training_curves(history, keys=None, path=None, title=None):
    """Plot metrics per epoch from a keras History (``.history``) or a dict of lists.

    One panel per metric; ``val_<metric>`` is drawn in the same panel as ``<metric>``.
    ``keys`` selects metrics (without the ``val_`` prefix).
    """
    from matplotlib.ticker import MaxNLocator

    hist = getattr(history, "history", history)
    if not isinstance(hist, dict) or not hist:
        raise UserError("history must be a keras History or a non-empty dict of metric lists")
    base = []
    for k in hist:
        b = k[4:] if k.startswith("val_") and k[4:] in hist else k
        if b not in base:
            base.append(b)
    if keys is not None:
        keys = [keys] if isinstance(keys, str) else list(keys)
        missing = [k for k in keys if k not in hist and f"val_{k}" not in hist]
        if missing:
            raise UserError(f"metrics {missing} not in history; available: {sorted(hist)}")
        base = keys
    ncols = min(3, len(base))
    nrows = math.ceil(len(base) / ncols)
    fig = _figure((4.0 * ncols, 3.0 * nrows + (0.4 if title else 0)))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, key in zip(axes.flat, base):
        for name, style in ((key, "-"), (f"val_{key}", "--")):
            if name in hist:
                values = _numpy(hist[name], name).ravel()
                ax.plot(np.arange(1, len(values) + 1), values, style, marker=".", label=name)
        ax.set_title(key)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(base):]:
        ax.set_axis_off()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _finish(fig, path)
