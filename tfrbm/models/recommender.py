"""RBM collaborative filtering (Salakhutdinov, Mnih & Hinton, ICML 2007).

Each user is one training case. Every movie is one K-way softmax visible unit (K = 5 ratings);
all users share the hidden units and the weights W (movies x K x hidden). A user's case holds
only the movies that user rated: the others are left out of the energy, the conditionals and
the CD statistics.

    E(V, h) = - sum_{i rated} sum_k W_ikj V_ik h_j - sum_{i rated} sum_k V_ik b_ik - sum_j h_j c_j
    p(h_j = 1 | V) = sigmoid(c_j + sum_{i rated} sum_k V_ik W_ikj)
    p(v_ik = 1 | h) = softmax_k(b_ik + sum_j h_j W_ikj)            (rated items only)

Training is CD-k with k raised as learning proceeds (1, then 3, 5, 9) and L2 weight decay; the
CD gradient estimate goes through a Keras optimizer (Adam by default, or SGD with momentum as in
the paper). A step is one compiled ``tf.function`` over a batch of users,
densified only for that batch (memory ~ batch x movies x K, never users x movies).

A movie q the user has not rated is predicted exactly, hidden units summed out:
    p(v_q = k | V) ∝ exp(b_qk) prod_j (1 + exp(c_j + sum_{i,l} V_il W_ilj + W_qkj))
and the prediction is the expected rating sum_k k p(v_q = k | V) (or the most probable k).
``prediction="mean_field"`` uses p(v_q = k | p(h | V)) instead.

References:
  R. Salakhutdinov, A. Mnih, G. Hinton. Restricted Boltzmann machines for collaborative
  filtering. ICML 2007.

Example::

    ds = tfrbm.data.movielens("100k")
    train, test = ds.fold("u1")
    rec = tfrbm.RBMRecommender(n_hidden=100).fit(train, epochs=40)
    rec.predict(test.users, test.movies)          # expected ratings
    rec.recommend(215, n=10)                      # ids, titles, scores
"""
import math
import pathlib
import time

import numpy as np

from tfrbm.data.ratings import RatingsData, as_triples
from tfrbm.models.recommender_baselines import RatingModel, Recommendations
from tfrbm.validation import (POSITIVE_INT, Integral, Interval, Options, Predicate, Real,
                              validate_params)

from tfrbm.errors import UserError
__all__ = ["RBMRecommender", "Recommendations", "softmax_hidden_probs",
           "softmax_visible_probs", "softmax_cd_gradients", "default_cd_schedule", "SIX_MOVIES",
           "six_movie_demo"]


# ---- the masked K-way softmax RBM math (dense batch tensors) --------------------------------
def softmax_hidden_probs(V, W, c):
    """p(h = 1 | V) = sigmoid(c + sum_{i,k} V_ik W_ikj); V (B, M, K) zero for missing items."""
    import tensorflow as tf
    B = tf.shape(V)[0]
    M, K, F = W.shape
    return tf.sigmoid(tf.reshape(V, (B, M * K)) @ tf.reshape(W, (M * K, F)) + c)


def softmax_visible_logits(h, W, b):
    import tensorflow as tf
    M, K, F = W.shape
    return tf.reshape(h @ tf.transpose(tf.reshape(W, (M * K, F))), (-1, M, K)) + b


def softmax_visible_probs(h, W, b, mask):
    """p(v_ik = 1 | h) = softmax_k(b_ik + sum_j h_j W_ikj) for rated items (mask 1), else 0."""
    import tensorflow as tf
    return tf.nn.softmax(softmax_visible_logits(h, W, b), axis=-1) * mask[..., None]


