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
# `papermill 02_rbm_intro.ipynb out.ipynb -p SMALL False` (4 min on the shared 2-core CPU
# machine they were made on). "Run All" uses the cell above as written (`SMALL = True`, the
# quick setting the tests run), so its numbers will be those of a barely trained model.*

# %%
UPDATES = 300 if SMALL else 5000   # CD-1 updates for the six-movie RBM (batches of the 6 users)
LL_UPDATES = 200 if SMALL else 2000  # updates of each recipe in the CD-k / PCD comparison

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
import tensorflow as tf
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
from tfrbm.course.recommender import SIX_MOVIES, SIX_MOVIE_USERS
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
# ## 3. Generative, not discriminative
#
# A *discriminative* model (logistic regression, the CNN of notebook 06) learns
# $p(y \mid x)$: given an input, a label. It answers one question and cannot say what inputs
# look like. A *generative* model learns the distribution of the data itself, here
# $p(v) = \sum_h p(v, h)$. It has no label to predict, and it can do things a classifier
# cannot: fill in missing values (George's reconstruction above), score how typical an input
# is (the free energy), and *generate* new data. Below the six-movie RBM makes up 1,000 new
# users with `daydream` (Gibbs chains from random starts); we count which tastes it produces.

# %%
fantasy_users = movies_rbm.daydream(1000, steps=200, sample=True, seed=SEED)
patterns, counts = np.unique(fantasy_users.astype(int), axis=0, return_counts=True)
print("the 5 most common of the", len(patterns), "made-up tastes (HP, Avatar, LOTR3, Glad, Titanic, Glitter):")
for k in np.argsort(-counts)[:5]:
    known = [u for u in users if tuple(SIX_MOVIE_USERS[u]) == tuple(patterns[k])]
    print(f"  {patterns[k]}  {counts[k] / 10:5.1f}%   {'like ' + ', '.join(known) if known else 'a new user'}")
print(f"share of made-up users who want Glitter: {fantasy_users[:, 5].mean():.3f}")

# %% [markdown]
# ## 4. Contrastive divergence by hand
#
# How did the RBM above learn? The gradient of the log-likelihood of a visible vector is a
# difference of two expectations,
#
# $$\frac{\partial \log p(v)}{\partial W_{ij}} = \langle v_i h_j \rangle_{\text{data}} - \langle v_i h_j \rangle_{\text{model}} .$$
#
# The first term (the *positive phase*) clamps the data on the visible units and averages
# $v_i\,p(h_j = 1 \mid v)$. The second (the *negative phase*) needs samples of the model,
# which would take a long Gibbs chain. **Contrastive divergence** (CD-k) starts the chain at
# the data and stops it after $k$ steps: $v_0 \to h_0 \to v_1 \to \dots \to v_k$. With a
# learning rate $\alpha$ and a batch of $B$ rows, one CD update is
#
# $$W \leftarrow W + \frac{\alpha}{B}\left(v_0^\top p(h \mid v_0) - v_k^\top p(h \mid v_k)\right),\quad
# b \leftarrow b + \alpha\,\overline{(v_0 - v_k)},\quad
# c \leftarrow c + \alpha\,\overline{\big(p(h \mid v_0) - p(h \mid v_k)\big)}$$
#
# echen's tutorial calls the two terms `Positive` and `Negative`. Here is CD-1 in a few lines
# of TensorFlow. The coin flips are `stateless_uniform` draws from seeds derived from one seed
# the way `RBMModel` derives them, so the same seed gives the same flips as the library.

# %%
fold = tf.random.experimental.stateless_fold_in


