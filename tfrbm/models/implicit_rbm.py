"""ImplicitRBM: a Bernoulli RBM over which items a user watched, for top-N ranking.

Each case is one user: v_i = 1 when the user watched (rated) item i, whatever the rating. With
the conditional model's side input s (``conditional=True``: s_i = 1 when the user *liked* i,
e.g. rated it >= 4; the conditional RBM's trick of Salakhutdinov, Mnih & Hinton 2007, section 4,
turned round: there the rating model sees which films were watched, here the watching model
sees which were liked) with weights D:

    E(v, h; s) = - sum_i b_i v_i - sum_j c_j h_j - sum_ij v_i W_ij h_j - sum_ij s_i D_ij h_j
    F(v; s)    = - b.v - sum_j softplus(x_j),   x = c + v W + s D
    p(h_j = 1 | v, s) = sigmoid(x_j),   p(v_i = 1 | h) = sigmoid(b_i + sum_j W_ij h_j).

**Ranking** uses the exact conditional of one item given all the others, hidden units summed
out: with x^(-i) = x - v_i W_i - s_i D_i (item i left out of both inputs),

    log-odds p(v_i = 1 | v_-i, s_-i) = b_i + sum_j [softplus(x^(-i)_j + W_ij) - softplus(x^(-i)_j)]

(:meth:`ImplicitRBM.conditional_logits`). For an item the user has not watched, v_i = s_i = 0 and
this is "will the user watch i, given everything the user watched and liked".

**Training** maximises the pseudo-likelihood (Besag 1975), the sum of exactly these conditionals
over the items, which is the quantity ranking uses (Marlin et al. 2010 compare it with CD for
RBMs). Each step computes every watched item's conditional and those of ``negatives`` unwatched
items drawn uniformly without replacement, the latter weighted by (unwatched items) /
``negatives``: an unbiased estimate of the full pseudo-likelihood's gradient at a fraction of
its cost. The gradient goes through the compiled Keras optimizer (Adam by default) with L2
``weight_decay`` on W and D. ``loss`` in the History is the estimate of
-sum_i log p(v_i | v_-i, s_-i) per user (lower is better).

Inputs: ``{"watched": (N, items) 0/1, "side": (N, items) 0/1}`` ("side" only for the
conditional model; it must be 0 wherever "watched" is 0), or the watched matrix alone.
The sampler (:meth:`sample_given`) and :meth:`free_energy` are the shared block-Gibbs kernels
and the RBM free energy with the side input added to the hidden units.
"""
import keras
import numpy as np
import tensorflow as tf

from tfrbm import gibbs
from tfrbm.errors import UserError
from tfrbm.layers import RBMLayer
from tfrbm.models.ratings_rbm import CaseView
from tfrbm.models.rbm import RBMModel
from tfrbm.models.side_input import SideInputMixin
from tfrbm.validation import validate_params, whole_number

__all__ = ["ImplicitRBM"]


