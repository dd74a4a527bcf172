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
# # 08 · Autoencoders
#
# An autoencoder is a network trained to output its own input through a narrow middle
# layer, the *code*. To succeed, the code has to keep what matters about the input. The
# course autoencoder compresses 784 pixels to 128 numbers; a deeper one with a 2-number
# code lets us *draw* the code space: here for digits 1, 5 and 6.
# (Notebook 17 compares autoencoders with PCA at the same code size, and the squared error
# with the cross-entropy as the training loss.)

# %% tags=["parameters"]
# parameters (papermill): SMALL=True is the quick CI setting, SMALL=False the full one
SMALL = True
SEED = 0
DATA = "auto"     # "mnist", "digits" or "auto"
N_TRAIN = None    # None: 400 images when SMALL, all 60,000 otherwise
EPOCHS = None     # None: 1 epoch when SMALL, 20 otherwise

# %% [markdown]
# *The outputs shown come from a real run with those parameters changed, equivalent to
# `papermill 08_autoencoders.ipynb out.ipynb -p SMALL False -p N_TRAIN 20000 -p EPOCHS 5` (7 min on the shared 2-core CPU
# machine they were made on). "Run All" uses the cell above as written (`SMALL = True`, the
# quick setting the tests run), so its numbers will be those of a barely trained model.*

# %%
N_TRAIN = N_TRAIN or (400 if SMALL else 60000)
EPOCHS = EPOCHS or (1 if SMALL else 20)

# %%
# %matplotlib inline
import os
os.environ.setdefault("TFRBM_QUIET_TF", "1")   # TensorFlow without its start-up log lines
from tfrbm.course.notebook import setup
from tfrbm import viz
import numpy as np
import matplotlib.pyplot as plt
setup(SEED)   # figures at 72 dpi, TensorFlow's logger at ERROR, every random generator seeded

# %%
from tfrbm.data import images
from tfrbm.course import autoencoders as ae
name, shape, (x_train, y_train), (x_test, y_test) = images.load_images_or_digits(DATA, n_train=N_TRAIN)
n_pix = shape[0] * shape[1]

# %% [markdown]
# ## The course autoencoder (sigmoid layers, 784 → 256 → 128 → 256 → 784)

# %%
course = ae.compile_autoencoder(ae.build_course_autoencoder((n_pix, 256, 128)))
hist = course.fit(x_train, x_train, epochs=EPOCHS, batch_size=64, validation_data=(x_test, x_test), verbose=0)
print(f"test reconstruction MSE {ae.reconstruction_mse(course, x_test):.4f}")
viz.training_curves(hist, keys=["loss"], title="course autoencoder")
plt.show()
viz.reconstructions(x_test[:10], course.predict(x_test[:10], verbose=0), shape=shape)
plt.show()

# %% [markdown]
# ## A 2-D code for digits 1, 5 and 6
#
# With a 2-unit code each digit becomes a point in the plane. Ones, fives and sixes
# should land in different regions, and walking across the plane and decoding each point
# shows how the decoder morphs one digit into another.

# %%
x156, y156 = ae.select_digits(x_train, y_train, (1, 5, 6))
xt156, yt156 = ae.select_digits(x_test, y_test, (1, 5, 6))
deep = ae.compile_autoencoder(ae.build_deep_autoencoder((n_pix, 128, 64, 2)))
deep.fit(x156, x156, epochs=EPOCHS * 3, batch_size=32, verbose=0)
print(f"2-D code, test reconstruction MSE {ae.reconstruction_mse(deep, xt156):.4f}")
ae.plot_latent_scatter(deep, xt156, yt156)
plt.show()

# %%
codes = ae.latent_codes(deep, xt156)
lo, hi = codes.min(0), codes.max(0)
canvas = ae.latent_manifold(deep, x_range=(lo[0], hi[0]), y_range=(lo[1], hi[1]), n=12, image_shape=shape)
fig, ax = plt.subplots(figsize=(5, 5))
ax.imshow(canvas, cmap="gray")
ax.axis("off")
ax.set_title("decoded points on a grid over the code plane")
plt.show()