def cd1_update(W, b, c, v0, seed, lr):
    """One CD-1 update of the weights W and biases b (visible), c (hidden) on the batch v0."""
    ph0 = tf.sigmoid(c + v0 @ W)                                        # positive phase: p(h | v0)
    h0 = tf.cast(tf.random.stateless_uniform(ph0.shape, seed=fold(seed, 1)) < ph0, tf.float32)
    pv1 = tf.sigmoid(b + h0 @ tf.transpose(W))                          # one Gibbs step: p(v | h0)
    v1 = tf.cast(tf.random.stateless_uniform(pv1.shape, seed=fold(fold(fold(seed, 3), 0), 0)) < pv1,
                 tf.float32)
    ph1 = tf.sigmoid(c + v1 @ W)                                        # negative phase: p(h | v1)
    positive = tf.transpose(v0) @ ph0 / len(v0)
    negative = tf.transpose(v1) @ ph1 / len(v0)
    return (W + lr * (positive - negative), b + lr * tf.reduce_mean(v0 - v1, axis=0),
            c + lr * tf.reduce_mean(ph0 - ph1, axis=0))


# the library: a fresh RBM like the one above, and one fit step on the batch of all six users
rbm = tfrbm.RBMModel(tfrbm.RBMLayer(2, kernel_initializer=keras.initializers.RandomNormal(stddev=0.1, seed=SEED)),
                     seed=SEED, init_visible_bias=None)
rbm.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1))
rbm.initialize_from_data(X)              # what fit does first (it also starts PCD's chains)
seed = rbm.seed_generator.state.numpy()  # the seed fit's first training step will draw
before = [v.numpy() for v in (rbm.layer.kernel, rbm.layer.visible_bias, rbm.layer.hidden_bias)]
by_hand = cd1_update(*before, X, seed, lr=0.1)
rbm.fit(X, epochs=1, batch_size=6, shuffle=False, verbose=0)
after = [v.numpy() for v in (rbm.layer.kernel, rbm.layer.visible_bias, rbm.layer.hidden_bias)]
for name, old, hand, lib in zip(("W", "b", "c"), before, by_hand, after):
    print(f"{name}: the update moved it by up to {np.abs(lib - old).max():.4f}; "
          f"by hand vs RBMModel.fit differ by {np.abs(hand.numpy() - lib).max():.1e}")

# %% [markdown]
# ### CD-k and persistent CD
#
# CD-1's negative phase stays next to the data: after one step the chain has not had time
# to reach the places the model wrongly likes, so those are never pushed down. Two fixes:
#
# * **CD-k** runs $k$ Gibbs steps (`RBMModel(cd_k=10)`), closer to a model sample, $k$ times
#   the cost;
# * **persistent CD** (PCD, `persistent=True`) does not restart the chain at the data: a set
#   of *persistent chains* (here 100) takes one Gibbs step per update from wherever the
#   previous update left them. Since the weights change little between updates, the chains
#   stay close to samples of the current model, at the cost of CD-1. They also roam: where the
#   model puts probability that the data do not, the chains go there and the update pushes it
#   down. With a large constant learning rate the weights move faster than the chains can
#   follow, so PCD is usually run with a decaying rate.
#
# Six visible units have only $2^6 = 64$ states, so the exact log-likelihood of the six
# users can be tracked during training. The best any model can reach is the entropy bound,
# $\sum_v \hat p(v) \log \hat p(v)$ over the data's own frequencies.

# %%
decay = keras.optimizers.schedules.PolynomialDecay(0.1, LL_UPDATES, end_learning_rate=0.001)
recipes = {"CD-1": (dict(cd_k=1), 0.1), "CD-10": (dict(cd_k=10), 0.1),
           "PCD-1": (dict(persistent=True, n_chains=100), 0.1),
           "PCD-1, decaying rate": (dict(persistent=True, n_chains=100), decay)}
