"""The RBM recommender on MovieLens: the pipelines behind ``tfrbm recommender train``,
``tfrbm recommender recommend`` (alias ``tfrbm recommend``) and ``tfrbm recommender demo``.

    from tfrbm.pipelines.recommender import RecommenderConfig, train_recommender
    result = train_recommender(RecommenderConfig(fold="u1", epochs=40))
    result.metrics["rmse"], result.metrics["ndcg@10"]

:class:`RecommenderConfig` is the one place the defaults live (the commands' options take theirs
from it) and where they are checked; it makes the :class:`tfrbm.RBMRecommender`
(:meth:`~RecommenderConfig.make_recommender`) and loads the data. ``learning_rate``,
``weight_decay`` and ``batch_size`` left at None take the recommender's own defaults.
:class:`SixMovieDemoConfig` holds those of echen's six-movie example
(:func:`tfrbm.course.recommender.six_movie_demo`).
"""
import dataclasses
import time
from numbers import Integral

from tfrbm.data.ratings import movielens
from tfrbm.errors import UserError
from tfrbm.models.rating_evaluation import evaluate
from tfrbm.pipelines.config import DATA_DIR, PipelineConfig
from tfrbm.validation import (BOOLEAN, POSITIVE, POSITIVE_INT, Interval, Options, Real)

__all__ = ["RecommenderConfig", "RecommenderTrainingResult", "train_recommender",
           "recommendations_for", "SixMovieDemoConfig", "run_six_movie_demo", "FOLDS"]

#: the published MovieLens-100k splits
FOLDS = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")


@dataclasses.dataclass(frozen=True)
class RecommenderConfig(PipelineConfig):
    """Every setting of the recommender's pipelines, with its default.

    data_dir: the folder holding movielens_100k/ (or the data set folder); variant: "100k" or
    "1m". hidden: hidden units per RBM. kind: "user", "item", "both" (blended) or "implicit"
    (the implicit-feedback RBM alone). ranking: "implicit" or "ratings" (see
    :class:`tfrbm.RBMRecommender`). conditional: conditional RBMs. epochs: the most epochs per
    RBM (early stopping on a validation split usually ends sooner). learning_rate,
    weight_decay, batch_size: None for the recommender's defaults. seed: the recommender's and
    the split's seed. fold: a published ML-100k split for :func:`train_recommender` (None: a
    seeded random split with ``test_fraction`` of the ratings held out).
    """
    data_dir: str = None
    variant: str = "100k"
    hidden: int = 100
    kind: str = "both"
    ranking: str = "implicit"
    conditional: bool = True
    epochs: int = 40
    learning_rate: float = None
    weight_decay: float = None
    batch_size: int = None
    seed: int = 0
    fold: str = None
    test_fraction: float = 0.2

    _parameter_constraints = {
        "data_dir": DATA_DIR,
        "variant": [Options("100k", "1m")],
        "hidden": POSITIVE_INT,
        "kind": [Options("user", "item", "both", "implicit")],
        "ranking": [Options("implicit", "ratings")],
        "conditional": [BOOLEAN],
        "epochs": POSITIVE_INT,
        "learning_rate": [None] + POSITIVE,
        "weight_decay": [None, Interval(Real, 0, None)],
        "batch_size": [None] + POSITIVE_INT,
        "seed": [Interval(Integral, 0, 2**32 - 1)],
        "fold": [None, Options(*FOLDS)],
        "test_fraction": [Interval(Real, 0, 1, closed="neither")],
    }

    def make_recommender(self):
        """A new, unfitted :class:`tfrbm.RBMRecommender` with these settings."""
        from tfrbm.models.recommender import RBMRecommender
        kw = {"n_hidden": self.hidden, "seed": self.seed, "kind": self.kind,
              "conditional": self.conditional, "ranking": self.ranking}
        for name in ("learning_rate", "weight_decay", "batch_size"):
            if getattr(self, name) is not None:
                kw[name] = getattr(self, name)
        return RBMRecommender(**kw)

    def load_data(self):
        """The MovieLens ratings (:func:`tfrbm.data.ratings.movielens`)."""
        return movielens(self.variant, data_dir=self.data_dir)

    def split(self, data):
        """(train, test): the published ``fold``, else a seeded ``test_fraction`` split."""
        if self.fold:
            return data.fold(self.fold)
        return data.split(self.test_fraction, seed=self.seed)


