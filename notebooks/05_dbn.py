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
# # 05 · Deep belief networks: greedy pre-training and fine-tuning
#
# A deep belief network (DBN) is a stack of RBMs trained one at a time: the first RBM
# learns features of the pixels, the second learns features of those features, and so on
# ("greedy layer-wise pre-training"). The stack's weights then initialise an ordinary
# feed-forward network, which is *fine-tuned* with back-propagation:
#
# * as a **classifier** (compare against the same network started from random weights);
# * unrolled into a **deep autoencoder** (Hinton & Salakhutdinov, 2006).
#
# With a softmax group of label units beside its top RBM, the DBN also *generates* digits
# of a chosen class (Hinton, Osindero & Teh, 2006), and its free energy says how unusual
# an input is.
#
# The course lab's DBN is the one built here: MNIST, RBMs of 784 → 500 → 200 → 50 units,
# each trained for 5 epochs in batches of 100, then a sigmoid network initialised from them
# and fine-tuned for 10 epochs. (The quick setting, `SMALL = True`, runs a 64 → 32 → 16 → 8
# stack on 300 of scikit-learn's 8x8 digits instead, so that the tests take seconds.)

# %% tags=["parameters"]
# parameters (papermill): SMALL=True is the quick CI setting, SMALL=False the full one
SMALL = True
SEED = 0
DATA = None       # None: "digits" when SMALL, "mnist" otherwise (or "digits", "mnist", "auto")
N_TRAIN = None    # None: 300 images when SMALL, all of them otherwise

# %% [markdown]
# *The outputs shown come from a real run with those parameters changed, equivalent to
# `papermill 05_dbn.ipynb out.ipynb -p SMALL False` (52 min on the shared 2-core CPU
# machine they were made on). "Run All" uses the cell above as written (`SMALL = True`, the
# quick setting the tests run), so its numbers will be those of a barely trained model.*

# %%
DATA = DATA or ("digits" if SMALL else "mnist")
N_TRAIN = N_TRAIN or (300 if SMALL else None)
SIZES = [32, 16, 8] if SMALL else [500, 200, 50]   # hidden sizes, bottom first: the course lab's
FINETUNE_EPOCHS = 1 if SMALL else 10               # the course lab fine-tunes for 10 epochs
N_SCARCE = 100 if SMALL else 1000                  # labelled images in the scarce-label test
SCARCE_EPOCHS = 2 if SMALL else 50
TOP_EPOCHS = 1 if SMALL else 30                    # the labelled top RBM (generation)
STEPS = 50 if SMALL else 1000                      # Gibbs steps when sampling

# %%
# %matplotlib inline
import os
os.environ.setdefault("TFRBM_QUIET_TF", "1")   # TensorFlow without its start-up log lines
from tfrbm.course import notebook
from tfrbm.course.notebook import setup
import tfrbm
from tfrbm import viz
import numpy as np
import matplotlib.pyplot as plt
import keras
setup(SEED)   # figures at 72 dpi, TensorFlow's logger at ERROR, every random generator seeded

# %%
from tfrbm.data import images
name, shape, (x_train, y_train), (x_test, y_test) = images.load_images_or_digits(DATA, n_train=N_TRAIN)
# about 3,000 updates per RBM whatever the data size: 60,000 MNIST images take the course's
# batches of 100 and 5 epochs (default_schedule)
from tfrbm.models.dbn import default_schedule
BATCH, PRETRAIN_EPOCHS = (64, 1) if SMALL else default_schedule(len(x_train))
print(name, x_train.shape, x_test.shape, f"batch {BATCH}, {PRETRAIN_EPOCHS} epochs per RBM")

# %% [markdown]
# ## Greedy pre-training
#
# `DBNModel(SIZES).fit(x, epochs=E)` trains each RBM in turn, E epochs each, on the hidden
# probabilities of the one below,
#
# $$h^{(0)} = x,\qquad h^{(l)} = \sigma\big(c_l + h^{(l-1)} W_l\big),$$
#
# the lab's `prob_h_given_v` applied layer after layer (with $W_l$, $c_l$ the $l$-th RBM's
# weights and hidden biases, $\sigma$ the logistic sigmoid). Every step is a compiled Keras step that propagates the
# batch up to the layer being trained and applies that layer's contrastive-divergence
# update (notebook 02 writes that update by hand). Uncompiled, every layer uses SGD at rate
# 0.1 with momentum 0.5 (the lab uses plain SGD at rate 1.0). The History's `loss` is the
# trained layer's reconstruction error and `layer` says which layer an epoch trained.

