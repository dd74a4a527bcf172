"""Unit families: the one place that knows a distribution.

A unit family answers four questions about a layer of units with total input ``a`` (the bias plus
the weighted input from the other layer):

* ``mean(a)``: the conditional mean, e.g. sigma(a) for Bernoulli units;
* ``sample(mean, seed)``: a draw from the conditional;
* ``energy_term(v, bias)``: the part of the energy that involves only these units, as used in the
  free energy F(v) = energy_term(v, b) - sum_j softplus(c_j + v W_:j);
* ``log_marginal(a_without_bias, bias)``: log of the sum (or integral) over these units' states
  of exp(-energy), used by exact enumeration and AIS.

Every family serves either side of an RBM (``RBMLayer(n, visible=..., hidden=...)``): the free
energy is F(v) = e_v(v; b) - hidden.log_marginal(v W, c) and E(v, h) = e_v(v; b) + e_h(h; c) - v W h.
``draw(a, seed)`` samples from the total input ``a`` (families whose law is not fixed by its mean,
such as the stepped-sigmoid units, need ``a``); ``levels`` lists the states of a discrete family
(for exact enumeration), None for continuous ones.

Bernoulli:  p(v_i=1|a) = sigma(a_i),            energy term -v.b
Gaussian:   p(v_i|a) = N(a_i, 1),                energy term 1/2 ||v - b||^2  (unit variance)
Softmax:    K-way one-hot groups, p(v_ik=1|a) = softmax_k(a_i.),   energy term -v.b
Stepped sigmoid ("relu"): N binary copies sharing the input a with offsets -0.5, -1.5, ...,
            the unit's value is their count k in {0..N}; energy term -k b - log e_k(q),
            mean sum_i sigma(a - i + 0.5) (~ softplus(a), a smooth rectifier), exact free energy
Composite:  side-by-side parts, e.g. Bernoulli features next to a softmax label group (the top
            RBM of a class-conditional DBN); energy terms and log marginals add over the parts.

Serialisation follows Keras (``Dense.get_config``): ``get_config()`` holds the constructor
arguments, ``from_config`` rebuilds, and every family is registered with
``keras.saving.register_keras_serializable``, so ``keras.saving.serialize_keras_object(units)``
reloads as the same class. Registration is open: a ``Units`` subclass registered with Keras (in
any package) round-trips through ``.keras`` files as itself, and a subclass that sets its own
``name`` can be asked for by that name in :func:`get_units`.
"""
import math

import keras
import numpy as np
import tensorflow as tf

from tfrbm import serving
from tfrbm.errors import UserError

__all__ = ["Units", "BernoulliUnits", "GaussianUnits", "SoftmaxUnits", "MaskedSoftmaxUnits",
           "SteppedSigmoidUnits", "CompositeUnits", "get_units"]


def _uniform(shape, seed, dtype):
    return tf.random.stateless_uniform(shape, seed=seed, dtype=dtype)


class Units:
    """Base class of a unit family. Subclasses are small and stateless apart from their config."""

    name = "units"
    #: whether every unit takes values in {0, 1} (so states can be enumerated and data checked)
    binary = False
    #: the values one unit can take, for exact enumeration (None: continuous or too many)
    levels = None
    #: whether the energy term is 1/2 ||x - b||^2 (unit-variance Gaussian): a layer with such
    #: units on both sides has a finite partition function only while ||W||_2 < 1
    quadratic = False

    def mean(self, a):
        raise NotImplementedError

    def sample(self, mean, seed):
        raise NotImplementedError

    def draw(self, a, seed):
        """A draw from the conditional given the total input ``a`` (a tensor of the same shape)."""
        return self.sample(self.mean(a), seed)

    def log_marginal_of_total(self, total, bias):
        """``log_marginal`` given the total input (weighted input + bias) instead of its parts."""
        return self.log_marginal(total - bias, bias)

    # -- annealing (AIS and RAISE, :mod:`tfrbm.likelihood.ais`) through p*_beta(v) proportional to
    # -- exp(-e_v,beta(v)) * integral exp(-e_h(h; c) + beta h.x) dh with x = v W: the weights are
    # -- annealed, the hidden bias is kept (a family may anneal its bias too, see BernoulliUnits)
    def annealed_input(self, x, bias, beta):
        """The total input of these (hidden) units in the beta-model, given x = v W."""
        return beta * x + bias

    def annealing_increment(self, x, bias, beta, beta_prev):
        """log f_beta - log f_beta' of the hidden part, one float64 value per row (x = v W)."""
        x64, b64 = tf.cast(x, tf.float64), tf.cast(bias, tf.float64)
        return (self.log_marginal(tf.cast(beta, tf.float64) * x64, b64)
                - self.log_marginal(tf.cast(beta_prev, tf.float64) * x64, b64))

    def annealing_base_log_marginal(self, bias):
        """log of the hidden part at beta = 0 (where the annealing starts)."""
        b64 = tf.cast(bias, tf.float64)
        return float(self.log_marginal(tf.zeros_like(b64)[None], b64)[0].numpy())

    def energy_term(self, v, bias):
        raise NotImplementedError

    def log_marginal(self, a, bias):
        raise NotImplementedError

    def validate(self, x):
        """Raise ValueError when numpy data ``x`` cannot be these units' states."""

    def check_tensor(self, x, name="visible"):
        """``x`` with in-graph asserts that it can be these units' states (serving inputs).

        Finite values for every family; values in [0, 1] for binary families.
        """
        if self.binary:
            return serving.check_range(x, 0, 1, name)
        return serving.check_finite(x, name)

    def get_config(self):
        """The constructor arguments (Keras convention); the family is the class itself."""
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __repr__(self):
        return f"{type(self).__name__}({self.get_config()})"


