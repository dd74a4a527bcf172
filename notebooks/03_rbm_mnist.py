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
# # 03 · Training an RBM on MNIST (the course assignment)
#
# This notebook works through the whole "Training your RBM on MNIST" assignment with
# `tfrbm`: look at the data, binarize it stochastically, train RBMs with 10 and with 400
# hidden units by contrastive divergence (CD-1), and then probe what they learned —
# reconstructions, recall of missing pixels, long Gibbs chains, the learned weights, and
# the free energy of digits against noise, and repairing a damaged 3. It then trains a second
# RBM with the recipe `benchmarks/RESULTS.md` found best (persistent CD, centering, a decaying
# rate), lets it `daydream` digits that a CNN judges, and uses its free energy to detect
# anomalies in held-out data.
#
# The model is the assignment's: Bernoulli visible and hidden units, weights and visible
# biases drawn from U(-0.01, 0.01), hidden biases 0, plain SGD with learning rate 0.1 and
# mini-batches of 64 (`tfrbm.course.assignment.assignment_model`).

# %% tags=["parameters"]
# parameters (papermill): SMALL=True is the quick CI setting, SMALL=False the full one
SMALL = True
SEED = 0
DATA = "auto"     # "mnist", "digits" (bundled 8x8 digits, offline) or "auto": MNIST if found
N_TRAIN = None    # None: 300 images when SMALL, all 60,000 otherwise
EPOCHS = None     # None: 1 epoch when SMALL, 10 otherwise

# %% [markdown]
# *The outputs shown come from a real run with those parameters changed, equivalent to
# `papermill 03_rbm_mnist.ipynb out.ipynb -p SMALL False -p N_TRAIN 20000 -p EPOCHS 5` (18 min on the shared 2-core CPU
# machine they were made on). "Run All" uses the cell above as written (`SMALL = True`, the
# quick setting the tests run), so its numbers will be those of a barely trained model.*

# %%
N_TRAIN = N_TRAIN or (300 if SMALL else 60000)     # training images
EPOCHS = EPOCHS or (1 if SMALL else 10)
STEPS = (100, 1000) if SMALL else (100, 1000, 10000)   # resampling chain lengths
N_HIDDEN = (10, 400) if not SMALL else (10, 64)
PCD_HIDDEN, PCD_EPOCHS = (64, 1) if SMALL else (500, 25)   # the PCD + centering model

# %%
# %matplotlib inline
import os
os.environ.setdefault("TFRBM_QUIET_TF", "1")   # TensorFlow without its start-up log lines
from tfrbm.course import notebook
from tfrbm.course.notebook import setup
from tfrbm import viz
import numpy as np
import matplotlib.pyplot as plt
setup(SEED)   # figures at 72 dpi, TensorFlow's logger at ERROR, every random generator seeded

# %% [markdown]
# ## The data
#
# `tfrbm.data.images.load_images` reads the MNIST IDX files from the data folder
# (`TFRBM_DATA_DIR`, or `../shared/datasets`). Without them the notebook falls back to
# scikit-learn's bundled 8×8 digits, so it always runs.

# %%
from tfrbm.data import images
from tfrbm.course import assignment
name, shape, (x_train, y_train), (x_test, y_test) = images.load_images_or_digits(DATA, n_train=N_TRAIN)
print(name, "train", x_train.shape, "test", x_test.shape)

# %% [markdown]
# ### An 8×8 grid of digits (the assignment's `PlotMe`)

# %%
viz.image_grid(x_train, 8, 8, shape=shape, title="64 training digits (intensities)")
plt.show()

# %% [markdown]
# ### Stochastic binarization
#
# The RBM has binary visible units, so each grey pixel becomes 1 with probability equal to
# its intensity. Drawing this afresh every epoch (as `tfrbm.data` pipelines do by default)
# acts like data augmentation; for the analysis below we binarize once with a fixed seed.