# %% [markdown]
# ## Generating a digit from a chosen code
#
# The decoder alone is a *generator*: give it any point of the code plane and it draws the
# digit it associates with that point. We pick three points — the centre of the ones', the
# fives' and the sixes' codes — plus a point between the fives and the sixes that no
# training digit was mapped to.

# %%
decoder = deep.get_layer("decoder")
centres = {d: codes[yt156 == d].mean(0) for d in (1, 5, 6)}
chosen = {f"centre of the {d}s": z for d, z in centres.items()}
chosen["between 5s and 6s"] = (centres[5] + centres[6]) / 2
generated = decoder.predict(np.array(list(chosen.values()), dtype="float32"), verbose=0)
fig, axes = plt.subplots(1, len(chosen) + 1, figsize=(12, 2.8), gridspec_kw={"width_ratios": [2] + [1] * len(chosen)})
for d in (1, 5, 6):
    axes[0].scatter(*codes[yt156 == d].T, s=3, alpha=0.3, label=str(d))
for k, (label, z) in enumerate(chosen.items()):
    axes[0].plot(*z, "k*", ms=10)
    axes[0].annotate(str(k + 1), z, xytext=(3, 3), textcoords="offset points")
    axes[k + 1].imshow(generated[k].reshape(shape), cmap="gray")
    axes[k + 1].axis("off")
    axes[k + 1].set_title(f"{k + 1}: {label}\nz = ({z[0]:.1f}, {z[1]:.1f})", fontsize=8)
axes[0].legend(markerscale=4, fontsize=7)
axes[0].set_title("chosen codes")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Interpolating between two digits
#
# Encode a real 1 and a real 6, walk in a straight line from one code to the other, and
# decode each point on the way. Because the code plane is continuous, the decoded images
# change gradually from one digit into the other.

# %%
a = xt156[np.flatnonzero(yt156 == 1)[0]]
b = xt156[np.flatnonzero(yt156 == 6)[0]]
za, zb = ae.latent_codes(deep, np.stack([a, b]))
steps = np.linspace(0, 1, 10)[:, None]
path = ((1 - steps) * za + steps * zb).astype("float32")
frames = decoder.predict(path, verbose=0)
fig, axes = plt.subplots(1, len(path) + 2, figsize=(14, 1.8))
for ax, img, title in zip(axes, [a, *frames, b], ["input 1", *[f"t={t:.1f}" for t in steps[:, 0]], "input 6"]):
    ax.imshow(img.reshape(shape), cmap="gray")
    ax.axis("off")
    ax.set_title(title, fontsize=8)
fig.suptitle("decoding the straight line between the codes of a 1 and a 6", y=1.05)
plt.show()
print("code of the 1:", np.round(za, 2), " code of the 6:", np.round(zb, 2))

# %% [markdown]
# ## What you saw
#
# * The course autoencoder squeezes $784$ pixels into $128$ numbers and reconstructs the test
#   digits with a mean squared error of 0.011 per pixel: blurred, but every digit stays
#   recognisable. Two numbers are much tighter: the 2-D code's error is 0.044, four times
#   higher, even though it only has to describe three kinds of digit.
# * With a 2-D code, ones, fives and sixes occupy different regions of the plane, with some
#   overlap where fives and sixes look alike; the decoded grid shows each region's typical
#   digit and smooth morphs across the borders.
# * Any chosen point decodes to a plausible digit — even the point between the fives and
#   sixes, which no training digit was mapped to, gives a hybrid. The interpolation from a 1
#   to a 6 passes through intermediate shapes rather than a fade from one image to the
#   other: the 1 thickens and bends, a loop grows at the bottom, and from about $t = 0.7$ it
#   is a 6. All decoded images are blurrier than real digits: for points the code cannot
#   tell apart, the decoder draws their average.
