# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 11 · Understanding convolutions
#
# A convolution slides a small *kernel* over a signal and, at each position, takes the sum
# of the products of the overlapping values. Convolutional networks (notebook 06) are
# built from exactly this operation, with kernels that are learned. This notebook follows
# the course lab: convolution in one dimension and its three output sizes, then in two
# dimensions with SciPy and with TensorFlow, padding (`VALID` vs `SAME`), and an edge
# detector applied to a photograph.

# %% tags=["parameters"]
# parameters (papermill): SMALL=True is the quick CI setting, SMALL=False the full one
SMALL = True
SEED = 0

# %% [markdown]
# *The outputs shown come from a real run with those parameters changed, equivalent to
# `papermill 11_convolutions.ipynb out.ipynb -p SMALL False` (2 min on the shared 2-core CPU
# machine they were made on). "Run All" uses the cell above as written (`SMALL = True`, the
# quick setting the tests run), so its numbers will be those of a barely trained model.*

# %%
IMAGE_SIDE = 128 if SMALL else 427   # the photograph is resized to this height

# %%
# %matplotlib inline
import os
os.environ.setdefault("TFRBM_QUIET_TF", "1")   # TensorFlow without its start-up log lines
from tfrbm.course.notebook import setup
import numpy as np
import matplotlib.pyplot as plt
import tensorflow as tf
setup(SEED)   # figures at 72 dpi, TensorFlow's logger at ERROR, every random generator seeded

# %% [markdown]
# ## 1-D: full, same and valid
#
# For a signal $x$ of length $n$ and a kernel $k$ of length $m$,
# $(x * k)[i] = \sum_j x[j]\, k[i - j]$ — the kernel is *flipped* and slid along $x$.
# The three modes differ only in how far past the ends the kernel may slide:
#
# * **full**: every position where the two overlap at all, $n + m - 1$ outputs;
# * **same**: as many outputs as inputs, $n$ (centred);
# * **valid**: only where the kernel fits entirely inside the signal, $n - m + 1$.

# %%
x = np.array([3, 4, 5], dtype=float)
k = np.array([2, 1, 0], dtype=float)
for mode in ("full", "same", "valid"):
    print(f"{mode:5s}: {np.convolve(x, k, mode=mode)}")
# by hand, the full convolution: flip k and slide it along x, zero outside
xp = np.pad(x, len(k) - 1)
by_hand = [float(np.dot(xp[i:i + len(k)], k[::-1])) for i in range(len(x) + len(k) - 1)]
print("full, by hand:", by_hand)

# %%
rng = np.random.default_rng(SEED)
signal = np.sin(np.linspace(0, 4 * np.pi, 80)) + 0.4 * rng.normal(size=80)
box = np.ones(9) / 9
fig, ax = plt.subplots(figsize=(9, 2.8))
ax.plot(signal, ".", color="0.6", label="noisy signal (80 samples)")
for mode, style in (("full", "C0-"), ("same", "C1--"), ("valid", "C3:")):
    out = np.convolve(signal, box, mode=mode)
    offset = {"full": -(len(box) - 1), "same": 0, "valid": (len(box) - 1)}[mode] / 2
    ax.plot(np.arange(len(out)) + offset, out, style, label=f"{mode}: {len(out)} outputs")
ax.set(xlabel="sample", title="smoothing with a 9-tap box kernel")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 2-D convolution with SciPy
#
# The same idea on a grid: `scipy.signal.convolve2d` flips the kernel in both directions
# and slides it over the image.

# %%
from scipy import signal as sps
image = np.array([[3, 1, 2, 4], [0, 2, 5, 1], [1, 3, 0, 2], [4, 2, 1, 0]], dtype=float)
kernel = np.array([[-1, 0], [0, 1]], dtype=float)
for mode in ("full", "same", "valid"):
    out = sps.convolve2d(image, kernel, mode=mode)
    print(f"{mode} {out.shape}:\n{out}")

# %% [markdown]
# ## 2-D convolution in TensorFlow: `tf.nn.conv2d`
#
# TensorFlow works on batches of multi-channel images: the input is
# `[batch, height, width, in_channels]`, the kernel `[kh, kw, in_channels, out_channels]`.
# Two differences from SciPy matter:
#
# * `tf.nn.conv2d` does **not** flip the kernel (strictly it computes a cross-correlation;
#   for learned kernels the difference is irrelevant). Flipping the kernel ourselves gives
#   SciPy's answer.
# * Padding is `"VALID"` (no padding: the output shrinks to $n - m + 1$) or `"SAME"` (zeros
#   around the border so that, at stride 1, the output has the input's size).