def softmax_cd_gradients(V, mask, W, b, c, k, rng):
    """CD-k gradients (dW, db, dc) of the negative log-likelihood, averaged over the batch.

    ``V`` (B, M, K) one-hot ratings, ``mask`` (B, M) 1 where rated. Entries of V where mask is
    0 are ignored. Intermediate visible states are sampled, the last step keeps probabilities;
    hidden statistics use probabilities. Returns also the last reconstruction (B, M, K).
    """
    import tensorflow as tf
    V = V * mask[..., None]
    ph0 = softmax_hidden_probs(V, W, c)
    h = tf.cast(rng.uniform(tf.shape(ph0)) < ph0, ph0.dtype)
    vk, phk = V, ph0
    logit_mask = (1.0 - mask[..., None]) * -1e9
    for i in tf.range(k):
        logits = softmax_visible_logits(h, W, b)
        probs = tf.nn.softmax(logits, axis=-1) * mask[..., None]
        gumbel = -tf.math.log(-tf.math.log(rng.uniform(tf.shape(logits), 1e-20, 1.0)))
        sample = tf.one_hot(tf.argmax(logits + gumbel + logit_mask, axis=-1), W.shape[1],
                            dtype=V.dtype) * mask[..., None]
        vk = tf.where(i == k - 1, probs, sample)
        phk = softmax_hidden_probs(vk, W, c)
        h = tf.cast(rng.uniform(tf.shape(phk)) < phk, phk.dtype)
    n = tf.cast(tf.shape(V)[0], V.dtype)
    M, K, F = W.shape
    flat0 = tf.reshape(V, (-1, M * K))
    flatk = tf.reshape(vk, (-1, M * K))
    dW = -tf.reshape(tf.transpose(flat0) @ ph0 - tf.transpose(flatk) @ phk, (M, K, F)) / n
    db = -tf.reduce_sum(V - vk, axis=0) / n
    dc = -tf.reduce_sum(ph0 - phk, axis=0) / n
    return dW, db, dc, vk


def default_cd_schedule(epochs):
    """{first epoch: k}: CD-1 for the first half, then 3, 5 and 9 (the paper raises k gradually)."""
    sched = {0: 1}
    for frac, k in ((0.5, 3), (0.75, 5), (0.9, 9)):
        e = int(math.floor(frac * epochs))
        if 0 < e < epochs:
            sched[e] = k
    return sched