# %%
dbn = tfrbm.DBNModel(SIZES, seed=SEED)
history = dbn.fit(x_train, epochs=PRETRAIN_EPOCHS, batch_size=BATCH, verbose=0)
print("sizes:", " -> ".join(map(str, dbn.sizes)))
layer_of_epoch = np.array(history.history["layer"], int)
fig, ax = plt.subplots(figsize=(5, 3))
for i in range(len(SIZES)):
    loss = np.array(history.history["loss"])[layer_of_epoch == i + 1]
    print(f"RBM {i + 1} ({dbn.sizes[i]} -> {dbn.sizes[i + 1]}): reconstruction error per epoch",
          " ".join(f"{v:.4f}" for v in loss))
    ax.plot(range(1, len(loss) + 1), loss, "o-",
            label=f"RBM {i + 1} ({dbn.sizes[i]} -> {dbn.sizes[i + 1]})")
ax.set(xlabel="epoch of the layer", ylabel="reconstruction error",
       title="layer-wise pre-training")
ax.legend()
plt.show()

# %%
viz.weight_tiles(dbn.rbms[0], shape=shape, n=64, title="first-layer features")
plt.show()

# %% [markdown]
# ## Fine-tuning: pre-trained against random initialisation
#
# `to_classifier(10)` copies the RBM weights into Dense sigmoid layers and adds a softmax
# head; `init="random"` builds the identical network from Keras' default initialisation.
# Both are trained the same way (Adam at 1e-3, the same batches, the same seed), first on
# every labelled training image.

# %%
results = {}
for init in ("pretrained", "random"):
    keras.utils.set_random_seed(SEED)
    clf = dbn.to_classifier(10, init=init, optimizer=keras.optimizers.Adam(1e-3))
    h = clf.fit(x_train, y_train, epochs=FINETUNE_EPOCHS, batch_size=BATCH,
                validation_data=(x_test, y_test), verbose=0)
    results[init] = (clf, h.history)
    print(f"{init:10s}: test accuracy after epoch 1 {h.history['val_accuracy'][0]:.4f}, "
          f"after epoch {FINETUNE_EPOCHS} {h.history['val_accuracy'][-1]:.4f}")
fig, ax = plt.subplots(figsize=(5, 3))
for init, (_, h) in results.items():
    ax.plot(range(1, FINETUNE_EPOCHS + 1), h["val_accuracy"], "o-", label=init)
ax.set(xlabel="epoch", ylabel="test accuracy", title=f"fine-tuning on {len(x_train):,} labelled images")
ax.legend()
plt.show()

# %% [markdown]
# Pre-training uses no labels. It should matter most when labels are scarce: the stack has
# learned the images' structure from all of them, and back-propagation from random weights
# has only a few labelled examples to learn everything from. Below, the same two networks
# are fine-tuned on only the first `N_SCARCE` labelled images (the pre-trained stack is the
# one above, trained without labels on all the images).

# %%
scarce = {}
for init in ("pretrained", "random"):
    keras.utils.set_random_seed(SEED)
    clf = dbn.to_classifier(10, init=init, optimizer=keras.optimizers.Adam(1e-3))
    h = clf.fit(x_train[:N_SCARCE], y_train[:N_SCARCE], epochs=SCARCE_EPOCHS, batch_size=BATCH,
                validation_data=(x_test, y_test), verbose=0)
    scarce[init] = h.history["val_accuracy"]
    print(f"{init:10s}, {N_SCARCE} labelled images, {SCARCE_EPOCHS} epochs: test accuracy "
          f"{scarce[init][-1]:.4f} (best epoch {max(scarce[init]):.4f})")

