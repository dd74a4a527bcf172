"""Generate the course notebooks (notebooks/*.ipynb) from the Python source in this file.

Each notebook is a list of cells: ``md(text)`` for prose, ``code(src)`` for code and
``params(src)`` for the papermill-style cell tagged "parameters". Edit the source here, then:

    python notebooks/_build.py            # write every notebook, without outputs
    python notebooks/_build.py 03_rbm_mnist  # just one

and execute them (outputs committed) with
    python notebooks/_build.py --execute [names...]     # runs with SMALL=False
"""
import pathlib
import sys
import textwrap

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = pathlib.Path(__file__).resolve().parent


def md(text):
    return new_markdown_cell(textwrap.dedent(text).strip())


def code(src):
    return new_code_cell(textwrap.dedent(src).strip())


def params(src):
    cell = code(src)
    cell.metadata["tags"] = ["parameters"]
    return cell


# Shared first code cell: find the repository (works from the repo root or notebooks/), quiet TF.
SETUP = """
import os, sys, pathlib
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = pathlib.Path.cwd()
if not (ROOT / "tfrbm").is_dir() and (ROOT.parent / "tfrbm").is_dir():
    ROOT = ROOT.parent
sys.path.insert(0, str(ROOT))
import numpy as np
import matplotlib
import matplotlib.pyplot as plt
%matplotlib inline
plt.rcParams["figure.dpi"] = 72
import tfrbm                       # imports TensorFlow quietly
import keras
import tensorflow as tf
from tfrbm import viz
from IPython.display import display as show   # tfrbm.viz returns figures; show() draws them
keras.utils.set_random_seed(SEED)
"""

NOTEBOOKS = {}


def notebook(name):
    def deco(fn):
        NOTEBOOKS[name] = fn
        return fn
    return deco


# --------------------------------------------------------------------------------------- 02
@notebook("02_rbm_intro")
def nb02():
    return [
        md("""
        # 02 · What a restricted Boltzmann machine computes

        An RBM is a two-layer network: *visible* units **v** (the data) and *hidden* units **h**
        (features), with weights only *between* the layers. That missing within-layer wiring is the
        "restricted" part, and it is what makes the model easy to use: given one layer, the units
        of the other layer are independent of each other.

        The model gives every joint configuration an energy,
        $E(v, h) = -b^\\top v - c^\\top h - v^\\top W h$, and a probability
        $p(v, h) = e^{-E(v,h)}/Z$. Summing out **h** gives the *free energy*
        $F(v) = -b^\\top v - \\sum_j \\log(1 + e^{c_j + (v^\\top W)_j})$ with $p(v) = e^{-F(v)}/Z$.

        This notebook does three things with `tfrbm`:

        1. a **forward pass** (visible → hidden) and a **backward pass** (hidden → visible) through
           a toy RBM with 7 visible and 2 hidden units;
        2. the **probability of one visible configuration**, computed exactly (the model is small
           enough to enumerate all $2^7$ visible states);
        3. the six-movie example: train an RBM on six users' movie choices and read its weights.
        """),
        params("""
        # parameters (papermill): SMALL=True is the quick CI setting, SMALL=False the full one
        SMALL = True
        SEED = 42
        """),
        code("""
        UPDATES = 300 if SMALL else 5000   # CD-1 updates for the six-movie RBM (batches of the 6 users)
        """),
        code(SETUP),
        md("""
        ## 1. A toy RBM: 7 visible units, 2 hidden units

        `RBMLayer(units)` holds the weights $W$ (7 × 2), the visible biases $b$ and the hidden
        biases $c$. We build it for 7 inputs and give it small random weights.
        """),
        code("""
        layer = tfrbm.RBMLayer(2, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=SEED))
        model = tfrbm.RBMModel(layer, seed=SEED)
        model.build((None, 7))
        print("W =\\n", np.round(layer.kernel.numpy(), 3))
        print("visible bias b =", layer.visible_bias.numpy(), " hidden bias c =", layer.hidden_bias.numpy())
        """),
        md("""
        ### Forward pass: $p(h_j = 1 \\mid v) = \\sigma(c_j + \\sum_i v_i W_{ij})$

        Each hidden unit switches on with a probability given by the logistic sigmoid of its
        input. A *sample* of the hidden layer flips a biased coin for each unit.
        """),
        code("""
        v = np.array([[1, 0, 0, 1, 0, 0, 0]], dtype="float32")
        p_h = model.hidden_probs(v)
        h = model.run_visible(v, sample=True, seed=1)
        print("p(h=1 | v) =", np.round(p_h, 3))
        print("one sample of h:", h)
        """),
        md("""
        ### Backward pass: $p(v_i = 1 \\mid h) = \\sigma(b_i + \\sum_j W_{ij} h_j)$

        Going back from the hidden sample gives a *reconstruction* of the input: probabilities
        for each visible unit, or a sampled binary vector. Training (contrastive divergence)
        pushes reconstructions of the training data towards the data itself.
        """),
        code("""
        p_v = model.visible_probs(h)
        v1 = model.run_hidden(h, sample=True, seed=2)
        print("p(v=1 | h)   =", np.round(p_v, 3))
        print("sampled v'   =", v1)
        print("error |v - p(v|h)|^2 =", float(np.sum((v - p_v) ** 2)))
        """),
        md("""
        ### The probability of a visible configuration

        $p(v) = e^{-F(v)} / Z$ needs the partition function $Z = \\sum_v e^{-F(v)}$. With 7
        visible units there are only 128 states, so `log_partition(method="exact")` sums them
        all. (For MNIST's 784 pixels that is impossible; notebook 03 uses other tools.)
        """),
        code("""
        log_z = float(model.log_partition(method="exact"))
        print(f"log Z = {log_z:.4f}")
        print(f"F(v) = {model.free_energy(v)[0]:.4f}")
        print(f"log p(v) = {model.log_likelihood(v, method='exact'):.4f}  ->  p(v) = {np.exp(model.log_likelihood(v)):.5f}")
        """),
        code("""
        from tfrbm import likelihood
        states = likelihood.binary_states(7)
        probs = likelihood.exact_visible_distribution(layer)
        idx = int(np.argmax((states == v[0]).all(axis=1)))
        fig, ax = plt.subplots(figsize=(9, 2.6))
        ax.bar(np.arange(128), probs, color="0.6")
        ax.bar([idx], [probs[idx]], color="C3", label="v = 1001000")
        ax.set_xlabel("visible state (binary counting order)"); ax.set_ylabel("p(v)")
        ax.set_title(f"The toy RBM's distribution over all 128 visible states (sums to {probs.sum():.3f})")
        ax.legend(); plt.show()
        """),
        md("""
        ## 2. Six movies, six users (the echen example)

        Six users say which of six movies they want to watch. Three like the fantasy films
        (Harry Potter, Avatar, LOTR 3); three like the Oscar winners (LOTR 3, Gladiator,
        Titanic); nobody wants Glitter. An RBM with two hidden units should discover those two
        groups as its two features.
        """),
        code("""
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
        """),
        code("""
        show(viz.training_curves(hist, keys=["reconstruction_error"], title="Six-movie RBM"))
        """),
        md("""
        ### Reading the weights table

        Rows are movies, columns are the bias and the two hidden units. A large positive weight
        means "this unit, when on, makes the movie likely". One hidden unit should carry large
        weights on the fantasy films and the other on the Oscar winners (which unit gets which
        group depends on the random start), and Glitter should be negative everywhere: the
        biases and weights jointly say "nobody watches Glitter".
        """),
        code("""
        W = movies_rbm.layer.kernel.numpy(); b = movies_rbm.layer.visible_bias.numpy()
        print(f"{'':14s}{'bias':>8s}{'unit 1':>8s}{'unit 2':>8s}")
        for name, bi, row in zip(SIX_MOVIES, b, W):
            print(f"{name:14s}{bi:8.2f}{row[0]:8.2f}{row[1]:8.2f}")
        print(f"{'(hidden bias)':14s}{'':8s}" + "".join(f"{c:8.2f}" for c in movies_rbm.layer.hidden_bias.numpy()))
        fig, ax = plt.subplots(figsize=(4, 3.2))
        im = ax.imshow(np.c_[b, W], cmap="RdBu_r", vmin=-np.abs(W).max(), vmax=np.abs(W).max())
        ax.set_yticks(range(6), SIX_MOVIES); ax.set_xticks(range(3), ["bias", "unit 1", "unit 2"])
        fig.colorbar(im); ax.set_title("weights"); plt.show()
        """),
        md("""
        ### Asking the model about a new user

        George wants to watch Gladiator and Titanic. The forward pass tells us which hidden
        unit he turns on; the backward pass, from that unit alone, says which movies a person
        "like George" would want. LOTR 3, the Oscar-winning fantasy film, should score high.
        """),
        code("""
        george = np.array([[0, 0, 0, 1, 1, 0]], dtype="float32")
        print("p(h | George)        =", np.round(movies_rbm.hidden_probs(george), 3))
        for j in range(2):
            h = np.eye(2, dtype="float32")[j:j + 1]
            probs = movies_rbm.visible_probs(h)[0]
            print(f"movies when only unit {j + 1} is on:", {m: round(float(p), 2) for m, p in zip(SIX_MOVIES, probs)})
        print("mean-field reconstruction of George:",
              {m: round(float(p), 2) for m, p in zip(SIX_MOVIES, movies_rbm.reconstruct(george)[0])})
        """),
        md("""
        **Summary.** `hidden_probs` / `run_visible` is the forward pass, `visible_probs` /
        `run_hidden` the backward pass, `free_energy` scores a configuration up to the constant
        $\\log Z$, and for small models `log_partition(method="exact")` turns that score into a
        probability. Notebook 03 trains the same model on MNIST.
        """),
    ]


