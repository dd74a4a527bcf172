"""Command line for the MNIST assignment and for likelihoods.

``tfrbm assignment --output DIR [--data mnist|digits] [--hidden 400] [--epochs 10] [--json]``
trains the assignment's RBM and writes every figure (see :func:`tfrbm.assignment.run_assignment`).

``tfrbm likelihood --model FILE.keras [--data mnist] [--split test] [--runs 100] [--betas 14500]``
estimates log Z by AIS (base-rate model fitted to the training split) and prints the mean
log-probability of the split, stochastically binarized once with ``--seed``.
"""

from tfrbm import argtypes as at
from tfrbm.cli import add_training_options

__all__ = ["register", "run_assignment_command", "run_likelihood_command"]


def _positive_int(text):
    import argparse
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _steps(text):
    import argparse
    try:
        values = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive step counts, got {text!r}")
    return values


def register(subparsers):
    p = subparsers.add_parser("assignment", help="train the MNIST assignment's RBM and write its figures")
    p.add_argument("--output", required=True, type=at.output_dir,
                   help="folder for the figures and summary.json")
    p.add_argument("--data", default="mnist", choices=("mnist", "digits", "fashion_mnist"))
    p.add_argument("--data-dir", type=at.existing_dir, default=None,
                   help="folder with the IDX .gz files")
    p.add_argument("--hidden", type=_positive_int, default=400)
    p.add_argument("--epochs", type=_positive_int, default=10)
    p.add_argument("--batch-size", type=_positive_int, default=64)
    p.add_argument("--learning-rate", "--lr", dest="lr", type=at.positive_float, default=0.1)
    p.add_argument("--steps", type=_steps, default=(100, 1000, 10000),
                   help="resampling checkpoints, comma-separated (default 100,1000,10000)")
    p.add_argument("--limit", type=_positive_int, default=None, help="train on the first N images")
    p.add_argument("--images", type=_positive_int, default=64, help="images per grid (multiple of 8)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="end with one JSON line of the results")
    add_training_options(p)
    p.set_defaults(func=run_assignment_command)

    q = subparsers.add_parser("likelihood", help="AIS estimate of log Z and the mean log-likelihood")
    q.add_argument("--model", required=True, type=at.existing_file, help="a saved RBMModel (.keras)")
    q.add_argument("--data", default="mnist", choices=("mnist", "digits", "fashion_mnist"))
    q.add_argument("--data-dir", type=at.existing_dir, default=None)
    q.add_argument("--split", default="test", choices=("train", "test"))
    q.add_argument("--runs", type=_positive_int, default=100)
    q.add_argument("--betas", type=_positive_int, default=14500, help="number of intermediate distributions")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=run_likelihood_command)


def run_assignment_command(args):
    from tfrbm import assignment
    from tfrbm.cli import backup_callbacks
    summary = assignment.run_assignment(
        args.output, n_hidden=args.hidden, epochs=args.epochs, data=args.data, data_dir=args.data_dir,
        batch_size=args.batch_size, learning_rate=args.lr, steps=args.steps, limit=args.limit,
        n_images=args.images, seed=args.seed, callbacks=backup_callbacks(args))
    summary.pop("model", None)
    print(f"wrote {len(summary['files'])} figures to {args.output}; recall accuracy "
          f"{summary['recall_accuracy']} (pixel-mean fill {summary['recall_baseline_accuracy']:.3f}); "
          f"F(digits) {summary['free_energy_digits']:.1f} vs F(noise) {summary['free_energy_noise']:.1f}")
    if args.json:
        from tfrbm.cli import print_json
        flat = {k: v for k, v in summary.items() if not isinstance(v, dict)}
        for k, v in summary["recall_accuracy"].items():
            flat[f"recall_accuracy_{k}"] = v
        flat["output"] = str(args.output)
        print_json(flat)
    return 0


def run_likelihood_command(args):
    import pathlib
    import time

    import numpy as np

    from tfrbm import ais
    from tfrbm.cli import UserError
    from tfrbm.data.images import load_images
    path = pathlib.Path(args.model)
    if not path.is_file():
        raise UserError(f"model file not found: {path}")
    import keras
    model = keras.saving.load_model(path)
    if not hasattr(model, "log_partition"):
        raise UserError(f"{path} does not hold an RBMModel")
    x_train, _ = load_images(args.data, split="train", data_dir=args.data_dir)
    x, _ = load_images(args.data, split=args.split, data_dir=args.data_dir)
    if x.shape[1] != model.layer.n_visible:
        raise UserError(f"the model has {model.layer.n_visible} visible units; {args.data} has {x.shape[1]}")
    v = (np.random.default_rng(args.seed).random(x.shape, dtype=np.float32) < x).astype(np.float32)
    t = time.perf_counter()
    log_z, lower, upper = ais.ais_log_partition(model, n_runs=args.runs, betas=ais.make_betas(args.betas),
                                                base_data=x_train, seed=args.seed)
    neg_f = float(np.mean(-model.free_energy(v).astype(np.float64)))
    result = {"log_z": log_z, "log_z_lower": lower, "log_z_upper": upper,
              "log_likelihood": neg_f - log_z, "log_likelihood_lower": neg_f - upper,
              "log_likelihood_upper": neg_f - lower, "split": args.split, "runs": args.runs,
              "betas": args.betas, "seconds": round(time.perf_counter() - t, 1)}
    print(f"log Z = {log_z:.2f} [{lower:.2f}, {upper:.2f}]; mean log p(v) on {args.data} {args.split} = "
          f"{neg_f - log_z:.2f} nats")
    if args.json:
        from tfrbm.cli import print_json
        print_json(result)
    return 0
