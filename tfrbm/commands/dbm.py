"""``tfrbm dbm train``: a deep Boltzmann machine, its likelihood bound and a fine-tuned classifier.

    tfrbm dbm train                            # embedded 8x8 digits, defaults from the data size
    tfrbm dbm train --data mnist --data-dir ../shared/datasets --hidden 500,1000 \\
        --epochs 10 --output dbm_run/

``--chains`` is the old spelling of ``--n-chains``, ``--model-file`` of ``--model``.
"""
import argparse

from tfrbm import argtypes as at
from tfrbm.commands.common import (add_deep_model_outputs, add_finetune_options,
                                   add_image_data_options, add_noun, add_training_options,
                                   config_from_args, deep_model_outputs, print_json, verbosity)
from tfrbm.pipelines.dbm import DBMTrainingConfig, train_dbm

__all__ = ["register"]

#: the pipeline's defaults (:class:`tfrbm.pipelines.dbm.DBMTrainingConfig`), shown in --help
_DEFAULTS = DBMTrainingConfig()


def _train(args):
    classifier, dbm_file, samples = deep_model_outputs(args, "dbm")
    config = config_from_args(DBMTrainingConfig, args, hidden=tuple(args.hidden))
    result = train_dbm(config, output=classifier, dbm_output=dbm_file, samples=samples,
                       verbose=verbosity(args, 0))
    m = result.metrics
    print(f"DBM {m['hidden']} on {m['data']}: {m['epochs']} epoch{'s' * (m['epochs'] != 1)}, reconstruction error "
          f"{m['loss']:.4f}, mean field {m['mean_field_steps']:.1f} iterations a batch", flush=True)
    print(f"log Z (AIS, {m['ais_runs']} runs, {m['ais_betas']} betas) = {m['log_z']:.3f} "
          f"[{m['log_z_lower']:.3f}, {m['log_z_upper']:.3f}], ESS {m['ais_ess']:.1f}, "
          f"change on doubling the betas {m['ais_change_on_doubling']:+.3f}", flush=True)
    print(f"variational lower bound (binarized data, nats): train {m['train_bound']:.3f}, "
          f"test {m['test_bound']:.3f} [{m['test_bound_lower']:.3f}, {m['test_bound_upper']:.3f}] "
          "(stochastic: log Z is an AIS estimate)", flush=True)
    for problem in m["ais_problems"]:
        print(f"warning: AIS: {problem}", flush=True)
    print(f"classifier from the DBM: test accuracy {m['test_accuracy']:.4f}", flush=True)
    if args.json:
        print_json(m)
    return 0


def register(subparsers):
    sub = add_noun(subparsers, "dbm", "deep Boltzmann machines: train (with its likelihood "
                                      "bound and a classifier)")
    t = sub.add_parser("train", help="train a DBM, estimate its likelihood bound, fine-tune a "
                                     "classifier")
    add_image_data_options(t, _DEFAULTS.data, "folder holding mnist/ (IDX .gz files)")
    t.add_argument("--holdout", choices=("stratified", "last"), default=None,
                   help="digits only: which 297 images are the test set (default stratified)")
    t.add_argument("--hidden", type=at.layer_sizes, default=_DEFAULTS.hidden, metavar="SIZES",
                   help="hidden layer sizes, bottom first (default %s)"
                        % ",".join(map(str, _DEFAULTS.hidden)))
    t.add_argument("--pretrain-epochs", type=at.positive_int, default=None,
                   help="epochs per pretraining RBM (default: about 3,000 updates a layer)")
    t.add_argument("--epochs", type=at.positive_int, default=None,
                   help=f"joint training epochs (default: about {_DEFAULTS.updates:,} updates)")
    t.add_argument("--learning-rate", "--lr", type=at.positive_float,
                   default=_DEFAULTS.learning_rate,
                   help=f"joint training SGD rate (default {_DEFAULTS.learning_rate})")
    t.add_argument("--n-chains", type=at.positive_int, default=_DEFAULTS.n_chains,
                   help=f"persistent chains (default {_DEFAULTS.n_chains})")
    at.add_hidden_alias(t, "--chains", dest="n_chains", type=at.positive_int)
    t.add_argument("--gibbs-steps", type=at.positive_int, default=_DEFAULTS.gibbs_steps,
                   help=f"Gibbs sweeps of the chains per update (default {_DEFAULTS.gibbs_steps})")
    t.add_argument("--batch-size", type=at.positive_int, default=None,
                   help="default 100, or n/50 (at least 10) for smaller data sets")
    t.add_argument("--ais-runs", type=at.positive_int, default=_DEFAULTS.ais_runs,
                   help=f"AIS runs for log Z (default {_DEFAULTS.ais_runs})")
    t.add_argument("--ais-betas", type=at.positive_int, default=_DEFAULTS.ais_betas,
                   help=f"the shorter AIS schedule; it is run doubled too (default "
                        f"{_DEFAULTS.ais_betas})")
    add_finetune_options(t, _DEFAULTS)
    t.add_argument("--binarize", action=argparse.BooleanOptionalAction, default=None,
                   help="train on the data binarized once by sampling (default: yes for MNIST "
                        "and Fashion-MNIST, no for the digits)")
    add_deep_model_outputs(t, "dbm", _DEFAULTS, "the classifier", "save the DBM (.keras)",
                           "Gibbs sweeps")
    add_training_options(t, backup=False)
    t.set_defaults(func=_train)