@keras.saving.register_keras_serializable(package="tfrbm")
class BernoulliUnits(Units):
    """Binary units: p(x=1 | a) = sigmoid(a). Data must lie in [0, 1] (probabilities allowed)."""

    name = "bernoulli"
    binary = True
    levels = (0.0, 1.0)

    def mean(self, a):
        return tf.sigmoid(a)

    def log_marginal_of_total(self, total, bias):
        return tf.reduce_sum(tf.math.softplus(total), axis=-1)

    # Bernoulli hidden units anneal their bias with the weights (Salakhutdinov & Murray 2008):
    # the hidden part of log p*_beta(v) is sum_j softplus(beta (c_j + v W_:j)), and at beta = 0
    # each unit contributes log 2
    def annealed_input(self, x, bias, beta):
        return beta * (x + bias)

    def annealing_increment(self, x, bias, beta, beta_prev):
        # sum_j softplus(beta x_j) - softplus(beta' x_j) (x including the bias) is a small
        # difference of large terms; written as (beta - beta') relu(x) - log1p(sigmoid(-beta |x|)
        # expm1((beta - beta') |x|)) it has no cancellation in float32 for either sign of x or of
        # beta - beta' (the log1p argument stays above -1/2), and the sum is accumulated in
        # float64. Where |(beta - beta') x| > 30 expm1 could overflow, and there the plain
        # difference of the two softplus terms is large enough to be accurate.
        dtype = x.dtype
        x = x + bias
        beta_t = tf.cast(beta, dtype)
        d_beta_t = tf.cast(beta - beta_prev, dtype)
        ax = tf.abs(x)
        dx = d_beta_t * ax
        safe = tf.abs(dx) < 30
        hid = tf.where(
            safe,
            d_beta_t * tf.nn.relu(x) - tf.math.log1p(tf.sigmoid(-beta_t * ax)
                                                     * tf.math.expm1(tf.where(safe, dx, 0))),
            tf.math.softplus(beta_t * x) - tf.math.softplus(tf.cast(beta_prev, dtype) * x))
        return tf.reduce_sum(tf.cast(hid, tf.float64), axis=-1)

    def annealing_base_log_marginal(self, bias):
        return int(bias.shape[-1]) * math.log(2.0)

    def sample(self, mean, seed):
        # one uniform draw per unit compared against its probability
        return tf.cast(_uniform(tf.shape(mean), seed, mean.dtype) < mean, mean.dtype)

    def energy_term(self, v, bias):
        return -tf.linalg.matvec(v, bias)

    def log_marginal(self, a, bias):
        # log sum_{x in {0,1}^n} exp(x.(a + b)) = sum softplus(a + b)
        return tf.reduce_sum(tf.math.softplus(a + bias), axis=-1)

    def validate(self, x):
        if x.size and (np.min(x) < 0 or np.max(x) > 1):
            raise UserError(
                "values outside [0, 1] for Bernoulli visible units "
                f"(min {float(np.min(x)):.4g}, max {float(np.max(x)):.4g}); scale the data to [0, 1] "
                "or use visible='gaussian' for real-valued data")