# --------------------------------------------------------------------------------------- 03
@notebook("03_rbm_mnist")
def nb03():
    return [
        md("""
        # 03 · Training an RBM on MNIST (the course assignment)

        This notebook works through the whole "Training your RBM on MNIST" assignment with
        `tfrbm`: look at the data, binarize it stochastically, train RBMs with 10 and with 400
        hidden units by contrastive divergence (CD-1), and then probe what they learned —
        reconstructions, recall of missing pixels, long Gibbs chains, the learned weights, and
        the free energy of digits against noise. It ends by repairing a damaged 3.

        The model is the assignment's: Bernoulli visible and hidden units, weights and visible
        biases drawn from U(-0.01, 0.01), hidden biases 0, plain SGD with learning rate 0.1 and
        mini-batches of 64 (`tfrbm.assignment.assignment_model`).
        """),
        params("""
        # parameters (papermill): SMALL=True is the quick CI setting, SMALL=False the full one
        SMALL = True
        SEED = 0
        DATA = "auto"     # "mnist", "digits" (bundled 8x8 digits, offline) or "auto": MNIST if found
        N_TRAIN = None    # None: 300 images when SMALL, all 60,000 otherwise
        EPOCHS = None     # None: 1 epoch when SMALL, 10 otherwise
        """),
        code("""
        N_TRAIN = N_TRAIN or (300 if SMALL else 60000)     # training images
        EPOCHS = EPOCHS or (1 if SMALL else 10)
        STEPS = (100, 1000) if SMALL else (100, 1000, 10000)   # resampling chain lengths
        N_HIDDEN = (10, 400) if not SMALL else (10, 64)
        """),
        code(SETUP),
        md("""
        ## The data

        `tfrbm.data.images.load_images` reads the MNIST IDX files from the data folder
        (`TFRBM_DATA_DIR`, or `../shared/datasets`). Without them the notebook falls back to
        scikit-learn's bundled 8×8 digits, so it always runs.
        """),
        code("""
        from tfrbm.data import images
        from tfrbm import assignment
        name = DATA
        if name == "auto":
            try:
                images.load_mnist("test")
                name = "mnist"
            except Exception as err:   # no MNIST files here
                print("MNIST not found, using the bundled 8x8 digits:", str(err).splitlines()[0])
                name = "digits"
        shape = images.image_shape(name)
        x_train, y_train = images.load_images(name, "train")
        x_test, y_test = images.load_images(name, "test")
        x_train, y_train = x_train[:N_TRAIN], y_train[:N_TRAIN]
        print(name, "train", x_train.shape, "test", x_test.shape)
        """),
        md("""
        ### An 8×8 grid of digits (the assignment's `PlotMe`)
        """),
        code("""
        show(viz.image_grid(x_train, 8, 8, shape=shape, title="64 training digits (intensities)"))
        """),
        md("""
        ### Stochastic binarization

        The RBM has binary visible units, so each grey pixel becomes 1 with probability equal to
        its intensity. Drawing this afresh every epoch (as `tfrbm.data` pipelines do by default)
        acts like data augmentation; for the analysis below we binarize once with a fixed seed.
        """),
        code("""
        xb_train = assignment.binarize_once(x_train, seed=SEED)
        xb_test = assignment.binarize_once(x_test, seed=SEED + 1)
        show(viz.reconstructions(x_train[:10], {"binarized": xb_train[:10],
                                           "again": assignment.binarize_once(x_train[:10], seed=99)},
                            shape=shape, title="the same digits, binarized twice"))
        """),
        md("""
        ## Training with 10 and with 400 hidden units

        Each epoch draws a new binarization of the training set (`images.image_dataset` with
        `binarize="stochastic"`) and runs CD-1 updates through Keras `fit`. The history holds the
        mean squared reconstruction error and the mean free energy of the batches.
        """),
        code("""
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
        """),
        code("""
        fig, ax = plt.subplots(1, 2, figsize=(9, 3))
        for nh in N_HIDDEN:
            h = histories[nh].history
            ax[0].plot(range(1, EPOCHS + 1), h["reconstruction_error"], "o-", label=f"nh={nh} train")
            ax[0].plot(range(1, EPOCHS + 1), h["val_reconstruction_error"], "x--", label=f"nh={nh} test")
            ax[1].plot(range(1, EPOCHS + 1), h["free_energy"], "o-", label=f"nh={nh}")
        ax[0].set(xlabel="epoch", ylabel="mean squared error", title="reconstruction error")
        ax[1].set(xlabel="epoch", ylabel="mean F(v)", title="free energy of training batches")
        ax[0].legend(fontsize=7); ax[1].legend(fontsize=7); fig.tight_layout(); plt.show()
        """),
        md("""
        ## Reconstructions: sampled and as probabilities

        One Gibbs step $v \\to h \\to v'$. The *sampled* reconstruction is a binary image; the
        *probabilities* $p(v' = 1 \\mid h)$ are the smoother picture of what the model expects.
        Ten hidden units can only describe a few blurry prototypes; 400 keep the details.
        """),
        code("""
        for nh in N_HIDDEN:
            r = assignment.reconstructions(models[nh], xb_test[:10], seed=SEED)
            show(viz.reconstructions(r["data"], {"sampled": r["sampled"], "probabilities": r["probabilities"]},
                                shape=shape, title=f"one Gibbs step, nh={nh}"))
        """),
        md("""
        ## Recall with half of the pixels dropped

        Drop the bottom half of each test image, start the missing pixels at the training pixel
        means, and let the RBM fill them in while the known half stays clamped. We score the
        fraction of dropped pixels recovered exactly, against simply filling in the
        (thresholded) pixel means.
        """),
        code("""
        mask = assignment.half_mask(shape, x_train.shape[1], which="bottom")
        pixel_means = xb_train.mean(axis=0)
        for nh in N_HIDDEN:
            res = assignment.recall(models[nh], xb_test[:500], mask, pixel_means, steps=(1, 10), seed=SEED)
            print(f"nh={nh:4d}: pixel accuracy on the dropped half {res['accuracy']}  "
                  f"(pixel-mean baseline {res['baseline_accuracy']:.3f})")
        show(viz.reconstructions(res["masked"][:10], {"recalled (10 steps)": res["filled"][10][:10],
                                                 "truth": xb_test[:10]},
                            shape=shape, title=f"recall of the bottom half, nh={nh}"))
        """),
        md("""
        ## Resampling: long Gibbs chains started at the data

        Running the chain for many steps forgets the starting digit and wanders through what
        the model believes digits look like. A well-trained RBM keeps producing digit-like
        images; an undertrained one drifts into noise or blobs.
        """),
        code("""
        chains = assignment.resample(rbm, xb_test[:8], steps=STEPS, seed=SEED)
        trace = np.stack([xb_test[:8]] + [chains[s] for s in STEPS] + [chains["final_probabilities"]])
        show(viz.gibbs_chain(trace, shape=shape, n_chains=8,
                        step_labels=["data"] + [f"{s} steps" for s in STEPS] + ["p(v|h), last"],
                        title=f"Gibbs chains from test digits, nh={big_nh}"))
        """),
        md("""
        ## What the hidden units learned: weight tiles

        Each tile is one hidden unit's incoming weights, drawn as an image. Trained units look
        like strokes, blobs and pieces of digits; untrained ones look like noise.
        """),
        code("""
        show(viz.weight_tiles(models[small_nh], shape=shape, n=small_nh, ncols=small_nh, title=f"all {small_nh} units, nh={small_nh}"))
        show(viz.weight_tiles(rbm, shape=shape, n=100, title=f"first 100 units, nh={big_nh}"))
        """),
        md("""
        ## Free energy: digits against noise

        $p(v) \\propto e^{-F(v)}$, so lower free energy means "more like the training data". Digits
        should get far lower $F$ than images of uniform noise. The difference of the means is a
        log-probability ratio, and the AUC says how well $-F$ separates the two sets.
        """),
        code("""
        fe = assignment.free_energy_digits_vs_noise(rbm, xb_test[:1000], seed=SEED)
        print(f"mean F: digits {fe['free_energy_digits']:.1f}, noise {fe['free_energy_noise']:.1f}; "
              f"log p(digit)/p(noise) ~ {fe['log_ratio']:.1f} nats; AUC {fe['auc']:.3f}")
        show(assignment.free_energy_figure(fe))
        """),
        md("""
        ## Repairing a damaged 3

        Take a 3 from the test set, scratch out a block of it, and let the RBM "dream" the
        missing part back with clamped Gibbs sampling (`RBMModel.inpaint`): the intact pixels
        stay fixed, the damaged ones are resampled from $p(v \\mid h)$ again and again.
        """),
        code("""
        three = xb_test[np.flatnonzero(y_test == 3)[:1]]
        rows, cols = shape
        damage = np.ones(shape, dtype="float32")
        damage[rows // 4: rows // 2 + 1, cols // 2:] = 0        # remove the upper-right bowl
        damage = damage.reshape(-1)
        damaged = three * damage
        repaired = {f"{n} steps": rbm.inpaint(damaged, damage, steps=n, seed=SEED) for n in (1, 10, 100)}
        show(viz.reconstructions(damaged, {"truth": three, **repaired}, shape=shape, n=1,
                            title="repair"))
        """),
        md("""
        **Summary.** One `fit` call trains the RBM; the verbs `reconstruct`, `inpaint`, `gibbs` /
        `daydream` and `free_energy` plus the `tfrbm.assignment` helpers answer every question
        the assignment asks. The same analysis runs from the command line as
        `python -m tfrbm assignment` (see the README).
        """),
    ]


