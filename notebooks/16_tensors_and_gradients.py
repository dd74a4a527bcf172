# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
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
# # 16 · Tensors, variables and the chain rule
#
# Notebook 01 moved from TF1's graphs to eager TensorFlow 2. This one fills in the basics the
# course's first module and the neural-network lecture notes rely on everywhere after:
#
# 1. **ranks and shapes**: what a tensor's rank is, how shapes combine (broadcasting), and how
#    to reshape;
# 2. **dtypes**: why `1 + 1.5` works in Python and fails between two tensors;
# 3. **variables**: `tf.Variable`, `assign`, `assign_add`, and what a variable's shape allows;
# 4. **the chain rule and backpropagation**, worked by hand for a one-neuron chain and then a
#    small two-layer network, and checked against `tf.GradientTape`.

# %% tags=["parameters"]
# parameters (papermill): SMALL=True is the quick CI setting, SMALL=False the full one
SMALL = True
SEED = 0

# %% [markdown]
# *The outputs shown come from a real run with those parameters changed, equivalent to
# `papermill 16_tensors_and_gradients.ipynb out.ipynb -p SMALL False` (1 min on the shared 2-core CPU
# machine they were made on). "Run All" uses the cell above as written (`SMALL = True`, the
# quick setting the tests run), so its numbers will be those of a barely trained model.*

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
# ## 1. Ranks and shapes
#
# A tensor's **rank** is its number of axes: a scalar has rank 0, a vector rank 1, a matrix
# rank 2, a batch of grey images rank 3 (image, row, column). Its **shape** lists the length of
# each axis. (This "rank" is not the rank of a matrix in linear algebra.)

# %%
tensors = {"scalar": tf.constant(3.0),
           "vector": tf.constant([1.0, 2.0, 3.0]),
           "matrix": tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),
           "batch of 2 images, 4x4": tf.zeros([2, 4, 4])}
for name, t in tensors.items():
    print(f"{name:24s} rank {int(tf.rank(t))}  shape {t.shape}  elements {int(tf.size(t))}")

# %% [markdown]
# Reshaping keeps the elements and their order and changes only how they are grouped; `-1`
# asks TensorFlow to work one length out. **Broadcasting** lets an operation combine shapes
# that differ: axes of length 1 (or missing on the left) are stretched to match. Adding a
# vector of 3 biases to a 2 × 3 matrix adds it to each row: this is how a dense layer adds
# its bias to a whole batch.

# %%
m = tensors["matrix"]
print("reshape to (3, 2):\n", tf.reshape(m, [3, 2]).numpy())
print("flatten:", tf.reshape(m, [-1]).numpy())
print("add a batch axis:", tf.expand_dims(m, 0).shape)
bias = tf.constant([10.0, 20.0, 30.0])
print("matrix (2, 3) + bias (3,) ->\n", (m + bias).numpy())
print("column (2, 1) * row (1, 3) -> shape", (tf.constant([[1.0], [2.0]]) * tf.constant([[1.0, 2.0, 3.0]])).shape)
try:
    m + tf.constant([1.0, 2.0])
except tf.errors.InvalidArgumentError:
    print("matrix (2, 3) + vector (2,): incompatible shapes, an InvalidArgumentError")

# %% [markdown]
# ## 2. Dtypes
#
# Every tensor has one element type. Python integers become `int32` and Python floats
# `float32` (NumPy would choose `int64` and `float64`). TensorFlow never converts silently
# between tensors: adding an `int32` tensor to a `float32` tensor is an error, and
# `tf.cast` says what you mean. Fewer bits mean less precision: `float16` keeps about 3
# decimal digits, `float32` about 7, `float64` about 16.

# %%
i, x = tf.constant([1, 2]), tf.constant([1.5, 2.5])
print("dtypes:", i.dtype.name, x.dtype.name, " numpy's default:", np.array([1.5]).dtype)
try:
    i + x
except tf.errors.InvalidArgumentError:
    print("int32 + float32: an InvalidArgumentError, no silent conversion")