# %%
tf_image = tf.constant(image.reshape(1, 4, 4, 1), dtype=tf.float32)
tf_kernel = tf.constant(kernel[::-1, ::-1].reshape(2, 2, 1, 1), dtype=tf.float32)   # flipped
valid = tf.nn.conv2d(tf_image, tf_kernel, strides=1, padding="VALID")
same = tf.nn.conv2d(tf_image, tf_kernel, strides=1, padding="SAME")
print("VALID", valid.shape, "\n", valid.numpy()[0, :, :, 0])
print("SAME ", same.shape, "\n", same.numpy()[0, :, :, 0])
print("VALID equals scipy's valid:", np.allclose(valid.numpy()[0, :, :, 0], sps.convolve2d(image, kernel, mode="valid")))

# %%
big = tf.random.normal((1, 28, 28, 1), seed=SEED)
for kh in (3, 5):
    for stride in (1, 2):
        kern = tf.ones((kh, kh, 1, 8))
        shapes = {pad: tuple(tf.nn.conv2d(big, kern, strides=stride, padding=pad).shape) for pad in ("VALID", "SAME")}
        print(f"28x28 input, {kh}x{kh} kernel, stride {stride}: VALID -> {shapes['VALID']}, SAME -> {shapes['SAME']}")

# %% [markdown]
# ## An edge detector on a photograph
#
# A kernel that sums to zero responds to *changes* rather than to brightness. The Sobel
# kernels estimate the horizontal and vertical derivatives; the length of that gradient
# is large on edges and near zero in flat regions. The photograph is one of the sample
# images that ship with scikit-learn (no download needed).

# %%
from sklearn.datasets import load_sample_image
photo = load_sample_image("china.jpg").astype("float32") / 255.0          # 427 x 640 x 3
gray = tf.image.rgb_to_grayscale(photo)[None]                              # 1 x H x W x 1
gray = tf.image.resize(gray, (IMAGE_SIDE, int(IMAGE_SIDE * 640 / 427)))
sobel_x = tf.constant([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], tf.float32)
kernels = tf.stack([sobel_x, tf.transpose(sobel_x)], axis=-1)[:, :, None, :]   # 3 x 3 x 1 x 2
grads = tf.nn.conv2d(gray, kernels, strides=1, padding="SAME")             # 1 x H x W x 2
magnitude = tf.sqrt(tf.reduce_sum(grads ** 2, axis=-1))[0]
print("image", tuple(gray.shape), "-> gradients", tuple(grads.shape))
fig, axes = plt.subplots(1, 4, figsize=(14, 2.9))
panels = [(gray[0, :, :, 0], "grey image", "gray"), (grads[0, :, :, 0], "d/dx (vertical edges)", "RdBu_r"),
          (grads[0, :, :, 1], "d/dy (horizontal edges)", "RdBu_r"), (magnitude, "edge strength", "gray_r")]
for ax, (img, title, cmap) in zip(axes, panels):
    ax.imshow(img, cmap=cmap)
    ax.set_title(title)
    ax.axis("off")
fig.tight_layout()
plt.show()
flat = float(np.mean(magnitude.numpy() < 0.1))
print(f"{flat:.0%} of the pixels have edge strength below 0.1 (flat regions)")

# %% [markdown]
# ## What you saw
#
# * The three 1-D modes give 5, 3 and 1 outputs for a length-3 signal and a length-3
#   kernel: *full* includes the partial overlaps at both ends, *valid* only the complete
#   one. In the smoothing plot the *full* output overshoots the ends (where the box
#   kernel half-hangs over zeros) while *valid* is shorter but trustworthy everywhere.
# * `tf.nn.conv2d` with the kernel flipped reproduces SciPy exactly; without the flip it is
#   a cross-correlation — the convention every deep-learning library uses.
# * `VALID` shrinks the image by kernel size − 1; `SAME` keeps the size at stride 1 and
#   halves it (rounding up) at stride 2. This is how the course CNN keeps 28×28 maps until
#   its pooling layers halve them.
# * TensorFlow's `SAME` and SciPy's `same` do not agree for the 2×2 kernel: with an even
#   kernel the zero padding cannot be symmetric, and TensorFlow puts the extra row and
#   column at the bottom and right while SciPy keeps the top-left part of the full result.
# * In the Sobel edge map about half of the photograph is flat (edge strength below 0.1);
#   the rest is outlines and texture — roof tiles, leaves. An image's information sits on
#   its edges, which is what the first layer of a trained CNN learns to detect (compare the
#   filters in notebook 06).
