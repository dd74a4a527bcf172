"""RBMRecommender: rating prediction and top-N lists from softmax RBMs, estimator-style.

The models are :class:`tfrbm.models.ratings_rbm.RatingsRBM` (Salakhutdinov, Mnih & Hinton 2007)
trained with Keras ``fit``:

* ``kind="user"``: each user is a case, every movie one K-way softmax visible unit;
* ``kind="item"``: each movie is a case, every user one softmax visible unit (Georgiev & Nakov
  2013; it does much better on MovieLens-100k, where 1682 movies give more cases than 943 users);
* ``kind="both"``: both models, their predictions blended as
      r_hat = w_0 + w_user r_user + w_item r_item  (+ w_base (mu + b_u + b_i) with
      ``blend_baseline=True``)
  with the w fitted by least squares on the validation split (taken from the training data;
  the baseline in the blend is refitted without the validation ratings for that).

``conditional=True`` gives the conditional RBM of the paper's section 4: the hidden units also
see the binary vector of which movies the user rated (for the item-based model: which users rated
the movie), including pairs passed to ``fit`` as ``implicit`` (rated, rating unknown) and the pair
being predicted.

Training: ``validation_fraction`` of the training ratings (seeded) is held out; each RBM trains
on the rest with CD-k (k raised as learning proceeds, :func:`cd_schedule`), SGD with momentum and
weight decay, and stops early on the validation RMSE (``patience`` epochs, best weights
restored), watched only from epoch ``min_epochs`` on: the user-based model's validation RMSE
sits flat near 1.03 for its first few epochs before it starts to learn, and without a warm-up
a lucky first epoch stopped it there (fold u2: 6 epochs). Predictions then condition on *all* training ratings. A prediction is the expectation
sum_k k p(v = k | ratings) with the hidden units summed out exactly.

Fallback (cold start): a pair whose user or movie the model has never seen gets the baseline
estimate mu + b_u + b_i (regularised biases, :func:`fit_biases`; an unknown side's bias is 0),
and ``predict(..., return_fallback=True)`` flags it; a batch never raises for unknown ids.

Ranking (``recommend`` and ``ranking_scores``), ``ranking="implicit"`` (the default): an
:class:`tfrbm.models.implicit_rbm.ImplicitRBM` is trained on what each user watched (every
training pair, whatever its rating, plus the ``implicit`` pairs), and movie i is scored by the
log-odds that u watches i given everything else u watched (the exact conditional, hidden units
summed out). With ``implicit_conditional=True`` its hidden units also see which films u liked
(rated >= ``like``): the conditional RBM's side-information trick. ``recommend`` then lists the
movies in that order and shows each one's predicted rating from the rating model(s): the
hybrid. ``kind="implicit"`` trains the implicit model alone (no ratings: ``predict`` raises).

When to use which: predicted ratings (``predict``) come from the rating models (kind "user",
"item" or "both"); a top-N list that users will watch comes from the implicit model (on
MovieLens-100k's u1-u5 it ranks far better than the rating models' P(watch) x P(like) score;
figures in benchmarks/RESULTS.md, "Recommender ranking").
``ranking="ratings"`` ranks with the rating models instead, for "what would u rate highest"
rather than "what will u watch":

``ranking="ratings"``: the score of movie i for user u is the chance
that u watches i and likes it,

    score(u, i) = P(u watches i) * P(r_ui >= like | u watches i)
                ~ n_i / N  *  (n_i P_rbm(r_ui >= like | u) + m p0) / (n_i + m),

where n_i is the number of training ratings of i (N all of them), P_rbm the model's rating
distribution, p0 the fraction of all training ratings >= ``like`` and m = ``shrinkage``: a
like-probability resting on few ratings is uncertain, so it is shrunk towards p0 (the posterior
mean under a Beta prior worth m pseudo-ratings), and a film few people watch is unlikely to be
watched. A rating model alone (m = 0, no n_i / N) ranks obscure films with one 5-star rating
first; popularity alone ignores taste.

Example::

    ds = tfrbm.data.movielens("100k")
    train, test = ds.fold("u1")
    rec = tfrbm.RBMRecommender(kind="item", seed=0).fit(train, epochs=40)
    rec.predict(test.users, test.movies)          # expected ratings
    rec.recommend(215, n=10)                      # ids, titles, scores
"""
import pathlib

