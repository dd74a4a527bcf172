"""The centering trick for RBM training (Melchior, Fischer & Wiskott, JMLR 2016, "How to center
deep Boltzmann machines").

A centered RBM writes its energy with offsets mu (visible) and lambda (hidden) subtracted:

    E(v, h) = -(v - mu)^T W (h - lambda) - b_c^T (v - mu) - c_c^T (h - lambda).

Expanding shows the same family as the plain RBM, -v^T W h - b^T v - c^T h (up to a constant),
with natural biases

    b = b_c - W lambda,        c = c_c - W^T mu.

So tfrbm keeps storing the natural parameters (W, b, c), and every sampler, free energy and AIS
routine is unchanged; centering only changes the *update*. The log-likelihood gradient with
respect to the centered parameters is

    dW_c = <(v - mu)(h - lambda)^T>_data - <(v - mu)(h - lambda)^T>_model
         = dW - mu dc^T - db lambda^T,
    db_c = db,   dc_c = dc,

where dW = <v h^T>_d - <v h^T>_m, db = <v>_d - <v>_m, dc = <h>_d - <h>_m are the natural
gradients (mu, lambda constants in the expectations). A step of size eta on the centered
parameters, mapped back through b = b_c - W lambda and c = c_c - W^T mu, moves the natural
parameters by eta times

    W:  dW_c,       b:  db - dW_c lambda,       c:  dc - dW_c^T mu,

which is what :func:`centered_gradients` returns (for descent-signed gradients, as the optimizer
takes them, the same linear map applies). With mu = lambda = 0 it is the identity. Centering
makes the update invariant to flipping units (v -> 1 - v) and better conditioned; the paper finds
offsets at the data means the most reliable.

Offsets: mu and lambda are moving averages of the data mean of v and of p(h | v_data), updated
before each step's gradient (the paper's Algorithm 1 with the "dd" variant and sliding factor
nu): ``offset <- (1 - nu) offset + nu batch_mean``. Because the parameters are stored in natural
form, moving an offset needs no re-parametrisation: the model (its distribution) is unchanged.
"""
import tensorflow as tf

__all__ = ["centered_gradients", "slide_offset"]


def centered_gradients(d_kernel, d_visible, d_hidden, visible_offset, hidden_offset):
    """Map natural-parameter gradients (dW, db, dc) to the natural-parameter step of a centered
    gradient step (see the module docstring); shapes (V, H), (V,), (H,) in and out."""
    mu = tf.cast(visible_offset, d_kernel.dtype)
    lam = tf.cast(hidden_offset, d_kernel.dtype)
    d_kernel_c = (d_kernel - mu[:, None] * d_hidden[None, :]
                  - d_visible[:, None] * lam[None, :])
    d_visible_n = d_visible - tf.linalg.matvec(d_kernel_c, lam)
    d_hidden_n = d_hidden - tf.linalg.matvec(d_kernel_c, mu, transpose_a=True)
    return d_kernel_c, d_visible_n, d_hidden_n


def slide_offset(offset, batch_mean, rate):
    """The moving average (1 - rate) offset + rate batch_mean."""
    return (1.0 - rate) * offset + rate * tf.cast(batch_mean, offset.dtype)