# --------------------------------------------------------------------------------------- 01
@notebook("01_tensorflow2_basics")
def nb01():
    return [
        md("""
        # 01 · TensorFlow 2 for readers of TF1 code

        The original course was written for TensorFlow 1: you first *built a graph* of
        placeholders, variables and operations, then opened a `tf.Session` and *ran* it, feeding
        numbers into the placeholders. TensorFlow 2 runs operations **eagerly**, like NumPy, so
        most of that machinery is gone:

        | TF1 | TF2 |
        |---|---|
        | `tf.placeholder` + `feed_dict` | ordinary Python arguments (NumPy arrays or tensors) |
        | `tf.Session().run(op)` | just call the function; `.numpy()` gives the value |
        | graph mode for speed | decorate a Python function with `@tf.function` |
        | `tf.Variable` + `tf.global_variables_initializer()` | `tf.Variable` (initialised on creation) |
        | `tf.train.GradientDescentOptimizer(...).minimize(loss)` | `tf.GradientTape` + `optimizer.apply_gradients`, or Keras `fit` |

        Below: tensors and eager execution, `tf.function`, then the two models of module 1 —
        linear regression and logistic regression — first by hand, then with Keras.
        """),
        params("""
        # parameters (papermill): SMALL=True is the quick CI setting, SMALL=False the full one
        SMALL = True
        SEED = 7
        """),
        code("""
        STEPS = 100 if SMALL else 1000     # gradient steps for the hand-written loops
        EPOCHS = 5 if SMALL else 200       # Keras epochs for logistic regression
        """),
        code(SETUP),
        md("""
        ## Eager tensors

        Operations run immediately and return values. There is no session.
        """),
        code("""
        a = tf.constant([[1.0, 2.0], [3.0, 4.0]])
        b = tf.constant([[1.0], [1.0]])
        c = a @ b + 1          # runs now
        print(c)
        print("as numpy:", c.numpy().ravel())
        """),
        md("""
        ## `tf.function`: graphs when you want them

        Decorating a function traces it once into a graph and reuses that graph for calls with
        the same input signature. This is where TF1's graphs went: you still get them, but only
        as a compilation step.
        """),
        code("""
        @tf.function
        def affine(x, w, b):
            return tf.matmul(x, w) + b

        x = tf.random.normal((4, 3), seed=SEED)
        w = tf.Variable(tf.ones((3, 2)))
        print(affine(x, w, 0.5).shape)
        print(affine.get_concrete_function(x, w, 0.5).graph.get_operations()[:4])
        """),
        md("""
        ## Linear regression by hand

        We make noisy data on the line $y = 3x + 2$ and recover the slope and intercept by
        gradient descent on the mean squared error. `tf.GradientTape` records the forward
        computation and returns the gradients of the loss with respect to the variables.
        """),
        code("""
        rng = np.random.default_rng(SEED)
        x_lin = rng.uniform(0, 5, size=200).astype("float32")
        y_lin = (3 * x_lin + 2 + rng.normal(0, 1, size=200)).astype("float32")

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
        print(f"slope {slope.numpy():.3f}, intercept {intercept.numpy():.3f} after {STEPS} steps (truth 3, 2)")
        """),
        code("""
        fig, ax = plt.subplots(1, 2, figsize=(9, 3))
        ax[0].scatter(x_lin, y_lin, s=6, alpha=0.6)
        xs = np.linspace(0, 5, 2)
        ax[0].plot(xs, slope.numpy() * xs + intercept.numpy(), "C3", label="fitted line")
        ax[0].set(xlabel="x", ylabel="y", title="linear regression"); ax[0].legend()
        ax[1].plot(losses); ax[1].set(xlabel="step", ylabel="MSE", yscale="log", title="training loss")
        fig.tight_layout(); plt.show()
        """),
        md("""
        ## Logistic regression with Keras

        Module 1's second model classifies the iris flowers. Logistic (softmax) regression is a
        single `Dense` layer with a softmax; Keras' `compile` + `fit` replaces the whole TF1
        training loop.
        """),
        code("""
        from sklearn.datasets import load_iris
        from sklearn.model_selection import train_test_split
        iris = load_iris()
        x_iris = ((iris.data - iris.data.mean(0)) / iris.data.std(0)).astype("float32")
        xtr, xte, ytr, yte = train_test_split(x_iris, iris.target, test_size=0.3, random_state=SEED,
                                              stratify=iris.target)
        logreg = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        logreg.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
                       metrics=["accuracy"])
        hist = logreg.fit(xtr, ytr, epochs=EPOCHS, batch_size=16, validation_data=(xte, yte), verbose=0)
        print(f"test accuracy {logreg.evaluate(xte, yte, verbose=0)[1]:.3f}")
        show(viz.training_curves(hist, title="logistic regression on iris"))
        """),
        md("""
        **Summary.** Write TF2 code like NumPy code, wrap hot loops in `tf.function`, and use
        Keras for models. Every later notebook follows this pattern; tfrbm's models are Keras
        models trained with `fit`.
        """),
    ]