# %%
xb_train = assignment.binarize_once(x_train, seed=SEED)
xb_test = assignment.binarize_once(x_test, seed=SEED + 1)
viz.reconstructions(x_train[:10], {"binarized": xb_train[:10],
                              "again": assignment.binarize_once(x_train[:10], seed=99)},
               shape=shape, title="the same digits, binarized twice")
plt.show()


# %% [markdown]
# ## Training with 10 and with 400 hidden units
#
# Each epoch draws a new binarization of the training set (`images.image_dataset` with
# `binarize="stochastic"`) and runs CD-1 updates through Keras `fit`. The history holds the
# mean squared reconstruction error and the mean free energy of the batches.

# %%
def train(n_hidden):
    model = assignment.assignment_model(n_hidden=n_hidden, seed=SEED)
    ds = images.make_dataset(x_train, batch_size=64, shuffle=True, seed=SEED, binarize="stochastic")
    history = model.fit(ds, epochs=EPOCHS, verbose=0, validation_data=(xb_test[:1000],))
    return model, history

models, histories = {}, {}
for nh in N_HIDDEN:
    models[nh], histories[nh] = train(nh)
    h = histories[nh].history
    print(f"nh={nh:4d}: reconstruction error {h['reconstruction_error'][-1]:.4f} (train), "
          f"{h['val_reconstruction_error'][-1]:.4f} (test)")
small_nh, big_nh = N_HIDDEN
rbm = models[big_nh]

# %%
fig, ax = plt.subplots(1, 2, figsize=(9, 3))
for nh in N_HIDDEN:
    h = histories[nh].history
    ax[0].plot(range(1, EPOCHS + 1), h["reconstruction_error"], "o-", label=f"nh={nh} train")
    ax[0].plot(range(1, EPOCHS + 1), h["val_reconstruction_error"], "x--", label=f"nh={nh} test")
    ax[1].plot(range(1, EPOCHS + 1), h["free_energy"], "o-", label=f"nh={nh}")
ax[0].set(xlabel="epoch", ylabel="mean squared error", title="reconstruction error")
ax[1].set(xlabel="epoch", ylabel="mean F(v)", title="free energy of training batches")
ax[0].legend(fontsize=7)
ax[1].legend(fontsize=7)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Reconstructions: sampled and as probabilities
#
# One Gibbs step $v \to h \to v'$. The *sampled* reconstruction is a binary image; the
# *probabilities* $p(v' = 1 \mid h)$ are the smoother picture of what the model expects.
# Ten hidden units can only describe a few blurry prototypes; 400 keep the details.

# %%
for nh in N_HIDDEN:
    r = assignment.reconstructions(models[nh], xb_test[:10], seed=SEED)
    viz.reconstructions(r["data"], {"sampled": r["sampled"], "probabilities": r["probabilities"]},
                   shape=shape, title=f"one Gibbs step, nh={nh}")
    plt.show()

# %% [markdown]
# ## Recall with half of the pixels dropped
#
# Drop the bottom half of each test image, start the missing pixels at the training pixel
# means, and let the RBM fill them in while the known half stays clamped. We score the
# fraction of dropped pixels recovered exactly, against simply filling in the
# (thresholded) pixel means.

# %%
mask = assignment.half_mask(shape, x_train.shape[1], which="bottom")
pixel_means = xb_train.mean(axis=0)
recall_scores = {}
for nh in N_HIDDEN:
    res = recall_scores[nh] = assignment.recall(models[nh], xb_test[:1000], mask, pixel_means,
                                                steps=(1, 10, 50), seed=SEED)
    print(f"nh={nh:4d}: dropped pixels recovered " + ", ".join(
        f"{a:.3f} after {n} step(s)" for n, a in res["accuracy"].items())
          + f"   | pixel-mean baseline {res['baseline_accuracy']:.3f}")