print("tf.cast(i, tf.float32) + x =", (tf.cast(i, tf.float32) + x).numpy())
print("casting to an integer truncates:", tf.cast(tf.constant([1.7, -1.7]), tf.int32).numpy())
for dtype in (tf.float16, tf.float32, tf.float64):
    third = tf.constant(1.0, dtype) / tf.constant(3.0, dtype)
    print(f"1/3 in {dtype.name:8s} = {float(third):.17f}")

# %% [markdown]
# ## 3. Variables
#
# A `tf.Variable` is a tensor whose value can change in place: weights are variables.
# `assign` replaces the value, `assign_add` and `assign_sub` update it (what an optimizer
# does at every step). The shape and dtype are fixed when the variable is made.

# %%
w = tf.Variable([1.0, 2.0, 3.0], name="w")
print("start:            ", w.numpy())
w.assign([0.5, 0.5, 0.5])
print("assign:           ", w.numpy())
w.assign_add([1.0, 2.0, 3.0])
print("assign_add:       ", w.numpy())
w.assign_sub(0.1 * w)            # one gradient-descent-like step: w <- w - 0.1 w
print("assign_sub(0.1 w):", w.numpy())
try:
    w.assign([1.0, 2.0])
except ValueError:
    print("assigning 2 values to a variable of shape (3,): a ValueError")
print("trainable:", w.trainable, " dtype:", w.dtype.name)

# %% [markdown]
# ## 4. The chain rule, by hand and by `GradientTape`
#
# The lecture notes' one-neuron-per-layer chain: an input $x$, a hidden unit
# $a = \tanh(w_1 x + b_1)$, an output $y = \sigma(w_2 a + b_2)$ and the squared error
# $L = (y - t)^2$. The chain rule multiplies the local slopes along the path from $L$ back
# to each parameter:
#
# $$\frac{\partial L}{\partial w_2} = \underbrace{2(y - t)}_{\partial L/\partial y}\;
# \underbrace{y(1 - y)}_{\partial y/\partial z_2}\; a, \qquad
# \frac{\partial L}{\partial w_1} = 2(y - t)\; y(1 - y)\; w_2\; \underbrace{(1 - a^2)}_{\partial a/\partial z_1}\; x .$$
#
# The factors shared by both lines are why backpropagation is cheap: compute
# $\delta_2 = 2(y - t)\,y(1 - y)$ once, pass it back through $w_2$ and $(1 - a^2)$ to get
# $\delta_1$, and every gradient is a $\delta$ times the input of its weight.

# %%
x, t = 1.5, 0.2
w1, b1, w2, b2 = (tf.Variable(v, dtype=tf.float64) for v in (0.8, -0.3, 1.2, 0.1))
with tf.GradientTape() as tape:
    a = tf.tanh(w1 * x + b1)
    y = tf.sigmoid(w2 * a + b2)
    loss = (y - t) ** 2
tape_grads = tape.gradient(loss, [w1, b1, w2, b2])
a, y = float(a), float(y)
delta2 = 2 * (y - t) * y * (1 - y)          # dL/dz2
delta1 = delta2 * float(w2) * (1 - a ** 2)  # dL/dz1
hand_grads = [delta1 * x, delta1, delta2 * a, delta2]
print(f"a = {a:.4f}, y = {y:.4f}, L = {float(loss):.5f}")
for name, g_tape, g_hand in zip(("w1", "b1", "w2", "b2"), tape_grads, hand_grads):
    print(f"dL/d{name}: tape {float(g_tape):+.10f}   by hand {g_hand:+.10f}   difference {abs(float(g_tape) - g_hand):.1e}")

# %% [markdown]
# The gradient is the slope of the loss as one weight moves with the others fixed. Drawing
# $L$ against $w_1$ shows it: the tangent with slope $\partial L / \partial w_1$ touches the
# curve at the current $w_1$.

