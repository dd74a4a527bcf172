"""DBMModel: a deep Boltzmann machine (Salakhutdinov & Hinton 2009) trained under ``model.fit``.

Layers x_0 = v, x_1 = h^1, ..., x_L = h^L of binary units; every pair of neighbouring layers is
connected (undirected), with energy

    E(x) = - sum_l x_l . b_l - sum_{l<L} x_l^T W_l x_{l+1}.

The weights W_l live in the RBMLayer ``rbms[l]`` (its ``kernel``); the bias of layer 0 is
``rbms[0].visible_bias`` and the bias of layer l >= 1 is ``rbms[l-1].hidden_bias``. The visible
biases of ``rbms[1:]`` are not part of the DBM (they stay zero and are not trained). Given its
neighbours each layer is factorial: p(x_l = 1 | x_{l-1}, x_{l+1}) = sigmoid(a_l) with total input

    a_l = b_l + x_{l-1} W_{l-1} + x_{l+1} W_l^T.

Training (``fit``) follows the paper:

* positive phase: the naive mean-field posterior q(h | v) = prod_l prod_j mu_lj^h (1-mu_lj)^(1-h),
  a fixed point of mu_l = sigmoid(b_l + mu_{l-1} W_{l-1} + mu_{l+1} W_l^T) (mu_0 = v), found by
  alternating parity updates: all odd layers from the even ones, then all even ones from the odd
  ones. Each half-update maximises the variational lower bound exactly over that block, so the
  bound never decreases. The iteration starts from the pretraining's recognition pass
  (doubled weights below the top) and stops after ``mean_field_steps`` iterations or once no
  mean changes by more than ``mean_field_tolerance``;
* negative phase: ``n_chains`` persistent chains over every layer, advanced by ``gibbs_steps``
  sweeps of alternating block Gibbs sampling (odd layers given even, then even given odd);
* update: grad W_l = -(<x_l x_{l+1}^T>_q - <x_l x_{l+1}^T>_chains) (and the biases likewise)
  through the compiled Keras optimizer.

Greedy pretraining (``pretrain``, run by the first ``fit`` unless ``pretrain_epochs=0``) is the
paper's modified RBM stack, trained as a :class:`tfrbm.DBNModel` of :class:`ScaledRBMLayer`s:
the bottom RBM's hidden units see the visible input twice (p(h|v) = sigmoid(c + 2 v W)), the
top RBM's visible units see the hidden input twice, and middle RBMs double both directions (the
same as halving the weights of an ordinary RBM). Their weights become the DBM's; a layer
between two RBMs takes the mean of the two biases the RBMs learned for it.
"""
import numbers

import keras
import numpy as np
import tensorflow as tf

from tfrbm import gibbs, serving
from tfrbm.data.pipeline import check_array, make_dataset
from tfrbm.errors import UserError
from tfrbm.export import ServingMixin
from tfrbm.layers import RBMLayer, visible_size
from tfrbm.likelihood import dbm as dbm_likelihood
from tfrbm.likelihood.ais import base_rate_biases
from tfrbm.limits import check_allocation
from tfrbm.models.dbn import DBNModel, default_schedule
from tfrbm.resume import SeedStateMixin
from tfrbm.safety import AtomicSaveMixin, check_learning_rate
from tfrbm.summary import ModelSummary
from tfrbm.tracing import OneTracePerModel, cached_function
from tfrbm.units import BernoulliUnits
from tfrbm.validation import (POSITIVE_INT, STEPS, Integral, Interval, Predicate, Real, check_param,
                              validate_init)

__all__ = ["DBMModel", "ScaledRBMLayer", "dbm_classifier"]

#: the default optimizer of the joint training (S&H 2009 use rates of about 0.005, momentum 0.9)
DEFAULT_LEARNING_RATE = 0.005
DEFAULT_MOMENTUM = 0.9
#: rows kept for the data-dependent initialisation (base rates, visible biases)
_INIT_ROWS = 10000


def _is_sizes(value):
    return (not isinstance(value, (str, bytes, dict)) and hasattr(value, "__len__")
            and len(value) > 0)