class RBMRecommender(RatingModel):
    """Restricted Boltzmann machine with K-way softmax visible units for rating prediction.

    Args:
      n_hidden: hidden units F shared by all users.
      n_levels: rating levels K (ratings are 1..K).
      optimizer: "adam" (default; Adam with ``learning_rate``), "sgd" (SGD with ``momentum``,
        as in the paper) or a Keras optimizer instance (its own learning rate then applies).
        The CD-k gradient estimate is handed to the optimizer like any loss gradient.
      learning_rate, momentum: for the "adam"/"sgd" optimizers (momentum: "sgd" only).
      weight_decay: L2 coefficient added to the weight gradient (not to the biases).
      cd_k: int, {first epoch: k} dict, or "increasing" (default: :func:`default_cd_schedule`).
      batch_size: users per training step.
      prediction: "exact" (hidden units summed out) or "mean_field".
      init_std: standard deviation of the initial weights; visible biases start at the log of
        each movie's rating-level frequencies.
      seed: random seed for initialisation, shuffling and sampling.
    """

    _parameter_constraints = {
        "n_hidden": POSITIVE_INT,
        "n_levels": [Interval(Integral, 2, None)],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None)],
        "cd_k": [Interval(Integral, 1, None), Options("increasing"),
                 Predicate(lambda d: isinstance(d, dict) and all(
                     int(e) >= 0 and int(k) >= 1 for e, k in d.items()),
                     "a {first epoch: k} dict with k >= 1")],
        "batch_size": POSITIVE_INT,
        "prediction": [Options("exact", "mean_field")],
        "init_std": [Interval(Real, 0, None)],
        "optimizer": [Options("adam", "sgd"), Predicate(
            lambda o: hasattr(o, "apply_gradients") or isinstance(o, dict),
            "a Keras optimizer (or its serialized config)")],
        "seed": [None, Interval(Integral, None, None)],
    }

    def __init__(self, n_hidden=100, n_levels=5, learning_rate=1e-3, momentum=0.9,
                 weight_decay=0.01, cd_k="increasing", batch_size=50, prediction="exact",
                 init_std=0.01, optimizer="adam", seed=0):
        p = validate_params(
            {"n_hidden": n_hidden, "n_levels": n_levels, "learning_rate": learning_rate,
             "momentum": momentum, "weight_decay": weight_decay, "cd_k": cd_k,
             "batch_size": batch_size, "prediction": prediction, "init_std": init_std,
             "optimizer": optimizer, "seed": seed}, self._parameter_constraints, type(self))
        if isinstance(optimizer, dict):           # a config from get_config
            import keras
            optimizer = keras.optimizers.deserialize(optimizer)
        self.n_hidden, self.n_levels = p["n_hidden"], p["n_levels"]
        self.learning_rate, self.momentum = p["learning_rate"], p["momentum"]
        self.weight_decay, self.cd_k, self.batch_size = p["weight_decay"], p["cd_k"], p["batch_size"]
        self.prediction, self.init_std, self.seed = p["prediction"], p["init_std"], p["seed"]
        self.optimizer = optimizer
        self.user_ids = self.movie_ids = None
        self.history = {"epoch": [], "cd_k": [], "recon_rmse": [], "seconds": []}
        self.network = None
        self._built = False

    def get_config(self):
        return {"n_hidden": self.n_hidden, "n_levels": self.n_levels,
                "learning_rate": self.learning_rate, "momentum": self.momentum,
                "weight_decay": self.weight_decay,
                "cd_k": {str(k): v for k, v in self.cd_k.items()}
                if isinstance(self.cd_k, dict) else self.cd_k,
                "batch_size": self.batch_size, "prediction": self.prediction,
                "init_std": self.init_std, "seed": self.seed,
                "optimizer": self._optimizer_config()}

    def _optimizer_config(self):
        """"adam"/"sgd" as given, or the Keras optimizer's own serialized config."""
        if isinstance(self.optimizer, str):
            return self.optimizer
        import keras
        return keras.optimizers.serialize(self.optimizer)

    # ---- building ------------------------------------------------------------------------
    def _build(self, initialise=True):
        """Create the RecommenderNetwork (W, b, c), its compiled optimizer and the step functions.

        ``initialise``: draw W ~ N(0, init_std) and set b to the log of each movie's rating-level
        frequencies (skipped when the weights are about to be loaded).
        """
        import keras
        import tensorflow as tf
        from tfrbm.models.recommender_network import RecommenderNetwork
        M, K, F = self.n_movies, self.n_levels, self.n_hidden
        if getattr(self, "network", None) is None:
            self.network = RecommenderNetwork(M, K, F, prediction=self.prediction,
                                              name="rbm_recommender")
        net = self.network
        if initialise:
            rng = np.random.default_rng(self.seed)
            _, cols, vals = self._csr
            counts = np.zeros((M, K))
            np.add.at(counts, (cols, vals - 1), 1.0)
            overall = counts.sum(0) + 1.0
            freq = (counts + overall / overall.sum()) / (counts.sum(1, keepdims=True) + 1.0)
            net.W.assign(rng.normal(0, self.init_std, (M, K, F)).astype("float32"))
            net.b.assign(np.log(freq).astype("float32"))
        self.W, self.b, self.c = net.W, net.b, net.c
        if getattr(net, "optimizer", None) is None or not net.compiled:
            if self.optimizer == "adam":
                self.optimizer = keras.optimizers.Adam(self.learning_rate)
            elif self.optimizer == "sgd":
                self.optimizer = keras.optimizers.SGD(self.learning_rate, momentum=self.momentum)
            net.compile(optimizer=self.optimizer)
        self.optimizer = net.optimizer
        if not self.optimizer.built:
            self.optimizer.build(net.trainable_variables)
        self._gen = tf.random.Generator.from_seed(int(self.seed or 0))
        spec = tf.TensorSpec([None], tf.int32)
        self._train_step = tf.function(self._step, input_signature=[
            spec, spec, spec, tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int32)])
        self._hidden_input = tf.function(self._hidden_input_fn, input_signature=[
            spec, spec, spec, tf.TensorSpec([], tf.int32)])
        self._built = True

    def _densify(self, rows, cols, levels, n_rows):
        """One-hot (B, M, K) ratings and (B, M) mask for one batch of users (levels 1..K)."""
        import tensorflow as tf
        idx = tf.stack([rows, cols], axis=1)
        R = tf.scatter_nd(idx, levels, tf.stack([n_rows, self.n_movies])) - 1
        return tf.one_hot(R, self.n_levels), tf.cast(R >= 0, tf.float32)

    def _step(self, rows, cols, levels, n_rows, k):
        import tensorflow as tf
        V, mask = self._densify(rows, cols, levels, n_rows)
        dW, db, dc, vk = softmax_cd_gradients(V, mask, self.W.value, self.b.value, self.c.value, k,
                                      self._gen)
        dW = dW + self.weight_decay * self.W.value
        self.optimizer.apply_gradients([(dW, self.W), (db, self.b), (dc, self.c)])
        levels_f = tf.range(1, self.n_levels + 1, dtype=tf.float32)
        err = tf.reduce_sum(V * levels_f, -1) - tf.reduce_sum(vk * levels_f, -1)
        return tf.reduce_sum(err * err * mask), tf.reduce_sum(mask)

    def _hidden_input_fn(self, rows, cols, levels, n_rows):
        """x = c + sum_{i,k} V_ik W_ik: (B, F) total input to the hidden units."""
        V, _ = self._densify(rows, cols, levels, n_rows)
        return self.network.hidden_input(V)

    # ---- training ------------------------------------------------------------------------
    def fit(self, data, epochs=30, batch_size=None, validation_data=None, verbose=0,
            titles=None):
        """Train on ``data``: an (N, 3) array of user id, movie id, rating, or a RatingsData.

        Calling fit again continues training (same ids). ``validation_data`` (triples or
        RatingsData) adds a "val_rmse" entry per epoch to ``history``. Returns self.
        """
        import tensorflow as tf
        if int(epochs) < 1:
            raise UserError(f"epochs must be at least 1, got {epochs}")
        if self._built:
            triples = as_triples(data)
            self._check_ratings(triples[:, 2])
            if isinstance(data, RatingsData) and (
                    not np.array_equal(data.movie_ids, self.movie_ids)
                    or not np.array_equal(data.user_ids, self.user_ids)):
                raise UserError("fit() again needs data with the same user and movie ids")
            self._set_training_rows(self._user_index(triples[:, 0]),
                                    self._movie_index(triples[:, 1]), triples[:, 2])
        else:
            self._prepare(data, titles)
            self._build()
        bs = int(batch_size or self.batch_size)
        schedule = (default_cd_schedule(epochs) if self.cd_k == "increasing" else
                    {0: self.cd_k} if isinstance(self.cd_k, int) else
                    {int(e): int(k) for e, k in self.cd_k.items()})
        rng = np.random.default_rng(None if self.seed is None else self.seed + len(
            self.history["epoch"]))
        users = np.flatnonzero(np.diff(self._csr[0]) > 0)
        start_epoch = len(self.history["epoch"])
        for epoch in range(int(epochs)):
            started = [e for e in schedule if e <= epoch]
            k = schedule[max(started)] if started else 1
            t0 = time.perf_counter()
            order = rng.permutation(users)
            sq, cnt = 0.0, 0.0
            for s in range(0, len(order), bs):
                rows, cols, levels = self._rows_of(order[s:s + bs])
                a, n = self._train_step(tf.constant(rows), tf.constant(cols),
                                        tf.constant(levels), tf.constant(len(order[s:s + bs]),
                                                                         tf.int32),
                                        tf.constant(k, tf.int32))
                sq, cnt = sq + float(a), cnt + float(n)
            h = self.history
            h["epoch"].append(start_epoch + epoch)
            h["cd_k"].append(k)
            h["recon_rmse"].append(math.sqrt(sq / max(cnt, 1.0)))
            h["seconds"].append(time.perf_counter() - t0)
            if validation_data is not None:
                t = as_triples(validation_data)
                pred = np.clip(self.predict(t[:, 0], t[:, 1]), 1, self.n_levels)
                h.setdefault("val_rmse", []).append(float(np.sqrt(np.mean((pred - t[:, 2]) ** 2))))
            if verbose:
                extra = f" val_rmse={h['val_rmse'][-1]:.4f}" if validation_data is not None else ""
                print(f"epoch {start_epoch + epoch + 1}: cd_k={k} recon_rmse="
                      f"{h['recon_rmse'][-1]:.4f}{extra} ({h['seconds'][-1]:.1f}s)", flush=True)
        return self

    # ---- prediction ----------------------------------------------------------------------
    def _check_built(self):
        if not self._built:
            raise UserError("RBMRecommender is not fitted yet: call fit() first")

    def _hidden_inputs(self, rows, cols, levels, n_rows):
        import tensorflow as tf
        return self._hidden_input(tf.constant(rows, tf.int32), tf.constant(cols, tf.int32),
                                  tf.constant(levels, tf.int32), tf.constant(n_rows, tf.int32))

    def _level_probs(self, x, movie_index):
        """p(v_q = k | V) for hidden inputs x (B, F) and movies q (Q,): (B, Q, K)."""
        import tensorflow as tf
        return tf.nn.softmax(self.network.level_logits(x, movie_index), axis=-1)

    def _scores_from_inputs(self, x, kind="expected", chunk=None):
        M, K, F = self.n_movies, self.n_levels, self.n_hidden
        B = int(x.shape[0])
        chunk = chunk or max(1, int(2 ** 23 // max(1, B * K * F)))
        parts = []
        for s in range(0, M, chunk):
            p = self._level_probs(x, np.arange(s, min(M, s + chunk))).numpy()
            parts.append(p)
        probs = np.concatenate(parts, axis=1)
        return self._reduce_probs(probs, kind)

    def _reduce_probs(self, probs, kind):
        if kind == "proba":
            return probs
        if kind == "most_probable":
            return probs.argmax(-1) + 1.0
        if kind == "expected":
            return probs @ np.arange(1, self.n_levels + 1, dtype=probs.dtype)
        raise UserError(f"kind must be 'expected', 'most_probable' or 'proba', got {kind!r}")

    def score_users(self, user_index, kind="expected"):
        """Predicted ratings of every movie for dense users ``user_index``: (B, n_movies)."""
        self._check_built()
        user_index = np.asarray(user_index, dtype=np.int64)
        rows, cols, levels = self._rows_of(user_index)
        x = self._hidden_inputs(rows, cols, levels, len(user_index))
        return self._scores_from_inputs(x, kind)

    def predict(self, user_ids, movie_ids, kind="expected", batch_size=256):
        """Ratings for the pairs (user_ids[i], movie_ids[i]).

        ``kind``: "expected" (sum_k k p(k), default), "most_probable" (argmax_k p(k)) or
        "proba" (an (N, K) array of p(v = k)). Unknown ids raise ValueError.
        """
        self._check_built()
        self._reduce_probs(np.ones((1, self.n_levels)), kind)   # validate kind early
        u = self._user_index(user_ids)
        m = self._movie_index(movie_ids)
        if len(u) != len(m):
            raise UserError(f"user_ids and movie_ids differ in length: {len(u)} vs {len(m)}")
        import tensorflow as tf
        out = np.empty((len(u), self.n_levels), dtype=np.float64)
        users, inverse = np.unique(u, return_inverse=True)
        for s in range(0, len(users), batch_size):
            chunk = users[s:s + batch_size]
            rows, cols, levels = self._rows_of(chunk)
            x = self._hidden_inputs(rows, cols, levels, len(chunk))   # (B, F), one per user
            sel = np.flatnonzero((inverse >= s) & (inverse < s + len(chunk)))
            for p in range(0, len(sel), 4096):                         # pairs of these users
                part = sel[p:p + 4096]
                out[part] = self._pair_probs(tf.gather(x, inverse[part] - s), m[part])
        return self._reduce_probs(out, kind)

    def _pair_probs(self, xs, movie_index):
        import tensorflow as tf
        return tf.nn.softmax(self.network.pair_logits(xs, movie_index), axis=-1).numpy()

    def hidden_probabilities(self, user):
        """p(h = 1 | V) for a known user id or a new user's {movie id: rating}: (F,) array."""
        import tensorflow as tf
        x = self._user_inputs(user)[0]
        return tf.sigmoid(x)[0].numpy()

    def _user_inputs(self, user):
        self._check_built()
        if isinstance(user, (int, np.integer)):
            u = int(self._user_index([user])[0])
            rows, cols, levels = self._rows_of(np.array([u]))
            return self._hidden_inputs(rows, cols, levels, 1), self.seen(u)
        m, r = self._parse_user_ratings(user)
        return self._hidden_inputs(np.zeros(len(m), np.int32), m.astype(np.int32),
                                   r.astype(np.int32), 1), m

    def _user_scores_for(self, user):
        x, seen = self._user_inputs(user)
        return self._scores_from_inputs(x)[0], seen

    # ---- serving -------------------------------------------------------------------------
    def serving_endpoints(self):
        """The network's ``recommend`` signature, with this estimator's movie ids."""
        self._check_built()
        return self.network.serving_endpoints(movie_ids=self.movie_ids)

    def export(self, filepath, version=None, overwrite=False):
        """Write a versioned SavedModel (see :func:`tfrbm.export.export_model`)."""
        from tfrbm import export
        return export.export_model(self, filepath, version=version, overwrite=overwrite)

    # ---- saving --------------------------------------------------------------------------
    def save(self, path):
        """Write a ``.keras`` archive (the suffix is added when missing): the RecommenderNetwork's
        weights, its optimizer state, and as an asset the id maps, titles, training ratings,
        configuration, history and random-generator state. Atomic; refuses NaN/Inf weights.
        ``keras.saving.load_model`` on it gives the RecommenderNetwork; :meth:`load` gives back
        this estimator. Returns the path written."""
        self._check_built()
        path = pathlib.Path(path)
        if path.suffix != ".keras":
            path = path.with_name(path.name + ".keras")
        path.parent.mkdir(parents=True, exist_ok=True)
        indptr, cols, vals = self._csr
        ids = np.array(sorted(self.titles), dtype=np.int64)
        self.network.metadata = {
            "user_ids": np.asarray(self.user_ids), "movie_ids": np.asarray(self.movie_ids),
            "indptr": indptr, "cols": cols, "vals": vals, "title_ids": ids,
            "title_text": np.array([self.titles[int(i)] for i in ids], dtype=str),
            "generator_state": self._gen.state.numpy(),
            "config": self.get_config(), "history": self.history}
        from tfrbm.safety import atomic_save
        atomic_save(self.network, path)
        return path

    @classmethod
    def from_network(cls, network):
        """The estimator around a RecommenderNetwork loaded from a file written by :meth:`save`."""
        meta = getattr(network, "metadata", None)
        if not meta or "config" not in meta:
            raise UserError("this RecommenderNetwork carries no recommender metadata (ids, "
                             "titles, training ratings); it was not written by "
                             "RBMRecommender.save")
        config = dict(meta["config"])
        if isinstance(config.get("cd_k"), dict):
            config["cd_k"] = {int(k): v for k, v in config["cd_k"].items()}
        rec = cls(**config)
        rec.user_ids, rec.movie_ids = meta["user_ids"], meta["movie_ids"]
        rec.titles = {int(i): str(t) for i, t in zip(meta["title_ids"], meta["title_text"])}
        rec._csr = (meta["indptr"], meta["cols"], meta["vals"])
        rec.global_mean = float(meta["vals"].mean())
        rec.network = network
        rec._build(initialise=False)
        rec._gen.state.assign(meta["generator_state"])
        rec.history = meta["history"]
        return rec

    @classmethod
    def load(cls, path):
        """Rebuild a fitted recommender written by :meth:`save` (a ``.keras`` file)."""
        import keras
        path = pathlib.Path(path)
        if not path.is_file() and path.with_name(path.name + ".keras").is_file():
            path = path.with_name(path.name + ".keras")
        if not path.is_file():
            raise UserError(f"no saved recommender at {path}")
        from tfrbm.models.recommender_network import RecommenderNetwork
        network = keras.saving.load_model(path)
        if not isinstance(network, RecommenderNetwork):
            raise UserError(f"{path} holds a {type(network).__name__}, not a recommender")
        return cls.from_network(network)


# ---- echen's six-movie example ---------------------------------------------------------------
SIX_MOVIES = ("Harry Potter", "Avatar", "LOTR 3", "Gladiator", "Titanic", "Glitter")
SIX_MOVIE_USERS = {  # 1 = wants to watch, 0 = does not (echen's Alice..Fred)
    "Alice": (1, 1, 1, 0, 0, 0), "Bob": (1, 0, 1, 0, 0, 0), "Carol": (1, 1, 1, 0, 0, 0),
    "David": (0, 0, 1, 1, 1, 0), "Eric": (0, 0, 1, 1, 0, 0), "Fred": (0, 0, 1, 1, 1, 0)}


def six_movie_demo(epochs=300, n_hidden=2, seed=0):
    """echen's example through the same API: 'wants to watch' = rating 2, 'does not' = 1 (K=2).

    Returns (fitted recommender, George's recommendations): George has said yes only to
    Gladiator and Titanic, so the Oscar-winner unit should put LOTR 3 first.
    """
    triples = [(u + 1, m + 1, 1 + v) for u, prefs in enumerate(SIX_MOVIE_USERS.values())
               for m, v in enumerate(prefs)]
    rec = RBMRecommender(n_hidden=n_hidden, n_levels=2, optimizer="sgd", learning_rate=0.1,
                         momentum=0.5, weight_decay=0.0, cd_k=1, batch_size=6, init_std=0.1,
                         seed=seed)
    rec.fit(np.array(triples), epochs=epochs,
            titles={i + 1: t for i, t in enumerate(SIX_MOVIES)})
    george = {4: 2, 5: 2}
    return rec, rec.recommend(george, n=4)
