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
# # 10 · Activation functions, seen as surfaces
#
# A neuron with two inputs computes $z = w_1 x_1 + w_2 x_2 + b$ and outputs $a = g(z)$, where
# $g$ is its *activation function*. Because $z$ is linear in the inputs, every neuron's
# output is constant along the lines $w_1 x_1 + w_2 x_2 = \text{const}$; the activation only
# decides how the output changes *across* those lines. Drawing $a$ over the $(x_1, x_2)$
# plane shows this at a glance — the module-1 lab of the course does exactly that for five
# functions:
#
# | name | $g(z)$ | range |
# |---|---|---|
# | linear | $z$ | all reals |
# | step | $1$ if $z > 0$ else $0$ | {0, 1} |
# | sigmoid | $1 / (1 + e^{-z})$ | (0, 1) |
# | tanh | $(e^z - e^{-z}) / (e^z + e^{-z})$ | (-1, 1) |
# | ReLU | $\max(0, z)$ | [0, ∞) |

# %% tags=["parameters"]
# parameters (papermill): SMALL=True is the quick CI setting, SMALL=False the full one
SMALL = True
SEED = 0

# %% [markdown]
# *The outputs shown come from a real run with those parameters changed, equivalent to
# `papermill 10_activation_functions.ipynb out.ipynb -p SMALL False` (1 min on the shared 2-core CPU
# machine they were made on). "Run All" uses the cell above as written (`SMALL = True`, the
# quick setting the tests run), so its numbers will be those of a barely trained model.*

# %%
GRID = 25 if SMALL else 61     # grid points per axis

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
# ## One neuron over a grid of inputs
#
# We fix $w = (1, 0.5)$ and $b = -0.5$, evaluate $z$ on a grid of $(x_1, x_2)$ in $[-3, 3]^2$
# with TensorFlow, and apply each activation (all are TensorFlow ops, so they also work
# inside a model and have gradients — except the step, whose gradient is zero almost
# everywhere, which is why it is not used for training).

# %%
x1, x2 = np.meshgrid(np.linspace(-3, 3, GRID), np.linspace(-3, 3, GRID))
inputs = tf.constant(np.stack([x1.ravel(), x2.ravel()], axis=1), dtype=tf.float32)
w = tf.constant([[1.0], [0.5]])
b = tf.constant(-0.5)
z = tf.matmul(inputs, w) + b
activations = {
    "linear": z,
    "step": tf.cast(z > 0, tf.float32),
    "sigmoid": tf.sigmoid(z),
    "tanh": tf.tanh(z),
    "ReLU": tf.nn.relu(z),
}
for name, a in activations.items():
    a = a.numpy()
    print(f"{name:8s} output range over the grid: [{a.min():6.2f}, {a.max():6.2f}]")

# %%
fig = plt.figure(figsize=(14, 3.2))
for i, (name, a) in enumerate(activations.items(), 1):
    ax = fig.add_subplot(1, 5, i, projection="3d")
    ax.plot_surface(x1, x2, a.numpy().reshape(x1.shape), cmap="viridis", linewidth=0, antialiased=False)
    ax.set_title(name)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.view_init(elev=25, azim=-60)
fig.suptitle("a = g(x1 + 0.5 x2 - 0.5) over the input plane")
plt.show()

# %% [markdown]
# ## The same functions of $z$ alone
#
# Seen from the side (as functions of $z$), the surfaces are the familiar curves, and
# their slopes — what back-propagation multiplies by — tell how each one trains: sigmoid and
# tanh saturate (slope near 0) for large $|z|$, ReLU keeps slope 1 for every positive $z$.

# %%
zs = tf.constant(np.linspace(-4, 4, 161), dtype=tf.float32)
fns = {"linear": lambda t: t, "step": lambda t: tf.cast(t > 0, tf.float32), "sigmoid": tf.sigmoid,
       "tanh": tf.tanh, "ReLU": tf.nn.relu}
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
for name, fn in fns.items():
    with tf.GradientTape() as tape:
        tape.watch(zs)
        a = fn(zs)
    slope = tape.gradient(a, zs)
    axes[0].plot(zs, a, label=name)
    axes[1].plot(zs, np.zeros_like(zs) if slope is None else slope, label=name)
axes[0].set(xlabel="z", ylabel="g(z)", ylim=(-1.5, 3), title="activation")
axes[1].set(xlabel="z", ylabel="g'(z)", title="slope (from GradientTape)")
axes[0].legend()
fig.tight_layout()
plt.show()
print("sigmoid slope at z=4:", float(tf.sigmoid(4.0) * (1 - tf.sigmoid(4.0))), " ReLU slope at z=4: 1.0")

# %% [markdown]
# ## What you saw
#
# * Every surface is constant along the same family of parallel lines ($x_1 + 0.5 x_2 =$
#   const): a single neuron can only split the plane by a straight line, whatever its
#   activation. Curved decision boundaries need several neurons (notebook 15).
# * The step surface is a cliff: its output carries no information about *how far* a point
#   is from the line, and its slope is zero almost everywhere, so gradient descent cannot
#   train it. Sigmoid and tanh are smoothed cliffs.
# * The slopes printed and plotted show the sigmoid's problem: at $z = 4$ its slope is
#   already below 0.02 (and at most $\sigma'(0) = 1/4$ anywhere), so gradients shrink layer after layer
#   in deep sigmoid networks. ReLU keeps slope 1 for all positive inputs, which is why it
#   became the default hidden activation.
