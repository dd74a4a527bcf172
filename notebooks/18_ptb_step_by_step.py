# %% [markdown]
# # 18 · The PTB language model, built step by step
#
# Notebook 07 trains the course's word-level language model through
# `tfrbm.course.language.build_word_lm`. This notebook builds the same kind of model from
# its pieces, the way the course lab does, so that each piece can be looked at:
#
# 1. the **embedding lookup** that turns word ids into vectors;
# 2. the **stacked LSTM** that reads a window of words, carrying its state between windows;
# 3. the **sequence loss**: a softmax over the 10,000 words at every position, and perplexity;
# 4. the **trainable variables** and their sizes;
# 5. **gradient clipping** by the global norm;
# 6. a training loop of plain SGD, and what the **learned embeddings** put close together.

# %% tags=["parameters"]
# parameters (papermill): SMALL=True is the quick CI setting, SMALL=False the full one
SMALL = True
SEED = 0

# %% [markdown]
# *The outputs shown come from a real run with those parameters changed, equivalent to
# `papermill 18_ptb_step_by_step.ipynb out.ipynb -p SMALL False` (16 min on the shared 2-core CPU
# machine they were made on). "Run All" uses the cell above as written (`SMALL = True`, the
# quick setting the tests run), so its numbers will be those of a barely trained model.*

# %%
HIDDEN, EMBED = (32, 32) if SMALL else (200, 200)   # Zaremba et al.'s "small" model: 2 x 200
BATCH, STEPS = 20, 20                                # 20 streams, windows of 20 words
N_BATCHES = 30 if SMALL else 800                     # training windows (one epoch is 2,323)
LEARNING_RATE, CLIP = 1.0, 5.0

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
# ## The data: 20 parallel streams, read in windows of 20 words
#
# The training text (930,000 words) is cut into `BATCH` equal streams, laid side by side as
# the rows of a matrix. Window $k$ takes columns $20k \dots 20k + 19$ of every row as the
# input $x$, and the same columns shifted by one word as the target $y$: at every position
# the model must predict the next word.

# %%
from tfrbm.data import text
ptb = text.load_ptb()
x_all, y_all = text.ptb_windows(ptb.train, BATCH, STEPS)
print(f"vocabulary {ptb.vocab_size}; {len(ptb.train):,} training words -> {len(x_all):,} windows "
      f"of shape {x_all.shape[1:]}")
print("stream 0, window 0, input :", " ".join(ptb.decode(x_all[0, 0, :10])))
print("stream 0, window 0, target:", " ".join(ptb.decode(y_all[0, 0, :10])))

# %% [markdown]
# ## 1. The embedding lookup
#
# An embedding is a matrix $E$ with one row of `EMBED` numbers per word. Looking a word up
# is taking its row: `tf.nn.embedding_lookup(E, ids)`, which is the same as multiplying a
# one-hot vector by $E$, without building the one-hot vector. A window of shape (20, 20)
# becomes a tensor of shape (20, 20, `EMBED`).

# %%
embedding = keras.layers.Embedding(ptb.vocab_size, EMBED,
                                   embeddings_initializer=keras.initializers.RandomUniform(-0.1, 0.1, seed=SEED))
x0 = tf.constant(x_all[0])
vectors = embedding(x0)
E = embedding.embeddings
same = np.allclose(vectors.numpy(), tf.nn.embedding_lookup(E, x0).numpy())
one_hot = tf.one_hot(x0[0, 0], ptb.vocab_size)[None, :] @ E
print(f"ids {tuple(x0.shape)} -> vectors {tuple(vectors.shape)}; E has shape {tuple(E.shape)}")
print(f"the layer equals tf.nn.embedding_lookup: {same}; "
      f"one-hot x E equals the first row looked up: {np.allclose(one_hot.numpy()[0], vectors.numpy()[0, 0])}")

