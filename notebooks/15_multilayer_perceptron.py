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
# # 15 · Multi-layer perceptrons: curved boundaries, hidden spaces, and MNIST
#
# The second part of the neural-network lecture notes. A hidden layer of sigmoid units
# maps each input point to a new point — its *hidden representation* — and the output
# layer draws a straight line *there*. Each hidden unit is itself a linear classifier with
# its own boundary line in the input plane, and combining a few such lines gives a
# curved decision boundary. We train MLPs on two non-linear 2-D data sets from the notes,
# look at the hidden space and the hidden units' lines, and then train the notes' MNIST MLP
# with its train/test loss curves.

# %% tags=["parameters"]
# parameters (papermill): SMALL=True is the quick CI setting, SMALL=False the full one
SMALL = True
SEED = 0
DATA = "auto"     # MNIST part: "mnist", "digits" or "auto"

# %% [markdown]
# *The outputs shown come from a real run with those parameters changed, equivalent to
# `papermill 15_multilayer_perceptron.ipynb out.ipynb -p SMALL False` (14 min on the shared 2-core CPU
# machine they were made on). "Run All" uses the cell above as written (`SMALL = True`, the
# quick setting the tests run), so its numbers will be those of a barely trained model.*

# %%
N_POINTS = 400 if SMALL else 1000
EPOCHS_2D = 60 if SMALL else 500       # passes of mini-batch (50) training over the 2-D data
PASSES = 10                            # passes per Keras epoch (one logged loss value)
N_TRAIN = 2000 if SMALL else 60000
N_TEST = 500 if SMALL else 10000
MNIST_ITERS = 100 if SMALL else 3000   # the notes: 3,000 batches of 50

# %%
# %matplotlib inline
import os
os.environ.setdefault("TFRBM_QUIET_TF", "1")   # TensorFlow without its start-up log lines
from tfrbm.course.notebook import setup
import numpy as np
import matplotlib.pyplot as plt
import keras
setup(SEED)   # figures at 72 dpi, TensorFlow's logger at ERROR, every random generator seeded

# %% [markdown]
# ## Data that no line separates
#
# The notes' first non-linear set: $x_1 \in [-5, 5]$, $x_2 \in [-4, 4]$, class 1 where
# $-0.5 (x_1 - 1)^2 + 2 x_2 + 5 \ge 0$ — the region above a parabola.

# %%
rng = np.random.default_rng(SEED)
X = np.c_[10 * rng.random(N_POINTS) - 5, 8 * rng.random(N_POINTS) - 4].astype("float32")
y = (-0.5 * (X[:, 0] - 1) ** 2 + 2 * X[:, 1] + 5 >= 0).astype("int32")
print(f"{N_POINTS} points, {y.mean():.0%} in class 1")