fig, ax = plt.subplots(figsize=(5, 2.2))
labels = ["pixel means"] + [f"RBM nh={nh}" for nh in N_HIDDEN]
values = [res["baseline_accuracy"]] + [recall_scores[nh]["accuracy"][50] for nh in N_HIDDEN]
ax.barh(labels, values, color=["0.6"] + ["C0"] * len(N_HIDDEN))
for y, v in enumerate(values):
    ax.text(v, y, f" {v:.3f}", va="center")
ax.set(xlim=(min(values) - 0.05, 1.0), xlabel="fraction of dropped pixels recovered (50 steps)")
plt.show()
viz.reconstructions(res["masked"][:10], {"recalled (50 steps)": res["filled"][50][:10],
                                    "truth": xb_test[:10]},
               shape=shape, title=f"recall of the bottom half, nh={nh}")
plt.show()

# %% [markdown]
# ## Resampling: long Gibbs chains started at the data
#
# Running the chain for many steps forgets the starting digit and wanders through what
# the model believes digits look like. A well-trained RBM keeps producing digit-like
# images; an undertrained one drifts into noise or blobs.

# %%
chains = assignment.resample(rbm, xb_test[:8], steps=STEPS, seed=SEED)
trace = np.stack([xb_test[:8]] + [chains[s] for s in STEPS] + [chains["final_probabilities"]])
viz.gibbs_chain(trace, shape=shape, n_chains=8,
           step_labels=["data"] + [f"{s} steps" for s in STEPS] + ["p(v|h), last"],
           title=f"Gibbs chains from test digits, nh={big_nh}")
plt.show()

# %% [markdown]
# ## What the hidden units learned: weight tiles
#
# Each tile is one hidden unit's incoming weights, drawn as an image. Trained units look
# like strokes, blobs and pieces of digits; untrained ones look like noise.

# %%
viz.weight_tiles(models[small_nh], shape=shape, n=small_nh, ncols=small_nh, title=f"all {small_nh} units, nh={small_nh}")
plt.show()
viz.weight_tiles(rbm, shape=shape, n=100, title=f"first 100 units, nh={big_nh}")
plt.show()

# %% [markdown]
# ## Free energy: digits against noise
#
# $p(v) \propto e^{-F(v)}$, so lower free energy means "more like the training data". Digits
# should get far lower $F$ than images of uniform noise. The difference of the means is a
# log-probability ratio, and the AUC says how well $-F$ separates the two sets.

# %%
fe = assignment.free_energy_digits_vs_noise(rbm, xb_test[:1000], seed=SEED)
print(f"mean F: digits {fe['free_energy_digits']:.1f}, noise {fe['free_energy_noise']:.1f}; "
      f"log p(digit)/p(noise) ~ {fe['log_ratio']:.1f} nats; AUC {fe['auc']:.3f}")
assignment.free_energy_figure(fe)
plt.show()

# %% [markdown]
# ## Repairing damaged 3s, checked by a classifier
#
# Take 3s from the test set, scratch out the upper-right part of each (where a 3's upper
# bowl is), and let the RBM fill it back in while the intact pixels stay clamped:
#
# * **Gibbs** (`RBMModel.inpaint`): the damaged pixels are resampled from $p(v \mid h)$
#   again and again; the picture is $p(v \mid h)$ of the last step, so it stays a little
#   noisy;
# * **mean field** (what `assignment.recall` does): the damaged pixels are replaced by
#   their expected values, deterministically, until they settle.
#
# Whether a repair "looks like a 3" should not be left to the eye. As a judge we train the
# course CNN (notebook 06) for one epoch on the same binarized training images, and ask
# it what it sees in the intact, damaged and repaired digits.

# %%
from tfrbm.course import cnn
judge = cnn.compile_classifier(cnn.build_cnn(input_shape=(xb_train.shape[1],), image_shape=shape + (1,)),
                               learning_rate=1e-3)
judge.fit(xb_train, y_train, epochs=1, batch_size=50, verbose=0)
print(f"judge CNN: test accuracy {judge.evaluate(xb_test, y_test, verbose=0)[1]:.4f}")

