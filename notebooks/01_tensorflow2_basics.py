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
# # 01 · TensorFlow 2 for readers of TF1 code
#
# The original course was written for TensorFlow 1: you first *built a graph* of
# placeholders, variables and operations, then opened a `tf.Session` and *ran* it, feeding
# numbers into the placeholders. TensorFlow 2 runs operations **eagerly**, like NumPy, so
# most of that machinery is gone:
#
# | TF1 | TF2 |
# |---|---|
# | `tf.placeholder` + `feed_dict` | ordinary Python arguments (NumPy arrays or tensors) |
# | `tf.Session().run(op)` | just call the function; `.numpy()` gives the value |
# | graph mode for speed | decorate a Python function with `@tf.function` |
# | `tf.Variable` + `tf.global_variables_initializer()` | `tf.Variable` (initialised on creation) |
# | `tf.train.GradientDescentOptimizer(...).minimize(loss)` | `tf.GradientTape` + `optimizer.apply_gradients`, or Keras `fit` |
#
# Notebook 16 covers the basics underneath: ranks and shapes, dtypes, `Variable.assign`, and
# the chain rule worked by hand and checked against `GradientTape`.
#
# Below: tensors and eager execution, `tf.function`, then the two models of module 1 —
# linear regression by hand on real data, and logistic regression with Keras, logged to
# TensorBoard. (The module's third lab, activation functions, is notebook 10.)

# %% tags=["parameters"]
# parameters (papermill): SMALL=True is the quick CI setting, SMALL=False the full one
SMALL = True
SEED = 7

# %% [markdown]
# *The outputs shown come from a real run with those parameters changed, equivalent to
# `papermill 01_tensorflow2_basics.ipynb out.ipynb -p SMALL False` (14 min on the shared 2-core CPU
# machine they were made on). "Run All" uses the cell above as written (`SMALL = True`, the
# quick setting the tests run), so its numbers will be those of a barely trained model.*

# %%
STEPS = 100 if SMALL else 1000     # gradient steps for the hand-written loops
EPOCHS = 5 if SMALL else 100       # Keras epochs for logistic regression

# %%
# %matplotlib inline
import os
os.environ.setdefault("TFRBM_QUIET_TF", "1")   # TensorFlow without its start-up log lines
from tfrbm.course.notebook import setup
import numpy as np
import matplotlib.pyplot as plt
import keras
import tensorflow as tf
setup(SEED)   # figures at 72 dpi, TensorFlow's logger at ERROR, every random generator seeded

# %% [markdown]
# ## Eager tensors
#
# Operations run immediately and return values. There is no session.

# %%
a = tf.constant([[1.0, 2.0], [3.0, 4.0]])
b = tf.constant([[1.0], [1.0]])
c = a @ b + 1          # runs now
print(c)
print("as numpy:", c.numpy().ravel())


# %% [markdown]
# ## `tf.function`: graphs when you want them
#
# Decorating a function traces it once into a graph and reuses that graph for calls with
# the same input signature. This is where TF1's graphs went: you still get them, but only
# as a compilation step.

# %%
@tf.function
def affine(x, w, b):
    return tf.matmul(x, w) + b

x = tf.random.normal((4, 3), seed=SEED)
w = tf.Variable(tf.ones((3, 2)))
print(affine(x, w, 0.5).shape)
print(affine.get_concrete_function(x, w, 0.5).graph.get_operations()[:4])

# %% [markdown]
# ## Linear regression by hand, on real data
#
# The course lab fits CO2 emissions against engine size from a `FuelConsumption.csv` it
# downloads; that file cannot be fetched here. A small real data set that ships *inside*
# scikit-learn (no download: `sklearn/datasets/data/diabetes_*.csv.gz`) serves the same
# purpose: for 442 diabetes patients, the body-mass index (BMI) and a measure of how far the
# disease progressed one year later. We fit $y = a \cdot \text{BMI} + b$ by gradient
# descent on the mean squared error. `tf.GradientTape` records the forward computation and
# returns the gradients of the loss with respect to the variables.
#
# Gradient descent works best when the input is centred and scaled, so we standardise BMI
# (subtract the mean, divide by the standard deviation) and convert the fitted line back to
# BMI units at the end.

# %%
from sklearn.datasets import load_diabetes
diabetes = load_diabetes(scaled=False)
bmi = diabetes.data[:, diabetes.feature_names.index("bmi")].astype("float32")
progression = diabetes.target.astype("float32")
print(f"{len(bmi)} patients; BMI {bmi.min():.1f}-{bmi.max():.1f}, progression {progression.min():.0f}-{progression.max():.0f}")
x_lin = (bmi - bmi.mean()) / bmi.std()
y_lin = progression

slope, intercept = tf.Variable(0.0), tf.Variable(0.0)
opt = keras.optimizers.SGD(learning_rate=0.05)

@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((slope * x + intercept - y) ** 2)
    grads = tape.gradient(loss, [slope, intercept])
    opt.apply_gradients(zip(grads, [slope, intercept]))
    return loss

