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
# # 02 · What a restricted Boltzmann machine computes
#
# An RBM is a two-layer network: *visible* units **v** (the data) and *hidden* units **h**
# (features), with weights only *between* the layers. That missing within-layer wiring is the
# "restricted" part, and it is what makes the model easy to use: given one layer, the units
# of the other layer are independent of each other.
#
# The model gives every joint configuration an energy,
# $E(v, h) = -b^\top v - c^\top h - v^\top W h$, and a probability
# $p(v, h) = e^{-E(v,h)}/Z$. Summing out **h** gives the *free energy*
# $F(v) = -b^\top v - \sum_j \log(1 + e^{c_j + (v^\top W)_j})$ with $p(v) = e^{-F(v)}/Z$.
#
# This notebook does three things with `tfrbm`:
#
# 1. a **forward pass** (visible → hidden) and a **backward pass** (hidden → visible) through
#    a toy RBM with 7 visible and 2 hidden units;
# 2. the **probability of one visible configuration**, computed exactly (the model is small
#    enough to enumerate all $2^7$ visible states);
# 3. the six-movie example: train an RBM on six users' movie choices and read its weights.

# %% tags=["parameters"]
# parameters (papermill): SMALL=True is the quick CI setting, SMALL=False the full one
SMALL = True
SEED = 42

# %% [markdown]
# *The outputs shown come from a real run with those parameters changed, equivalent to
# `papermill 02_rbm_intro.ipynb out.ipynb -p SMALL False` (8 min on the shared 2-core CPU
# machine they were made on). "Run All" uses the cell above as written (`SMALL = True`, the
# quick setting the tests run), so its numbers will be those of a barely trained model.*

# %%
UPDATES = 300 if SMALL else 5000   # CD-1 updates for the six-movie RBM (batches of the 6 users)

# %%
# %matplotlib inline
import os
os.environ.setdefault("TFRBM_QUIET_TF", "1")   # TensorFlow without its start-up log lines
from tfrbm.course.notebook import setup
import tfrbm
from tfrbm import viz
import numpy as np
import matplotlib.pyplot as plt
import keras
setup(SEED)   # figures at 72 dpi, TensorFlow's logger at ERROR, every random generator seeded

# %% [markdown]
# ## 1. A toy RBM: 7 visible units, 2 hidden units
#
# `RBMLayer(units)` holds the weights $W$ (7 × 2), the visible biases $b$ and the hidden
# biases $c$. We build it for 7 inputs and give it small random weights.

# %%
layer = tfrbm.RBMLayer(2, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=SEED))
model = tfrbm.RBMModel(layer, seed=SEED)
model.build((None, 7))
print("W =\n", np.round(layer.kernel.numpy(), 3))
print("visible bias b =", layer.visible_bias.numpy(), " hidden bias c =", layer.hidden_bias.numpy())

# %% [markdown]
# ### Forward pass: $p(h_j = 1 \mid v) = \sigma(c_j + \sum_i v_i W_{ij})$
#
# Each hidden unit switches on with a probability given by the logistic sigmoid of its
# input. A *sample* of the hidden layer flips a biased coin for each unit.

# %%
v = np.array([[1, 0, 0, 1, 0, 0, 0]], dtype="float32")
p_h = model.hidden_probs(v)
h = model.run_visible(v, sample=True, seed=1)
print("p(h=1 | v) =", np.round(p_h, 3))
print("one sample of h:", h)

# %% [markdown]
# ### Backward pass: $p(v_i = 1 \mid h) = \sigma(b_i + \sum_j W_{ij} h_j)$
#
# Going back from the hidden sample gives a *reconstruction* of the input: probabilities
# for each visible unit, or a sampled binary vector. Training (contrastive divergence)
# pushes reconstructions of the training data towards the data itself.

# %%
p_v = model.visible_probs(h)
v1 = model.run_hidden(h, sample=True, seed=2)
print("p(v=1 | h)   =", np.round(p_v, 3))
print("sampled v'   =", v1)
print("error |v - p(v|h)|^2 =", float(np.sum((v - p_v) ** 2)))

# %% [markdown]
# ### The probability of a visible configuration
#
# $p(v) = e^{-F(v)} / Z$ needs the partition function $Z = \sum_v e^{-F(v)}$. With 7
# visible units there are only 128 states, so `log_partition(method="exact")` sums them
# all. (For MNIST's 784 pixels that is impossible; notebook 03 uses other tools.)

# %%
log_z = float(model.log_partition(method="exact"))
print(f"log Z = {log_z:.4f}")
print(f"F(v) = {model.free_energy(v)[0]:.4f}")
print(f"log p(v) = {model.log_likelihood(v, method='exact'):.4f}  ->  p(v) = {np.exp(model.log_likelihood(v)):.5f}")

# %%
from tfrbm import likelihood
states = likelihood.binary_states(7)
probs = likelihood.exact_visible_distribution(layer)
idx = int(np.argmax((states == v[0]).all(axis=1)))
fig, ax = plt.subplots(figsize=(9, 2.6))
ax.bar(np.arange(128), probs, color="0.6")
ax.bar([idx], [probs[idx]], color="C3", label="v = 1001000")
ax.set_xlabel("visible state (binary counting order)")
ax.set_ylabel("p(v)")
ax.set_title(f"The toy RBM's distribution over all 128 visible states (sums to {probs.sum():.3f})")
ax.legend()
plt.show()