# %% [markdown]
# ## A deep autoencoder unrolled from the stack
#
# `to_autoencoder()` builds encoder and decoder from the same weights (the decoder uses
# the transposes) and fine-tunes the whole thing to reproduce its input. Its code is the
# top layer's units. For scale: PCA with as many components as the code has numbers
# (notebook 17 makes that comparison in detail).

# %%
from sklearn.decomposition import PCA
ae = dbn.to_autoencoder()
ae.fit(x_train, x_train, epochs=FINETUNE_EPOCHS, batch_size=BATCH, verbose=0)
recon = ae.predict(x_test, verbose=0)
pca = PCA(SIZES[-1], random_state=SEED).fit(x_train)
pca_recon = pca.inverse_transform(pca.transform(x_test))
print(f"code of {SIZES[-1]} numbers for {x_train.shape[1]} pixels; test reconstruction MSE per pixel: "
      f"deep autoencoder {np.mean((recon - x_test) ** 2):.4f}, PCA {np.mean((pca_recon - x_test) ** 2):.4f}")
viz.reconstructions(x_test[:10], recon[:10], shape=shape, title="deep autoencoder")
plt.show()

# %% [markdown]
# ## Dreams of the top-level RBM
#
# `dbn.sample(n, steps)` runs Gibbs sampling in the top RBM and passes the result down.

# %%
fantasies = dbn.sample(16, steps=STEPS, seed=SEED)
viz.image_grid(fantasies, 2, 8, shape=shape, title=f"DBN samples after {STEPS} Gibbs steps")
plt.show()

# %% [markdown]
# ## Digits of a chosen class
#
# `DBNModel(SIZES, n_labels=10)` trains its top RBM on the penultimate features *and* a
# 10-way softmax group of label units (`fit(x, y)`). `generate(label, n, steps)` clamps the
# label units to one class, runs Gibbs sampling in the top RBM (the features alternate with
# the top hidden units while the label stays fixed) and passes the features down to the
# pixels. The same top RBM also classifies: `classify(x)` compares the free energy of the
# features with each label clamped. The top RBM is trained by PCD with the centering trick
# and an SGD rate that falls linearly to 1 % of its start over `TOP_EPOCHS` epochs, the
# recipe `DBNModel`'s documentation gives for generation. Each row of the grid below is
# one class.

# %%
n_top_steps = TOP_EPOCHS * int(np.ceil(len(x_train) / BATCH))
top_rate = keras.optimizers.schedules.PolynomialDecay(0.05, n_top_steps, 0.0005)
gen = tfrbm.DBNModel(SIZES, n_labels=10, seed=SEED, layer_options=[{}] * (len(SIZES) - 1)
                     + [{"persistent": True, "centering": True}])
gen.compile(layer_optimizers=[None] * (len(SIZES) - 1) + [keras.optimizers.SGD(top_rate, momentum=0.5)])
gen.fit(x_train, y_train, epochs=[PRETRAIN_EPOCHS] * (len(SIZES) - 1) + [TOP_EPOCHS],
        batch_size=BATCH, verbose=0)
accuracy = float((gen.classify(x_test).argmax(1) == y_test).mean())
print(f"top RBM classification of the test set (no fine-tuning): {accuracy:.3f}")
digits_by_class = gen.generate(np.repeat(np.arange(10), 10), n=100, steps=STEPS, seed=SEED)
viz.image_grid(digits_by_class, 10, 10, shape=shape, title="generate(label): one row per class, 0 to 9")
plt.show()

# %% [markdown]
# Are they the digits they were asked for? A judge that never saw them decides: the
# randomly initialised classifier fine-tuned above on the real training images (it shares
# no weights with the DBN), asked to label 100 generated digits per class.

# %%
judge = results["random"][0]
print(f"judge on the real test images: {judge.evaluate(x_test, y_test, verbose=0)[1]:.4f}")
asked = np.repeat(np.arange(10), 100)
p = judge.predict(gen.generate(asked, n=len(asked), steps=STEPS, seed=SEED + 1), verbose=0)
said = p.argmax(1)
rates = [float(np.mean(said[asked == k] == k)) for k in range(10)]
print("share labelled as the requested class:", " ".join(f"{k}: {r:.2f}" for k, r in enumerate(rates)))
print(f"mean {np.mean(rates):.2f}, worst class {int(np.argmin(rates))} at {min(rates):.2f}; "
      f"labelled as requested with confidence > 0.9: {np.mean((said == asked) & (p.max(1) > 0.9)):.2f}")