@dataclasses.dataclass
class RecommenderTrainingResult:
    """What :func:`train_recommender` made: ``metrics`` (held-out RMSE, MAE and the top-10
    ranking metrics, ``train_seconds``, ``epochs``, ``hidden``, and ``saved`` when saved; one flat
    dict, JSON-ready) and the fitted ``recommender``."""
    metrics: dict
    recommender: object


def train_recommender(config=None, *, save=None, verbose=0, **settings):
    """Fit an RBM recommender on the training part of ``config``'s split and evaluate it on the
    rest (:func:`tfrbm.models.rating_evaluation.evaluate`: ratings >= 4 are relevant, top 10).

    ``config`` is a :class:`RecommenderConfig` (default: its defaults); keyword ``settings``
    replace single fields of it. ``save``: write the fitted recommender there (``.keras``).
    Returns a :class:`RecommenderTrainingResult`.
    """
    config = RecommenderConfig.resolve(config, **settings)
    train, test = config.split(config.load_data())
    rec = config.make_recommender()
    t0 = time.perf_counter()
    rec.fit(train, epochs=config.epochs, verbose=verbose)
    seconds = time.perf_counter() - t0
    metrics = evaluate(rec, train, test)
    metrics.pop("per_user")
    metrics.update(train_seconds=round(seconds, 2), epochs=config.epochs, hidden=config.hidden)
    if save:
        metrics["saved"] = str(rec.save(save))
    return RecommenderTrainingResult(metrics, rec)


def recommendations_for(user, config=None, *, n=10, include_seen=False, model=None, save=None,
                        **settings):
    """Top-``n`` movies for the MovieLens user id ``user``.

    From the recommender saved at ``model`` (``.keras``), or else one fitted on all of
    ``config``'s data (and saved at ``save`` when given). Returns (recommender,
    :class:`~tfrbm.models.rating_model.Recommendations`, path saved or None).
    """
    from tfrbm.models.recommender import RBMRecommender

    config = RecommenderConfig.resolve(config, **settings)
    if not 0 <= user < 2**63:
        raise UserError(f"user {user} is not a MovieLens user id")
    saved = None
    if model:
        try:
            rec = RBMRecommender.load(model)
        except Exception as exc:   # a missing, foreign, corrupt or tampered file
            raise UserError(f"cannot load recommender {model}: {exc}") from None
    else:
        rec = config.make_recommender().fit(config.load_data(), epochs=config.epochs)
        if save:
            saved = rec.save(save)
    return rec, rec.recommend(user, n=n, exclude_seen=not include_seen), saved


@dataclasses.dataclass(frozen=True)
class SixMovieDemoConfig(PipelineConfig):
    """echen's six-movie example: ``epochs`` of CD-1 on the seven users, ``seed``."""
    epochs: int = 300
    seed: int = 0

    _parameter_constraints = {"epochs": POSITIVE_INT, "seed": [Interval(Integral, 0, 2**32 - 1)]}


def run_six_movie_demo(config=None, **settings):
    """(recommender, George's Recommendations, his P(wants to watch) of each listed film):
    :func:`tfrbm.course.recommender.six_movie_demo` with ``config``'s settings."""
    from tfrbm.course.recommender import six_movie_demo

    config = SixMovieDemoConfig.resolve(config, **settings)
    rec, recs = six_movie_demo(epochs=config.epochs, seed=config.seed)
    wants = rec.predict([7] * len(recs), recs.movie_ids, kind="proba")[:, 1]
    return rec, recs, wants