@keras.saving.register_keras_serializable(package="tfrbm")
class ScaledRBMLayer(RBMLayer):
    """An RBM whose conditionals multiply the weighted inputs: the DBM's pretraining modules.

    p(h = 1 | v) = sigmoid(c + up * v W),   E[v | h] = visible.mean(b + down * h W^T).

    ``up=2, down=1`` is Salakhutdinov & Hinton's bottom RBM (the visible layer entered twice
    with tied weights), ``up=1, down=2`` their top RBM (the hidden layer doubled) and
    ``up=down=2`` a middle RBM (an ordinary RBM whose weights are halved when the DBM is
    composed). The CD statistic of :class:`tfrbm.RBMModel` trains it unchanged (the factor goes
    into the learning rate). The free energy is that of the up-doubled model,
    F(v) = e_v(v; b) - sum_j softplus(c_j + up * v W_:j).
    """

    def __init__(self, units, up=1.0, down=1.0, **kwargs):
        super().__init__(units, **kwargs)
        self.up = float(check_param("up", up, [Interval(Real, 0, None, closed="neither")]))
        self.down = float(check_param("down", down, [Interval(Real, 0, None, closed="neither")]))

    def hidden_input(self, v):
        return self.up * (super().hidden_input(v) - self.hidden_bias) + self.hidden_bias

    def visible_input(self, h):
        return self.down * (super().visible_input(h) - self.visible_bias) + self.visible_bias

    def free_energy(self, v):
        v = tf.convert_to_tensor(v, dtype=self.kernel.dtype)
        pre = self.up * tf.matmul(v, self.kernel) + self.hidden_bias
        return (self.visible_units.energy_term(v, self.visible_bias)
                - tf.reduce_sum(tf.math.softplus(pre), axis=-1))

    def get_config(self):
        config = super().get_config()
        config.update({"up": self.up, "down": self.down})
        return config


def _entropy(mu):
    """Sum over units of the Bernoulli entropy -mu log mu - (1 - mu) log(1 - mu) (0 log 0 = 0)."""
    mu = tf.clip_by_value(mu, 0.0, 1.0)
    return -tf.reduce_sum(tf.math.xlogy(mu, mu) + tf.math.xlogy(1.0 - mu, 1.0 - mu), axis=-1)