import keras
import numpy as np

from tfrbm import export
from tfrbm.errors import UserError
from tfrbm.models.implicit_rbm import ImplicitRBM
from tfrbm.models.ratings_rbm import CDSchedule, RatingsRBM, cd_schedule
from tfrbm.models.rating_model import RatingModel, Recommendations
from tfrbm.models.recommender_baselines import fit_biases
from tfrbm.models.recommender_network import RecommenderNetwork
from tfrbm.safety import atomic_save
from tfrbm.validation import RATING_LEVELS, Predicate, finite_number, validate_params, whole_number

__all__ = ["RBMRecommender", "Recommendations", "default_cd_schedule"]

KINDS = ("user", "item", "both", "implicit")
RANKINGS = ("implicit", "ratings")
IMPLICIT_EPOCHS = 15
IMPLICIT_WEIGHT_DECAY = 1e-4


def default_cd_schedule(epochs):
    """{first epoch: k}: CD-1 for the first half, then 3, 5 and 9 (the paper raises k gradually)."""
    return cd_schedule("increasing", epochs)


def _is_cd_k(value):
    """The form of a CD-k spec; :func:`cd_schedule` then checks a dict's entries."""
    if isinstance(value, str):
        return value == "increasing"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return value >= 1
    return isinstance(value, dict) and len(value) > 0


