"""``tfrbm recommender {recommend,train,demo}``: the RBM recommender on MovieLens.

    tfrbm recommender recommend --data-dir ../shared/datasets --user 215 -n 10 --model rec.keras
    tfrbm recommender train --data-dir ../shared/datasets --fold u1 --epochs 40 --json
    tfrbm recommender demo            # echen's six-movie example

``tfrbm recommend`` is the old spelling of ``tfrbm recommender recommend``; ``--save`` of
``--model`` (in ``recommend``, ``--save FILE`` keeps its old meaning: train, and save to FILE
even if it exists).

The work is :mod:`tfrbm.pipelines.recommender`'s; the defaults are its
:class:`~tfrbm.pipelines.recommender.RecommenderConfig`'s and
:class:`~tfrbm.pipelines.recommender.SixMovieDemoConfig`'s.
"""
import pathlib

from tfrbm import argtypes as at
from tfrbm.commands.common import (add_json_option, add_noun, add_seed_option, add_training_options,
                                   config_from_args, print_json)
from tfrbm.errors import UserError
from tfrbm.pipelines.recommender import (FOLDS, RecommenderConfig, SixMovieDemoConfig,
                                         recommendations_for, run_six_movie_demo, train_recommender)

__all__ = ["register"]

#: the old spelling -> the grammar's
ALIASES = {"recommend": "recommender recommend"}

#: the pipelines' defaults, shown in --help
_DEFAULTS = RecommenderConfig()
_DEMO = SixMovieDemoConfig()


def _model_args(p):
    p.add_argument("--data-dir", type=at.existing_dir, default=_DEFAULTS.data_dir,
                   help="folder holding movielens_100k/ (or the data set folder itself)")
    p.add_argument("--variant", choices=("100k", "1m"), default=_DEFAULTS.variant,
                   help=f"MovieLens 100K or 1M (default {_DEFAULTS.variant})")
    p.add_argument("--hidden", type=at.positive_int, default=_DEFAULTS.hidden,
                   help=f"hidden units (default {_DEFAULTS.hidden})")
    p.add_argument("--kind", choices=("user", "item", "both", "implicit"), default=_DEFAULTS.kind,
                   help="rating models: user-based, item-based or both RBMs blended (default "
                        "both); implicit: the implicit-feedback RBM alone (ranks, no ratings)")
    p.add_argument("--ranking", choices=("implicit", "ratings"), default=_DEFAULTS.ranking,
                   help="implicit (default): rank by the implicit-feedback RBM trained on what "
                        "users watched, show the rating model's predicted ratings; ratings: "
                        "rank by P(watch) x shrunk P(rating >= 4) from the rating models")
    p.add_argument("--conditional", type=int, choices=(0, 1), default=int(_DEFAULTS.conditional),
                   help="1 (default): conditional RBMs (hidden units also see which movies were "
                        "rated); 0: plain softmax RBMs")
    p.add_argument("--epochs", type=at.positive_int, default=_DEFAULTS.epochs,
                   help="most epochs (early stopping on a validation split usually ends sooner)")
    p.add_argument("--learning-rate", "--lr", type=at.positive_float,
                   default=_DEFAULTS.learning_rate,
                   help="SGD learning rate (default: RBMRecommender's)")
    p.add_argument("--weight-decay", type=at.nonnegative_float, default=_DEFAULTS.weight_decay,
                   help="L2 weight decay (default: RBMRecommender's)")
    p.add_argument("--batch-size", type=at.positive_int, default=_DEFAULTS.batch_size,
                   help="batch size (default: RBMRecommender's)")
    add_seed_option(p, _DEFAULTS.seed)
    add_training_options(p, backup=False)   # RBMRecommender.fit runs its own loop: no --backup


def _config(args):
    return config_from_args(RecommenderConfig, args, conditional=bool(args.conditional))


def _recommend(args):
    rec, recs, saved = recommendations_for(args.user, _config(args), n=args.n,
                                           include_seen=args.include_seen, model=args.model,
                                           save=args.save)
    if saved:
        print(f"saved {saved}")
    known = args.user in set(rec.user_ids.tolist())
    what = ("log-odds that the user watches it (implicit-feedback RBM)"
            if rec.ranking == "implicit" else "P(watch) x shrunk P(rating >= 4)")
    print(f"top {len(recs)} for user {args.user}"
          + (f", ranked by the {what}:" if known
             else " (not in the data: the most rated films, score = ratings):"))
    for rank, (mid, title, score) in enumerate(recs, 1):
        rating = "" if recs.ratings is None else f", predicted rating {recs.ratings[rank - 1]:.2f}"
        print(f"{rank:3d}. {title} (movie {mid}): score {score:.3f}{rating}")
    if args.json:
        out = {"user": args.user, "ranking": rec.ranking,
               "movie_ids": [int(m) for m in recs.movie_ids],
               "scores": [round(float(s), 4) for s in recs.scores]}
        if recs.ratings is not None:
            out["predicted_ratings"] = [round(float(r), 4) for r in recs.ratings]
        print_json(out)
    return 0