def mlp(n_hidden, lr=0.5):
    keras.utils.set_random_seed(SEED)
    model = keras.Sequential([keras.Input((2,)),
                              keras.layers.Dense(n_hidden, activation="sigmoid", name="hidden"),
                              keras.layers.Dense(2, activation="softmax", name="output")])
    model.compile(optimizer=keras.optimizers.SGD(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model

def lines(ax, W, b, xs, colors="kgmcy"):
    for j in range(W.shape[1]):
        ax.plot(xs, -(W[0, j] * xs + b[j]) / W[1, j], colors[j % len(colors)], lw=2, label=f"unit {j + 1}")

def region(ax, model, lim=(-5, 5, -4, 4)):
    g1, g2 = np.meshgrid(np.linspace(lim[0], lim[1], 120), np.linspace(lim[2], lim[3], 100))
    p = model.predict(np.c_[g1.ravel(), g2.ravel()], verbose=0, batch_size=4096)[:, 1]
    ax.contourf(g1, g2, p.reshape(g1.shape), levels=[0, 0.5, 1], colors=["#cde", "#fdd"], alpha=0.7)


# %% [markdown]
# ## Two hidden units
#
# With two hidden units the hidden space is a plane we can draw. The network is trained
# with gradient descent on batches of 50 (learning rate 0.5, sigmoid hidden units, softmax
# output), and we look at three pictures: the loss, the data *in the hidden space* with the
# output layer's line, and the hidden units' own lines back in the input plane.

# %%
net2 = mlp(2)
hist2 = net2.fit(np.tile(X, (PASSES, 1)), np.tile(y, PASSES), epochs=EPOCHS_2D // PASSES, batch_size=50, verbose=0)
hidden = keras.Model(net2.inputs, net2.get_layer("hidden").output)
H = hidden.predict(X, verbose=0)
Wh, bh = net2.get_layer("hidden").get_weights()
Wo, bo = net2.get_layer("output").get_weights()
fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
axes[0].plot(hist2.history["loss"])
axes[0].set(xlabel=f"passes / {PASSES}", ylabel="cross-entropy", title="loss")
axes[1].scatter(*H.T, c=y, cmap="bwr", s=6, alpha=0.5)
xs = np.linspace(0, 1, 2)
axes[1].plot(xs, -((Wo[0, 1] - Wo[0, 0]) * xs + bo[1] - bo[0]) / (Wo[1, 1] - Wo[1, 0]), "g", lw=2, label="output boundary")
axes[1].set(xlim=(0, 1), ylim=(0, 1), xlabel="hidden unit 1", ylabel="hidden unit 2", title="the hidden space")
axes[1].legend(fontsize=8)
region(axes[2], net2)
axes[2].scatter(*X.T, c=y, cmap="bwr", s=6, alpha=0.5)
lines(axes[2], Wh, bh, np.linspace(-5, 5, 2))
axes[2].set(xlim=(-5, 5), ylim=(-4, 4), title="input plane: hidden-unit lines, decision region")
axes[2].legend(fontsize=8)
fig.tight_layout()
plt.show()
print(f"2 hidden units: training accuracy {hist2.history['accuracy'][-1]:.3f}")

# %% [markdown]
# ## A harder boundary, more hidden units
#
# The notes' second set replaces $(x_1 - 1)$ by $(x_1 x_2 - 1)$: class 1 where
# $-0.5 (x_1 x_2 - 1)^2 + 2 x_2 + 5 \ge 0$, a region with two curved arms. We compare 2, 4
# and 8 hidden units.

# %%
y_b = (-0.5 * (X[:, 0] * X[:, 1] - 1) ** 2 + 2 * X[:, 1] + 5 >= 0).astype("int32")
fig, axes = plt.subplots(1, 4, figsize=(17, 3.6))
for ax, n_hidden in zip(axes[1:], (2, 4, 8)):
    net = mlp(n_hidden)
    h = net.fit(np.tile(X, (PASSES, 1)), np.tile(y_b, PASSES), epochs=EPOCHS_2D // PASSES, batch_size=50, verbose=0)
    axes[0].plot(h.history["loss"], label=f"{n_hidden} hidden")
    region(ax, net)
    ax.scatter(*X.T, c=y_b, cmap="bwr", s=5, alpha=0.5)
    Wh, bh = net.get_layer("hidden").get_weights()
    lines(ax, Wh, bh, np.linspace(-5, 5, 2), colors="kgmcyrbk")
    ax.set(xlim=(-5, 5), ylim=(-4, 4), title=f"{n_hidden} hidden units: accuracy {h.history['accuracy'][-1]:.3f}")
    print(f"{n_hidden} hidden units: training accuracy {h.history['accuracy'][-1]:.3f}")
axes[0].set(xlabel=f"passes / {PASSES}", ylabel="cross-entropy", title="loss")
axes[0].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## The MNIST MLP of the notes
#
# 784 inputs, one hidden layer of 100 ReLU units, 10 softmax outputs; Adam at 1e-4,
# batches of 50, 3,000 iterations. Every 250 iterations we record the loss on the current
# training batch and on a random test batch, as the notes do, to get train/test loss curves.

# %%
from tfrbm.data import images
name, shape, (x_train, y_train), (x_test, y_test) = images.load_images_or_digits(DATA, n_train=N_TRAIN, n_test=N_TEST)
print(name, "train", x_train.shape, "test", x_test.shape)

# %%
keras.utils.set_random_seed(SEED)
mnist_mlp = keras.Sequential([keras.Input((x_train.shape[1],)), keras.layers.Dense(100, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
mnist_mlp.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
rng = np.random.default_rng(SEED)
record = {"iteration": [], "train": [], "test": []}
for it in range(MNIST_ITERS + 1):
    idx = rng.integers(len(x_train), size=50)
    train_loss = mnist_mlp.train_on_batch(x_train[idx], y_train[idx])[0] if it < MNIST_ITERS else None
    if it % 250 == 0 or it == MNIST_ITERS:
        t = rng.integers(len(x_test), size=50)
        record["iteration"].append(it)
        record["train"].append(mnist_mlp.evaluate(x_train[idx], y_train[idx], verbose=0)[0])
        record["test"].append(mnist_mlp.evaluate(x_test[t], y_test[t], verbose=0)[0])
test_loss, test_acc = mnist_mlp.evaluate(x_test, y_test, verbose=0)
train_acc = mnist_mlp.evaluate(x_train, y_train, verbose=0)[1]
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(record["iteration"], record["train"], "o-", label="training batch")
ax.plot(record["iteration"], record["test"], "x--", label="test batch")
ax.set(xlabel="iteration", ylabel="cross-entropy", title="MNIST MLP: loss every 250 iterations")
ax.legend()
plt.show()
print(f"after {MNIST_ITERS} iterations: training accuracy {train_acc:.4f}, test accuracy {test_acc:.4f}")

# %%
probs = mnist_mlp.predict(x_test[:1], verbose=0)[0]
fig, axes = plt.subplots(1, 2, figsize=(7, 2.4), gridspec_kw={"width_ratios": [1, 2.5]})
axes[0].imshow(x_test[0].reshape(shape), cmap="gray")
axes[0].axis("off")
axes[0].set_title(f"label {y_test[0]}")
axes[1].bar(range(10), probs)
axes[1].set(xticks=range(10), xlabel="digit", ylabel="probability",
                                           title=f"prediction {probs.argmax()}")
fig.tight_layout()
plt.show()
print("probabilities:", np.round(probs, 3))

# %% [markdown]
# ## What you saw
#
# * With two hidden units, the hidden space shows what the network did: it bent the plane so
#   that the two classes can be split by *one straight line* there (the green line), even
#   though no line splits them in the input plane. Back in the input plane, the decision
#   region is built from the two hidden units' lines, rounded off where they meet.
# * With two hidden units the parabola data are fit to 97.0% training accuracy. On the harder
#   data two lines are not enough (81.3%); 4 and 8 hidden units reach 97.1% and 98.4%, and
#   the region follows the curved arms. The hidden-unit lines show where each unit
#   switches — several of them line up along the class border.
# * The MNIST MLP ends at 92.5% test accuracy with training accuracy the same (92.4%): no
#   overfitting at all, but also only just above softmax regression (91.4%, notebook 06).
#   3,000 batches of 50 at Adam 1e-4 are $3000 \cdot 50 / 60000 = 2.5$ passes over the data with small steps — the
#   notes' budget, not the model's limit.