curves = {}
for label, (options, rate) in recipes.items():
    m = tfrbm.RBMModel(tfrbm.RBMLayer(2, kernel_initializer=keras.initializers.RandomNormal(stddev=0.1, seed=SEED)),
                       seed=SEED, init_visible_bias=None, **options)
    m.compile(optimizer=keras.optimizers.SGD(learning_rate=rate))
    curves[label] = []
    for _ in range(LL_UPDATES // 100):         # 100 updates, then the exact log-likelihood
        m.fit(np.tile(X, (100, 1)), epochs=1, batch_size=6, shuffle=False, verbose=0)
        curves[label].append(m.log_likelihood(X, method="exact"))
_, freq = np.unique(X, axis=0, return_counts=True)
bound = float(np.sum(freq / 6 * np.log(freq / 6)))
for label, ll in curves.items():
    print(f"{label:22s} mean log p(v) after {LL_UPDATES} updates: {ll[-1]:.3f}   (best on the way: {max(ll):.3f})")
print(f"{'entropy bound':22s} {bound:.3f}")
fig, ax = plt.subplots(figsize=(6, 3))
for label, ll in curves.items():
    ax.plot(np.arange(1, len(ll) + 1) * 100, ll, label=label)
ax.axhline(bound, color="k", ls=":", label="entropy bound")
ax.set(xlabel="updates", ylabel="mean log p(v), exact", title="CD-1, CD-10 and PCD on the six users")
ax.legend(fontsize=8, loc="lower right")
plt.show()

# %% [markdown]
# **Summary.** `hidden_probs` / `run_visible` is the forward pass, `visible_probs` /
# `run_hidden` the backward pass, `free_energy` scores a configuration up to the constant
# $\log Z$, and for small models `log_partition(method="exact")` turns that score into a
# probability. Notebook 03 trains the same model on MNIST.

# %% [markdown]
# ## What you saw
#
# * The sampled hidden state was (0, 0) although $p(h_1 = 1 \mid v) = 0.664$: a sample is a
#   coin flip, and one flip says little. With both hidden units off and all biases 0, the
#   backward pass gives exactly 0.5 for every visible unit — the untrained toy RBM knows
#   nothing, and its "reconstruction" is pure chance.
# * The exact distribution over the $2^7$ visible states sums to 1, and the chosen state
#   $v = (1, 0, 0, 1, 0, 0, 0)$ has probability 0.00109 — less than the uniform
#   $1/2^7 \approx 0.0078$: the random weights happen to favour other states.
# * The six-movie RBM found the two groups by itself: one unit has large positive weights
#   on Harry Potter and Avatar (4.53, 1.95), the other on Gladiator and Titanic (6.45, 3.13);
#   LOTR 3, liked by both groups, is positive for both, and Glitter is negative for both and
#   has the lowest bias (-4.33).
# * George (Gladiator, Titanic) switches on the Oscar-winners unit with certainty, and the
#   reconstruction recommends LOTR 3 to him (probability 1.0) — the film he did not name but
#   that people like him watch.
# * Generating: of the users `daydream` made up, almost all have the tastes of the six real ones
#   (34.7% like David and Fred, 33.0% like Alice and Carol, 16.4% like Eric, 14.7% like Bob),
#   and only 0.003 of them want Glitter. A model of $p(v)$ can do this; a classifier cannot.
# * Contrastive divergence written out in a few lines of TensorFlow gave the same update as
#   one step of `RBMModel.fit` with the same seed: the weights moved by up to 0.0340, and the
#   two results differ by at most 7.5e-09 (float32 rounding).
# * With the exact log-likelihood as the judge, all four recipes end between -1.458 and
#   -1.386 after 2000 updates, below the entropy bound (-1.330) that no model can pass. CD-10 ends best (-1.386) and CD-1 close
#   behind (-1.398). PCD-1 at a constant rate reaches the best value on the way (-1.377) but
#   then swings and ends at -1.440: its chains follow the model, so a large step moves the
#   target they sample. With the rate decaying to 0.001 over the same 2000 updates its
#   curve is smooth but lower throughout (-1.458 at the end): the rate fell before it had
#   converged. On six users and 64 states CD-1's short chains are already good enough; PCD
#   pays off on larger models (notebook 03).