class RBMRecommender(RatingModel):
    """Softmax-RBM recommender (see the module docstring for the models and the formulas).

    Args:
      n_hidden: hidden units per RBM.
      kind: "user", "item" or "both" (user- and item-based rating RBMs, blended on the
        validation split), or "implicit" (the implicit-feedback RBM alone: ranking only).
      ranking: "implicit" (default: rank with the implicit-feedback RBM, show predicted
        ratings) or "ratings" (rank by P(watch) x shrunk P(like) from the rating models).
      conditional: the conditional RBM (hidden units also see which items were rated).
      n_levels: rating levels K (ratings are 1..K).
      learning_rate, momentum: SGD with momentum on the CD gradient (mean over the batch).
      weight_decay: L2 coefficient on the weights (W, and D of the conditional model).
      cd_k: int, {first epoch: k} dict, or "increasing" (:func:`default_cd_schedule`).
      batch_size: cases (users, or movies for the item-based model) per CD step.
      validation_fraction: share of the training ratings held out for early stopping and the
        blend (0 turns both off: fixed epochs, equal blend weights).
      patience: epochs without a better validation RMSE before stopping.
      min_epochs: epochs trained before early stopping starts watching (the best weights are
        taken from epoch ``min_epochs`` on; 0 watches from the first epoch).
      blend_baseline: add the baseline estimate mu + b_u + b_i to the least-squares blend.
      shrinkage: m of the ranking score (pseudo-ratings; 0 ranks by the model alone).
      like: the rating from which a user is counted as liking a movie (ranking score).
      implicit_hidden, implicit_epochs, implicit_learning_rate, implicit_weight_decay,
        implicit_negatives, implicit_batch_size: the implicit RBM's hidden units, epochs, Adam
        step, L2 on its weights, sampled unwatched items per user and step, users per step.
      implicit_conditional: the implicit RBM also sees which films the user liked.
      seed: seed of the initial weights, the shuffling, the sampling and the validation split.
    """

    _parameter_constraints = {
        "n_hidden": [whole_number(1)],
        "kind": [Predicate(lambda v: isinstance(v, str) and v in KINDS,
                           "one of " + ", ".join(repr(k) for k in KINDS))],
        "n_levels": [RATING_LEVELS],
        "learning_rate": [finite_number(0, low_open=True)],
        "momentum": [finite_number(0, high=0.999)],
        "weight_decay": [finite_number(0)],
        "cd_k": [Predicate(_is_cd_k, "an int >= 1, an {epoch: k} dict or 'increasing'")],
        "batch_size": [whole_number(1)],
        "validation_fraction": [finite_number(0, high=0.5)],
        "patience": [whole_number(1)],
        "min_epochs": [whole_number(0)],
        "shrinkage": [finite_number(0)],
        "like": [whole_number(1)],
        "ranking": [Predicate(lambda v: isinstance(v, str) and v in RANKINGS,
                              "one of " + ", ".join(repr(k) for k in RANKINGS))],
        "implicit_hidden": [whole_number(1)],
        "implicit_epochs": [whole_number(1)],
        "implicit_learning_rate": [finite_number(0, low_open=True)],
        "implicit_weight_decay": [finite_number(0)],
        "implicit_negatives": [whole_number(1)],
        "implicit_batch_size": [whole_number(1)],
        "seed": [None, whole_number(0, 2**32 - 1)],
        "conditional": [Predicate(lambda v: isinstance(v, (bool, np.bool_)), "True or False")],
        "blend_baseline": [Predicate(lambda v: isinstance(v, (bool, np.bool_)), "True or False")],
    }

    def __init__(self, n_hidden=100, kind="both", conditional=True, n_levels=5,
                 learning_rate=0.02, momentum=0.9, weight_decay=1e-3, cd_k="increasing",
                 batch_size=16, validation_fraction=0.05, patience=5, min_epochs=10,
                 blend_baseline=True, shrinkage=50.0, like=4, ranking="implicit",
                 implicit_hidden=100, implicit_epochs=IMPLICIT_EPOCHS,
                 implicit_learning_rate=3e-3, implicit_weight_decay=IMPLICIT_WEIGHT_DECAY,
                 implicit_negatives=400, implicit_batch_size=32, implicit_conditional=False,
                 seed=0):
        p = validate_params(
            {"n_hidden": n_hidden, "kind": kind, "n_levels": n_levels,
             "learning_rate": learning_rate, "momentum": momentum, "weight_decay": weight_decay,
             "cd_k": cd_k, "batch_size": batch_size, "validation_fraction": validation_fraction,
             "patience": patience, "min_epochs": min_epochs, "shrinkage": shrinkage,
             "like": like, "ranking": ranking, "implicit_hidden": implicit_hidden,
             "implicit_epochs": implicit_epochs,
             "implicit_learning_rate": implicit_learning_rate,
             "implicit_weight_decay": implicit_weight_decay,
             "implicit_negatives": implicit_negatives,
             "implicit_batch_size": implicit_batch_size, "seed": seed, "conditional": conditional,
             "blend_baseline": blend_baseline},
            self._parameter_constraints, type(self))
        cd_schedule(cd_k, 1)                        # a dict's entries (epochs, k) in detail
        for name, value in p.items():
            setattr(self, name, value)
        self.conditional, self.blend_baseline = bool(conditional), bool(blend_baseline)
        self.implicit_conditional = bool(implicit_conditional)
        if self.kind == "implicit":
            self.ranking = "implicit"
        if self.like > self.n_levels:
            raise UserError(f"RBMRecommender: like must be at most n_levels={self.n_levels}, "
                            f"got {like}")
        self.user_ids = self.movie_ids = None
        self.models, self.history = {}, {}
        self.implicit_model = None

    def get_config(self):
        return {"n_hidden": self.n_hidden, "kind": self.kind, "conditional": self.conditional,
                "n_levels": self.n_levels, "learning_rate": self.learning_rate,
                "momentum": self.momentum, "weight_decay": self.weight_decay,
                "cd_k": {str(k): v for k, v in self.cd_k.items()}
                if isinstance(self.cd_k, dict) else self.cd_k,
                "batch_size": self.batch_size,
                "validation_fraction": self.validation_fraction, "patience": self.patience,
                "min_epochs": self.min_epochs,
                "blend_baseline": self.blend_baseline,
                "shrinkage": self.shrinkage, "like": self.like, "ranking": self.ranking,
                "implicit_hidden": self.implicit_hidden, "implicit_epochs": self.implicit_epochs,
                "implicit_learning_rate": self.implicit_learning_rate,
                "implicit_weight_decay": self.implicit_weight_decay,
                "implicit_negatives": self.implicit_negatives,
                "implicit_batch_size": self.implicit_batch_size,
                "implicit_conditional": self.implicit_conditional, "seed": self.seed}

    @property
    def predicts_ratings(self):
        """False for ``kind="implicit"`` (it ranks; it predicts no ratings)."""
        return self.kind != "implicit"

    # ---- data ----------------------------------------------------------------------------
    def _matrix(self, u, m, r):
        R = np.zeros((self.n_users, self.n_movies), np.uint8)
        R[u, m] = r
        return R

    def _inputs(self, orientation, R, rated=None):
        """A RatingsRBM's input dict: the ratings matrix (transposed for the item model)."""
        x = {"ratings": R if orientation == "user" else R.T}
        if self.conditional:
            rr = (R > 0) if rated is None else rated
            x["rated"] = (rr if orientation == "user" else rr.T).astype(np.uint8)
        return x

    def _check_fitted(self):
        if not self.models and self.implicit_model is None:
            raise UserError("RBMRecommender is not fitted yet: call fit() first")

    def implicit_inputs(self, user_index=None):
        """The implicit RBM's inputs for dense users (default all): watched (and liked)."""
        rated = self.rated if user_index is None else self.rated[np.asarray(user_index)]
        x = {"watched": rated.astype(np.float32)}
        if self.implicit_conditional:
            R = self.R if user_index is None else self.R[np.asarray(user_index)]
            x["side"] = (R >= self.like).astype(np.float32)
        return x

    _check_built = _check_fitted

    # ---- training ------------------------------------------------------------------------
    def fit(self, data, epochs=40, validation_data=None, implicit=None, callbacks=None,
            verbose=0, titles=None):
        """Train on ``data``: an (N, 3) array of user id, movie id, rating, or a RatingsData.

        ``epochs``: the most epochs per RBM (early stopping on the validation split usually
        ends sooner). ``implicit``: (user id, movie id) pairs known to be rated with unknown
        rating (conditional model only; e.g. the pairs you will ask for). ``validation_data``
        (triples) is only *monitored* (``history[kind]["test_rmse"]`` is not computed; use
        :func:`tfrbm.models.rating_evaluation.evaluate`) and never used for stopping: stopping
        uses the held-out part of ``data``. ``callbacks`` go to every RBM's Keras ``fit``. Returns self.
        """
        epochs = validate_params({"epochs": epochs}, {"epochs": [whole_number(1)]},
                                 type(self))["epochs"]
        if implicit is not None and not self.conditional:
            raise UserError("implicit pairs are only used by the conditional model "
                            "(conditional=True)")
        self._prepare(data, titles)
        indptr, cols, vals = self._csr
        users = np.repeat(np.arange(self.n_users), np.diff(indptr))
        self.mu, self.b_user, self.b_item = fit_biases(users, cols, vals, self.n_users,
                                                       self.n_movies)
        self.R = self._matrix(users, cols, vals)
        self.rated = self.R > 0
        if implicit is not None:
            pairs = np.asarray(implicit)
            if pairs.ndim != 2 or pairs.shape[1] < 2:
                raise UserError("implicit must be (N, 2) user id, movie id pairs")
            self.rated[self._user_index(pairs[:, 0]), self._movie_index(pairs[:, 1])] = True
        rng = np.random.default_rng(self.seed)
        held = rng.random(len(vals)) < self.validation_fraction
        R_fit = self._matrix(users[~held], cols[~held], vals[~held])
        R_val = self._matrix(users[held], cols[held], vals[held])
        #: the validation split (dense user, movie, rating) and the matrix the RBMs trained on
        self.validation_split_ = (users[held], cols[held], vals[held])
        self.R_fit_ = R_fit
        orientations = {"both": ("user", "item"), "implicit": ()}.get(self.kind, (self.kind,))
        self.models = {}
        schedule = cd_schedule(self.cd_k, epochs)
        for o in orientations:
            n_cols = self.n_movies if o == "user" else self.n_users
            model = RatingsRBM(n_cols, self.n_hidden, self.n_levels, self.conditional,
                               weight_decay=self.weight_decay, seed=self.seed,
                               name=f"{o}_based_rbm")
            model.compile(optimizer=keras.optimizers.SGD(self.learning_rate,
                                                         momentum=self.momentum))
            cbs = [CDSchedule(schedule)] + list(callbacks or [])
            x = self._inputs(o, R_fit, self.rated)
            val = None
            if held.any():
                val = (x, R_val if o == "user" else R_val.T)
                cbs.append(keras.callbacks.EarlyStopping("val_rmse", mode="min",
                                                         patience=self.patience,
                                                         start_from_epoch=self.min_epochs,
                                                         restore_best_weights=True))
            h = model.fit(x, batch_size=self.batch_size, epochs=epochs, validation_data=val,
                          callbacks=cbs, verbose=verbose)
            self.models[o] = model
            self.history[o] = {k: [float(v) for v in vs] for k, vs in h.history.items()}
        self.blend = np.array([0.0] + [1.0 / max(len(orientations), 1)] * len(orientations)
                              + [0.0] * (self.blend_baseline and bool(orientations)))
        if orientations and (len(orientations) > 1 or self.blend_baseline) and held.any():
            self._fit_blend(users, cols, vals, held, R_fit)
        self.implicit_model = None
        if self.ranking == "implicit":
            self._fit_implicit(callbacks, verbose)
        return self

    def _fit_implicit(self, callbacks=None, verbose=0):
        """The implicit-feedback RBM on every training pair (and the implicit pairs)."""
        model = ImplicitRBM(self.n_movies, self.implicit_hidden,
                            conditional=self.implicit_conditional,
                            negatives=self.implicit_negatives,
                            weight_decay=self.implicit_weight_decay, seed=self.seed,
                            name="implicit_rbm")
        model.compile(optimizer=keras.optimizers.Adam(self.implicit_learning_rate))
        h = model.fit(self.implicit_inputs(), batch_size=self.implicit_batch_size,
                      epochs=self.implicit_epochs, callbacks=callbacks, verbose=verbose)
        self.implicit_model = model
        self.history["implicit"] = {k: [float(v) for v in vs] for k, vs in h.history.items()}

    def _model_probs(self, o, u, m, R=None):
        """p(r_um = k) (P, K) from the ``o``-based RBM, conditioned on R (default all training)."""
        R = self.R if R is None else R
        x = self._inputs(o, R, self.rated)
        cases, items = (u, m) if o == "user" else (m, u)
        return self.models[o].predict_pairs(x, cases, items)

    def _fit_blend(self, users, cols, vals, held, R_fit):
        """w = argmin ||[1, r_o..., (baseline)] w - r||^2 on the validation ratings, each
        component computed without them."""
        levels = np.arange(1, self.n_levels + 1)
        u, m, r = users[held], cols[held], vals[held]
        A = [np.ones(len(u))] + [self._model_probs(o, u, m, R_fit) @ levels for o in self.models]
        if self.blend_baseline:
            mu, bu, bi = fit_biases(users[~held], cols[~held], vals[~held], self.n_users,
                                    self.n_movies)
            A.append(mu + bu[u] + bi[m])
        self.blend = np.linalg.lstsq(np.stack(A, 1), r.astype(np.float64), rcond=None)[0]

    # ---- prediction ----------------------------------------------------------------------
    def _known(self, ids, universe):
        ids = np.asarray(ids).reshape(-1)
        if ids.dtype.kind == "f" and not np.all(np.isfinite(ids)):
            raise UserError("ids must be whole numbers, got NaN or Inf")
        if ids.dtype.kind == "f" and np.any(ids != np.round(ids)):
            raise UserError("ids must be whole numbers")
        if ids.dtype.kind not in "iuf":
            raise UserError(f"ids must be integers, got {ids.dtype}")
        ids = ids.astype(np.int64)
        pos = np.minimum(np.searchsorted(universe, ids), len(universe) - 1)
        return pos, universe[pos] == ids

    def _expected(self, u, m):
        """Blended expected ratings for dense pairs (all known)."""
        levels = np.arange(1, self.n_levels + 1)
        out = np.full(len(u), self.blend[0])
        for w, o in zip(self.blend[1:], self.models):
            out += w * (self._model_probs(o, u, m) @ levels)
        if self.blend_baseline:
            out += self.blend[-1] * (self.mu + self.b_user[u] + self.b_item[m])
        return out

    def predict(self, user_ids, movie_ids, kind="expected", return_fallback=False):
        """Ratings for the pairs (user_ids[i], movie_ids[i]).

        ``kind``: "expected" (sum_k k p(k), default) or "proba" (an (N, K) array of p(r = k);
        single-kind models only). A pair with an unknown user or movie gets the baseline
        estimate mu + b_u + b_i (an unknown side's bias is 0; p(r = k) puts all mass on the
        rounded estimate); with ``return_fallback=True`` the result is (predictions, mask)
        where mask is True for those pairs.
        """
        self._check_fitted()
        self._check_rating_model()
        if kind not in ("expected", "proba"):
            raise UserError(f"kind must be 'expected' or 'proba', got {kind!r}")
        u, ku = self._known(user_ids, self.user_ids)
        m, km = self._known(movie_ids, self.movie_ids)
        if len(u) != len(m):
            raise UserError(f"user_ids and movie_ids differ in length: {len(u)} vs {len(m)}")
        ok = ku & km
        base = self.mu + np.where(ku, self.b_user[u], 0.0) + np.where(km, self.b_item[m], 0.0)
        base = np.clip(base, 1.0, self.n_levels)
        if kind == "proba":
            if len(self.models) > 1 or self.blend_baseline:
                raise UserError("kind='proba' needs a single model (kind='user' or 'item', "
                                "blend_baseline=False)")
            out = np.eye(self.n_levels)[np.rint(base).astype(int) - 1]
            if ok.any():
                out[ok] = self._model_probs(next(iter(self.models)), u[ok], m[ok])
        else:
            out = base.copy()
            if ok.any():
                out[ok] = self._expected(u[ok], m[ok])
        return (out, ~ok) if return_fallback else out

    def _check_rating_model(self):
        if not self.models:
            raise UserError("this RBMRecommender (kind='implicit') ranks from what users "
                            "watched and predicts no ratings; fit kind='both' (or 'user', "
                            "'item') for ratings")

    def score_users(self, user_index, kind="expected"):
        """Predicted ratings of every movie for dense users ``user_index``: (B, n_movies)."""
        self._check_fitted()
        self._check_rating_model()
        user_index = np.asarray(user_index, np.int64)
        u = np.repeat(user_index, self.n_movies)
        m = np.tile(np.arange(self.n_movies), len(user_index))
        if kind == "like":
            return self._like_probability(u, m).reshape(len(user_index), self.n_movies)
        return self._expected(u, m).reshape(len(user_index), self.n_movies)

    def _like_probability(self, u, m):
        """P(r >= like) from the model(s) (mean of the models' probabilities for "both")."""
        out = np.zeros(len(u))
        for o in self.models:
            out += self._model_probs(o, u, m)[:, self.like - 1:].sum(1)
        return out / len(self.models)

    def ranking_scores(self, user_index):
        """The ranking scores of every movie for dense users ``user_index``: (B, n_movies).

        ``ranking="implicit"``: log-odds p(u watches i | the rest of u's watched (and liked)
        films) from the implicit RBM; ``"ratings"``: P(watch) x shrunk P(like) (module
        docstring)."""
        self._check_fitted()
        if self.ranking == "implicit":
            return self.implicit_model.scores(self.implicit_inputs(user_index)).astype(np.float64)
        like = self.score_users(user_index, kind="like")
        n = np.bincount(self._csr[1], minlength=self.n_movies).astype(np.float64)
        p0 = float(np.mean(self._csr[2] >= self.like))
        m = self.shrinkage
        shrunk = (n * like + m * p0) / np.maximum(n + m, 1e-12)
        return n / n.sum() * shrunk

    def _user_scores_for(self, user):
        if not isinstance(user, (int, np.integer)):
            raise UserError("recommend() takes a known user id; new users: fit() with their "
                            "ratings")
        pos, known = self._known([user], self.user_ids)
        if not known[0]:
            n = np.bincount(self._csr[1], minlength=self.n_movies).astype(np.float64)
            return n, np.array([], np.int64)         # unknown user: the most rated movies
        u = int(pos[0])
        return self.ranking_scores(np.array([u]))[0], self.seen(u)

    def recommend(self, user, n=10, exclude_seen=True):
        """Top-``n`` movies for a known user id (an unknown id gets the most rated films), in
        the order of :meth:`ranking_scores`; with a rating model the list also carries each
        movie's predicted rating (``Recommendations.ratings``)."""
        recs = super().recommend(user, n=n, exclude_seen=exclude_seen)
        if self.models and len(recs):
            recs.ratings = self.predict(np.full(len(recs), user), recs.movie_ids)
        return recs

    # ---- serving -------------------------------------------------------------------------
    def serving_endpoints(self):
        """The network's ``recommend(user_ids)`` signature (:class:`RecommenderNetwork`)."""
        self._check_fitted()
        return self.network.serving_endpoints()

    def export(self, filepath, overwrite=False):
        """Write a SavedModel at ``filepath`` (as Keras' ``Model.export``); TF Serving's
        numbered versions: :func:`tfrbm.export.export_model`."""
        return export.export_model(self, filepath, version=False, overwrite=overwrite)

    # ---- saving --------------------------------------------------------------------------
    def save(self, path):
        """Write a ``.keras`` archive holding the RBM(s) and the estimator's bookkeeping."""
        self._check_fitted()
        path = pathlib.Path(path)
        if path.suffix != ".keras":
            path = path.with_name(path.name + ".keras")
        path.parent.mkdir(parents=True, exist_ok=True)
        net = self.network
        atomic_save(net, path)
        return path

    @classmethod
    def load(cls, path):
        """Rebuild a fitted recommender written by :meth:`save`."""
        path = pathlib.Path(path)
        if not path.is_file() and path.with_name(path.name + ".keras").is_file():
            path = path.with_name(path.name + ".keras")
        if not path.is_file():
            raise UserError(f"no saved recommender at {path}")
        net = keras.saving.load_model(path)
        if not isinstance(net, RecommenderNetwork):
            raise UserError(f"{path} holds a {type(net).__name__}, not a recommender")
        return net.to_estimator(cls)

    @property
    def network(self):
        """The fitted model(s) as one Keras model (:class:`RecommenderNetwork`), for export."""
        self._check_fitted()
        key = tuple(id(m) for m in self.models.values())
        if getattr(self, "_network_key", None) != key:
            self._network = RecommenderNetwork.from_estimator(self)
            self._network_key = key
        return self._network
