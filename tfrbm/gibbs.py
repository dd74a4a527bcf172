"""Gibbs kernels shared by every model: one step, k steps, clamped steps, long chains.

Block Gibbs sampling alternates h ~ p(h | v) and v ~ p(v | h). All randomness is stateless: each
function takes a seed of shape (2,) and derives per-step seeds with ``fold_in``, so a chain is
reproducible from its seed, runs inside one compiled graph and exports to SavedModel.
"""
import tensorflow as tf
from tfrbm.validation import POSITIVE_INT, check_param

__all__ = ["fold", "base_rate_samples", "k_steps", "run_chain", "clamped_chain", "UNROLL_LIMIT"]

#: CD-k chains up to this length are unrolled in the graph (fastest); longer ones use a while loop.
UNROLL_LIMIT = 25


def fold(seed, i):
    """A new stateless seed derived from ``seed`` and the integer ``i``."""
    return tf.random.experimental.stateless_fold_in(seed, i)


def base_rate_samples(units, bias, n, seed):
    """``n`` draws of the base-rate model: visible biases only, no weights.

    Each row is v ~ p(v) = units(mean(b)) (e.g. v_i ~ Bernoulli(sigmoid(b_i))); where every chain
    starts (``daydream``, persistent chains, DBN fantasies, AIS).
    """
    b = tf.broadcast_to(bias, tf.stack([n, tf.shape(bias)[-1]]))
    return units.draw(b, seed)


def _step(layer, h, seed):
    """One half-step down and up: v ~ p(v | h), then p(h | v) and h' ~ p(h | v)."""
    v_mean, v = layer.sample_visible(h, fold(seed, 0))
    h_probs, h_new = layer.sample_hidden(v, fold(seed, 1))
    return v_mean, v, h_probs, h_new


def k_steps(layer, h, k, seed, sample_last_hidden=True):
    """Run k Gibbs steps starting from hidden states ``h``.

    Returns (v_mean_1, v_k, h_probs_k, h_k): the mean of the first reconstruction (for the
    reconstruction-error monitor), the k-th visible sample, p(h | v_k) and h_k ~ p(h | v_k).
    With ``sample_last_hidden=False`` h_k is not drawn (None): CD with probability statistics
    never uses it. Step i always uses the seed ``fold(seed, i)``, so skipping that draw changes
    nothing else.
    """
    k = check_param("k (the number of Gibbs steps)", int(k), POSITIVE_INT)
    v_mean1 = None
    if k > 1:
        v_mean1, v, h_probs, h = _step(layer, h, fold(seed, 0))
        if k <= UNROLL_LIMIT:
            for i in range(1, k - 1):
                _, v, h_probs, h = _step(layer, h, fold(seed, i))
        else:
            def body(i, v, h_probs, h):
                _, v, h_probs, h = _step(layer, h, fold(seed, i))
                return i + 1, v, h_probs, h
            _, v, h_probs, h = tf.while_loop(lambda i, *_: i < k - 1, body,
                                             (tf.constant(1), v, h_probs, h))
    last = fold(seed, k - 1)                     # the last step, as _step with its seed
    v_mean, v = layer.sample_visible(h, fold(last, 0))
    if v_mean1 is None:
        v_mean1 = v_mean
    if sample_last_hidden:
        h_probs, h = layer.sample_hidden(v, fold(last, 1))
    else:
        h_probs, h = layer.hidden_probs(v), None
    return v_mean1, v, h_probs, h


def run_chain(layer, v, steps, seed, trace=False):
    """Run ``steps`` Gibbs steps from visible states ``v``; returns (v_mean, v) after the last step.

    With ``trace=True`` (or ``"mean"``) also returns a (steps, batch, n_visible) tensor of each
    step's visible means; with ``trace="sample"`` of each step's sampled visible states.
    ``steps`` may be a tensor (a while loop runs it in one graph).
    """
    steps = tf.convert_to_tensor(steps, tf.int32)
    _, h = layer.sample_hidden(v, fold(seed, -1))
    v_mean = tf.zeros_like(v)
    ta = tf.TensorArray(v.dtype, size=steps) if trace else None

    def body(i, v_mean, v, h, ta):
        v_mean, v, _, h = _step(layer, h, fold(seed, i))
        if trace:
            ta = ta.write(i, v if trace == "sample" else v_mean)
        return i + 1, v_mean, v, h, ta

    loop_vars = (tf.constant(0), v_mean, v, h, ta if trace else tf.constant(0))
    _, v_mean, v, _, ta = tf.while_loop(
        lambda i, *_: i < steps,
        lambda i, vm, v, h, t: body(i, vm, v, h, t),
        loop_vars)
    if trace:
        return v_mean, v, ta.stack()
    return v_mean, v


def clamped_chain(layer, v, mask, steps, seed):
    """Gibbs sampling with the known units clamped (``mask`` = 1 where v is known).

    Each step resamples h ~ p(h | v) and then only the unknown visible units; returns
    (v_mean, v) where the known entries equal the input and the unknown entries hold the last
    step's conditional mean and sample.
    """
    steps = tf.convert_to_tensor(steps, tf.int32)
    mask = tf.cast(mask, v.dtype)
    known = v * mask

    def body(i, v_mean, v):
        _, h = layer.sample_hidden(v, fold(seed, 2 * i))
        mean, sample = layer.sample_visible(h, fold(seed, 2 * i + 1))
        v_mean = known + (1 - mask) * mean
        v = known + (1 - mask) * sample
        return i + 1, v_mean, v

    _, v_mean, v = tf.while_loop(lambda i, *_: i < steps, body, (tf.constant(0), v, v))
    return v_mean, v