# --------------------------------------------------------------------------------------- 05
@notebook("05_dbn")
def nb05():
    return [
        md("""
        # 05 · Deep belief networks: greedy pre-training and fine-tuning

        A deep belief network (DBN) is a stack of RBMs trained one at a time: the first RBM
        learns features of the pixels, the second learns features of those features, and so on
        ("greedy layer-wise pre-training"). The stack's weights then initialise an ordinary
        feed-forward network, which is *fine-tuned* with back-propagation:

        * as a **classifier** (compare against the same network started from random weights);
        * unrolled into a **deep autoencoder** (Hinton & Salakhutdinov, 2006).

        With a softmax group of label units beside its top RBM, the DBN also *generates* digits
        of a chosen class (Hinton, Osindero & Teh, 2006).
        """),
        params("""
        # parameters (papermill): SMALL=True is the quick CI setting, SMALL=False the full one
        SMALL = True
        SEED = 0
        DATA = "auto"     # "mnist", "digits" or "auto"
        N_TRAIN = None    # None: 300 images when SMALL, all 60,000 otherwise
        EPOCHS = None     # None: 1 epoch per stage when SMALL, 10 otherwise
        """),
        code("""
        N_TRAIN = N_TRAIN or (300 if SMALL else 60000)
        SIZES = [64, 32] if SMALL else [500, 200, 50]   # hidden sizes, bottom first
        PRETRAIN_EPOCHS = EPOCHS or (1 if SMALL else 10)
        FINETUNE_EPOCHS = EPOCHS or (1 if SMALL else 10)
        """),
        code(SETUP),
        code("""
        from tfrbm.data import images
        name = DATA
        if name == "auto":
            try:
                images.load_mnist("test"); name = "mnist"
            except Exception as err:
                print("MNIST not found, using the bundled 8x8 digits"); name = "digits"
        shape = images.image_shape(name)
        x_train, y_train = images.load_images(name, "train")
        x_test, y_test = images.load_images(name, "test")
        x_train, y_train = x_train[:N_TRAIN], y_train[:N_TRAIN]
        print(name, x_train.shape, x_test.shape)
        """),
        md("""
        ## Greedy pre-training

        `DBNModel(SIZES).fit(x, epochs=E)` trains each RBM in turn, E epochs each, on the hidden
        probabilities of the one below: every step is a compiled Keras step that propagates the
        batch up to the layer being trained and applies that layer's contrastive-divergence
        update. The History's `loss` is the trained layer's reconstruction error and `layer` says
        which layer an epoch trained.
        """),
        code("""
        dbn = tfrbm.DBNModel(SIZES, seed=SEED)
        history = dbn.fit(x_train, epochs=PRETRAIN_EPOCHS, batch_size=64, verbose=0)
        layer_of_epoch = np.array(history.history["layer"], int)
        fig, ax = plt.subplots(figsize=(5, 3))
        for i in range(len(SIZES)):
            loss = np.array(history.history["loss"])[layer_of_epoch == i + 1]
            ax.plot(range(1, len(loss) + 1), loss, "o-",
                    label=f"RBM {i + 1} ({dbn.sizes[i]} -> {dbn.sizes[i + 1]})")
        ax.set(xlabel="epoch of the layer", ylabel="reconstruction error",
               title="layer-wise pre-training")
        ax.legend(); plt.show()
        """),
        code("""
        show(viz.weight_tiles(dbn.rbms[0], shape=shape, n=64, title="first-layer features"))
        """),
        md("""
        ## Fine-tuning: pre-trained against random initialisation

        `to_classifier(10)` copies the RBM weights into Dense sigmoid layers and adds a softmax
        head; `init="random"` builds the identical network from Keras' default initialisation.
        Both are trained the same way. Pre-training helps most when labelled data are scarce.
        """),
        code("""
        results = {}
        for init in ("pretrained", "random"):
            keras.utils.set_random_seed(SEED)
            clf = dbn.to_classifier(10, init=init)
            h = clf.fit(x_train, y_train, epochs=FINETUNE_EPOCHS, batch_size=64,
                        validation_data=(x_test, y_test), verbose=0)
            results[init] = h.history
            print(f"{init:10s}: test accuracy {h.history['val_accuracy'][-1]:.4f}")
        fig, ax = plt.subplots(figsize=(5, 3))
        for init, h in results.items():
            ax.plot(range(1, FINETUNE_EPOCHS + 1), h["val_accuracy"], "o-", label=init)
        ax.set(xlabel="epoch", ylabel="test accuracy", title="fine-tuning"); ax.legend(); plt.show()
        """),
        md("""
        ## A deep autoencoder unrolled from the stack

        `to_autoencoder()` builds encoder and decoder from the same weights (the decoder uses
        the transposes) and fine-tunes the whole thing to reproduce its input.
        """),
        code("""
        ae = dbn.to_autoencoder()
        ae.fit(x_train, x_train, epochs=FINETUNE_EPOCHS, batch_size=64, verbose=0)
        recon = ae.predict(x_test[:10], verbose=0)
        print(f"test reconstruction MSE {np.mean((ae.predict(x_test, verbose=0) - x_test) ** 2):.4f}")
        show(viz.reconstructions(x_test[:10], recon, shape=shape, title="deep autoencoder"))
        """),
        md("""
        ## Dreams of the top-level RBM

        `dbn.sample(n, steps)` runs Gibbs sampling in the top RBM and passes the result down.
        """),
        code("""
        fantasies = dbn.sample(16, steps=200 if SMALL else 1000, seed=SEED)
        show(viz.image_grid(fantasies, 2, 8, shape=shape, title="DBN samples"))
        """),
        md("""
        ## Digits of a chosen class

        `DBNModel(SIZES, n_labels=10)` trains its top RBM on the penultimate features *and* a
        10-way softmax group of label units (`fit(x, y)`). `generate(label, n, steps)` clamps the
        label units to one class, runs Gibbs sampling in the top RBM (the features alternate with
        the top hidden units while the label stays fixed) and passes the features down to the
        pixels. The same top RBM also classifies: `classify(x)` compares the free energy of the
        features with each label clamped. Each row of the grid below is one class.
        """),
        code("""
        gen = tfrbm.DBNModel(SIZES, n_labels=10, seed=SEED,
                             layer_options=[{}] * (len(SIZES) - 1) + [{"persistent": True}])
        gen.compile(layer_optimizers=[None] * (len(SIZES) - 1) + [keras.optimizers.SGD(0.02, momentum=0.5)])
        gen.fit(x_train, y_train, epochs=PRETRAIN_EPOCHS * (1 if SMALL else 2), batch_size=64, verbose=0)
        accuracy = float((gen.classify(x_test).argmax(1) == y_test).mean())
        print(f"top RBM classification of the test set (no fine-tuning): {accuracy:.3f}")
        digits_by_class = gen.generate(np.repeat(np.arange(10), 10), n=100,
                                       steps=50 if SMALL else 200, seed=SEED)
        show(viz.image_grid(digits_by_class, 10, 10, shape=shape,
                            title="generate(label): one row per class, 0 to 9"))
        """),
    ]