@keras.saving.register_keras_serializable(package="tfrbm")
class DBMModel(SeedStateMixin, AtomicSaveMixin, ServingMixin, OneTracePerModel, ModelSummary,
               keras.Model):
    """A deep Boltzmann machine with binary units, trained by mean field and persistent chains.

    Args:
        hidden: hidden layer sizes, bottom first, e.g. ``[500, 1000]`` (any number >= 1; one
            hidden layer is an RBM). The visible width comes from the data at the first ``fit``
            (or ``build((None, n_visible))``).
        seed: seed of the model's random stream (saved with the model).
        n_chains: number of persistent chains (fantasy particles) of the negative phase.
        gibbs_steps: alternating Gibbs sweeps of the chains per update.
        mean_field_steps: the most fixed-point iterations of the positive phase per batch.
        mean_field_tolerance: stop iterating once no mean changes by more than this.
        weight_decay: L2 coefficient added to the weight gradients.
        pretrain_epochs: epochs per RBM of the greedy pretraining the first ``fit`` runs (None:
            about 3,000 CD updates a layer, as :class:`tfrbm.DBNModel`; 0: no pretraining,
            small random weights).
        pretrain_learning_rate: SGD rate (momentum 0.5) of the pretraining RBMs.
        pretrain_cd_k: CD-k of the pretraining RBMs (they train by persistent CD).

    ``compile`` it with any Keras optimizer (``loss`` is unused: the update is the statistic
    above); uncompiled, ``fit`` uses SGD(0.005, momentum 0.9). The History holds ``loss`` (the
    mean squared error of the mean-field reconstruction sigmoid(b_0 + mu_1 W_0^T) of the batch,
    lower is better; it is what stock callbacks watch), ``mean_field_steps`` (the mean number of
    iterations used) and ``mean_field_change`` (the last iteration's largest change).

    Likelihood: ``log_partition(method="exact" | "ais")`` and ``log_likelihood(x,
    method="bound" | "exact")`` (:mod:`tfrbm.likelihood.dbm`); ``variational_bound(x)`` is
    each row's lower bound on log p(v) + log Z.
    """

    _parameter_constraints = {
        "hidden": [Predicate(_is_sizes, "a non-empty list of hidden layer sizes, e.g. [500, 1000]")],
        "seed": [None, Interval(Integral, None, None)],
        "n_chains": POSITIVE_INT,
        "gibbs_steps": POSITIVE_INT,
        "mean_field_steps": POSITIVE_INT,
        "mean_field_tolerance": [Interval(Real, 0, None)],
        "weight_decay": [Interval(Real, 0, None)],
        "pretrain_epochs": [None, Interval(Integral, 0, None)],
        "pretrain_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "pretrain_cd_k": POSITIVE_INT,
    }

    def __init__(self, hidden=None, seed=None, n_chains=100, gibbs_steps=5, mean_field_steps=30,
                 mean_field_tolerance=1e-4, weight_decay=0.0, pretrain_epochs=None,
                 pretrain_learning_rate=0.05, pretrain_cd_k=1, **kwargs):
        super().__init__(**kwargs)
        p = validate_init(
            self,
            {"hidden": hidden, "seed": seed, "n_chains": n_chains, "gibbs_steps": gibbs_steps,
             "mean_field_steps": mean_field_steps, "mean_field_tolerance": mean_field_tolerance,
             "weight_decay": weight_decay, "pretrain_epochs": pretrain_epochs,
             "pretrain_learning_rate": pretrain_learning_rate, "pretrain_cd_k": pretrain_cd_k},
            required=("hidden", "hidden layer sizes, e.g. DBMModel(hidden=[500, 1000])"))
        sizes = []
        for i, n in enumerate(hidden):
            if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
                raise UserError(f"hidden layer {i + 1} must have a positive integer number of "
                                f"units, got {n!r}")
            sizes.append(int(n))
        self.hidden = sizes
        self.seed = p["seed"]
        self.n_chains = p["n_chains"]
        self.gibbs_steps = p["gibbs_steps"]
        self.mean_field_steps = p["mean_field_steps"]
        self.mean_field_tolerance = float(p["mean_field_tolerance"])
        self.weight_decay = float(p["weight_decay"])
        self.pretrain_epochs = p["pretrain_epochs"]
        self.pretrain_learning_rate = float(p["pretrain_learning_rate"])
        self.pretrain_cd_k = p["pretrain_cd_k"]
        self.rbms = [RBMLayer(n, name=f"dbm_weights_{i}") for i, n in enumerate(sizes)]
        self.seed_generator = keras.random.SeedGenerator(seed, name="dbm_seed")
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.steps_tracker = keras.metrics.Mean(name="mean_field_steps")
        self.change_tracker = keras.metrics.Mean(name="mean_field_change")
        self._compiled_fns = {}
        self.pretrain_history = None

    # ------------------------------------------------------------------ structure
    @property
    def n_layers(self):
        """L, the number of hidden layers."""
        return len(self.hidden)

    @property
    def sizes(self):
        """[n_visible, h_1, ..., h_L] (n_visible is None until built)."""
        first = self.rbms[0]
        return [first.n_visible if first.built else None] + list(self.hidden)

    @property
    def n_visible(self):
        return self.sizes[0]

    @property
    def kernels(self):
        """[W_0, ..., W_{L-1}]: the weight variables, W_l of shape (n_l, n_{l+1})."""
        return [layer.kernel for layer in self.rbms]

    @property
    def biases(self):
        """[b_0, ..., b_L]: the bias variables of the visible and hidden layers."""
        return [self.rbms[0].visible_bias] + [layer.hidden_bias for layer in self.rbms]

    def build(self, input_shape):
        n = input_shape[-1]
        if n is None:
            raise UserError("DBMModel needs a known number of visible units")
        n = visible_size(n)   # a .keras config is data: 1e9, -3 or NaN are refused
        if self.rbms[0].built and self.rbms[0].n_visible != n:
            raise UserError(f"data width does not match: the data has {n} features but the DBM "
                            f"has {self.rbms[0].n_visible} visible units")
        sizes = [n] + self.hidden
        params = sum(a * b + a + b for a, b in zip(sizes[:-1], sizes[1:]))
        check_allocation(f"a DBM of {'-'.join(map(str, sizes))} units",
                         4 * (3 * params + self.n_chains * sum(sizes)))
        for layer, n_in in zip(self.rbms, sizes[:-1]):
            if not layer.built:
                layer.build((None, n_in))
        for layer in self.rbms[1:]:
            layer.visible_bias.trainable = False     # not part of the DBM (see module docstring)
        self.chains = [self.add_weight(name=f"chains_{l}", shape=(self.n_chains, size),
                                       initializer="zeros", trainable=False)
                       for l, size in enumerate(sizes)]
        # base-rate model of the data (AIS starts there), 1.0 once initialised / pretrained
        self.base_rate_bias = self.add_weight(name="base_rate_bias", shape=(n,),
                                              initializer="zeros", trainable=False)
        self.initialized = self.add_weight(name="initialized", shape=(), initializer="zeros",
                                           trainable=False)
        self.pretrained = self.add_weight(name="pretrained", shape=(), initializer="zeros",
                                          trainable=False)
        self.built = True

    def summary_rows(self):
        """One row per weight layer (W_l and b_{l+1}; the first also b_0) and the training
        state in use: the persistent chains and the base rates (see :mod:`tfrbm.summary`)."""
        rows = []
        for l, layer in enumerate(self.rbms):
            params = 0
            if layer.built:
                params = layer.n_visible * layer.units + layer.units + (layer.n_visible if l == 0 else 0)
            rows.append((layer.name, type(layer).__name__, f"(None, {layer.units})", params))
        state = []
        if self.built:
            state = [("persistent chains", self.n_chains * sum(self.sizes)),
                     ("base-rate biases", self.n_visible), ("initialised and pretrained flags", 2)]
        return rows, state

    def _require_built(self):
        if not self.built:
            raise UserError("the DBM is not built yet: call fit(...) or build((None, n_visible)) first")

    # ------------------------------------------------------------------ the energy's pieces
    def layer_input(self, l, states, beta=1.0):
        """Total input a_l to layer ``l`` given its neighbours' ``states`` (a list over layers
        0..L; only l-1 and l+1 are read), with the weights and bias scaled by ``beta``."""
        a = self.biases[l]
        if l > 0:
            a = a + tf.matmul(states[l - 1], self.rbms[l - 1].kernel)
        if l < self.n_layers:
            a = a + tf.matmul(states[l + 1], self.rbms[l].kernel, transpose_b=True)
        return a if isinstance(beta, float) and beta == 1.0 else beta * a

    def _recognition_pass(self, v):
        """The pretraining's upward pass: mu_l = sigmoid(b_l + f mu_{l-1} W_{l-1}), f = 2 below
        the top (the doubled bottom-up input that stands in for the layer above) and 1 at the top."""
        mus, x = [v], v
        for l in range(1, self.n_layers + 1):
            f = 2.0 if l < self.n_layers else 1.0
            x = tf.sigmoid(self.biases[l] + f * tf.matmul(x, self.rbms[l - 1].kernel))
            mus.append(x)
        return mus

    def mean_field_graph(self, v, steps=None, tolerance=None):
        """(mus, iterations, change): the mean-field fixed point for visible rows ``v``.

        ``mus`` is [v, mu_1, ..., mu_L]; one iteration updates every odd layer from its even
        neighbours, then every even hidden layer from its odd neighbours (coordinate ascent on
        the variational bound). Stops after ``steps`` iterations or when the largest change of
        an iteration is <= ``tolerance`` (the model's settings by default).
        """
        steps = self.mean_field_steps if steps is None else steps
        tolerance = self.mean_field_tolerance if tolerance is None else tolerance
        L = self.n_layers
        mus = self._recognition_pass(v)
        if L == 1:     # an RBM: the posterior is factorial, mu_1 is exact
            return mus, tf.constant(1, tf.int32), tf.constant(0.0, v.dtype)
        odd = list(range(1, L + 1, 2))
        even = list(range(2, L + 1, 2))

        def body(i, change, *hidden):
            s = [v] + list(hidden)
            old = list(s)
            for group in (odd, even):
                for l in group:
                    s[l] = tf.sigmoid(self.layer_input(l, s))
            change = tf.reduce_max(tf.stack([tf.reduce_max(tf.abs(s[l] - old[l]))
                                             for l in range(1, L + 1)]))
            return (i + 1, change) + tuple(s[1:])

        def cond(i, change, *hidden):
            return tf.logical_and(i < steps, change > tolerance)

        out = tf.while_loop(cond, body, (tf.constant(0), tf.constant(np.inf, v.dtype))
                            + tuple(mus[1:]))
        return [v] + list(out[2:]), out[0], out[1]

    def gibbs_sweep(self, states, seed, beta=1.0, base_biases=None, odd_inputs=None):
        """One sweep of block Gibbs sampling: odd layers given even ones, then even given odd.

        ``states`` is [x_0, ..., x_L]; returns the new list. With ``beta`` < 1 the sweep leaves
        the annealed distribution of :mod:`tfrbm.likelihood.dbm` invariant (weights and biases
        times beta, plus (1 - beta) times ``base_biases[l]`` on the even layers).
        ``odd_inputs``: optional {l: total input of odd layer l} already computed from these
        ``states`` (unscaled; AIS reuses them).
        """
        states = list(states)
        units = BernoulliUnits()
        for parity in (1, 0):
            for l in range(parity, self.n_layers + 1, 2):
                if odd_inputs is not None and l in odd_inputs:
                    a = odd_inputs[l] if isinstance(beta, float) and beta == 1.0 else (
                        beta * odd_inputs[l])
                else:
                    a = self.layer_input(l, states, beta)
                if base_biases is not None and l % 2 == 0:
                    a = a + (1.0 - beta) * base_biases[l // 2]
                states[l] = units.sample(tf.sigmoid(a), gibbs.fold(seed, l))
        return states

    def run_chains(self, states, steps, seed):
        """``steps`` Gibbs sweeps from ``states`` (a tensor ``steps`` runs as a while loop)."""
        def body(i, *s):
            return (i + 1,) + tuple(self.gibbs_sweep(list(s), gibbs.fold(seed, i)))
        out = tf.while_loop(lambda i, *_: i < steps, body, (tf.constant(0),) + tuple(states))
        return list(out[1:])

    def unnormalized_bound(self, mus):
        """Per row: E_q[-E(v, h)] + H(q) for the factorial q with means ``mus`` = [v, mu_1, ...].

        Subtracting log Z gives the variational lower bound on log p(v) (Jensen: log p(v) =
        bound + KL(q || p(h | v))).
        """
        value = tf.add_n([tf.linalg.matvec(mus[l], self.biases[l]) for l in range(len(mus))])
        for l in range(self.n_layers):
            value += tf.reduce_sum(tf.matmul(mus[l], self.rbms[l].kernel) * mus[l + 1], axis=-1)
        for l in range(1, len(mus)):
            value += _entropy(mus[l])
        return value

    def _start_states(self, n, seed):
        """Chains' first states: every layer a draw of its biases alone (seed folds 7, 8, ...)."""
        units = BernoulliUnits()
        return [gibbs.base_rate_samples(units, b, n, gibbs.fold(seed, 7 + l))
                for l, b in enumerate(self.biases)]

    def _fantasize(self, n, steps, seed):
        """(visible means, visible states) after ``steps`` sweeps from :meth:`_start_states`."""
        states = self.run_chains(self._start_states(n, seed), steps, gibbs.fold(seed, 1))
        return tf.sigmoid(self.layer_input(0, states)), states[0]

    # ------------------------------------------------------------------ training
    def train_step(self, data):
        x, _, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:
            raise UserError("DBMModel does not support sample weights")
        v = tf.cast(serving.check_range(tf.convert_to_tensor(x), 0, 1, "training data"),
                    self.rbms[0].kernel.dtype)
        seed = self.seed_generator.next()
        mus, iterations, change = self.mean_field_graph(v)
        mus = [tf.stop_gradient(m) for m in mus]
        chains = self.run_chains([tf.convert_to_tensor(c) for c in self.chains],
                                 self.gibbs_steps, seed)
        for variable, state in zip(self.chains, chains):
            variable.assign(state)
        n_pos = tf.cast(tf.shape(v)[0], v.dtype)
        n_neg = tf.cast(self.n_chains, v.dtype)
        grads = []
        for l in range(self.n_layers):
            d = -(tf.matmul(mus[l], mus[l + 1], transpose_a=True) / n_pos
                  - tf.matmul(chains[l], chains[l + 1], transpose_a=True) / n_neg)
            if self.weight_decay:
                d += self.weight_decay * self.rbms[l].kernel
            grads.append(d)
        for l in range(self.n_layers + 1):
            grads.append(-(tf.reduce_mean(mus[l], 0) - tf.reduce_mean(chains[l], 0)))
        grads = [self.optimizer.scale_loss(g) for g in grads]
        self.optimizer.apply(grads, self.kernels + self.biases)
        recon = tf.sigmoid(self.layer_input(0, mus))
        self.loss_tracker.update_state(tf.reduce_mean(tf.square(v - recon)))
        self.steps_tracker.update_state(tf.cast(iterations, tf.float32))
        self.change_tracker.update_state(change)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        v = tf.cast(serving.check_range(tf.convert_to_tensor(x), 0, 1, "evaluation data"),
                    self.rbms[0].kernel.dtype)
        mus, iterations, change = self.mean_field_graph(v)
        recon = tf.sigmoid(self.layer_input(0, mus))
        self.loss_tracker.update_state(tf.reduce_mean(tf.square(v - recon)))
        self.steps_tracker.update_state(tf.cast(iterations, tf.float32))
        self.change_tracker.update_state(change)
        return {m.name: m.result() for m in self.metrics}

    @property
    def metrics(self):
        return [self.loss_tracker, self.steps_tracker, self.change_tracker]

    def call(self, inputs, training=False):
        """The top layer's mean-field posterior means."""
        return self.mean_field_graph(tf.cast(inputs, self.rbms[0].kernel.dtype))[0][-1]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.hidden[-1],)

    # ------------------------------------------------------------------ data checks, init
    def _check_visible(self, x, name="x"):
        x = check_array(x, name=name, n_features=self.n_visible if self.built else None,
                        bernoulli=True)
        return x

    def initialize_from_data(self, x):
        """Build for ``x``'s width, record the data's base rates (log-odds of the pixel means)
        and start the persistent chains from the biases. Runs once (the ``initialized`` flag
        is saved); the visible biases start at the base rates unless pretraining set them."""
        if not self.built:
            with self.distribute_strategy.scope():
                self.build((None, x.shape[-1]))
        if float(self.initialized.numpy()) > 0:
            return
        bias = base_rate_biases(x[:_INIT_ROWS]).astype(np.float32)
        self.base_rate_bias.assign(bias)
        if float(self.pretrained.numpy()) == 0:
            self.rbms[0].visible_bias.assign(bias)
        for variable, state in zip(self.chains, self._start_states(
                self.n_chains, self.seed_generator.next())):
            variable.assign(state)
        self.initialized.assign(1.0)

    # ------------------------------------------------------------------ pretraining
    def pretrain(self, x, epochs=None, batch_size=None, learning_rate=None, cd_k=None, verbose=0,
                 callbacks=None):
        """Greedy pretraining of the modified RBM stack (Salakhutdinov & Hinton 2009).

        Trains a :class:`tfrbm.DBNModel` of :class:`ScaledRBMLayer`s (bottom: up=2, down=1;
        middle: 2, 2; top: 1, 2; a single layer: 1, 1) by PCD, each RBM on the doubled-weight
        probabilities of the one below, then copies its weights into the DBM: W_l as learned,
        b_0 the bottom RBM's visible bias, b_L the top RBM's hidden bias and, for a layer
        between two RBMs, the mean of the bias each learned for it. Returns the DBN's History.
        """
        x = self._check_visible(x, name="training data")
        if not self.built:
            self.build((None, x.shape[-1]))
        L = self.n_layers
        epochs = self.pretrain_epochs if epochs is None else epochs
        if epochs == 0:
            raise UserError("pretrain(epochs=0) would not train anything")
        factors = [(1.0, 1.0)] if L == 1 else (
            [(2.0, 1.0)] + [(2.0, 2.0)] * (L - 2) + [(1.0, 2.0)])
        layers = [ScaledRBMLayer(n, up=up, down=down, name=f"pretrain_rbm_{i + 1}")
                  for i, (n, (up, down)) in enumerate(zip(self.hidden, factors))]
        seed = None if self.seed is None else int(self.seed) + 7919
        options = [{"persistent": True, "cd_k": int(cd_k or self.pretrain_cd_k)} for _ in layers]
        dbn = DBNModel(layers, seed=seed, layer_options=options)
        lr = self.pretrain_learning_rate if learning_rate is None else learning_rate
        histories = dbn.pretrain(x, epochs=epochs, learning_rate=lr, batch_size=batch_size,
                                 verbose=verbose, callbacks=callbacks)
        for l, layer in enumerate(layers):
            self.rbms[l].kernel.assign(layer.kernel)
        self.biases[0].assign(layers[0].visible_bias)
        for l in range(1, L):
            self.biases[l].assign(0.5 * (layers[l - 1].hidden_bias + layers[l].visible_bias))
        self.biases[L].assign(layers[-1].hidden_bias)
        self.pretrained.assign(1.0)
        self.pretrain_history = histories
        return histories

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            shuffle=True, **kwargs):
        """Pretrain (first call, unless ``pretrain_epochs=0``), then train the DBM jointly.

        ``x``: numpy rows with values in [0, 1] (probabilities are used as they are; binarize
        them first for a model of binary data). ``epochs`` counts the joint training's epochs;
        ``batch_size`` defaults to 100 (or n/50, at least 10, for small sets), for the
        pretraining too. Other arguments as in ``keras.Model.fit`` (callbacks,
        validation_data, ...). Returns the History of the joint training.
        """
        if x is None:
            raise UserError("fit needs training data x (a numpy array)")
        if y is not None:
            raise UserError("DBMModel.fit takes no labels y: a DBM models the data alone "
                            "(use to_classifier for a classifier)")
        if isinstance(x, tf.data.Dataset):
            raise UserError("DBMModel.fit takes a numpy array (the pretraining and the "
                            "initialisation read the data set as a whole)")
        for name in ("sample_weight", "class_weight"):
            if kwargs.get(name) is not None:
                raise UserError(f"DBMModel.fit does not support {name}")
        x = self._check_visible(x, name="training data")
        if batch_size is None:
            batch_size = default_schedule(len(x))[0]
        batch_size = check_param("batch_size", batch_size, POSITIVE_INT)
        epochs = check_param("epochs", epochs, POSITIVE_INT)
        if not self.built:
            with self.distribute_strategy.scope():
                self.build((None, x.shape[-1]))
        if float(self.pretrained.numpy()) == 0 and self.pretrain_epochs != 0:
            self.pretrain(x, batch_size=batch_size,
                          verbose=0 if verbose == "auto" else verbose)
        self.initialize_from_data(x)
        if not self.compiled:
            self.compile(optimizer=keras.optimizers.SGD(learning_rate=DEFAULT_LEARNING_RATE,
                                                        momentum=DEFAULT_MOMENTUM))
        check_learning_rate(self.optimizer)
        validation_data = kwargs.get("validation_data")
        if validation_data is not None:
            val = validation_data[0] if isinstance(validation_data, (tuple, list)) else validation_data
            kwargs["validation_data"] = (self._check_visible(val, name="validation data"),)
        seed = None if self.seed is None else int(self.seed) + 104729
        data = make_dataset(x, batch_size=batch_size, shuffle=bool(shuffle), seed=seed, cache=False)
        return super().fit(data, epochs=epochs, verbose=verbose, callbacks=callbacks,
                           shuffle=False, **kwargs)

    def compile_from_config(self, config):
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if getattr(self, "optimizer", None) is not None and self.built:
            self.optimizer.build(self.kernels + self.biases)   # train_step's order

    # ------------------------------------------------------------------ inference verbs
    def _fn(self, name, python_fn):
        return cached_function(self._compiled_fns, name, python_fn)

    def mean_field(self, x, steps=None, tolerance=None, batch_size=1000):
        """The mean-field posterior means [mu_1, ..., mu_L] of numpy rows ``x`` (numpy out)."""
        self._require_built()
        x = self._check_visible(x)
        steps = self.mean_field_steps if steps is None else check_param("steps", steps, STEPS)
        tolerance = self.mean_field_tolerance if tolerance is None else float(tolerance)
        fn = self._fn(f"mean_field/{steps}/{tolerance}",
                      lambda v: self.mean_field_graph(v, steps, tolerance)[0][1:])
        parts = [fn(tf.constant(x[i:i + batch_size])) for i in range(0, len(x), batch_size)]
        return [np.concatenate([p[l].numpy() for p in parts]) for l in range(self.n_layers)]

    def transform(self, x, batch_size=1000):
        """The top layer's mean-field posterior means of numpy rows ``x``."""
        return self.mean_field(x, batch_size=batch_size)[-1]

    def variational_bound(self, x, batch_size=1000):
        """Per row, the mean-field lower bound on log p(v) + log Z (float64 numpy)."""
        self._require_built()
        x = self._check_visible(x)
        fn = self._fn("bound", lambda v: self.unnormalized_bound(self.mean_field_graph(v)[0]))
        return np.concatenate([fn(tf.constant(x[i:i + batch_size])).numpy()
                               for i in range(0, len(x), batch_size)]).astype(np.float64)

    def sample(self, n, steps=1000, seed=None, sample=False):
        """``n`` fantasies: ``steps`` Gibbs sweeps from the biases-only states; visible means
        p(v | h_1) of the last sweep (states with ``sample=True``)."""
        n = check_param("n", n, POSITIVE_INT)
        steps = check_param("steps", steps, STEPS)
        self._require_built()
        check_allocation("DBM chains", 4 * n * sum(self.sizes))
        mean, state = self._fn("sample", self._fantasize)(tf.constant(n), tf.constant(steps),
                                                          self.next_seed(seed))
        return (state if sample else mean).numpy()

    def log_partition(self, method="exact", **kwargs):
        """log Z: ``"exact"`` enumerates (tiny DBMs), ``"ais"`` estimates it (an AISResult)."""
        self._require_built()
        if method == "exact":
            return dbm_likelihood.exact_log_partition(self, **kwargs)
        if method == "ais":
            return dbm_likelihood.ais_log_partition(self, **kwargs)
        raise UserError(f"unknown method {method!r}; use 'exact' or 'ais'")

    def log_likelihood(self, x, method="bound", log_z=None, **kwargs):
        """Mean over rows of log p(v): ``"bound"``, the variational lower bound
        mean(bound + log Z) - log Z; ``"exact"`` by enumeration (tiny DBMs).

        ``log_z``: a number or an AISResult to use; None computes it (``kwargs`` go to
        :meth:`log_partition`, ``method`` "exact" for tiny models else "ais"). An AIS log Z
        makes the bound stochastic: AIS tends to underestimate log Z, which biases the bound
        upwards; report it with the AIS spread (see :mod:`tfrbm.likelihood.dbm`).
        """
        self._require_built()
        x = self._check_visible(x)
        if method == "exact":
            return float(np.mean(dbm_likelihood.exact_log_probability(self, x)))
        if method != "bound":
            raise UserError(f"unknown method {method!r}; use 'bound' or 'exact'")
        if log_z is None:
            kind = kwargs.pop("log_z_method", None) or (
                "exact" if dbm_likelihood.enumerable(self) else "ais")
            log_z = self.log_partition(method=kind, **kwargs)
        log_z = float(log_z[0] if isinstance(log_z, tuple) else log_z)
        return float(np.mean(self.variational_bound(x)) - log_z)

    # ------------------------------------------------------------------ classifier
    def classifier_inputs(self, x, batch_size=1000):
        """[x, mu_2, ..., mu_L]: the inputs of :meth:`to_classifier`'s network (the data and the
        mean-field posteriors of the layers above the first)."""
        mus = self.mean_field(x, batch_size=batch_size)
        return [self._check_visible(x)] + mus[1:]

    def to_classifier(self, n_classes, optimizer="adam", dropout=0.0, compile=True, name=None):
        """The paper's discriminative network, initialised from the DBM (a Keras Model).

        Inputs [v, q(h_2 | v), ..., q(h_L | v)] (:meth:`classifier_inputs`); hidden layer l
        computes sigmoid(b_l + h_{l-1} W_{l-1} + q(h_{l+1}) W_l^T) (one mean-field update with
        the layer above's posterior held fixed), starting from the DBM's weights; a fresh
        softmax head follows. Compiled with sparse categorical cross-entropy and accuracy.
        """
        n_classes = check_param("n_classes", n_classes, POSITIVE_INT)
        self._require_built()
        model = dbm_classifier(self.sizes, n_classes, dropout=dropout,
                               name=name or f"{self.name}_classifier")
        for l in range(1, self.n_layers + 1):
            w = self.rbms[l - 1].kernel.numpy()
            if l < self.n_layers:
                w = np.concatenate([w, self.rbms[l].kernel.numpy().T], axis=0)
            model.get_layer(f"hidden_{l}").set_weights([w, self.biases[l].numpy()])
        if compile:
            model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                          metrics=["accuracy"])
        return model

    # ------------------------------------------------------------------ serving
    def serving_endpoints(self):
        """``features(visible)`` -> the mean-field means ``hidden_1`` ... ``hidden_L``;
        ``sample(n_samples, steps, seed)`` -> ``visible_mean``, ``visible_sample``;
        ``bound(visible)`` -> ``bound_plus_log_z`` (subtract log Z for the bound on log p(v)).
        Inputs are checked in the graph (visible values finite in [0, 1]; n_samples, steps >= 1).
        """
        serving.require_built(self.built, "DBM")
        n_vis = self.n_visible
        visible = serving.spec((None, n_vis), tf.float32, "visible")

        def features(visible):
            mus = self.mean_field_graph(serving.check_range(visible, 0, 1, "visible"))[0]
            return {f"hidden_{l}": mus[l] for l in range(1, self.n_layers + 1)}

        def bound(visible):
            mus = self.mean_field_graph(serving.check_range(visible, 0, 1, "visible"))[0]
            return {"bound_plus_log_z": self.unnormalized_bound(mus)}

        def sample(n_samples, steps, seed):
            mean, state = self._fantasize(serving.check_at_least(n_samples, 1, "n_samples"),
                                          serving.check_at_least(steps, 1, "steps"), seed)
            return {"visible_mean": mean, "visible_sample": state}

        return serving.Endpoints(self, [
            ("features", features, [visible]),
            ("sample", sample, [serving.spec((), tf.int32, "n_samples"),
                                serving.spec((), tf.int32, "steps"),
                                serving.spec((2,), tf.int64, "seed")]),
            ("bound", bound, [visible])])

    # ------------------------------------------------------------------ serialisation
    def get_config(self):
        config = super().get_config()
        config.update({
            "hidden": list(self.hidden), "seed": self.seed, "n_chains": self.n_chains,
            "gibbs_steps": self.gibbs_steps, "mean_field_steps": self.mean_field_steps,
            "mean_field_tolerance": self.mean_field_tolerance,
            "weight_decay": self.weight_decay, "pretrain_epochs": self.pretrain_epochs,
            "pretrain_learning_rate": self.pretrain_learning_rate,
            "pretrain_cd_k": self.pretrain_cd_k})
        return config


def dbm_classifier(sizes, n_classes, dropout=0.0, name="dbm_classifier"):
    """The functional network of :meth:`DBMModel.to_classifier` for layer ``sizes``
    [n_visible, h_1, ..., h_L]: inputs ``visible`` and ``posterior_2`` ... ``posterior_L``."""
    L = len(sizes) - 1
    inputs = [keras.Input((sizes[0],), name="visible")]
    inputs += [keras.Input((sizes[l],), name=f"posterior_{l}") for l in range(2, L + 1)]
    h = inputs[0]
    for l in range(1, L + 1):
        x = h if l == L else keras.layers.Concatenate(name=f"concat_{l}")([h, inputs[l]])
        h = keras.layers.Dense(sizes[l], activation="sigmoid", name=f"hidden_{l}")(x)
        if dropout:
            h = keras.layers.Dropout(dropout, name=f"dropout_{l}")(h)
    out = keras.layers.Dense(n_classes, activation="softmax", name="classes")(h)
    return keras.Model(inputs, out, name=name)