@keras.saving.register_keras_serializable(package="tfrbm")
class ImplicitRBM(SideInputMixin, RBMModel):
    """Bernoulli RBM on the watched matrix, trained by pseudo-likelihood (module docstring).

    Args:
        n_items: items (columns of the watched matrix).
        n_hidden: hidden units F.
        conditional: add the side input s (the liked items) with weights D.
        negatives: unwatched items sampled per user and step for the pseudo-likelihood.
        weight_decay: L2 coefficient on W and D (added to their gradients).
        seed: seed of the initial weights and the negative sampling.
    """

    #: centering defaults to False and True is a UserError: it trains by pseudo-likelihood,
    #: not the centered CD step
    supports_centering = False

    _parameter_constraints = {
        **RBMModel._parameter_constraints,
        "n_items": [whole_number(1)],
        "n_hidden": [whole_number(1)],
        "negatives": [whole_number(1)],
    }

    def __init__(self, n_items=None, n_hidden=200, conditional=False, negatives=200, layer=None,
                 weight_decay=0.0, seed=None, **kwargs):
        params = {"n_items": n_items, "negatives": negatives}
        if layer is None:
            params["n_hidden"] = n_hidden
        params = validate_params(params, self._parameter_constraints, type(self))
        if kwargs.pop("persistent", False):
            raise UserError("ImplicitRBM trains by pseudo-likelihood: it keeps no persistent "
                            "chains")
        kwargs.setdefault("n_chains", 1)
        kwargs["init_visible_bias"] = None          # set from the items' frequencies in fit
        if layer is None:
            layer = RBMLayer(params["n_hidden"], visible="bernoulli",
                             kernel_initializer=keras.initializers.RandomNormal(
                                 stddev=0.01, seed=seed))
        super().__init__(layer=layer, weight_decay=weight_decay, seed=seed, **kwargs)
        if not self.layer.visible_units.binary or getattr(self.layer.visible_units, "k", None):
            raise UserError("ImplicitRBM needs Bernoulli visible units")
        self.n_items, self.negatives = params["n_items"], params["negatives"]
        self.init_side_input(conditional)

    @property
    def visible_width(self):
        return self.n_items

    # ------------------------------------------------------------------ inputs
    def _inputs(self, x):
        """(v (B, items) float, s (B, items) float or None) from the model's inputs."""
        v = x["watched"] if isinstance(x, dict) else x
        v = tf.cast(v, tf.float32)
        s = tf.cast(x["side"], tf.float32) if self.conditional else None
        return v, s

    def hidden_input(self, x):
        """x = c + v W (+ s D): (B, F)."""
        v, s = self._inputs(x)
        a = self.layer.hidden_input(v)
        return a if s is None else a + tf.matmul(s, self.side_kernel)

    def free_energy(self, x):
        """F(v; s) = -b.v - sum_j softplus(c_j + v W_j + s D_j), one value per row."""
        self._require_built()
        v, _ = self._inputs(x)
        return (-tf.linalg.matvec(v, self.layer.visible_bias)
                - tf.reduce_sum(tf.nn.softplus(self.hidden_input(x)), -1))

    def view(self, side=None):
        """The layer as the shared Gibbs kernels see it, with s D added to the hidden input."""
        extra = None
        if self.conditional:
            extra = tf.matmul(tf.cast(side, tf.float32), self.side_kernel)
        return CaseView(self.layer, self.layer.visible_units, extra)

    def sample_given(self, v, steps, seed, side=None):
        """``steps`` block-Gibbs steps from v (with the side input s held fixed), by the shared
        kernel :func:`tfrbm.gibbs.k_steps`; returns the last visible sample (B, items)."""
        self._require_built()
        view = self.view(side)
        v = tf.cast(v, tf.float32)
        seed = tf.constant([int(seed), 0], tf.int32) if np.ndim(seed) == 0 else seed
        _, h = view.sample_hidden(v, gibbs.fold(seed, 0))
        _, vk, _, _ = gibbs.k_steps(view, h, int(steps), gibbs.fold(seed, 1),
                                    sample_last_hidden=False)
        return vk

    # ------------------------------------------------------------------ the conditionals
    def _logits_at(self, a, v, s, items):
        """Log-odds of p(v_q = 1 | v_-q, s_-q) for per-row items ``items`` (B, Q): (B, Q)."""
        W = tf.gather(self.layer.kernel, items)                         # (B, Q, F)
        vq = tf.gather(v, items, batch_dims=1)[..., None]               # (B, Q, 1)
        rest = a[:, None, :] - vq * W
        if s is not None:
            rest -= tf.gather(s, items, batch_dims=1)[..., None] * tf.gather(self.side_kernel,
                                                                             items)
        return (tf.gather(self.layer.visible_bias, items)
                + tf.reduce_sum(tf.nn.softplus(rest + W) - tf.nn.softplus(rest), -1))

    def conditional_logits(self, x, items=None):
        """log-odds p(v_i = 1 | v_-i, s_-i) of items ``items`` (default all) per row: (B, Q)."""
        v, s = self._inputs(x)
        items = tf.range(self.n_items) if items is None else tf.convert_to_tensor(items)
        rows = tf.tile(items[None], tf.stack([tf.shape(v)[0], 1]))
        return self._logits_at(self.hidden_input(x), v, s, rows)

    def call(self, inputs, training=False):
        """p(v_i = 1 | v_-i, s_-i) of every item for each row: (B, items)."""
        return tf.sigmoid(self.conditional_logits(inputs))

    def compute_output_shape(self, input_shape):
        return (None, self.n_items)

    # ------------------------------------------------------------------ training
    def _sampled_items(self, v, seed):
        """Each row's watched items, then ``negatives`` random unwatched ones: (items, weights).

        items (B, Q) with Q = most watched in the batch + negatives; weights 1 for the watched,
        (unwatched items) / (drawn) for the drawn negatives, 0 for the padding.
        """
        n_pos = tf.reduce_sum(v, 1, keepdims=True)                      # (B, 1)
        n_neg = float(self.n_items) - n_pos
        k = tf.minimum(tf.cast(tf.reduce_max(n_pos), tf.int32) + self.negatives, self.n_items)
        key = 2.0 * v + tf.random.stateless_uniform(tf.shape(v), seed)  # watched first
        items = tf.math.top_k(key, k).indices
        rank = tf.cast(tf.range(k), tf.float32)[None]
        drawn = tf.minimum(float(self.negatives), n_neg)
        weights = tf.where(rank < n_pos, 1.0,
                           tf.where(rank < n_pos + drawn, n_neg / tf.maximum(drawn, 1.0), 0.0))
        return items, weights

    def pseudo_likelihood_loss(self, x, seed):
        """The sampled estimate of -sum_i log p(v_i | v_-i, s_-i), mean over the rows."""
        v, s = self._inputs(x)
        items, weights = self._sampled_items(v, seed)
        logits = self._logits_at(self.hidden_input(x), v, s, items)
        target = tf.gather(v, items, batch_dims=1)
        nll = tf.nn.sigmoid_cross_entropy_with_logits(target, logits)
        return tf.reduce_mean(tf.reduce_sum(weights * nll, 1))

    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        seed = self.seed_generator.next()
        variables = self.cd_variables()
        with tf.GradientTape() as tape:
            loss = self.pseudo_likelihood_loss(x, seed)
        grads = tape.gradient(loss, variables)
        if self.weight_decay:
            grads[0] += self.weight_decay * variables[0]
            if self.conditional:
                grads[-1] += self.weight_decay * variables[-1]
        position = {id(v): i for i, v in enumerate(self.trainable_variables)}
        pairs = sorted(zip(grads, variables), key=lambda gv: position[id(gv[1])])
        self.optimizer.apply([g for g, _ in pairs], [v for _, v in pairs])
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        self.loss_tracker.update_state(self.pseudo_likelihood_loss(x, tf.constant([7, 11])))
        return {"loss": self.loss_tracker.result()}

    def check_inputs(self, x, name="x"):
        """The model's inputs as a dict of float32 numpy arrays, or a UserError naming the
        problem."""
        out = {k: np.asarray(v) for k, v in x.items()} if isinstance(x, dict) else \
            {"watched": np.asarray(x)}
        allowed = {"watched", "side"} if self.conditional else {"watched"}
        if "watched" not in out or set(out) - allowed:
            raise UserError(f"{name} must be the watched matrix or a dict with keys "
                            f"{sorted(allowed)}, got {sorted(out)}")
        v = out["watched"]
        if v.ndim != 2 or v.shape[1] != self.n_items:
            raise UserError(f"{name} watched must have shape (cases, {self.n_items}), got "
                            f"{v.shape}")
        if not np.isin(v, (0, 1)).all():
            raise UserError(f"{name} watched must hold 0/1 only")
        if self.conditional:
            s = out.get("side")
            if s is None or s.shape != v.shape or not np.isin(s, (0, 1)).all():
                raise UserError(f"{name} side must be a 0/1 array shaped like watched "
                                f"(the conditional model's side input)")
            if np.any((s > 0) & (v == 0)):
                raise UserError(f"{name} side must be 0 wherever watched is 0")
        return {k: a.astype(np.float32) for k, a in out.items()}

    def fit(self, x=None, y=None, batch_size=32, epochs=1, validation_data=None, shuffle=True,
            callbacks=None, **kwargs):
        """Keras ``fit`` on the watched matrix (or the input dict); ``y`` is not used.

        On the first call the visible biases start at the items' log-odds of being watched.
        ``validation_data``: inputs whose pseudo-likelihood estimate is logged as ``val_loss``.
        """
        if x is None:
            raise UserError("fit needs the watched matrix x")
        x = self.check_inputs(x)
        if not self.built:
            self.build()
        if float(self.initialized.numpy()) == 0:
            p = (x["watched"].sum(0) + 0.5) / (len(x["watched"]) + 1.0)
            self.layer.visible_bias.assign(np.log(p / (1 - p)).astype(np.float32))
            self.initialized.assign(1.0)
        if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
            raise UserError(f"batch_size must be a whole number >= 1, got {batch_size!r}")
        ds = tf.data.Dataset.from_tensor_slices(x)
        if shuffle:
            ds = ds.shuffle(len(x["watched"]), seed=None if self.seed is None else self.seed + 7,
                            reshuffle_each_iteration=True)
        if validation_data is not None:
            validation_data = tf.data.Dataset.from_tensor_slices(
                self.check_inputs(validation_data, "validation_data")).batch(256)
        if not self.compiled:
            self.compile(optimizer=keras.optimizers.Adam(3e-3))
        self._choose_steps_per_execution(callbacks)
        return keras.Model.fit(self, ds.batch(int(batch_size)), epochs=epochs,
                               validation_data=validation_data, callbacks=callbacks,
                               shuffle=False, **kwargs)

    def scores(self, x, batch_size=64):
        """log-odds p(v_i = 1 | v_-i, s_-i) of every item for every row, in chunks: numpy."""
        x = self.check_inputs(x)
        fn = self._fn("conditional_logits", self.conditional_logits)
        n = len(x["watched"])
        return np.concatenate([fn({k: v[s:s + batch_size] for k, v in x.items()}).numpy()
                               for s in range(0, n, batch_size)]) if n else \
            np.zeros((0, self.n_items), np.float32)

    # ------------------------------------------------------------------ config
    def get_config(self):
        config = super().get_config()
        for key in ("persistent", "init_visible_bias"):
            config.pop(key, None)
        config.update(n_items=self.n_items, conditional=self.conditional,
                      negatives=self.negatives)
        return config