# --------------------------------------------------------------------------------------- 08
@notebook("08_autoencoders")
def nb08():
    return [
        md("""
        # 08 · Autoencoders

        An autoencoder is a network trained to output its own input through a narrow middle
        layer, the *code*. To succeed, the code has to keep what matters about the input. The
        course autoencoder compresses 784 pixels to 128 numbers; a deeper one with a 2-number
        code lets us *draw* the code space: here for digits 1, 5 and 6.
        """),
        params("""
        # parameters (papermill): SMALL=True is the quick CI setting, SMALL=False the full one
        SMALL = True
        SEED = 0
        DATA = "auto"     # "mnist", "digits" or "auto"
        N_TRAIN = None    # None: 400 images when SMALL, all 60,000 otherwise
        EPOCHS = None     # None: 1 epoch when SMALL, 20 otherwise
        """),
        code("""
        N_TRAIN = N_TRAIN or (400 if SMALL else 60000)
        EPOCHS = EPOCHS or (1 if SMALL else 20)
        """),
        code(SETUP),
        code("""
        from tfrbm.data import images
        from tfrbm.models import autoencoders as ae
        name = DATA
        if name == "auto":
            try:
                images.load_mnist("test"); name = "mnist"
            except Exception:
                print("MNIST not found, using the bundled 8x8 digits"); name = "digits"
        shape = images.image_shape(name)
        n_pix = shape[0] * shape[1]
        x_train, y_train = images.load_images(name, "train")
        x_test, y_test = images.load_images(name, "test")
        x_train, y_train = x_train[:N_TRAIN], y_train[:N_TRAIN]
        """),
        md("""
        ## The course autoencoder (sigmoid layers, 784 → 256 → 128 → 256 → 784)
        """),
        code("""
        course = ae.compile_autoencoder(ae.build_course_autoencoder((n_pix, 256, 128)))
        hist = course.fit(x_train, x_train, epochs=EPOCHS, batch_size=64, validation_data=(x_test, x_test), verbose=0)
        print(f"test reconstruction MSE {ae.reconstruction_mse(course, x_test):.4f}")
        show(viz.training_curves(hist, keys=["loss"], title="course autoencoder"))
        show(viz.reconstructions(x_test[:10], course.predict(x_test[:10], verbose=0), shape=shape))
        """),
        md("""
        ## A 2-D code for digits 1, 5 and 6

        With a 2-unit code each digit becomes a point in the plane. Ones, fives and sixes
        should land in different regions, and walking across the plane and decoding each point
        shows how the decoder morphs one digit into another.
        """),
        code("""
        x156, y156 = ae.select_digits(x_train, y_train, (1, 5, 6))
        xt156, yt156 = ae.select_digits(x_test, y_test, (1, 5, 6))
        deep = ae.compile_autoencoder(ae.build_deep_autoencoder((n_pix, 128, 64, 2)))
        deep.fit(x156, x156, epochs=EPOCHS * 3, batch_size=32, verbose=0)
        print(f"2-D code, test reconstruction MSE {ae.reconstruction_mse(deep, xt156):.4f}")
        show(ae.plot_latent_scatter(deep, xt156, yt156)); plt.close("all")
        """),
        code("""
        codes = ae.latent_codes(deep, xt156)
        lo, hi = codes.min(0), codes.max(0)
        canvas = ae.latent_manifold(deep, x_range=(lo[0], hi[0]), y_range=(lo[1], hi[1]), n=12, image_shape=shape)
        fig, ax = plt.subplots(figsize=(5, 5)); ax.imshow(canvas, cmap="gray"); ax.axis("off")
        ax.set_title("decoded points on a grid over the code plane"); show(fig); plt.close(fig)
        """),
    ]