@keras.saving.register_keras_serializable(package="tfrbm")
class GaussianUnits(Units):
    """Real-valued units with unit variance: p(x | a) = N(a, 1). Standardise the data first."""

    name = "gaussian"
    quadratic = True

    def mean(self, a):
        return a

    def sample(self, mean, seed):
        return mean + tf.random.stateless_normal(tf.shape(mean), seed=seed, dtype=mean.dtype)

    def energy_term(self, v, bias):
        return 0.5 * tf.reduce_sum(tf.square(v - bias), axis=-1)

    def log_marginal(self, a, bias):
        # integral exp(-1/2||x-b||^2 + x.a) dx = (2 pi)^{n/2} exp(1/2||a+b||^2 - 1/2||b||^2)
        n = tf.cast(tf.shape(bias)[-1], a.dtype)
        return (0.5 * tf.reduce_sum(tf.square(a + bias), axis=-1)
                - 0.5 * tf.reduce_sum(tf.square(bias)) + 0.5 * n * math.log(2 * math.pi))


@keras.saving.register_keras_serializable(package="tfrbm")
class SoftmaxUnits(Units):
    """K-way softmax units: consecutive groups of ``k`` one-hot units, one group per item.

    A vector of n_items * k units is read as [item0_class0, ..., item0_class{k-1}, item1_class0, ...].
    """

    name = "softmax"
    binary = True

    def __init__(self, k=5):
        if int(k) < 2:
            raise UserError(f"SoftmaxUnits needs k >= 2 classes, got {k}")
        self.k = int(k)

    def _groups(self, x):
        return tf.reshape(x, tf.concat([tf.shape(x)[:-1], [-1, self.k]], axis=0))

    def mean(self, a):
        return tf.reshape(tf.nn.softmax(self._groups(a), axis=-1), tf.shape(a))

    def sample(self, mean, seed):
        groups = self._groups(mean)
        # inverse-CDF draw: one uniform per group compared against the cumulative probabilities
        u = _uniform(tf.shape(groups)[:-1], seed, mean.dtype)[..., None]
        cdf = tf.cumsum(groups, axis=-1)
        index = tf.reduce_sum(tf.cast(cdf < u, tf.int32), axis=-1)
        index = tf.minimum(index, self.k - 1)
        return tf.reshape(tf.one_hot(index, self.k, dtype=mean.dtype), tf.shape(mean))

    def energy_term(self, v, bias):
        return -tf.linalg.matvec(v, bias)

    def log_marginal(self, a, bias):
        return tf.reduce_sum(tf.reduce_logsumexp(self._groups(a + bias), axis=-1), axis=-1)

    def validate(self, x):
        if x.shape[-1] % self.k:
            raise UserError(f"softmax units need a multiple of k={self.k} features, got {x.shape[-1]}")
        if x.size and (np.min(x) < 0 or np.max(x) > 1):
            raise UserError("values outside [0, 1] for softmax visible units")

    def get_config(self):
        return {"k": self.k}

    def observed(self, mask):
        """These units restricted to the groups where ``mask`` (batch, n_items) is 1."""
        return MaskedSoftmaxUnits(self.k, mask)


class MaskedSoftmaxUnits(SoftmaxUnits):
    """K-way softmax groups of which only the observed ones exist (missing ratings).

    ``mask`` (batch, n_items) is 1 where an item's group is part of this case's model and 0 where
    it is missing: a missing group has no state, so its mean and its samples are all zero, it
    adds nothing to the energy and never reaches the hidden units (Salakhutdinov, Mnih & Hinton
    2007: each user's RBM holds only the movies that user rated). Bound to one batch's mask,
    so it is made per step with :meth:`SoftmaxUnits.observed`; it is not a serialisable family.
    """

    name = "masked_softmax"

    def __init__(self, k, mask):
        super().__init__(k)
        self.mask = mask
        self._flat_mask = tf.reshape(tf.repeat(tf.cast(mask, tf.float32), self.k, axis=-1),
                                     tf.shape(mask) * [1, self.k])

    def _masked(self, x):
        return x * tf.cast(self._flat_mask, x.dtype)

    def mean(self, a):
        return self._masked(super().mean(a))

    def sample(self, mean, seed):
        return self._masked(super().sample(mean, seed))

    def log_marginal(self, a, bias):
        groups = self._groups(a + bias)
        return tf.reduce_sum(tf.reduce_logsumexp(groups, axis=-1)
                             * tf.cast(self.mask, groups.dtype), axis=-1)

    def get_config(self):
        raise TypeError("MaskedSoftmaxUnits is bound to one batch's mask and is not serialised")


