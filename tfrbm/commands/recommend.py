"""``tfrbm recommend`` and ``tfrbm recommender {train,demo}``: the RBM recommender on MovieLens.

    tfrbm recommend --data-dir ../shared/datasets --user 215 -n 10
    tfrbm recommender train --data-dir ../shared/datasets --fold u1 --epochs 40 --json
    tfrbm recommender demo            # echen's six-movie example
"""
import time

from tfrbm import argtypes as at
from tfrbm.commands.common import add_training_options, print_json
from tfrbm.data.ratings import movielens
from tfrbm.errors import UserError
from tfrbm.models.rating_evaluation import evaluate

__all__ = ["register"]


def _model_args(p):
    p.add_argument("--data-dir", type=at.existing_dir, default=None,
                   help="folder holding movielens_100k/ (or the data set folder itself)")
    p.add_argument("--variant", choices=("100k", "1m"), default="100k")
    p.add_argument("--hidden", type=at.positive_int, default=100, help="hidden units (default 100)")
    p.add_argument("--kind", choices=("user", "item", "both", "implicit"), default="both",
                   help="rating models: user-based, item-based or both RBMs blended (default "
                        "both); implicit: the implicit-feedback RBM alone (ranks, no ratings)")
    p.add_argument("--ranking", choices=("implicit", "ratings"), default="implicit",
                   help="implicit (default): rank by the implicit-feedback RBM trained on what "
                        "users watched, show the rating model's predicted ratings; ratings: "
                        "rank by P(watch) x shrunk P(rating >= 4) from the rating models")
    p.add_argument("--conditional", type=int, choices=(0, 1), default=1,
                   help="1 (default): conditional RBMs (hidden units also see which movies were "
                        "rated); 0: plain softmax RBMs")
    p.add_argument("--epochs", type=at.positive_int, default=40,
                   help="most epochs (early stopping on a validation split usually ends sooner)")
    p.add_argument("--learning-rate", "--lr", type=at.positive_float, default=None)
    p.add_argument("--weight-decay", type=at.nonnegative_float, default=None)
    p.add_argument("--batch-size", type=at.positive_int, default=None)
    p.add_argument("--seed", type=at.seed, default=0)
    add_training_options(p, backup=False)   # RBMRecommender.fit runs its own loop: no --backup


def _make(args):
    from tfrbm.models.recommender import RBMRecommender
    kw = {"n_hidden": args.hidden, "seed": args.seed, "kind": args.kind,
          "conditional": bool(args.conditional), "ranking": args.ranking}
    for name in ("learning_rate", "weight_decay", "batch_size"):
        if getattr(args, name) is not None:
            kw[name] = getattr(args, name)
    return RBMRecommender(**kw)


def _recommend(args):
    from tfrbm.models.recommender import RBMRecommender
    if args.n < 1:
        raise UserError(f"-n must be at least 1, got {args.n}")
    if not 0 <= args.user < 2**63:
        raise UserError(f"--user {args.user} is not a MovieLens user id")
    if args.model:
        try:
            rec = RBMRecommender.load(args.model)
        except Exception as exc:   # a missing, foreign, corrupt or tampered file
            raise UserError(f"cannot load recommender {args.model}: {exc}") from None
    else:
        data = movielens(args.variant, data_dir=args.data_dir)
        rec = _make(args).fit(data, epochs=args.epochs)
        if args.save:
            print(f"saved {rec.save(args.save)}")
    recs = rec.recommend(args.user, n=args.n, exclude_seen=not args.include_seen)
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
    data = movielens(args.variant, data_dir=args.data_dir)
    if args.fold:
        train, test = data.fold(args.fold)
    else:
        train, test = data.split(args.test_fraction, seed=args.seed)
    rec = _make(args)
    t0 = time.perf_counter()
    rec.fit(train, epochs=args.epochs, verbose=0 if args.json else 1)
    seconds = time.perf_counter() - t0
    metrics = evaluate(rec, train, test)
    metrics.pop("per_user")
    metrics.update(train_seconds=round(seconds, 2), epochs=args.epochs, hidden=args.hidden)
    if args.save:
        metrics["saved"] = str(rec.save(args.save))
    rmse = "-" if metrics["rmse"] is None else f"{metrics['rmse']:.4f}"
    mae = "-" if metrics["mae"] is None else f"{metrics['mae']:.4f}"
    print(f"test RMSE {rmse}  MAE {mae}  (top 10, relevant = test rating >= 4, ranking "
          f"{rec.ranking}:) precision@10 {metrics['precision@10']:.4f}  recall@10 "
          f"{metrics['recall@10']:.4f}  nDCG@10 {metrics['ndcg@10']:.4f}  MAP@10 "
          f"{metrics['map@10']:.4f}  ({seconds:.1f}s training)")
    if args.json:
        print_json(metrics)
    return 0


def _demo(args):
    from tfrbm.course.recommender import SIX_MOVIE_USERS, SIX_MOVIES, six_movie_demo
    rec, recs = six_movie_demo(epochs=args.epochs, seed=args.seed)
    print("six-movie example (1 = wants to watch):")
    for name, prefs in SIX_MOVIE_USERS.items():
        print(f"  {name:6s} " + " ".join(f"{t}={p}" for t, p in zip(SIX_MOVIES, prefs)))
    wants = rec.predict([7] * len(recs), recs.movie_ids, kind="proba")[:, 1]
    print("George wants Gladiator and Titanic; recommended for George (P(wants to watch)): "
          + ", ".join(f"{t} ({p:.2f})" for t, p in zip(recs.titles, wants)))
    if args.json:
        print_json({"top": recs.titles[0], "titles": recs.titles,
                    "p_wants": [round(float(p), 4) for p in wants]})
    return 0


def _recommend_args(p):
    _model_args(p)
    p.add_argument("--user", type=int, required=True, help="MovieLens user id")
    p.add_argument("-n", type=at.positive_int, default=10, help="how many movies (default 10)")
    p.add_argument("--model", type=at.existing_file, default=None,
                   help="a recommender saved with --save (skip training)")
    p.add_argument("--save", type=at.keras_file, default=None,
                   help="save the trained recommender here (.keras)")
    p.add_argument("--include-seen", action="store_true", help="keep movies the user rated")
    p.add_argument("--json", action="store_true", help="end with one JSON line")
    p.set_defaults(func=_recommend)


def register(subparsers):
    # `tfrbm recommend` is kept as an alias of `tfrbm recommender recommend`
    _recommend_args(subparsers.add_parser(
        "recommend", help="top-N movies for a MovieLens user (alias of `recommender recommend`)"))

    group = subparsers.add_parser("recommender", help="train/evaluate the RBM recommender")
    sub = group.add_subparsers(dest="recommender_command", metavar="ACTION")
    _recommend_args(sub.add_parser("recommend", help="top-N movies for a MovieLens user"))
    t = sub.add_parser("train", help="train on MovieLens and report held-out RMSE and top-10")
    _model_args(t)
    t.add_argument("--fold", choices=("u1", "u2", "u3", "u4", "u5", "ua", "ub"), default=None,
                   help="a published ML-100k split (default: a seeded random 80/20 split)")
    t.add_argument("--test-fraction", type=at.unit_interval, default=0.2)
    t.add_argument("--save", type=at.keras_file, default=None)
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=_train)
    d = sub.add_parser("demo", help="echen's six-movie example through the same API")
    d.add_argument("--epochs", type=at.positive_int, default=300)
    d.add_argument("--seed", type=at.seed, default=0)
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=_demo)
    group.set_defaults(func=lambda args: (group.print_help(), 2)[1])