# %%
threes = xb_test[np.flatnonzero(y_test == 3)[:8]]
rows, cols = shape
damage = np.ones(shape, dtype="float32")
damage[rows // 4: rows // 2 + 1, cols // 2:] = 0        # remove the upper-right part
damage = damage.reshape(-1)
damaged = threes * damage
repairs = {
    "Gibbs, 100 steps": rbm.inpaint(damaged, damage, steps=100, seed=SEED),
    "mean field, 50 steps": assignment.recall(rbm, threes, damage, pixel_means, steps=(50,))["filled"][50],
}
panels = {"damaged": damaged, **repairs}
viz.reconstructions(threes, panels, shape=shape, n=len(threes), title="repairing damaged 3s")
plt.show()
for label, imgs in {"intact": threes, **panels}.items():
    p = judge.predict(imgs, verbose=0)
    print(f"{label:22s} classified as {p.argmax(1)}   mean p(3) = {p[:, 3].mean():.2f}   "
          f"{np.mean(p.argmax(1) == 3):.0%} read as 3")

# %% [markdown]
# ## Samples that look like digits: PCD, centering and a decaying rate
#
# The long chains above drift to a few blobs: CD-1 shapes the model only next to the data.
# The recipe that `benchmarks/RESULTS.md` found best for MNIST (issue 14: the best likelihood
# bound at equal CPU time) changes three things:
#
# * **persistent CD** (`persistent=True`, 100 chains): the negative phase comes from chains
#   that keep running between updates and so visit what the model wrongly likes;
# * **centering** (`centering=True`): the gradient is taken with the visible and hidden units
#   measured from their running means, which keeps the updates well conditioned;
# * **a learning rate that decays** linearly from 0.03 to 0 (with momentum 0.5 and weight
#   decay 1e-5), so that late updates are small enough for the persistent chains to follow.
#
# Then `daydream` draws samples: 100 chains from random starts, 1,000 Gibbs steps each. The
# judge CNN above, which never saw them, says what digit each sample is and how sure it is.

# %%
import keras
from tfrbm import RBMLayer, RBMModel
updates = PCD_EPOCHS * (len(x_train) // 100)
pcd = RBMModel(RBMLayer(PCD_HIDDEN), persistent=True, n_chains=100, centering=True,
               weight_decay=1e-5, seed=SEED)
pcd.compile(optimizer=keras.optimizers.SGD(
    keras.optimizers.schedules.PolynomialDecay(0.03, updates, end_learning_rate=0.0), momentum=0.5))
ds = images.make_dataset(x_train, batch_size=100, shuffle=True, seed=SEED, binarize="stochastic")
pcd_history = pcd.fit(ds, epochs=PCD_EPOCHS, verbose=0)
print(f"PCD-1 + centering, {PCD_HIDDEN} hidden units, {PCD_EPOCHS} epochs ({updates:,} updates)")
samples = pcd.daydream(100, steps=1000, seed=SEED)
_, trace = pcd.daydream(5, steps=1000, trace=True, seed=SEED + 1)
viz.gibbs_chain(trace[[0, 9, 99, 999]], shape=shape, n_chains=5, step_labels=["1 step", "10", "100", "1,000"],
                title="daydream, step by step: 5 chains after 1 to 1,000 steps")
plt.show()
viz.image_grid(samples, 4, 10, shape=shape, title="the first 40 of the 100 daydream samples after 1,000 steps (p(v|h))")
plt.show()
p = judge.predict(samples, verbose=0)
confident = p.max(axis=1) > 0.9
print(f"judge CNN: {confident.mean():.2f} of the 100 samples are labelled with confidence > 0.9; "
      f"labels of those: {np.bincount(p.argmax(1)[confident], minlength=10)} (digits 0-9)")
cd1_chains = judge.predict(chains[STEPS[-1]], verbose=0)
print(f"for comparison, the CD-1 model's 8 chains above after {STEPS[-1]:,} steps: "
      f"{np.mean(cd1_chains.max(axis=1) > 0.9):.2f} labelled with confidence > 0.9")

# %% [markdown]
# ## Anomaly detection with the free energy
#
# $F(v)$ is $-\log p(v)$ up to the constant $\log Z$, so a *high* free energy marks an input
# the model finds unlikely. That is an anomaly detector that needs no anomalies to train:
# fit on normal data, then flag what scores above a threshold set on held-out normal data.
# Here the normal data are the held-out test digits (never trained on) and the anomalies
# are Fashion-MNIST clothes (upside-down digits when Fashion-MNIST is not available). The
# threshold lets 5% of the held-out digits through as false alarms.

# %%
x_odd, odd_name = notebook.novelty_images(name, x_test, shape)
x_odd = assignment.binarize_once(x_odd[:1000], seed=SEED + 2)
f_normal, f_odd = pcd.free_energy(xb_test[:1000]), pcd.free_energy(x_odd)
check = notebook.novelty_check(f_normal, f_odd, odd_name, "free energy F(v)")
print(f"mean F: held-out digits {f_normal.mean():.1f}, {odd_name} {f_odd.mean():.1f}; AUC {check['auc']:.3f}; "
      f"flagged at 5% false alarms: {check['flagged']:.3f} of {odd_name}")
plt.show()

# %% [markdown]
# ## What you saw
#
# * **Recall vs. the pixel-mean baseline.** Filling the bottom half with the thresholded
#   average image is a strong baseline — most pixels are background — and it recovers 87.0%
#   of the dropped pixels. With 10 hidden units the RBM does *worse* (85.2% after 50
#   mean-field steps): ten binary features can say little more than "roughly which kind of
#   digit", and a wrong guess about the kind costs more pixels than the average image does.
#   With 400 hidden units recall beats the baseline (87.8%) and improves with more steps
#   (87.2% after 1, 87.8% after 50). The margin is modest: the pixels that differ between
#   digits are few, and they are the hard ones.
# * **The CD-1 model's long chains are not digits.** Started from test digits, its chains
#   are already broken strokes after 100 steps and specks and blobs after the longer runs;
#   the judge CNN labels only 0.12 of the 8 with confidence above 0.9 after 10,000 steps.
#   CD-1 shapes the model only next to the data, so free-running chains fall into regions it never corrected.
# * **The PCD + centering + decaying-rate model dreams digits.** After
#   `daydream(100, steps=1000)` from random starts, the judge labels 0.83 of its 100 `daydream` samples with confidence above
#   0.9, and most of the pictures are clearly digits. They are not a fair sample of all
#   digits: of the confident ones, 32 are 2s and none is a 5 or an 8, so the chains
#   still favour a few modes.
# * **Free energy** separates digits from noise completely (AUC 1.000): the gap of about
#   382.0 nats in mean $F$ is a log-probability ratio, so noise is astronomically less
#   likely. As an **anomaly detector** on held-out data it works as well: against
#   Fashion-MNIST the test digits' free energies are far lower (mean -461.7 against -4.9,
#   AUC 1.000), and a threshold that lets 5% of held-out digits through flags 0.998 of the
#   clothes, with no clothes seen in training.
# * **Repair.** The judge CNN (test accuracy 0.9653 after its single epoch) reads all eight
#   intact 3s as 3s. Damage lowers its mean $p(3)$ from 0.97 to 0.79 and turns one of them
#   into a 2; after either repair all eight are read as 3s again, with mean $p(3)$ 0.96
#   (Gibbs) and 0.97 (mean field).
#
# One `fit` call trains each RBM; the verbs `reconstruct`, `inpaint`, `gibbs` / `daydream`
# and `free_energy` plus the `tfrbm.course.assignment` helpers answer every question the
# assignment asks. The same analysis runs from the command line as
# `python -m tfrbm assignment` (see the README).