def _log_elementary_symmetric(log_q):
    """log e_k(q_1..q_N) for k = 0..N (float64 numpy), by the recursion e_k <- e_k + q_i e_{k-1}."""
    out = np.full(len(log_q) + 1, -np.inf)
    out[0] = 0.0
    for i, lq in enumerate(log_q):
        out[1:i + 2] = np.logaddexp(out[1:i + 2], out[0:i + 1] + lq)
    return out


@keras.saving.register_keras_serializable(package="tfrbm")
class SteppedSigmoidUnits(Units):
    """Rectified units as N binary copies with shared weights and offset biases ("relu").

    Nair & Hinton (2010) show that a unit made of infinitely many copies of a binary unit, all
    with the same input a and biases shifted by -0.5, -1.5, -2.5, ..., has the mean
    sum_i sigma(a - i + 0.5) ~ log(1 + e^a), a smooth rectifier; their noisy rectified linear
    unit max(0, a + N(0, sigma(a))) approximates its sampler. This is the *stepped-sigmoid* unit
    itself with ``n_copies`` = N copies, not the NReLU approximation, because it is an exact RBM:

    * the unit's value is the number k in {0, ..., N} of copies that are on;
    * given the input the copies are independent, copy i on with probability sigma(a - i + 0.5),
      so ``draw`` is exact (N uniforms per unit) and the mean is the sum of the N sigmoids;
    * summing the copies out, the energy of a count k is -k b - log e_k(q) with
      q_i = exp(-(i - 0.5)) and e_k the elementary symmetric polynomial, and
      log sum_k exp(k a) e_k(q) = sum_i softplus(a - i + 0.5): the free energy, log-marginal,
      AIS and enumeration (``levels`` = 0..N) are exact.

    The cost is N draws per unit where NReLU needs one normal draw. ``n_copies`` (default 20)
    bounds the value at N; with the default, the mean of a unit whose input stays below ~15 is
    within 0.011 of softplus (the midpoint sum's error, largest near a = 0). Its ``sample`` needs the input,
    not the mean: use ``draw``.
    """

    name = "relu"

    def __init__(self, n_copies=20):
        if isinstance(n_copies, bool) or int(n_copies) != n_copies or int(n_copies) < 1:
            raise UserError(f"SteppedSigmoidUnits needs n_copies >= 1 (an integer), got {n_copies!r}")
        self.n_copies = int(n_copies)
        self.levels = tuple(float(k) for k in range(self.n_copies + 1))
        self._offsets = np.arange(self.n_copies) + 0.5                     # i - 0.5, i = 1..N
        self._log_e = _log_elementary_symmetric(-self._offsets)            # log e_k(q), k = 0..N

    def _copy_inputs(self, a):
        return a[..., None] - tf.constant(self._offsets, a.dtype)

    def mean(self, a):
        return tf.reduce_sum(tf.sigmoid(self._copy_inputs(a)), axis=-1)

    def draw(self, a, seed):
        p = tf.sigmoid(self._copy_inputs(a))
        return tf.reduce_sum(tf.cast(_uniform(tf.shape(p), seed, a.dtype) < p, a.dtype), axis=-1)

    def sample(self, mean, seed):
        raise UserError("stepped-sigmoid (relu) units are sampled from their input, not their "
                        "mean: use draw(a, seed)")

    def energy_term(self, v, bias):
        index = tf.cast(tf.round(tf.clip_by_value(v, 0, self.n_copies)), tf.int32)
        log_e = tf.gather(tf.constant(self._log_e, v.dtype), index)
        return -tf.linalg.matvec(v, bias) - tf.reduce_sum(log_e, axis=-1)

    def log_marginal(self, a, bias):
        return self.log_marginal_of_total(a + bias, bias)

    def log_marginal_of_total(self, total, bias):
        return tf.reduce_sum(tf.math.softplus(self._copy_inputs(total)), axis=[-2, -1])

    def validate(self, x):
        if x.size and (np.min(x) < 0 or np.max(x) > self.n_copies or np.any(x != np.round(x))):
            raise UserError(
                f"relu (stepped-sigmoid) units take integer values 0..{self.n_copies}; the data "
                f"has values from {float(np.min(x)):.4g} to {float(np.max(x)):.4g}"
                + ("" if np.all(x == np.round(x)) else " and non-integers"))

    def check_tensor(self, x, name="visible"):
        return serving.check_range(x, 0, self.n_copies, name)

    def get_config(self):
        return {"n_copies": self.n_copies}