LOAD_IMAGES = """
from tfrbm.data import images
name = DATA
if name == "auto":
    try:
        images.load_mnist("test"); name = "mnist"
    except Exception:
        print("MNIST not found, using the bundled 8x8 digits"); name = "digits"
shape = images.image_shape(name)
x_train, y_train = images.load_images(name, "train")
x_test, y_test = images.load_images(name, "test")
x_train, y_train = x_train[:N_TRAIN], y_train[:N_TRAIN]
x_test, y_test = x_test[:N_TEST], y_test[:N_TEST]
print(name, "train", x_train.shape, "test", x_test.shape)
"""


# --------------------------------------------------------------------------------------- 04
@notebook("04_rbm_recommender")
def nb04():
    return [
        md("""
        # 04 · An RBM that recommends movies

        Salakhutdinov, Mnih & Hinton (2007) gave each user an RBM whose visible units are the
        movies that user rated, each a *softmax* over the rating levels 1–5; every user's RBM
        shares the same weights. Hidden units become taste features ("likes 90s action", ...),
        and a missing rating is predicted as the expected rating given the user's hidden units.

        `tfrbm.RBMRecommender` implements it. Here we train on MovieLens, recommend films for
        one user, and compare the test RMSE with simple baselines.

        *Data note:* the data folder holds the MovieLens-1M movie and user files but not its
        ratings, so this notebook uses **MovieLens-100k** (943 users, 1,682 films, 100,000
        ratings) and its published split `u1`. `movielens("1m")` works the same where
        `ratings.dat` is present.
        """),
        params("""
        # parameters (papermill): SMALL=True is the quick CI setting, SMALL=False the full one
        SMALL = True
        SEED = 0
        """),
        code("""
        EPOCHS = 2 if SMALL else 30
        N_HIDDEN = 20 if SMALL else 100
        MF_EPOCHS = 2 if SMALL else 30
        """),
        code(SETUP),
        code("""
        from tfrbm.data.ratings import movielens
        from tfrbm.models import recommender_baselines as rb
        data = movielens("100k")
        train, test = data.fold("u1")
        print(f"{data.n_users} users, {data.n_movies} movies; train {len(train)} / test {len(test)} ratings")
        fig, ax = plt.subplots(figsize=(4, 2.5))
        ax.hist(train.ratings, bins=np.arange(0.5, 6), rwidth=0.8); ax.set(xlabel="rating", ylabel="count",
                                                                            title="training ratings"); plt.show()
        """),
        md("""
        ## Training

        Each user is one training example: a 1,682 × 5 one-hot matrix with rows only for the
        films they rated. CD-k increases k as training goes on (`cd_k="increasing"`).
        """),
        code("""
        rec = tfrbm.RBMRecommender(n_hidden=N_HIDDEN, seed=SEED)
        rec.fit(train, epochs=EPOCHS, validation_data=test)
        h = rec.history
        print({k: [round(v, 4) for v in h[k]] for k in ("recon_rmse", "val_rmse") if k in h})
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.plot(h["epoch"], h["recon_rmse"], "o-", label="train (reconstruction)")
        if "val_rmse" in h:
            ax.plot(h["epoch"], h["val_rmse"], "x--", label="test")
        ax.set(xlabel="epoch", ylabel="RMSE", title="RBM recommender"); ax.legend(); plt.show()
        """),
        md("""
        ## Recommendations for one user

        Films the user has not rated, ranked by their expected rating.
        """),
        code("""
        user = int(train.user_ids[0])
        seen = train.subset(train.users == user)
        top_seen = np.argsort(-seen.ratings)[:5]
        print(f"user {user} rated {len(seen)} films, for example:")
        for i in top_seen:
            print(f"   {seen.ratings[i]}  {data.title(seen.movies[i])}")
        print("recommended:")
        for movie_id, title, score in rec.recommend(user, n=10):
            print(f"   {score:.2f}  {title}")
        """),
        md("""
        ## Against baselines

        The global mean, each film's mean rating, and biased matrix factorisation, scored on the
        same test ratings.
        """),
        code("""
        models = {"global mean": rb.GlobalMeanBaseline(), "item mean": rb.ItemMeanBaseline(),
                  "biased MF": rb.BiasedMF(epochs=MF_EPOCHS, seed=SEED)}
        scores = {}
        for label, m in models.items():
            m.fit(train)
            scores[label] = rb.evaluate(m, train, test)
        scores["RBM"] = rb.evaluate(rec, train, test)
        for label, s in scores.items():
            print(f"{label:12s} RMSE {s['rmse']:.4f}  MAE {s['mae']:.4f}")
        fig, ax = plt.subplots(figsize=(5, 2.8))
        ax.barh(list(scores), [s["rmse"] for s in scores.values()], color="C0")
        ax.set(xlabel="test RMSE (lower is better)", xlim=(0.8, max(s["rmse"] for s in scores.values()) + 0.05))
        plt.show()
        """),
    ]


