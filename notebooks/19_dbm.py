# %% [markdown]
# # 19 · Deep Boltzmann machines: one undirected model, its bound and its samples
#
# Notebook 05 stacked RBMs into a **deep belief network** (DBN): each RBM is trained on the
# hidden activities of the one below, and the result is a *directed* model below its top two
# layers. Inference in a DBN runs bottom-up only.
#
# A **deep Boltzmann machine** (DBM, Salakhutdinov & Hinton 2009) keeps *every* layer undirected.
# With layers $x_0 = v, x_1 = h_1, \dots, x_L = h_L$ it is one energy-based model,
#
# $$E(v, h_1, \dots, h_L) = -\sum_l b_l^\top x_l - \sum_{l} x_l^\top W_l\, x_{l+1},
# \qquad p(v, h) = e^{-E(v, h)} / Z .$$
#
# What changes from the DBN:
#
# | | DBN (notebook 05) | DBM (here) |
# |---|---|---|
# | model | directed below the top RBM | undirected everywhere |
# | a hidden layer hears | the layer below only (for inference) | the layers below **and** above |
# | inference $q(h \mid v)$ | one bottom-up pass | **mean field**: fixed-point iterations $\mu_l = \sigma(b_l + W_{l-1}^\top \mu_{l-1} + W_l \mu_{l+1})$ |
# | training | greedy, one RBM at a time | greedy pretraining, then **joint** training of all layers: mean field for the data term, persistent Gibbs chains for the model term |
# | likelihood | hard even to bound | a **variational lower bound** per image, once $\log Z$ is known |
#
# Given the layers of one parity (v, h_2, ...), the layers of the other (h_1, h_3, ...) are
# independent of each other, so Gibbs sampling alternates between the odd and the even layers,
# and annealed importance sampling (AIS) can sum the odd layers out exactly.

# %% tags=["parameters"]
# parameters (papermill): SMALL=True is the quick CI setting, SMALL=False the full one
SMALL = True
SEED = 0
HIDDEN = (200, 200)
EPOCHS = None       # joint epochs; None: 4 when SMALL, 60 otherwise (3,000 updates, the CLI default)
AIS_BETAS = None    # the shorter AIS schedule (it is doubled as a check); None: 300 when SMALL, 2,000 otherwise
PRETRAIN_EPOCHS = None   # per pretraining RBM; None: 1 when SMALL, DBMModel's default (about 3,000 updates) otherwise
SAMPLE_STEPS = None      # Gibbs sweeps of the fresh chains; None: 100 when SMALL, 1,000 otherwise

# %% [markdown]
# *The outputs shown come from a real run with those parameters changed, equivalent to
# `papermill 19_dbm.ipynb out.ipynb -p SMALL False` (14 min on the shared 2-core CPU
# machine they were made on). "Run All" uses the cell above as written (`SMALL = True`, the
# quick setting the tests run), so its numbers will be those of a barely trained model.*

# %%
EPOCHS = EPOCHS or (4 if SMALL else 60)
AIS_BETAS = AIS_BETAS or (300 if SMALL else 2000)
PRETRAIN_EPOCHS = PRETRAIN_EPOCHS or (1 if SMALL else None)
SAMPLE_STEPS = SAMPLE_STEPS or (100 if SMALL else 1000)

# %%
# %matplotlib inline
import os
os.environ.setdefault("TFRBM_QUIET_TF", "1")   # TensorFlow without its start-up log lines
from tfrbm.course.notebook import setup
import numpy as np
import matplotlib.pyplot as plt
import keras
import tfrbm
from tfrbm import viz
from tfrbm.data.images import load_images
from tfrbm.likelihood import dbm as dbm_likelihood
setup(SEED)   # figures at 72 dpi, TensorFlow's logger at ERROR, every random generator seeded