# %% [markdown]
# ## 2. Six movies, six users (the echen example)
#
# Six users say which of six movies they want to watch. Three like the fantasy films
# (Harry Potter, Avatar, LOTR 3); three like the Oscar winners (LOTR 3, Gladiator,
# Titanic); nobody wants Glitter. An RBM with two hidden units should discover those two
# groups as its two features.

# %%
from tfrbm.models.recommender import SIX_MOVIES, SIX_MOVIE_USERS
users = list(SIX_MOVIE_USERS)
X = np.array([SIX_MOVIE_USERS[u] for u in users], dtype="float32")
movies_rbm = tfrbm.RBMModel(tfrbm.RBMLayer(2, kernel_initializer=keras.initializers.RandomNormal(stddev=0.1, seed=SEED)),
                            seed=SEED, init_visible_bias=None)
movies_rbm.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1))
# one "epoch" below = 50 passes over the six users, so Keras' per-epoch overhead stays small
hist = movies_rbm.fit(np.tile(X, (50, 1)), epochs=UPDATES // 50, batch_size=6, shuffle=False, verbose=0)
print(f"trained {UPDATES} CD-1 updates; final reconstruction error "
      f"{hist.history['reconstruction_error'][-1]:.4f}")

# %%
viz.training_curves(hist, keys=["reconstruction_error"], title="Six-movie RBM")
plt.show()

# %% [markdown]
# ### Reading the weights table
#
# Rows are movies, columns are the bias and the two hidden units. A large positive weight
# means "this unit, when on, makes the movie likely". One hidden unit should carry large
# weights on the fantasy films and the other on the Oscar winners (which unit gets which
# group depends on the random start), and Glitter should be negative everywhere: the
# biases and weights jointly say "nobody watches Glitter".

# %%
W = movies_rbm.layer.kernel.numpy()
b = movies_rbm.layer.visible_bias.numpy()
print(f"{'':14s}{'bias':>8s}{'unit 1':>8s}{'unit 2':>8s}")
for name, bi, row in zip(SIX_MOVIES, b, W):
    print(f"{name:14s}{bi:8.2f}{row[0]:8.2f}{row[1]:8.2f}")
print(f"{'(hidden bias)':14s}{'':8s}" + "".join(f"{c:8.2f}" for c in movies_rbm.layer.hidden_bias.numpy()))
fig, ax = plt.subplots(figsize=(4, 3.2))
im = ax.imshow(np.c_[b, W], cmap="RdBu_r", vmin=-np.abs(W).max(), vmax=np.abs(W).max())
ax.set_yticks(range(6), SIX_MOVIES)
ax.set_xticks(range(3), ["bias", "unit 1", "unit 2"])
fig.colorbar(im)
ax.set_title("weights")
plt.show()

# %% [markdown]
# ### Asking the model about a new user
#
# George wants to watch Gladiator and Titanic. The forward pass tells us which hidden
# unit he turns on; the backward pass, from that unit alone, says which movies a person
# "like George" would want. LOTR 3, the Oscar-winning fantasy film, should score high.

# %%
george = np.array([[0, 0, 0, 1, 1, 0]], dtype="float32")
print("p(h | George)        =", np.round(movies_rbm.hidden_probs(george), 3))
for j in range(2):
    h = np.eye(2, dtype="float32")[j:j + 1]
    probs = movies_rbm.visible_probs(h)[0]
    print(f"movies when only unit {j + 1} is on:", {m: round(float(p), 2) for m, p in zip(SIX_MOVIES, probs)})
print("mean-field reconstruction of George:",
      {m: round(float(p), 2) for m, p in zip(SIX_MOVIES, movies_rbm.reconstruct(george)[0])})

# %% [markdown]
# **Summary.** `hidden_probs` / `run_visible` is the forward pass, `visible_probs` /
# `run_hidden` the backward pass, `free_energy` scores a configuration up to the constant
# $\log Z$, and for small models `log_partition(method="exact")` turns that score into a
# probability. Notebook 03 trains the same model on MNIST.

# %% [markdown]
# ## What you saw
#
# * The sampled hidden state was (0, 0) although $p(h_1 = 1 \mid v) = 0.66$: a sample is a
#   coin flip, and one flip says little. With both hidden units off and all biases 0, the
#   backward pass gives exactly 0.5 for every visible unit — the untrained toy RBM knows
#   nothing, and its "reconstruction" is pure chance.
# * The exact distribution over the 128 visible states sums to 1, and the chosen state
#   1001000 has probability 0.00109 — less than the uniform $1/128 = 0.0078$: the random
#   weights happen to favour other states.
# * The six-movie RBM found the two groups by itself: one unit has large positive weights
#   on Harry Potter and Avatar, the other on Gladiator and Titanic; LOTR 3, liked by both
#   groups, is positive for both, and Glitter is negative for both and has the lowest bias.
# * George (Gladiator, Titanic) switches on the Oscar-winners unit with certainty, and the
#   reconstruction recommends LOTR 3 to him (probability 1.0) — the film he did not name but
#   that people like him watch.
