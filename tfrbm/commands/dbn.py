"""``tfrbm dbn train``: greedy DBN pre-training, then a fine-tuned classifier (and optional samples).

    tfrbm dbn train --json                     # embedded 8x8 digits, defaults from the data size
    tfrbm dbn train --data mnist --data-dir ../shared/datasets --hidden 500,200,50 \\
        --epochs 5 --finetune-epochs 10 --model dbn_classifier.keras --samples samples.png

``--layers`` is the old spelling of ``--hidden``, ``--model-file`` of ``--model``.
"""
import argparse

from tfrbm import argtypes as at
from tfrbm.commands.common import (add_deep_model_outputs, add_finetune_options,
                                   add_image_data_options, add_noun, add_training_options,
                                   config_from_args, deep_model_outputs, print_json, verbosity)
from tfrbm.pipelines.dbn import DBNTrainingConfig, train_dbn

__all__ = ["register"]

#: the pipeline's defaults (:class:`tfrbm.pipelines.dbn.DBNTrainingConfig`), shown in --help
_DEFAULTS = DBNTrainingConfig()


def _train(args):
    classifier, dbn_file, samples = deep_model_outputs(args, "dbn")
    config = config_from_args(DBNTrainingConfig, args, layers=tuple(args.layers))
    result = train_dbn(config, output=classifier, dbn_output=dbn_file, samples=samples,
                       backup=args.backup, verbose=verbosity(args, 0))
    for i, h in enumerate(result.pretrain_histories):
        err = h.history["reconstruction_error"]
        change = f"{err[0]:.4f} -> {err[-1]:.4f} over {len(err)} epochs" if len(err) > 1 \
            else f"{err[-1]:.4f} after 1 epoch"
        print(f"layer {i + 1}: reconstruction error {change}", flush=True)
    where = result.metrics["data"]
    if result.metrics.get("holdout"):
        where += f", {result.metrics['holdout']} holdout"
    print(f"fine-tuned classifier: test accuracy {result.metrics['test_accuracy']:.4f} ({where})",
          flush=True)
    if args.json:
        print_json(result.metrics)
    return 0


def register(subparsers):
    sub = add_noun(subparsers, "dbn", "deep belief networks: train (greedy pre-training + "
                                      "fine-tuning)")
    t = sub.add_parser("train", help="pre-train a DBN, fine-tune a classifier, report test accuracy")
    add_image_data_options(t, _DEFAULTS.data, "folder holding mnist/ (IDX .gz files)")
    t.add_argument("--holdout", choices=("stratified", "last"), default=None,
                   help="digits only: the 297 test images, a fixed class-stratified draw "
                        "(default) or the last 297 (mostly unseen writers, harder)")
    t.add_argument("--hidden", type=at.layer_sizes, default=_DEFAULTS.layers, metavar="SIZES",
                   dest="layers",
                   help="hidden layer sizes, bottom first (default %s)"
                        % ",".join(map(str, _DEFAULTS.layers)))
    at.add_hidden_alias(t, "--layers", dest="layers", type=at.layer_sizes)
    t.add_argument("--epochs", type=at.positive_int, default=None,
                   help="pre-training epochs per layer (default: about 3,000 updates a layer)")
    t.add_argument("--cd-k", type=at.positive_int, default=_DEFAULTS.cd_k,
                   help=f"Gibbs steps per update (default {_DEFAULTS.cd_k})")
    t.add_argument("--persistent", action=argparse.BooleanOptionalAction,
                   default=_DEFAULTS.persistent, help="persistent CD")
    t.add_argument("--learning-rate", "--lr", type=at.positive_float, default=_DEFAULTS.learning_rate,
                   help=f"RBM SGD learning rate (default {_DEFAULTS.learning_rate})")
    t.add_argument("--batch-size", type=at.positive_int, default=None,
                   help="default 100, or n/50 (at least 10) for smaller data sets")
    add_finetune_options(t, _DEFAULTS)
    add_deep_model_outputs(t, "dbn", _DEFAULTS, "the fine-tuned classifier",
                           "save the pre-trained DBN (.keras)", "Gibbs steps in the top RBM")
    add_training_options(t)
    t.set_defaults(func=_train)