def _train(args):
    result = train_recommender(_config(args),
                               save=args.save, verbose=0 if args.json else 1)
    metrics, rec = result.metrics, result.recommender
    rmse = "-" if metrics["rmse"] is None else f"{metrics['rmse']:.4f}"
    mae = "-" if metrics["mae"] is None else f"{metrics['mae']:.4f}"
    print(f"test RMSE {rmse}  MAE {mae}  (top 10, relevant = test rating >= 4, ranking "
          f"{rec.ranking}:) precision@10 {metrics['precision@10']:.4f}  recall@10 "
          f"{metrics['recall@10']:.4f}  nDCG@10 {metrics['ndcg@10']:.4f}  MAP@10 "
          f"{metrics['map@10']:.4f}  ({metrics['train_seconds']:.1f}s training)")
    if args.json:
        print_json(metrics)
    return 0


def _demo(args):
    from tfrbm.course.recommender import SIX_MOVIE_USERS, SIX_MOVIES
    _, recs, wants = run_six_movie_demo(SixMovieDemoConfig(epochs=args.epochs, seed=args.seed))
    print("six-movie example (1 = wants to watch):")
    for name, prefs in SIX_MOVIE_USERS.items():
        print(f"  {name:6s} " + " ".join(f"{t}={p}" for t, p in zip(SIX_MOVIES, prefs)))
    print("George wants Gladiator and Titanic; recommended for George (P(wants to watch)): "
          + ", ".join(f"{t} ({p:.2f})" for t, p in zip(recs.titles, wants)))
    if args.json:
        print_json({"top": recs.titles[0], "titles": recs.titles,
                    "p_wants": [round(float(p), 4) for p in wants]})
    return 0


def _model_file(text):
    """``recommend --model``: a saved recommender to use, or a new .keras file to train into."""
    return at.existing_file(text) if pathlib.Path(text).expanduser().exists() else at.keras_file(text)


def _recommend_command(args):
    """``--model FILE``: FILE is used when it exists; else the recommender is trained and saved
    there (the old ``--save``)."""
    if args.model and not pathlib.Path(args.model).exists():
        if args.save:
            raise UserError(f"--model {args.model} does not exist and --save {args.save} is "
                            "given too: name the file to train into once, with --model")
        args.save, args.model = args.model, None
    return _recommend(args)


def _recommend_args(p):
    _model_args(p)
    p.add_argument("--user", type=int, required=True, help="MovieLens user id")
    p.add_argument("-n", type=at.positive_int, default=10, help="how many movies (default 10)")
    at.add_hidden_alias(p, "--n", dest="n", type=at.positive_int)
    p.add_argument("--model", type=_model_file, default=None, metavar="PATH.keras",
                   help="the recommender file: used as it is when it exists (no training); "
                        "otherwise the recommender is trained and saved there")
    at.add_hidden_alias(p, "--save", dest="save", type=at.keras_file)
    p.set_defaults(save=None)
    p.add_argument("--include-seen", action="store_true", help="keep movies the user rated")
    add_json_option(p, "the ranked movie ids and scores")
    p.set_defaults(func=_recommend_command)


def register(subparsers):
    sub = add_noun(subparsers, "recommender", "the RBM recommender on MovieLens: "
                                              "recommend, train, demo")
    _recommend_args(sub.add_parser("recommend", help="top-N movies for a MovieLens user"))
    t = sub.add_parser("train", help="train on MovieLens and report held-out RMSE and top-10")
    _model_args(t)
    t.add_argument("--fold", choices=FOLDS, default=_DEFAULTS.fold,
                   help="a published ML-100k split (default: a seeded random 80/20 split)")
    t.add_argument("--test-fraction", type=at.unit_interval, default=_DEFAULTS.test_fraction,
                   help=f"held-out fraction of the random split (default {_DEFAULTS.test_fraction})")
    t.add_argument("--model", type=at.keras_file, default=None, dest="save", metavar="PATH.keras",
                   help="save the trained recommender to this .keras file")
    at.add_hidden_alias(t, "--save", dest="save", type=at.keras_file)
    add_json_option(t, "the test metrics")
    t.set_defaults(func=_train)
    d = sub.add_parser("demo", help="echen's six-movie example through the same API")
    d.add_argument("--epochs", type=at.positive_int, default=_DEMO.epochs,
                   help=f"epochs (default {_DEMO.epochs})")
    add_seed_option(d, _DEMO.seed)
    add_json_option(d, "the recommendations")
    d.set_defaults(func=_demo)