def _families():
    """{name: class} of every Units subclass that declares its own ``name`` (open: subclasses
    defined anywhere join when their module is imported)."""
    found, todo = {}, [Units]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if "name" in sub.__dict__:
                found.setdefault(sub.name, sub)
            todo.append(sub)
    return found


@keras.saving.register_keras_serializable(package="tfrbm")
class CompositeUnits(Units):
    """Consecutive parts of one layer, each its own unit family: [part 0 units | part 1 units | ...].

    ``parts`` is a list of ``(family, size)`` pairs (family: anything :func:`get_units` takes);
    at most one size may be ``None``: that part takes the units the others leave. Given the other
    layer the parts are independent, so the conditional mean and samples are each part's, and
    energy_term(v, b) = sum_p energy_term_p(v_p, b_p), log_marginal = sum_p log_marginal_p.

    Example: Bernoulli features followed by one 10-way softmax label group (Hinton, Osindero &
    Teh 2006, the top RBM of a DBN that generates digits of a chosen class):
    ``CompositeUnits([("bernoulli", None), ({"name": "softmax", "k": 10}, 10)])``.
    """

    name = "composite"

    def __init__(self, parts):
        parts = [(get_units(u), None if n is None else int(n)) for u, n in parts]
        if len(parts) < 2:
            raise UserError("CompositeUnits needs at least two parts")
        if sum(n is None for _, n in parts) > 1:
            raise UserError("at most one part of CompositeUnits may have size None")
        if any(n is not None and n < 1 for _, n in parts):
            raise UserError(f"CompositeUnits part sizes must be positive, got {[n for _, n in parts]}")
        self.parts = parts
        self.binary = all(u.binary for u, _ in parts)

    def sizes(self, total):
        """The parts' sizes for a layer of ``total`` units (resolving the ``None`` part)."""
        known = sum(n for _, n in self.parts if n is not None)
        rest = int(total) - known
        if rest < (1 if any(n is None for _, n in self.parts) else 0) or (
                rest and all(n is not None for _, n in self.parts)):
            raise UserError(f"a layer of {total} units cannot hold parts of sizes "
                             f"{[n for _, n in self.parts]}")
        return [rest if n is None else n for _, n in self.parts]

    def _split(self, x):
        sizes = [-1 if n is None else n for _, n in self.parts]
        return tf.split(x, sizes, axis=-1)

    def mean(self, a):
        return tf.concat([u.mean(p) for (u, _), p in zip(self.parts, self._split(a))], axis=-1)

    def sample(self, mean, seed):
        return tf.concat([u.sample(p, tf.random.experimental.stateless_fold_in(seed, i))
                          for i, ((u, _), p) in enumerate(zip(self.parts, self._split(mean)))],
                         axis=-1)

    def energy_term(self, v, bias):
        return tf.add_n([u.energy_term(p, b) for (u, _), p, b
                         in zip(self.parts, self._split(v), self._split(bias))])

    def log_marginal(self, a, bias):
        return tf.add_n([u.log_marginal(p, b) for (u, _), p, b
                         in zip(self.parts, self._split(a), self._split(bias))])

    def validate(self, x):
        start = 0
        for (u, _), n in zip(self.parts, self.sizes(x.shape[-1])):
            u.validate(np.asarray(x)[..., start:start + n])
            start += n

    def get_config(self):
        return {"parts": [[keras.saving.serialize_keras_object(u), n] for u, n in self.parts]}


def get_units(spec):
    """A unit family from a name ('bernoulli', 'gaussian', 'softmax', or a registered
    subclass's ``name``), a Keras-serialized config, a ``{"name": ..., **args}`` dict or an
    instance."""
    if isinstance(spec, Units):
        return spec
    if isinstance(spec, dict) and "class_name" in spec:          # serialize_keras_object
        units = keras.saving.deserialize_keras_object(spec)
        if not isinstance(units, Units):
            raise UserError(f"{spec.get('class_name')!r} is not a unit family")
        return units
    if isinstance(spec, str):
        config = {"name": spec.lower()}
    elif isinstance(spec, dict):
        config = dict(spec)
    else:
        raise UserError(f"unit type must be a name, a config dict or a Units instance, got {spec!r}")
    name = config.pop("name", None)
    families = _families()
    if name not in families:
        raise UserError(f"unknown unit type {name!r}; choose one of {sorted(families)}")
    return families[name](**config)