# %% [markdown]
# ## 2. Two stacked LSTM layers, with the state carried over
#
# Each LSTM layer returns its output at every position (`return_sequences=True`) and its
# final state $(h, c)$ (`return_state=True`). The final state of one window is the initial
# state of the next, so the 20 streams are read as 20 long texts, not as unrelated windows.
# A dense layer maps each position's output to 10,000 *logits*, one per word.

# %%
init = keras.initializers.RandomUniform(-0.1, 0.1, seed=SEED)
lstm1 = keras.layers.LSTM(HIDDEN, return_sequences=True, return_state=True, kernel_initializer=init,
                          recurrent_initializer=init)
lstm2 = keras.layers.LSTM(HIDDEN, return_sequences=True, return_state=True, kernel_initializer=init,
                          recurrent_initializer=init)
to_logits = keras.layers.Dense(ptb.vocab_size, kernel_initializer=init)


def forward(x, state):
    """Logits (batch, steps, vocab) and the new state [(h1, c1), (h2, c2)] for one window."""
    out, h1, c1 = lstm1(embedding(x), initial_state=state[0])
    out, h2, c2 = lstm2(out, initial_state=state[1])
    return to_logits(out), [(h1, c1), (h2, c2)]


zero_state = [(tf.zeros([BATCH, HIDDEN]), tf.zeros([BATCH, HIDDEN])) for _ in range(2)]
logits, state = forward(x0, zero_state)
print(f"logits {tuple(logits.shape)}; state after the window: "
      + ", ".join(f"layer {i + 1} h {tuple(h.shape)} c {tuple(c.shape)}" for i, (h, c) in enumerate(state)))

# %% [markdown]
# ## 3. The sequence loss and perplexity
#
# At each of the 20 × 20 positions the softmax of the logits is the model's distribution over
# the next word, and the loss is $-\log p(\text{true next word})$. The course sums it over the
# 20 steps and averages over the batch; per word, its mean is the cross-entropy $H$, and the
# **perplexity** is $e^H$: the number of equally likely words that would leave the model as
# unsure. An untrained model spreads its bet evenly, so it starts near
# $\log 10000 = 9.21$ nats per word, a perplexity near 10,000.

# %%
def sequence_loss(logits, y):
    """Mean over the batch of the summed per-word cross-entropy, and the mean per word."""
    per_word = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
    return tf.reduce_mean(tf.reduce_sum(per_word, axis=1)), tf.reduce_mean(per_word)


summed, per_word = sequence_loss(logits, tf.constant(y_all[0]))
print(f"untrained: loss {float(summed):.2f} per window (20 words), {float(per_word):.4f} per word, "
      f"perplexity {np.exp(float(per_word)):,.0f}; log(10000) = {np.log(10000):.4f}")

# %% [markdown]
# ## 4. The trainable variables
#
# Everything the optimizer changes. The softmax layer dominates: 10,000 words × `HIDDEN`
# weights plus 10,000 biases, and with it the embedding's 10,000 × `EMBED`. The LSTM layers
# hold four gates' weights each (input, forget, candidate, output), for the input and for the
# recurrent state.

# %%
variables = embedding.trainable_variables + lstm1.trainable_variables + lstm2.trainable_variables \
    + to_logits.trainable_variables
for v in variables:
    print(f"{v.path:40s} {str(tuple(v.shape)):16s} {int(np.prod(v.shape)):>10,}")
print(f"{'total':40s} {'':16s} {sum(int(np.prod(v.shape)) for v in variables):>10,}")

# %% [markdown]
# ## 5. Gradient clipping
#
# LSTM gradients can be large when an error travels back through many steps. The lab clips
# them by their **global norm**: if the norm of all gradients together,
# $\sqrt{\sum_v \lVert g_v \rVert^2}$, exceeds 5, every gradient is scaled down by the same
# factor, so the direction of the step is kept and only its length is limited.

# %%
with tf.GradientTape() as tape:
    logits, _ = forward(x0, zero_state)
    loss, _ = sequence_loss(logits, tf.constant(y_all[0]))
