"""RatingsRBM: the softmax RBM with missing ratings (Salakhutdinov, Mnih & Hinton 2007) on RBMModel.

Each training case is one row of a ratings matrix: a user's ratings of the items (user-based),
or an item's ratings by the users (item-based, Georgiev & Nakov 2013; pass the transposed
matrix). Every column is one K-way softmax visible unit; a case holds only the columns it rated,
the others are missing (rating 0 in the input) and are left out of the energy, the conditionals
and the CD statistics (:class:`tfrbm.units.MaskedSoftmaxUnits`).

    E(V, h) = - sum_{i rated} sum_k W_ikj V_ik h_j - sum_{i rated} sum_k V_ik b_ik - sum_j h_j c_j
              - sum_i r_i D_ij h_j                                      (conditional only)
    p(h_j = 1 | V, r) = sigmoid(c_j + sum_{i rated} sum_k V_ik W_ikj + sum_i r_i D_ij)
    p(v_ik = 1 | h)   = softmax_k(b_ik + sum_j h_j W_ikj)                (rated items only)

The **conditional RBM** (``conditional=True``, the paper's section 4) adds a binary vector r of
which items the case rated, *including items whose rating is unknown* (test items), with its own
weights D (items x hidden). r is an input, never a visible unit: it shifts the hidden units and
gets the gradient  dD_ij = -(<r_i h_j>_data - <r_i h_j>_CD).

Training: CD-k (k-1 steps of :func:`tfrbm.gibbs.k_steps`, then a last reconstruction kept as
probabilities) on a per-batch view of the layer with masked
softmax visible units; the gradients go through the compiled Keras optimizer (SGD with momentum
by default), with L2 ``weight_decay`` on W and D. ``fit`` is Keras ``fit``: callbacks, History
(``loss`` = mean squared error of the one-step reconstruction's expected rating on the rated
entries, ``rmse``; with ``validation_data=(x, held_out)`` also ``val_loss``/``val_rmse`` of the
held-out ratings), ``EarlyStopping``, ``TrainingBackup``, tf.distribute and ``.keras`` saving.
:class:`CDSchedule` raises k during training.

Prediction is exact, hidden units summed out: for an item q the case did not rate,
    p(v_q = k | V, r) ∝ exp(b_qk) prod_j (1 + exp(x_j + W_qkj)),  x = c + V W + r D,
and the predicted rating is the expectation sum_k k p(v_q = k | V, r).

Inputs are a dict ``{"ratings": (N, items) ints 0..K, "rated": (N, items) 0/1}`` ("rated" only
for the conditional model; it defaults to ratings > 0) or the ratings array alone.
"""
import math

import keras
import numpy as np
import tensorflow as tf

from tfrbm import gibbs
from tfrbm.errors import UserError
from tfrbm.fastpath import with_progbar
from tfrbm.layers import RBMLayer
from tfrbm.models.rbm import RBMModel
from tfrbm.models.side_input import SideInputMixin
from tfrbm.safety import check_learning_rate
from tfrbm.validation import RATING_LEVELS, validate_params, whole_number

__all__ = ["RatingsRBM", "CDSchedule", "cd_schedule", "CaseView"]


class CaseView:
    """An RBMLayer as one batch of cases sees it: masked softmax visibles and extra hidden input.

    ``units`` is the layer's softmax family restricted to the batch's rated items; ``extra``
    (batch, hidden) is r D for the conditional model (None otherwise). It has the interface the
    shared Gibbs kernels (:mod:`tfrbm.gibbs`) need.
    """

    def __init__(self, layer, units, extra=None):
        self.layer, self.visible_units, self.extra = layer, units, extra
        self.hidden_units = layer.hidden_units

    def hidden_input(self, v):
        a = self.layer.hidden_input(v)
        return a if self.extra is None else a + self.extra

    def hidden_probs(self, v):
        return tf.sigmoid(self.hidden_input(v))

    def sample_hidden(self, v, seed):
        probs = self.hidden_probs(v)
        return probs, self.hidden_units.sample(probs, seed)

    def visible_probs(self, h):
        return self.visible_units.mean(self.layer.visible_input(h))

    def sample_visible(self, h, seed):
        mean = self.visible_probs(h)
        return mean, self.visible_units.sample(mean, seed)