# --------------------------------------------------------------------------------------- 06
@notebook("06_cnn")
def nb06():
    return [
        md("""
        # 06 · A convolutional network for MNIST

        The course CNN: two 5×5 convolution + 2×2 max-pooling stages (32 and 64 filters), a
        1,024-unit dense layer with dropout, and a softmax over the ten digits. Convolutions
        share one small filter across the whole image, so the network needs far fewer weights
        than a dense one and finds a stroke wherever it is.
        """),
        params("""
        # parameters (papermill): SMALL=True is the quick CI setting, SMALL=False the full one
        SMALL = True
        SEED = 0
        DATA = "auto"     # "mnist", "digits" or "auto"
        N_TRAIN = None    # None: 512 images when SMALL, all 60,000 otherwise
        EPOCHS = None     # None: 1 epoch when SMALL, 5 otherwise
        """),
        code("""
        N_TRAIN = N_TRAIN or (512 if SMALL else 60000)
        N_TEST = 500 if SMALL else 10000
        EPOCHS = EPOCHS or (1 if SMALL else 5)
        """),
        code(SETUP),
        code(LOAD_IMAGES),
        code("""
        from tfrbm.models import cnn
        model = cnn.compile_classifier(cnn.build_cnn(input_shape=(x_train.shape[1],),
                                                     image_shape=shape + (1,)), learning_rate=1e-3)
        model.summary()
        hist = model.fit(x_train, y_train, epochs=EPOCHS, batch_size=50,
                         validation_data=(x_test, y_test), verbose=0)
        loss, acc = model.evaluate(x_test, y_test, verbose=0)
        print(f"test accuracy {acc:.4f} after {EPOCHS} epoch(s) on {len(x_train)} images")
        """),
        md("""
        ## Filters and feature maps

        Top: the 32 learned first-layer filters. Bottom: what each filter responds to in one test
        digit (bright = strong response).
        """),
        code("""
        show(cnn.plot_conv1(model, x_test[0]))
        plt.close("all")
        """),
        code("""
        pred = model.predict(x_test[:16], verbose=0).argmax(1)
        show(viz.image_grid(x_test, 2, 8, shape=shape, title="predicted: " + " ".join(map(str, pred))))
        """),
    ]


# --------------------------------------------------------------------------------------- 07
@notebook("07_language_models")
def nb07():
    return [
        md("""
        # 07 · Recurrent language models

        A language model gives the probability of the next token given the ones before. An LSTM
        reads the text one token at a time and carries a memory (its state) forward; the course
        trains one on the Penn Treebank (PTB) words and one on Shakespeare's characters.

        *Perplexity* $= \\exp(\\text{mean cross-entropy})$ is the number of equally likely
        choices the model is effectively picking from; lower is better.
        """),
        params("""
        # parameters (papermill): SMALL=True is the quick CI setting, SMALL=False the full one
        SMALL = True
        SEED = 0
        TOKENS = None     # None: 20,000 training tokens/characters when SMALL, the whole corpus otherwise
        EPOCHS = None     # None: 1 epoch when SMALL, 15 (words) and 20 (characters) otherwise
        """),
        code("""
        WORD_TOKENS = TOKENS or (20_000 if SMALL else None)   # PTB training tokens used (None: all ~930k)
        WORD_EPOCHS = EPOCHS or (1 if SMALL else 15)
        WORD_SIZES = (32, 32) if SMALL else (256, 128)
        CHAR_CHARS = TOKENS or (20_000 if SMALL else None)
        CHAR_EPOCHS = EPOCHS or (1 if SMALL else 20)
        CHAR_SIZES = (32, 32) if SMALL else (128, 128)
        """),
        code(SETUP),
        md("""
        ## Words: the PTB LSTM
        """),
        code("""
        from tfrbm.data import text
        from tfrbm.models import language, char
        ptb = text.load_ptb()
        train_ids = ptb.train[:WORD_TOKENS] if WORD_TOKENS else ptb.train
        valid_ids = ptb.valid[:WORD_TOKENS // 4] if WORD_TOKENS else ptb.valid
        print(f"vocabulary {ptb.vocab_size}; training on {len(train_ids)} tokens")
        print("sample:", " ".join(ptb.decode(train_ids[:25])))
        overrides = dict(hidden_sizes=WORD_SIZES, epochs=WORD_EPOCHS)
        if SMALL:
            overrides["embedding_dim"] = 32
        lm, cfg = language.build_word_lm("course", vocab_size=ptb.vocab_size, vocabulary=ptb.vocabulary, **overrides)
        callbacks = language.compile_word_lm(lm, cfg)
        hist = lm.fit(text.ptb_dataset(train_ids, cfg["batch_size"], cfg["num_steps"]), epochs=WORD_EPOCHS, shuffle=False,
                      validation_data=text.ptb_dataset(valid_ids, cfg["batch_size"], cfg["num_steps"]),
                      callbacks=callbacks, verbose=0)
        print({k: [round(float(v), 1) for v in vals] for k, vals in hist.history.items() if "perplexity" in k})
        show(viz.training_curves(hist, keys=["perplexity"], title="PTB word LSTM"))
        """),
        code("""
        print("after 'the stock market':", lm.predict_next("the stock market", k=5))
        print("generated:", " ".join(lm.generate("the company said", n=15, mode="argmax")))
        """),
        md("""
        ## Characters: Shakespeare, and three ways to sample

        * **argmax** always takes the most probable next character (tends to loop);
        * **weighted** draws the next character from the predicted distribution;
        * **weighted-after-space** takes the most probable character inside a word and samples
          only at word starts — a compromise between the two.
        """),
        code("""
        shakes = text.load_tiny_shakespeare()
        ctrain = shakes.train[:CHAR_CHARS] if CHAR_CHARS else shakes.train
        cvalid = shakes.valid[:CHAR_CHARS // 4] if CHAR_CHARS else shakes.valid
        cm, ccfg = char.build_char_model(shakes.chars, hidden_sizes=CHAR_SIZES, epochs=CHAR_EPOCHS)
        ccallbacks = char.compile_char_model(cm, ccfg)
        chist = cm.fit(text.char_dataset(ctrain, ccfg["batch_size"], ccfg["num_steps"]), epochs=CHAR_EPOCHS, shuffle=False,
                       validation_data=text.char_dataset(cvalid, ccfg["batch_size"], ccfg["num_steps"]),
                       callbacks=ccallbacks, verbose=0)
        print({k: [round(float(v), 3) for v in vals] for k, vals in chist.history.items()})
        for mode in char.SAMPLING_MODES:
            print(f"--- {mode}\\n{cm.sample('ROMEO:', n=150 if SMALL else 300, mode=mode, seed=SEED)}\\n")
        """),
    ]