grads = tape.gradient(loss, variables)
clipped, norm = tf.clip_by_global_norm(grads, CLIP)
print(f"global gradient norm {float(norm):.3f} -> after clipping {float(tf.linalg.global_norm(clipped)):.3f}")

# %% [markdown]
# ## 6. Training: plain SGD on consecutive windows
#
# One step: run the window from the carried state, take the gradient of the sequence loss,
# clip it, and move every variable against it at learning rate 1. The state is passed on to
# the next window but not differentiated through (`tf.stop_gradient`): backpropagation runs
# through 20 steps at most ("truncated backpropagation through time").

# %%
@tf.function
def train_step(x, y, state):
    with tf.GradientTape() as tape:
        logits, new_state = forward(x, state)
        loss, per_word = sequence_loss(logits, y)
    grads, _ = tf.clip_by_global_norm(tape.gradient(loss, variables), CLIP)
    for v, g in zip(variables, grads):
        v.assign_sub(LEARNING_RATE * tf.convert_to_tensor(g))
    return per_word, [tuple(tf.stop_gradient(s) for s in pair) for pair in new_state]


state, curve = zero_state, []
for k in range(N_BATCHES):
    per_word, state = train_step(tf.constant(x_all[k]), tf.constant(y_all[k]), state)
    curve.append(float(per_word))
every = max(1, N_BATCHES // 8)
for k in range(every - 1, N_BATCHES, every):
    print(f"windows {k - every + 2:4d}-{k + 1:4d}: training perplexity {np.exp(np.mean(curve[k - every + 1:k + 1])):8.1f}")
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(np.arange(1, N_BATCHES + 1), np.exp(curve), lw=0.6)
ax.set(xlabel="training window", ylabel="perplexity of the window", yscale="log",
       title="plain SGD, learning rate 1, clipped at 5")
plt.show()

# %% [markdown]
# ## The learned embeddings
#
# Words used in similar contexts should get similar rows of $E$: their predictions are
# alike, so their gradients are alike. The cosine similarity between rows finds each word's
# nearest neighbours. (After a fraction of one epoch, only frequent words have been seen
# often enough to move far from their random start.)

# %%
E = embedding.embeddings.numpy()
unit = E / np.linalg.norm(E, axis=1, keepdims=True)
for word in ("the", "N", "$", "year", "stock", "said"):
    i = ptb.word_to_id[word]
    sims = unit @ unit[i]
    near = [j for j in np.argsort(-sims) if j != i][:6]
    print(f"{word:>6s}: " + ", ".join(f"{ptb.vocabulary[j]} ({sims[j]:.2f})" for j in near))

# %% [markdown]
# ## What you saw
#
# * The embedding layer is a table lookup: its output equals `tf.nn.embedding_lookup` on the
#   same matrix, and a one-hot vector times $E$ gives the same row. A (20, 20) window of ids
#   became (20, 20, 200) vectors and then (20, 20, 10000) logits; each LSTM layer's state is
#   one (20, 200) $h$ and one (20, 200) $c$, one row per stream.
# * Untrained, the loss was 9.2125 nats per word against $\log 10000 = 9.2103$: perplexity
#   10,021, a model that has no preference among the 10,000 words.
# * The model has 4,651,600 trainable numbers, and most of them are the embedding
#   (2,000,000), the softmax weights (2,000,000) and its biases (10,000): the vocabulary, not
#   the LSTMs, makes a word model big.
# * The first window's global gradient norm was 3.417, below the threshold of 5, so clipping
#   left it unchanged; it only acts on the rare large gradients.
# * 800 windows of plain SGD, about a third of one epoch, brought the training perplexity
#   from 1501.2 over the first 100 windows to 330.8 over the last 100 (notebook 07's model
#   reaches about 116 on validation after five full epochs).
# * Even that short training put words used alike next to each other: "said" is nearest to
#   "say", "think", "says" and "saying"; "the" to "another", "our" and "his"; the number
#   token "N" to "seven" and "five" and to months; "$" to "#" and "c$".
