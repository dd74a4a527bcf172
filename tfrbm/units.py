"""Unit families: the one place that knows a distribution.

A unit family answers four questions about a layer of units with total input ``a`` (the bias plus
the weighted input from the other layer):

* ``mean(a)``: the conditional mean, e.g. sigma(a) for Bernoulli units;
* ``sample(mean, seed)``: a draw from the conditional;
* ``energy_term(v, bias)``: the part of the energy that involves only these units, as used in the
  free energy F(v) = energy_term(v, b) - sum_j softplus(c_j + v W_:j);
* ``log_marginal(a_without_bias, bias)``: log of the sum (or integral) over these units' states
  of exp(-energy), used by exact enumeration and AIS.

Bernoulli:  p(v_i=1|a) = sigma(a_i),            energy term -v.b
Gaussian:   p(v_i|a) = N(a_i, 1),                energy term 1/2 ||v - b||^2  (unit variance)
Softmax:    K-way one-hot groups, p(v_ik=1|a) = softmax_k(a_i.),   energy term -v.b
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
           "CompositeUnits", "get_units"]


def _uniform(shape, seed, dtype):
    return tf.random.stateless_uniform(shape, seed=seed, dtype=dtype)


class Units:
    """Base class of a unit family. Subclasses are small and stateless apart from their config."""

    name = "units"
    #: whether every unit takes values in {0, 1} (so states can be enumerated and data checked)
    binary = False

    def mean(self, a):
        raise NotImplementedError

    def sample(self, mean, seed):
        raise NotImplementedError

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

    def mean(self, a):
        return tf.sigmoid(a)

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