# %% [markdown]
# ## Anomaly detection with the free energy
#
# A generative model scores how typical an input is, so it can flag inputs unlike its
# training data without ever seeing an anomaly. `anomaly_scores(x)` of a labelled DBN
# (higher = more anomalous) compares the free energies of the top RBM with each label
# clamped (`tfrbm.anomaly` gives the formulas; `RBMModel.anomaly_scores` does the same for a
# single RBM). The normal data are the held-out test digits; the anomalies are
# Fashion-MNIST's clothes (or, without that data set, the test digits upside down). The
# score is summarised by the ROC AUC (1 = every anomaly scores above every normal image)
# and by the share of anomalies flagged at a threshold that lets 5 % of the test digits
# raise a false alarm.

# %%
x_odd, odd_name = notebook.novelty_images(name, x_test, shape)
n_check = min(1000, len(x_test))
s_normal, s_odd = gen.anomaly_scores(x_test[:n_check]), gen.anomaly_scores(x_odd[:n_check])
check = notebook.novelty_check(s_normal, s_odd, odd_name, "anomaly score")
print(f"{n_check} held-out digits against {n_check} {odd_name}: AUC {check['auc']:.3f}; "
      f"flagged at 5% false alarms: {check['flagged']:.3f} of {odd_name}")
plt.show()

# %% [markdown]
# ## What you saw
#
# * Greedy pre-training of the course's 784 → 500 → 200 → 50 stack (5 epochs of batches of
#   100 per RBM, all 60,000 images): each RBM's reconstruction error dropped most between its
#   first and second epoch and then slowly (the first RBM's from 0.0256 to 0.0110, the
#   second's from 0.0293 to 0.0111). The 50-unit top RBM ends highest (0.0307): 50 binary
#   units describe 200 features less exactly. The first layer's features are pen-stroke
#   pieces, dots and rings at different places, many shaped like parts of whole digits.
# * Fine-tuned on all 60,000 labelled images for the lab's 10 epochs, the network started
#   from the stack is ahead after the first epoch (test accuracy 0.9538 against 0.9333) and
#   only slightly ahead after the tenth (0.9821 against 0.9786; one seed each): with this
#   many labels back-propagation from random weights nearly catches up. With only 1,000
#   labelled images the gap is far wider: 0.9078 against 0.8665 after 50 epochs.
#   Pre-training learns from the images without their labels, so it pays most where labels
#   are scarce.
# * Unrolled into a deep autoencoder and fine-tuned, the stack squeezes 784 pixels into a
#   50-number code and reconstructs the test digits with a mean squared error of 0.0076 per
#   pixel, below PCA with 50 components (0.0115), the best linear code of that size: the
#   non-linear code keeps more of each digit.
# * The unlabelled DBN's free-running samples are clean digits, but mostly 1s and 0s: each
#   chain settles near one of a few modes and stays there.
# * With the label clamped, most rows of the grid are the digit that was asked for, and the
#   failures are visible (a 9 in the 3s' row, a 1 in the 6s' row, a 3 in the 9s' row). The
#   judge, the randomly started network (0.9786 on the real test images, no weights shared
#   with the DBN), labels 0.88 of the generated digits as requested on average, from 1.00 for
#   the 1s down to 0.73 for the 8s, and 0.84 of them as requested with confidence above 0.9.
#   The same top RBM used as a classifier, with no fine-tuning, labels the test set at 0.935.
# * Trained on digits only, the labelled DBN's anomaly score separates held-out digits from
#   Fashion-MNIST's clothes with AUC 0.950, and a threshold that raises a false alarm on 5% of
#   the test digits flags 0.748 of the clothes. The histogram shows what is missing: the
#   digits' scores pile up near 0 and most clothes score far higher, but a quarter of the
#   clothes fall among the digits.