# %% [markdown]
# ## Data
#
# The embedded 8x8 digits (1,500 training and 297 test images, 64 grey levels scaled to [0, 1]).
# The bound is a bound on $\log p(v)$ for **binary** $v$, so we also make a binary copy,
# sampled once: pixel $\sim$ Bernoulli(intensity). Training uses the intensities as
# probabilities, as `tfrbm dbm train` does on the digits.

# %%
x, y = load_images("digits", "train", holdout="stratified")
xt, yt = load_images("digits", "test", holdout="stratified")
rng = np.random.default_rng(SEED)
xb = (rng.random(x.shape) < x).astype("float32")
xtb = (rng.random(xt.shape) < xt).astype("float32")
print("train", x.shape, "test", xt.shape)

# %% [markdown]
# ## First, a DBM small enough to check by hand
#
# With 12 and 20 hidden units, the odd layer has 12 units: summing the even layers out
# analytically, $Z$ is a sum over $2^{12}$ states, which we can enumerate. That gives exact
# answers to check the two approximations a DBM lives on:
#
# * **AIS** estimates $\log Z$ by annealing from a simple model (independent units) to the DBM
#   through a schedule of inverse temperatures $\beta$; it reports a spread, the effective sample
#   size (ESS) of its importance weights, and how much the estimate moves when the schedule is
#   doubled;
# * the **mean-field bound** $\mathcal{L}(v) = \mathbb{E}_q[-E(v, h)] + H(q) - \log Z \le \log p(v)$.

# %%
tiny = tfrbm.DBMModel(hidden=[12, 20], seed=SEED, pretrain_epochs=PRETRAIN_EPOCHS)
tiny.fit(xb, epochs=EPOCHS, batch_size=30, verbose=0)
exact_z = tiny.log_partition("exact")
ais = dbm_likelihood.ais_with_doubling(tiny, AIS_BETAS, n_runs=100, seed=SEED)
print(f"exact log Z                  {exact_z:.4f}")
print(f"AIS log Z                    {ais.log_z:.4f}  [{ais.log_z_lower:.4f}, {ais.log_z_upper:.4f}]"
      f"  ESS {ais.ess:.1f}/100, change on doubling {ais.change_on_doubling:+.4f}")
exact_ll = tiny.log_likelihood(xtb, method="exact")
bound_exact_z = tiny.log_likelihood(xtb, method="bound", log_z=exact_z)
print(f"test mean log p(v), exact    {exact_ll:.3f}")
print(f"test mean bound (exact Z)    {bound_exact_z:.3f}   gap {exact_ll - bound_exact_z:.3f} nats")

# %% [markdown]
# ## The real model: 64-200-200
#
# `DBMModel.fit` first pretrains the stack of modified RBMs that Salakhutdinov & Hinton
# describe (the bottom one sees its input twice, the top one its output twice, so that the
# weights halve correctly when the layers join), then trains all layers jointly: each batch
# runs mean field to a fixed point for the data term and a few Gibbs sweeps of 100 persistent
# chains for the model term. The History logs the reconstruction loss and how many mean-field
# iterations the batches needed.

# %%
dbm = tfrbm.DBMModel(hidden=list(HIDDEN), seed=SEED, pretrain_epochs=PRETRAIN_EPOCHS)
steps_per_epoch = int(np.ceil(len(x) / 30))
rate = keras.optimizers.schedules.PolynomialDecay(0.005, EPOCHS * steps_per_epoch, 0.0005)
dbm.compile(optimizer=keras.optimizers.SGD(rate, momentum=0.9))
history = dbm.fit(x, epochs=EPOCHS, batch_size=30, verbose=0)
fig, axes = plt.subplots(1, 2, figsize=(9, 3))
axes[0].plot(history.history["loss"])
axes[0].set(xlabel="epoch", ylabel="reconstruction loss", title="joint training")
axes[1].plot(history.history["mean_field_steps"])
axes[1].set(xlabel="epoch", ylabel="mean-field iterations per batch")
plt.show()
print(f"final loss {history.history['loss'][-1]:.4f}, "
      f"mean-field iterations {history.history['mean_field_steps'][-1]:.1f}")