def cd_schedule(spec, epochs):
    """{first epoch: k} from an int, a dict or ``"increasing"``.

    ``"increasing"``: CD-1 for the first half of ``epochs``, then 3 from 1/2, 5 from 3/4 and 9
    from 9/10 (the paper raises k as learning proceeds). Raises UserError for a bad schedule.
    """
    if isinstance(spec, str):
        if spec != "increasing":
            raise UserError(f"cd_k must be an int >= 1, an {{epoch: k}} dict or 'increasing', "
                            f"got {spec!r}")
        sched = {0: 1}
        for frac, k in ((0.5, 3), (0.75, 5), (0.9, 9)):
            e = int(math.floor(frac * epochs))
            if 0 < e < epochs:
                sched[e] = k
        return sched
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        spec = {0: spec}
    if not isinstance(spec, dict) or not spec:
        raise UserError(f"cd_k must be an int >= 1, an {{epoch: k}} dict or 'increasing', "
                        f"got {spec!r}")
    out = {}
    for e, k in spec.items():
        try:
            e_i, k_i = int(e), int(k)
        except (TypeError, ValueError):
            raise UserError(f"cd_k schedule entries must be integers, got {e!r}: {k!r}") from None
        if e_i != float(e) or k_i != float(k) or e_i < 0 or k_i < 1:
            raise UserError(f"cd_k schedule needs epochs >= 0 and k >= 1 (whole numbers), "
                            f"got {e!r}: {k!r}")
        out[e_i] = k_i
    if 0 not in out:
        raise UserError(f"cd_k schedule must say which k to use from epoch 0, got {spec!r}")
    return dict(sorted(out.items()))


class CDSchedule(keras.callbacks.Callback):
    """Set the model's CD-k at the start of each epoch from ``{first epoch: k}``; logs ``cd_k``.

    A new k re-traces the training step once (Gibbs chains up to length 25 are unrolled).
    """

    def __init__(self, schedule, epochs=None):
        super().__init__()
        if schedule == "increasing" and epochs is None:
            raise UserError("CDSchedule('increasing') needs the number of epochs")
        self.schedule = cd_schedule(schedule, epochs or 1)

    def k_at(self, epoch):
        return self.schedule[max(e for e in self.schedule if e <= epoch)]

    def on_epoch_begin(self, epoch, logs=None):
        k = self.k_at(epoch)
        if k != self.model.cd_k:
            self.model.cd_k = k
            self.model.make_train_function(force=True)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["cd_k"] = self.model.cd_k


