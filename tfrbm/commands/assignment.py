"""``tfrbm assignment``: the MNIST assignment.

``tfrbm assignment run --output DIR [--data mnist|digits] [--hidden 400] [--epochs 10] [--json]``
trains the assignment's RBM and writes every figure (see :func:`tfrbm.course.assignment.run_assignment`).
``tfrbm assignment --output DIR`` is its old spelling (an alias).
"""
import argparse

from tfrbm import argtypes as at
from tfrbm.commands.common import (add_json_option, add_noun, add_seed_option, add_training_options,
                                   backup_callbacks, print_json, report_resume)

__all__ = ["register", "run_assignment_command"]

#: the old spelling -> the grammar's
ALIASES = {"assignment": "assignment run"}


def _steps(text):
    try:
        values = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive step counts, got {text!r}")
    return values


def register(subparsers):
    verbs = add_noun(subparsers, "assignment", "the course's MNIST RBM assignment: run")
    p = verbs.add_parser("run", help="train the MNIST assignment's RBM and write its figures")
    p.add_argument("--output", required=True, type=at.output_dir, metavar="DIR",
                   help="folder for the figures and summary.json")
    p.add_argument("--data", default="mnist", choices=("mnist", "digits", "fashion_mnist"),
                   help="data set (default mnist)")
    p.add_argument("--data-dir", type=at.existing_dir, default=None,
                   help="folder with the IDX .gz files")
    p.add_argument("--hidden", type=at.positive_int, default=400, help="hidden units (default 400)")
    p.add_argument("--epochs", type=at.positive_int, default=10, help="epochs (default 10)")
    p.add_argument("--batch-size", type=at.positive_int, default=64, help="batch size (default 64)")
    p.add_argument("--learning-rate", "--lr", dest="lr", type=at.positive_float, default=0.1,
                   help="SGD learning rate (default 0.1)")
    p.add_argument("--steps", type=_steps, default=(100, 1000, 10000),
                   help="resampling checkpoints, comma-separated (default 100,1000,10000)")
    p.add_argument("--limit", type=at.positive_int, default=None, help="train on the first N images")
    p.add_argument("--images", type=at.positive_int, default=64, help="images per grid (multiple of 8)")
    add_seed_option(p, 0)
    add_json_option(p, "the results")
    add_training_options(p)
    p.set_defaults(func=run_assignment_command)


def run_assignment_command(args):
    from tfrbm.course import assignment
    callbacks = backup_callbacks(args)
    summary = assignment.run_assignment(
        args.output, n_hidden=args.hidden, epochs=args.epochs, data=args.data, data_dir=args.data_dir,
        batch_size=args.batch_size, learning_rate=args.lr, steps=args.steps, limit=args.limit,
        n_images=args.images, seed=args.seed, callbacks=callbacks)
    report_resume(callbacks)
    summary.pop("model", None)
    print(f"wrote {len(summary['files'])} figures to {args.output}; recall accuracy "
          f"{summary['recall_accuracy']} (pixel-mean fill {summary['recall_baseline_accuracy']:.3f}); "
          f"F(digits) {summary['free_energy_digits']:.1f} vs F(noise) {summary['free_energy_noise']:.1f}")
    if args.json:
        flat = {k: v for k, v in summary.items() if not isinstance(v, dict)}
        for k, v in summary["recall_accuracy"].items():
            flat[f"recall_accuracy_{k}"] = v
        flat["output"] = str(args.output)
        print_json(flat)
    return 0