# --------------------------------------------------------------------------------------- 09
@notebook("09_serving_and_tuning")
def nb09():
    return [
        md("""
        # 09 · Serving a model and tuning its hyper-parameters

        Two practical steps after training:

        1. **Export** the model as a TensorFlow *SavedModel* with named signatures, the format
           TF Serving and `tf.saved_model.load` read — no Python class needed on the other side.
        2. **Search** hyper-parameters with keras-tuner instead of guessing them.
        """),
        params("""
        # parameters (papermill): SMALL=True is the quick CI setting, SMALL=False the full one
        SMALL = True
        SEED = 0
        DATA = "auto"     # "mnist", "digits" or "auto"
        """),
        code("""
        N_TRAIN = 500 if SMALL else 10000
        N_TEST = 200 if SMALL else 2000
        EPOCHS = 1 if SMALL else 5
        TRIALS = 2 if SMALL else 8
        """),
        code(SETUP),
        code(LOAD_IMAGES),
        code("""
        from tfrbm import assignment
        xb_train, xb_test = assignment.binarize_once(x_train, SEED), assignment.binarize_once(x_test, SEED + 1)
        rbm = tfrbm.RBMModel(tfrbm.RBMLayer(64), seed=SEED)
        rbm.fit(xb_train, epochs=EPOCHS, batch_size=50, verbose=0)
        """),
        md("""
        ## Export and reload

        `rbm.export(path)` writes `path/<version>/` (TF Serving's layout) with one signature per
        verb. Reloading needs only TensorFlow.
        """),
        code("""
        import tempfile
        from tfrbm import export
        export_dir = pathlib.Path(tempfile.mkdtemp()) / "rbm_digits"
        written = rbm.export(export_dir)
        print("written:", written, "signatures:", export.signature_names(rbm))
        loaded = tf.saved_model.load(str(written))
        print("loaded signatures:", sorted(loaded.signatures))
        """),
        code("""
        sig = loaded.signatures["reconstruct"]
        served = sig(visible=tf.constant(xb_test[:10]))["reconstruction"].numpy()
        print("max difference from the Python model:", float(np.abs(served - rbm.reconstruct(xb_test[:10])).max()))
        show(viz.reconstructions(xb_test[:10], served, shape=shape, title="reconstructions served from the SavedModel"))
        """),
        md("""
        ## A small keras-tuner search

        `tfrbm.tuning.RBMHyperModel` lets keras-tuner choose hidden units, learning rate, CD-k,
        PCD or not and weight decay, scoring each trial by the pseudo-log-likelihood of held-out
        images (higher is better).
        """),
        code("""
        import keras_tuner as kt
        from tfrbm import tuning
        hm = tuning.RBMHyperModel(units=(16, 64), cd_k=(1,), persistent=(False, True), seed=SEED)
        tuner = kt.RandomSearch(hm, objective=hm.get_objective(), max_trials=TRIALS, seed=SEED,
                                directory=tempfile.mkdtemp(), project_name="rbm", overwrite=True)
        tuner.search(xb_train, validation_data=(xb_test,), epochs=EPOCHS, verbose=0)
        trials = tuner.oracle.get_best_trials(TRIALS)
        for t in trials:
            print(f"score {t.score:9.3f}  {t.hyperparameters.values}")
        fig, ax = plt.subplots(figsize=(6, 2.5))
        ax.barh([f"{t.hyperparameters['units']}u lr={t.hyperparameters['learning_rate']:.3g} pcd={t.hyperparameters['persistent']}"
                 for t in trials], [t.score for t in trials])
        ax.set(xlabel="held-out pseudo-log-likelihood"); plt.show()
        """),
    ]

def build(names=None):
    out = []
    for name, fn in NOTEBOOKS.items():
        if names and name not in names:
            continue
        nb = new_notebook(cells=fn())
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        path = HERE / f"{name}.ipynb"
        nbformat.write(nb, path)
        out.append(path)
    return out


# Settings of the committed outputs: the full setting where it fits the (shared, 2-core CPU)
# machine the outputs were made on, otherwise a medium one, stated in the notebook itself.
COMMITTED = {
    "03_rbm_mnist": dict(SMALL=False, N_TRAIN=10000, EPOCHS=5),
    "05_dbn": dict(SMALL=False, N_TRAIN=10000, EPOCHS=3),
    "06_cnn": dict(SMALL=False, N_TRAIN=10000, EPOCHS=2),
    "08_autoencoders": dict(SMALL=False, N_TRAIN=20000, EPOCHS=5),
    "07_language_models": dict(SMALL=False, TOKENS=200_000, EPOCHS=3),
}


def note_cell(values):
    """A markdown note saying which setting produced the committed outputs."""
    text = ", ".join(f"`{k}={v!r}`" for k, v in values.items())
    if values == dict(SMALL=False):
        extra = ""
    elif values.get("SMALL"):
        extra = (" (the tiny CI setting: there was no time for a larger run on the shared CPU machine "
                 "the outputs were made on, so the models are barely trained; run with `SMALL=False` "
                 "for the real figures)")
    else:
        extra = (" (a medium setting: the full one did not fit the shared CPU machine the outputs "
                 "were made on; figures and numbers from the full run will differ)")
    return md(f"*The outputs shown come from a real run with {text}{extra}. The tests run it with `SMALL=True`.*")


def adopt(executed, values):
    """Commit an already executed notebook: add the injected-parameters cell and the note."""
    nb = nbformat.read(executed, as_version=4)
    where = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    injected = code("\n".join(f"{k} = {v!r}" for k, v in values.items()))
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells[where + 1:where + 1] = [injected, note_cell(values)]
    return nb


def execute(paths, small=False, timeout=3000):
    """Run notebooks in place (cwd = notebooks/) and keep the outputs.

    Parameters: SMALL=small, or the notebook's entry in COMMITTED (then a note saying so is
    inserted after the parameters cell).
    """
    from nbclient import NotebookClient
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        values = dict(SMALL=small)
        if not small and path.stem in COMMITTED:
            values = COMMITTED[path.stem]
        # like papermill: keep the defaults, add a cell tagged "injected-parameters" after them
        where = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
        injected = code("\n".join(f"{k} = {v!r}" for k, v in values.items()))
        injected.metadata["tags"] = ["injected-parameters"]
        nb.cells.insert(where + 1, injected)
        if not small:
            text = ", ".join(f"`{k}={v!r}`" for k, v in values.items())
            nb.cells.insert(where + 2, note_cell(values))
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(HERE)}}).execute()
        nbformat.write(nb, path)
        print(path.name, f"{path.stat().st_size / 1e6:.2f} MB")


def set_parameters(nb, **values):
    """Rewrite assignments in the cell tagged "parameters" (what papermill does, minus the dependency)."""
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            lines = cell.source.splitlines()
            for key, value in values.items():
                lines = [f"{key} = {value!r}" if ln.split("=")[0].strip() == key else ln for ln in lines]
            cell.source = "\n".join(lines)
            return nb
    raise ValueError("notebook has no cell tagged 'parameters'")


if __name__ == "__main__":
    args = sys.argv[1:]
    run = "--execute" in args
    names = [a for a in args if not a.startswith("--")]
    paths = build(names)
    if run:
        execute(paths, small=False)
    print("\n".join(str(p) for p in paths))