# %% [markdown]
# ## Its likelihood: the bound, with the AIS diagnostics
#
# 200 + 200 hidden units are far too many to enumerate, so $\log Z$ comes from AIS alone. The
# bound is then an estimate: AIS tends to *under*estimate $\log Z$, which would push the
# "lower bound" up. So the figure counts only with its diagnostics: a tight spread, a healthy
# ESS and a small change when the schedule doubles.

# %%
ais = dbm_likelihood.ais_with_doubling(dbm, AIS_BETAS, n_runs=100, seed=SEED)
test_u = float(np.mean(dbm.variational_bound(xtb)))
print(f"AIS log Z {ais.log_z:.3f} [{ais.log_z_lower:.3f}, {ais.log_z_upper:.3f}], "
      f"ESS {ais.ess:.1f}/100, change on doubling {ais.change_on_doubling:+.3f}")
print("problems:", ais.problems() or "none")
print(f"test mean-field bound {test_u - ais.log_z:.3f} nats per image "
      f"(log Z spread: [{test_u - ais.log_z_upper:.3f}, {test_u - ais.log_z_lower:.3f}])")

# %% [markdown]
# ## Samples: the persistent chains, and fresh chains
#
# The persistent chains followed the model during training. Fresh chains start from the
# biases-only states and run `SAMPLE_STEPS` Gibbs sweeps (1,000 at the committed setting); we show the visible means $p(v \mid h_1)$ of
# their last sweep.

# %%
persistent = keras.ops.convert_to_numpy(keras.ops.sigmoid(
    dbm.layer_input(0, [keras.ops.convert_to_tensor(c) for c in dbm.chains])))
fresh = dbm.sample(64, steps=SAMPLE_STEPS, seed=SEED)
viz.image_grid(persistent, nrows=4, ncols=16, shape=(8, 8), title="persistent chains")
plt.show()
viz.image_grid(fresh, nrows=4, ncols=16, shape=(8, 8), title=f"fresh chains after {SAMPLE_STEPS} sweeps")
plt.show()

# %% [markdown]
# ## A classifier from the DBM
#
# The paper's discriminative network: the mean-field posteriors of the layers above the first
# become extra inputs, each hidden layer starts from the DBM's weights (one mean-field update
# with the layer above held fixed), a softmax head is added, and everything is fine-tuned by
# backpropagation.

# %%
clf = dbm.to_classifier(10, optimizer=keras.optimizers.Adam(1e-3))
clf.fit(dbm.classifier_inputs(x), y, epochs=2 if SMALL else 60, batch_size=30, verbose=0)
_, acc = clf.evaluate(dbm.classifier_inputs(xt), yt, verbose=0)
print(f"DBM classifier test accuracy {acc:.4f} on {len(xt)} test digits")

# %% [markdown]
# ## What you saw
#
# * On the tiny, enumerable DBM, AIS gave log Z 54.7916 against the exact 54.7917, well inside
#   its spread [54.7582, 54.8240], with ESS 98.8 of 100 and a change of -0.0256 on doubling the
#   schedule. The mean-field bound on the test digits, -23.417 nats, sat 0.049 nats below the
#   exact test log-likelihood of -23.367, as a lower bound must.
# * The larger DBM's reconstruction loss kept falling through joint training, to 0.0269, and mean
#   field needed about 17 iterations per batch (17.1 in the last epoch). Its test bound is -23.097
#   nats per image, with log Z from AIS at ESS 86.9 of 100, a spread of [137.555, 137.790] and a
#   change of -0.051 on doubling: the estimate had settled, so the bound (-23.207 to -22.972 over
#   the log Z spread) is a fair figure, and it is above the tiny model's exact -23.367.
# * Both sample grids show digit shapes of many classes: the persistent chains look like the
#   training digits, and the fresh chains, started from the biases-only states, also found
#   digits rather than one blurry mode, though noisier ones.
# * The classifier initialised from the DBM reached a test accuracy of 0.9495 on the 297 test
#   digits.