# %%
grid = np.linspace(-2, 3, 201)
curve = (tf.sigmoid(float(w2) * tf.tanh(grid * x + float(b1)) + float(b2)) - t) ** 2
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(grid, curve, label="L as a function of $w_1$")
w1_now, l_now = float(w1), float(loss)
ax.plot(grid, l_now + hand_grads[0] * (grid - w1_now), "--", label="tangent, slope dL/dw1")
ax.plot([w1_now], [l_now], "ko")
ax.set(xlabel="$w_1$", ylabel="L", ylim=(0, float(curve.numpy().max()) * 1.1))
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ### Backpropagation through a layer of units
#
# With whole layers the same rule runs on matrices. A network 2 → 3 → 1 (tanh hidden layer,
# sigmoid output) on a batch of $B$ points, mean squared error:
#
# * forward: $A = \tanh(X W_1 + b_1)$, $Y = \sigma(A W_2 + b_2)$, $L = \frac1B \sum (Y - T)^2$;
# * backward: $\Delta_2 = \frac2B (Y - T) \odot Y \odot (1 - Y)$, then
#   $\partial L / \partial W_2 = A^\top \Delta_2$ and $\partial L / \partial b_2 = \sum_{\text{rows}} \Delta_2$;
# * one layer down: $\Delta_1 = (\Delta_2 W_2^\top) \odot (1 - A^2)$, then
#   $\partial L / \partial W_1 = X^\top \Delta_1$ and $\partial L / \partial b_1 = \sum_{\text{rows}} \Delta_1$.

# %%
rng = np.random.default_rng(SEED)
X = rng.normal(size=(8, 2))
T = (X[:, :1] * X[:, 1:] > 0).astype("float64")     # XOR-like targets
params = [tf.Variable(rng.normal(size=s)) for s in ((2, 3), (3,), (3, 1), (1,))]
W1, B1, W2, B2 = params
with tf.GradientTape() as tape:
    A = tf.tanh(X @ W1 + B1)
    Y = tf.sigmoid(A @ W2 + B2)
    L = tf.reduce_mean((Y - T) ** 2)
tape_grads = tape.gradient(L, params)
A, Y = A.numpy(), Y.numpy()
D2 = 2 / len(X) * (Y - T) * Y * (1 - Y)
D1 = (D2 @ W2.numpy().T) * (1 - A ** 2)
hand_grads = [X.T @ D1, D1.sum(0), A.T @ D2, D2.sum(0)]
for name, g_tape, g_hand in zip(("W1", "b1", "W2", "b2"), tape_grads, hand_grads):
    print(f"dL/d{name} shape {g_hand.shape}: largest |tape - by hand| = {np.abs(g_tape.numpy() - g_hand).max():.1e}")

# %% [markdown]
# ## What you saw
#
# * Rank is the number of axes: 0 for the scalar up to 3 for the batch of images, whose
#   shape (2, 4, 4) holds 32 elements. Reshaping to (3, 2) kept the six elements in order;
#   adding the bias vector to the (2, 3) matrix added it to each row, while a (2,) vector
#   could not be broadcast against the (2, 3) matrix and raised an InvalidArgumentError.
# * TensorFlow made `int32` and `float32` tensors where NumPy makes `float64`, and refused
#   to add `int32` to `float32` until `tf.cast` converted one; casting `[1.7, -1.7]` to an
#   integer gave 1 and -1 (truncation towards zero, not rounding). 1/3 is 0.33325195312500000 in
#   `float16`, right to 3 decimals, 0.33333334326744080 in `float32` and
#   0.33333333333333331 in `float64`.
# * The variable kept its shape (3,) through `assign`, `assign_add` and `assign_sub`, and
#   assigning two values to it raised a ValueError.
# * The chain rule by hand and `GradientTape` gave the same four gradients for the
#   one-neuron chain (difference 0.0e+00 in float64: the tape applies the same rule,
#   factor by factor), and the same gradients for every weight of the 2 → 3 → 1 network, to
#   within 2.8e-17. The tangent with the computed slope touches the loss curve at the
#   current $w_1$: the gradient is a local slope, which is all that gradient descent uses.