losses = [float(train_step(x_lin, y_lin)) for _ in range(STEPS)]
a_bmi = slope.numpy() / bmi.std()                          # back to BMI units
b_bmi = intercept.numpy() - a_bmi * bmi.mean()
exact = np.polyfit(bmi, progression, 1)                    # closed-form least squares
r2 = 1 - np.mean((a_bmi * bmi + b_bmi - progression) ** 2) / np.var(progression)
print(f"gradient descent: progression = {a_bmi:.2f} * BMI + {b_bmi:.1f}   ({STEPS} steps)")
print(f"least squares   : progression = {exact[0]:.2f} * BMI + {exact[1]:.1f}")
print(f"R^2 = {r2:.3f}: BMI alone explains {r2:.0%} of the variation")

# %%
fig, ax = plt.subplots(1, 2, figsize=(9, 3))
ax[0].scatter(bmi, progression, s=6, alpha=0.6)
xs = np.linspace(bmi.min(), bmi.max(), 2)
ax[0].plot(xs, a_bmi * xs + b_bmi, "C3", label="fitted line")
ax[0].set(xlabel="body-mass index", ylabel="progression after one year", title="linear regression (diabetes data)")
ax[0].legend()
ax[1].plot(losses)
ax[1].set(xlabel="step", ylabel="MSE", yscale="log", title="training loss")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Logistic regression with Keras, watched with TensorBoard
#
# Module 1's second model classifies the iris flowers. Logistic (softmax) regression is a
# single `Dense` layer with a softmax; Keras' `compile` + `fit` replaces the whole TF1
# training loop. The lab also logs the training to **TensorBoard**; in TF2 that is one
# callback, `keras.callbacks.TensorBoard(log_dir)`, which writes the loss and metrics of
# every epoch (and, with `histogram_freq=1`, histograms of the weights) as event files.

# %%
import pathlib
import tempfile
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
iris = load_iris()
x_iris = ((iris.data - iris.data.mean(0)) / iris.data.std(0)).astype("float32")
xtr, xte, ytr, yte = train_test_split(x_iris, iris.target, test_size=0.3, random_state=SEED,
                                      stratify=iris.target)
logreg = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
logreg.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
               metrics=["accuracy"])
log_dir = pathlib.Path(tempfile.mkdtemp()) / "logreg"
hist = logreg.fit(xtr, ytr, epochs=EPOCHS, batch_size=16, validation_data=(xte, yte), verbose=0,
                  callbacks=[keras.callbacks.TensorBoard(log_dir=str(log_dir), histogram_freq=1)])
print(f"test accuracy {logreg.evaluate(xte, yte, verbose=0)[1]:.3f}")
print("event files:", sorted(str(p.relative_to(log_dir)) for p in log_dir.rglob("events.out.tfevents.*")))

# %% [markdown]
# In a live notebook, `%load_ext tensorboard` followed by `%tensorboard --logdir <log_dir>`
# opens the dashboard inline (or run `tensorboard --logdir <log_dir>` in a terminal). To keep
# this page self-contained we read the event files back with TensorBoard's own reader and
# draw what its *Scalars* and *Histograms* tabs show.

# %%
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

def scalars(run, tag):
    acc = EventAccumulator(str(log_dir / run), size_guidance={"tensors": 0})
    acc.Reload()
    events = acc.Tensors(tag)
    return [e.step for e in events], [float(tf.make_ndarray(e.tensor_proto)) for e in events]

fig, axes = plt.subplots(1, 3, figsize=(13, 3))
for ax, tag in zip(axes[:2], ("epoch_loss", "epoch_accuracy")):
    for run in ("train", "validation"):
        ax.plot(*scalars(run, tag), label=run)
    ax.set(xlabel="epoch", title=f"TensorBoard scalar '{tag}'")
    ax.legend()
acc = EventAccumulator(str(log_dir / "train"), size_guidance={"tensors": 0})
acc.Reload()
kernel_tag = next(t for t in acc.Tags()["tensors"] if "kernel" in t and "histogram" in t)
for e in acc.Tensors(kernel_tag)[:: max(1, len(acc.Tensors(kernel_tag)) // 4)]:
    h = tf.make_ndarray(e.tensor_proto)          # rows of (left edge, right edge, count)
    axes[2].plot((h[:, 0] + h[:, 1]) / 2, h[:, 2], label=f"epoch {e.step}")
axes[2].set(xlabel="weight value", ylabel="count", title=f"histogram '{kernel_tag}'")
axes[2].legend(fontsize=7)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## What you saw
#
# * Write TF2 code like NumPy code, wrap hot loops in `tf.function`, and use Keras for
#   models. Every later notebook follows this pattern; tfrbm's models are Keras models
#   trained with `fit`.
# * Gradient descent on the standardised BMI lands on the least-squares line (the two
#   printed equations agree) — the closed form is there to check the optimiser, not to
#   replace it. The fit itself is modest: BMI explains well under half of the variation in
#   disease progression (the printed $R^2$), so the cloud of points stays wide around the
#   line. Real data are noisier than the synthetic lines of most tutorials.
# * Logistic regression tells the three iris species apart on the held-out split with test
#   accuracy 0.956; the TensorBoard curves show the loss falling fastest in the first epochs,
#   and the weight histograms spreading out from their small initial values as the classes are
#   pulled apart.
