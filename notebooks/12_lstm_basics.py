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
# # 12 · LSTM basics: one cell, its state, and a stack of cells
#
# A recurrent network reads a sequence one element at a time and carries a *state* from
# step to step. The long short-term memory (LSTM) cell carries two vectors: the **cell
# state** $c$ (the long-term memory) and the **hidden state** $h$ (its output). At each step,
# with input $x_t$:
#
# $$\begin{aligned}
# i_t &= \sigma(W_i x_t + U_i h_{t-1} + b_i) &&\text{input gate} \\
# f_t &= \sigma(W_f x_t + U_f h_{t-1} + b_f) &&\text{forget gate} \\
# o_t &= \sigma(W_o x_t + U_o h_{t-1} + b_o) &&\text{output gate} \\
# \tilde c_t &= \tanh(W_c x_t + U_c h_{t-1} + b_c) &&\text{candidate} \\
# c_t &= f_t \odot c_{t-1} + i_t \odot \tilde c_t, \qquad h_t = o_t \odot \tanh(c_t)
# \end{aligned}$$
#
# The course lab builds one cell, feeds it one input, and inspects the state; then it
# stacks two cells and looks at the shapes. Here is the same in Keras.

# %% tags=["parameters"]
# parameters (papermill): SMALL=True is the quick CI setting, SMALL=False the full one
SMALL = True
SEED = 0

# %% [markdown]
# *The outputs shown come from a real run with those parameters changed, equivalent to
# `papermill 12_lstm_basics.ipynb out.ipynb -p SMALL False` (2 min on the shared 2-core CPU
# machine they were made on). "Run All" uses the cell above as written (`SMALL = True`, the
# quick setting the tests run), so its numbers will be those of a barely trained model.*

# %%
STEPS = 20 if SMALL else 60      # length of the sequence in the last section

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
# ## One cell, one step
#
# `keras.layers.LSTMCell(units)` is a single cell. Its state is the list `[h, c]`, each of
# shape `[batch, units]`; it starts at zeros. Calling the cell on an input and a state
# returns the output and the new state — and the output *is* the new $h$.

# %%
cell = keras.layers.LSTMCell(4, seed=SEED)
x = tf.constant([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])          # batch of 1, 6 features
state = [tf.zeros((1, 4)), tf.zeros((1, 4))]                # [h, c]
output, (h, c) = cell(x, state)
print("output:", np.round(output.numpy(), 4))
print("h     :", np.round(h.numpy(), 4), " (the same as the output)")
print("c     :", np.round(c.numpy(), 4))
print("weights:", [(w.name, tuple(w.shape)) for w in cell.weights])

# %% [markdown]
# The kernel is `[6, 16]`: the four gates' input weights $W_i, W_f, W_c, W_o$ side by
# side (4 × 4 units), the recurrent kernel `[4, 16]` the $U$s. We can recompute the step by
# hand from the formulas above and check the cell:

# %%
W, U, b = (v.numpy() for v in cell.weights)
h0 = c0 = np.zeros((1, 4))
pre = x.numpy() @ W + h0 @ U + b
def sig(t):
    return 1 / (1 + np.exp(-t))


i, f, g, o = np.split(pre, 4, axis=1)                      # Keras' gate order: i, f, c~, o
c1 = sig(f) * c0 + sig(i) * np.tanh(g)
h1 = sig(o) * np.tanh(c1)
print("by hand: h", np.round(h1, 4), " c", np.round(c1, 4))
print("matches the cell:", np.allclose(h1, h.numpy(), atol=1e-5), np.allclose(c1, c.numpy(), atol=1e-5))

# %% [markdown]
# ## A stacked cell
#
# Two cells stacked (`keras.layers.StackedRNNCells`): the first cell's output is the second
# cell's input at the same step. The state is now one `[h, c]` pair *per layer*, and the
# output is the top cell's $h$.

# %%
stacked = keras.layers.StackedRNNCells([keras.layers.LSTMCell(5, seed=SEED), keras.layers.LSTMCell(3, seed=SEED + 1)])
batch = tf.random.normal((2, 6), seed=SEED)                 # batch of 2
states = [[tf.zeros((2, 5)), tf.zeros((2, 5))], [tf.zeros((2, 3)), tf.zeros((2, 3))]]
out, new_states = stacked(batch, states)
print("output shape:", tuple(out.shape))
for layer, (h, c) in enumerate(new_states, 1):
    print(f"layer {layer}: h {tuple(h.shape)}, c {tuple(c.shape)}")
print("output is the top layer's h:", np.allclose(out, new_states[-1][0]))

# %% [markdown]
# ## Running over a sequence
#
# `keras.layers.RNN(cell)` loops the cell over the time axis of a `[batch, time, features]`
# tensor. With `return_sequences=True` it returns $h$ at every step, with
# `return_state=True` also the final states. Here the input is a sine wave; we watch $h$ and
# $c$ evolve for one sequence.

# %%
t = np.linspace(0, 4 * np.pi, STEPS, dtype="float32")
seq = np.stack([np.sin(t), np.cos(t)], axis=-1)[None]            # 1 x STEPS x 2
seq_cells = keras.layers.StackedRNNCells([keras.layers.LSTMCell(5, seed=SEED), keras.layers.LSTMCell(3, seed=SEED + 1)])
rnn = keras.layers.RNN(seq_cells, return_sequences=True, return_state=True)
outputs, *final = rnn(tf.constant(seq))
print("sequence outputs:", tuple(outputs.shape), " final states:", [tuple(s.shape) for s in tf.nest.flatten(final)])
# the cells' states at every step: run the top-level loop by hand to keep c as well
states = [[tf.zeros((1, 5)), tf.zeros((1, 5))], [tf.zeros((1, 3)), tf.zeros((1, 3))]]
hs, cs = [], []
for step in range(STEPS):
    out, states = seq_cells(tf.constant(seq[:, step]), states)
    hs.append(states[-1][0].numpy()[0])
    cs.append(states[-1][1].numpy()[0])
print("hand loop equals keras.layers.RNN:", np.allclose(np.array(hs), outputs.numpy()[0], atol=1e-5))
fig, axes = plt.subplots(1, 3, figsize=(12, 2.8))
axes[0].plot(seq[0])
axes[0].set_title("input (sin, cos)")
axes[1].plot(np.array(hs))
axes[1].set_title("top-layer h (3 units)")
axes[2].plot(np.array(cs))
axes[2].set_title("top-layer c (3 units)")
for ax in axes:
    ax.set_xlabel("step")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## What you saw
#
# * One LSTM cell's state is two vectors of its size; the output of a step is simply
#   the new $h$, and the hand computation from the gate equations matches Keras exactly
#   (Keras orders the gates input, forget, candidate, output).
# * Stacking keeps one `[h, c]` pair per layer, with each layer's own width (5 and 3 here);
#   the stack's output has the top layer's width.
# * Even untrained, $h$ stays within (−1, 1) (it is a gated tanh) while $c$ is not bounded
#   and can drift — the cell state is the memory that the forget gate decides to keep.
#   Training (notebooks 07 and 13) sets the gates so that this memory carries what the
#   task needs.