@keras.saving.register_keras_serializable(package="tfrbm")
class RatingsRBM(SideInputMixin, RBMModel):
    """Softmax RBM over rows of a ratings matrix with missing entries (see the module docstring).

    Args:
        n_items: columns of the ratings matrix (items for a user-based model, users for an
            item-based one): one K-way softmax visible unit each.
        n_hidden: hidden units F.
        n_levels: rating levels K (ratings 1..K; 0 means missing).
        conditional: add the "which items were rated" input r with weights D.
        cd_k, weight_decay, seed and the other keyword arguments: as :class:`RBMModel`
            (persistent chains are not supported: each case has its own set of visible units).
    """

    #: centering defaults to False and True is a UserError: its CD step over each case's
    #: rated items does not center
    supports_centering = False

    _parameter_constraints = {
        **RBMModel._parameter_constraints,
        "n_items": [whole_number(1)],
        "n_hidden": [whole_number(1)],
        "n_levels": [RATING_LEVELS],
    }

    def __init__(self, n_items=None, n_hidden=100, n_levels=5, conditional=False, layer=None,
                 cd_k=1, weight_decay=0.0, seed=None, **kwargs):
        params = {"n_items": n_items, "n_levels": n_levels}
        if layer is None:                      # n_hidden sizes the layer only when none is given
            params["n_hidden"] = n_hidden
        params = validate_params(params, self._parameter_constraints, type(self))
        n_items, n_levels = params["n_items"], params["n_levels"]
        if kwargs.pop("persistent", False):
            raise UserError("RatingsRBM trains with CD only: persistent chains cannot hold "
                            "cases that each have their own rated items")
        kwargs.setdefault("n_chains", 1)
        kwargs["init_visible_bias"] = None           # set from the rating frequencies instead
        if layer is None:
            layer = RBMLayer(params["n_hidden"], visible={"name": "softmax", "k": n_levels})
        super().__init__(layer=layer, cd_k=cd_k, weight_decay=weight_decay, seed=seed, **kwargs)
        if getattr(layer.visible_units, "k", None) != int(n_levels):
            raise UserError(f"the layer's visible units must be softmax with k={n_levels}")
        self.n_items, self.n_levels = int(n_items), int(n_levels)
        self.init_side_input(conditional)

    #: D, the weights from "which items the case rated" to the hidden units
    side_kernel_name = "rated_kernel"

    @property
    def visible_width(self):
        return self.n_items * self.n_levels

    # ------------------------------------------------------------------ inputs
    def _inputs(self, x):
        """(V one-hot (B, items*K), mask (B, items), r (B, items) or None) from model inputs."""
        ratings = x["ratings"] if isinstance(x, dict) else x
        R = tf.cast(ratings, tf.int32)
        mask = tf.cast(R > 0, tf.float32)
        V = tf.reshape(tf.one_hot(R - 1, self.n_levels), (-1, self.n_items * self.n_levels))
        r = None
        if self.conditional:
            r = tf.cast(x["rated"], tf.float32) if isinstance(x, dict) and "rated" in x else mask
        return V, mask, r

    def _rated(self, x):
        """The conditional model's r (B, items) as float: x["rated"], else ratings > 0."""
        if isinstance(x, dict) and "rated" in x:
            return tf.cast(x["rated"], tf.float32)
        ratings = x["ratings"] if isinstance(x, dict) else x
        return tf.cast(tf.cast(ratings, tf.int32) > 0, tf.float32)

    def _view(self, mask, r):
        units = self.layer.visible_units.observed(mask)
        extra = None if r is None else tf.matmul(r, self.rated_kernel)
        return CaseView(self.layer, units, extra)

    def hidden_input(self, x):
        """x_j = c_j + sum_{i,k} V_ik W_ikj (+ sum_i r_i D_ij): (B, F)."""
        V, mask, r = self._inputs(x)
        return self._view(mask, r).hidden_input(V)

    def _levels(self):
        return tf.range(1, self.n_levels + 1, dtype=tf.float32)

    # ------------------------------------------------------------------ training
    def cd_gradients(self, x, seed):
        """CD-k gradients for :meth:`cd_variables` and the batch's reconstruction error.

        Returns (grads, sum of squared errors, number of rated entries); the error is that of
        the expected rating of the first reconstruction p(v | h0) on the rated entries.
        """
        V, mask, r = self._inputs(x)
        view = self._view(mask, r)
        ph0 = view.hidden_probs(V)
        h0 = view.hidden_units.sample(ph0, gibbs.fold(seed, 1))
        # k-1 shared Gibbs steps, then the last reconstruction kept as probabilities (less
        # noise in the negative statistics than a sampled one-hot, as in the paper)
        v_mean1, h = None, h0
        if self.cd_k > 1:
            v_mean1, _, _, h = gibbs.k_steps(view, h0, self.cd_k - 1, gibbs.fold(seed, 3))
        vk = view.visible_probs(h)
        phk = view.hidden_probs(vk)
        if v_mean1 is None:
            v_mean1 = vk
        n = tf.cast(tf.shape(V)[0], V.dtype)
        d_kernel = -(tf.matmul(V, ph0, transpose_a=True) - tf.matmul(vk, phk, transpose_a=True)) / n
        d_visible = -tf.reduce_sum(V - vk, axis=0) / n
        d_hidden = -tf.reduce_sum(ph0 - phk, axis=0) / n
        if self.weight_decay:
            d_kernel += self.weight_decay * self.layer.kernel
        grads = [d_kernel, d_visible, d_hidden]
        if self.conditional:
            d_rated = -tf.matmul(r, ph0 - phk, transpose_a=True) / n
            if self.weight_decay:
                d_rated += self.weight_decay * self.rated_kernel
            grads.append(d_rated)
        groups = (-1, self.n_items, self.n_levels)
        truth = tf.linalg.matvec(tf.reshape(V, groups), self._levels())
        recon = tf.linalg.matvec(tf.reshape(v_mean1, groups), self._levels())
        sq = tf.reduce_sum(tf.square(truth - recon) * mask)
        return grads, sq, tf.reduce_sum(mask)

    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        seed = self.seed_generator.next()
        ctx = tf.distribute.get_replica_context()
        n_replicas = 1 if ctx is None else ctx.num_replicas_in_sync
        if n_replicas > 1:
            seed = gibbs.fold(seed, ctx.replica_id_in_sync_group)
        grads, sq, count = self.cd_gradients(x, seed)
        if n_replicas > 1:
            grads = [g / n_replicas for g in grads]
        grads = [self.optimizer.scale_loss(g) for g in grads]
        # in the order of trainable_variables, so that the optimizer's slots match the ones a
        # reloaded (.keras) model builds from trainable_variables
        position = {id(v): i for i, v in enumerate(self.trainable_variables)}
        pairs = sorted(zip(grads, self.cd_variables()), key=lambda gv: position[id(gv[1])])
        self.optimizer.apply([g for g, _ in pairs], [v for _, v in pairs])
        self.loss_tracker.update_state(sq / tf.maximum(count, 1.0), sample_weight=count)
        return self._logs()

    def _logs(self):
        mse = self.loss_tracker.result()
        return {"loss": mse, "rmse": tf.sqrt(mse)}

    def test_step(self, data):
        """With held-out ratings y (0 = none): their squared error; else the reconstruction's."""
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if y is None:
            V, mask, r = self._inputs(x)
            view = self._view(mask, r)
            recon = view.visible_probs(view.hidden_probs(V))
            groups = (-1, self.n_items, self.n_levels)
            err = (tf.linalg.matvec(tf.reshape(V - recon, groups), self._levels())) * mask
            sq, count = tf.reduce_sum(tf.square(err)), tf.reduce_sum(mask)
        else:
            y = tf.cast(y, tf.int32)
            pairs = tf.where(y > 0)
            probs = self.pair_probabilities(x, pairs[:, 0], pairs[:, 1])
            pred = tf.linalg.matvec(probs, self._levels())
            truth = tf.cast(tf.gather_nd(y, pairs), tf.float32)
            sq, count = tf.reduce_sum(tf.square(pred - truth)), tf.cast(tf.shape(pairs)[0],
                                                                        tf.float32)
        self.loss_tracker.update_state(sq / tf.maximum(count, 1.0), sample_weight=count)
        return self._logs()

    # ------------------------------------------------------------------ prediction
    def _item_weights(self, items):
        W = tf.reshape(self.layer.kernel, (self.n_items, self.n_levels, self.layer.units))
        b = tf.reshape(self.layer.visible_bias, (self.n_items, self.n_levels))
        return tf.gather(W, items), tf.gather(b, items)

    def pair_probabilities(self, x, cases, items):
        """p(v_item = k | case's V, r) for P (case row, item) pairs: (P, K), hidden summed out.

        In the conditional model the queried item counts as rated (a rating is being asked
        for, so the case did rate it): r_item = 1, whether or not the input said so.
        """
        a = tf.gather(self.hidden_input(x), cases)
        if self.conditional:
            rated = self._rated(x)
            missing = 1.0 - tf.gather_nd(rated, tf.stack([tf.cast(cases, tf.int64),
                                                          tf.cast(items, tf.int64)], 1))
            a += missing[:, None] * tf.gather(self.rated_kernel, items)
        W, b = self._item_weights(items)
        return tf.nn.softmax(b + tf.reduce_sum(tf.nn.softplus(a[:, None, :] + W), -1), axis=-1)

    def level_probabilities(self, x, items=None):
        """p(v_q = k | V, r) of items ``items`` (default all) for every case row: (B, Q, K).

        As in :meth:`pair_probabilities`, the conditional model counts each queried item as
        rated."""
        items = tf.range(self.n_items) if items is None else tf.convert_to_tensor(items)
        a = self.hidden_input(x)[:, None, :]                       # (B, 1, F)
        if self.conditional:                                        # the queried item is rated
            missing = 1.0 - tf.gather(self._rated(x), items, axis=1)            # (B, Q)
            a = a + missing[..., None] * tf.gather(self.rated_kernel, items)[None]
        W, b = self._item_weights(items)
        logits = b[None] + tf.reduce_sum(tf.nn.softplus(a[:, :, None, :] + W[None]), -1)
        return tf.nn.softmax(logits, axis=-1)

    def call(self, inputs, training=False):
        """Expected rating sum_k k p(v_q = k | V, r) of every item, for each case row: (B, items)."""
        return tf.linalg.matvec(self.level_probabilities(inputs), self._levels())

    def compute_output_shape(self, input_shape):
        return (None, self.n_items)

    # ------------------------------------------------------------------ fit
    def check_inputs(self, x, name="x"):
        """The model's inputs as a dict of numpy arrays, or a UserError naming the problem."""
        if isinstance(x, dict):
            unknown = set(x) - {"ratings", "rated"}
            if unknown or "ratings" not in x:
                raise UserError(f"{name} must be a dict with 'ratings' (and 'rated' for the "
                                f"conditional model), got keys {sorted(x)}")
            out = {k: np.asarray(v) for k, v in x.items()}
        else:
            out = {"ratings": np.asarray(x)}
        R = out["ratings"]
        if R.ndim != 2 or R.shape[1] != self.n_items:
            raise UserError(f"{name} ratings must have shape (cases, {self.n_items}), "
                            f"got {R.shape}")
        if R.dtype.kind not in "iub" and not (R.dtype.kind == "f" and np.all(R == np.round(R))):
            raise UserError(f"{name} ratings must be whole numbers 0..{self.n_levels} "
                            f"(0 = missing)")
        if R.size and (R.min() < 0 or R.max() > self.n_levels):
            raise UserError(f"{name} ratings must lie in 0..{self.n_levels} (0 = missing), got "
                            f"{R.min()}..{R.max()}")
        out["ratings"] = R.astype(np.uint8)
        if self.conditional:
            r = out.get("rated", (R > 0))
            r = np.asarray(r)
            if r.shape != R.shape or not np.isin(r, (0, 1)).all():
                raise UserError(f"{name} 'rated' must be a 0/1 array shaped like the ratings")
            if np.any((R > 0) & (r == 0)):
                raise UserError(f"{name} 'rated' must be 1 wherever a rating is given")
            out["rated"] = r.astype(np.uint8)
        else:
            out.pop("rated", None)
        return out

    def initialize_from_data(self, x):
        """Visible biases b_ik = log of item i's smoothed rating-level frequencies (first fit)."""
        if not self.built:
            with self.distribute_strategy.scope():
                self.build()
        if float(self.initialized.numpy()) > 0:
            return
        R = x["ratings"].astype(np.int64)
        counts = np.stack([(R == k).sum(0) for k in range(1, self.n_levels + 1)], 1).astype(float)
        overall = counts.sum(0) + 1.0
        freq = (counts + overall / overall.sum()) / (counts.sum(1, keepdims=True) + 1.0)
        self.layer.visible_bias.assign(np.log(freq).reshape(-1).astype(np.float32))
        self.initialized.assign(1.0)

    def _dataset(self, x, y=None, batch_size=32, shuffle=False, seed=None):
        parts = (x,) if y is None else (x, np.asarray(y).astype(np.uint8))
        ds = tf.data.Dataset.from_tensor_slices(parts)
        if shuffle:
            ds = ds.shuffle(len(x["ratings"]), seed=seed, reshuffle_each_iteration=True)
        return ds.batch(batch_size)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, validation_data=None,
            shuffle=True, callbacks=None, **kwargs):
        """Keras ``fit`` on a ratings matrix (or the input dict).

        ``validation_data=(x_val, held_out)``: ``held_out`` (cases, items) ratings 0..K that
        the model must predict from ``x_val`` (0 = nothing to predict); logged as ``val_loss``
        (mean squared error) and ``val_rmse``. ``y`` is not used.
        """
        if x is None:
            raise UserError("fit needs a ratings matrix x")
        if isinstance(x, tf.data.Dataset):
            ds = x
        else:
            x = self.check_inputs(x)
            self.initialize_from_data(x)
            if batch_size is None:
                batch_size = 32
            if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
                raise UserError(f"batch_size must be a whole number >= 1, got {batch_size!r}")
            seed = None if self.seed is None else int(self.seed) + 104729
            ds = self._dataset(x, batch_size=int(batch_size), shuffle=shuffle, seed=seed)
        if not self.built:
            self.build()
        if validation_data is not None and not isinstance(validation_data, tf.data.Dataset):
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise UserError("validation_data must be (inputs, held-out ratings)")
            xv = self.check_inputs(validation_data[0], "validation inputs")
            yv = np.asarray(validation_data[1])
            if yv.shape != xv["ratings"].shape:
                raise UserError(f"held-out ratings must have shape {xv['ratings'].shape}, "
                                f"got {yv.shape}")
            validation_data = self._dataset(xv, yv, batch_size=256)
        if not self.compiled:
            self.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9))
        check_learning_rate(self.optimizer)
        self._choose_steps_per_execution(callbacks)
        return keras.Model.fit(self, ds, epochs=epochs, validation_data=validation_data,
                               callbacks=with_progbar(callbacks), shuffle=False, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=256, **kwargs):
        if not isinstance(x, tf.data.Dataset):
            x = self._dataset(self.check_inputs(x), y, batch_size=batch_size)
            y = None
        kwargs["callbacks"] = with_progbar(kwargs.get("callbacks"))   # counts real steps
        return keras.Model.evaluate(self, x, y, **kwargs)

    def predict_pairs(self, x, cases, items, batch_size=256):
        """p(v = k) (P, K) for pairs (row ``cases[p]`` of ``x``, item ``items[p]``), in chunks."""
        x = self.check_inputs(x)
        cases, items = np.asarray(cases, np.int64), np.asarray(items, np.int64)
        out = np.empty((len(cases), self.n_levels), np.float32)
        fn = self._fn("pair_probabilities", self.pair_probabilities)
        uniq, inverse = np.unique(cases, return_inverse=True)
        for s in range(0, len(uniq), batch_size):
            rows = uniq[s:s + batch_size]
            sel = np.flatnonzero((inverse >= s) & (inverse < s + len(rows)))
            xs = {k: v[rows] for k, v in x.items()}
            for p in range(0, len(sel), 8192):
                part = sel[p:p + 8192]
                out[part] = fn(xs, tf.constant(inverse[part] - s), tf.constant(items[part])).numpy()
        return out

    # ------------------------------------------------------------------ config
    def get_config(self):
        config = super().get_config()
        for key in ("persistent", "init_visible_bias"):
            config.pop(key, None)
        config.update(n_items=self.n_items, n_levels=self.n_levels, conditional=self.conditional)
        return config
