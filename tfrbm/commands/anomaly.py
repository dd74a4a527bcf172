"""``tfrbm anomaly detect``: fit an anomaly detector on normal data, set its threshold at a chosen
false-positive rate on held-out normal rows, and report how it does on the test split.

    tfrbm anomaly detect                                  # embedded 8x8 digits, every class normal
    tfrbm anomaly detect --normal 0,1,2,3,4,5,6,7,8 --fpr 0.05 --json   # are the 9s found?
    tfrbm anomaly detect --data mnist --data-dir ../shared/datasets --normal 1,2,3,4,5,6,7,8,9 \\
        --model detector.keras
"""
import argparse

from tfrbm import anomaly
from tfrbm import argtypes as at
from tfrbm.commands.common import (add_image_data_options, add_json_option, add_noun,
                                   add_seed_option, add_training_options, config_from_args,
                                   print_json)
from tfrbm.pipelines.anomaly import AnomalyConfig, detect_anomalies

__all__ = ["register"]

#: the pipeline's defaults (:class:`tfrbm.pipelines.anomaly.AnomalyConfig`), shown in --help
_DEFAULTS = AnomalyConfig()


def _fpr(text):
    value = at.unit_interval(text)
    if not 0 < value < 0.5:
        raise argparse.ArgumentTypeError(f"must be in (0, 0.5), got {text!r}")
    return value


def _fraction(text):
    value = at.unit_interval(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {text!r}")
    return value


def _detect(args):
    config = config_from_args(AnomalyConfig, args, labels=not args.unlabelled)
    m = detect_anomalies(config, output=at.model_path(args, "detector.keras")).metrics
    print(f"detector: {m['detector']} ({m['hidden']} hidden, {m['epochs']} epochs), score "
          f"'{m['method']}', trained on {m['train_rows']:,} rows of classes {m['normal_classes']}",
          flush=True)
    print(f"threshold: {m['threshold']:.4g}, set at a false-positive rate of {m['target_fpr']} on "
          f"{m['calibration_rows']:,} held-out normal rows (flag scores above it)", flush=True)
    print(f"test, normal classes: false-positive rate {m['test_fpr']:.4f} (95% interval "
          f"{m['test_fpr_low']:.4f}-{m['test_fpr_high']:.4f}, {m['test_normal_rows']:,} rows)",
          flush=True)
    if "novel_classes" in m:
        print(f"test, novel classes {m['novel_classes']}: detection rate "
              f"{m['novel_detection_rate']:.4f}, AUROC {m['novel_auroc']:.4f} "
              f"({m['test_novel_rows']:,} rows)", flush=True)
    print(f"uniform noise: detection rate {m['noise_detection_rate']:.4f}", flush=True)
    if args.json:
        print_json(m)
    return 0


def register(subparsers):
    sub = add_noun(subparsers, "anomaly", "anomaly detection: detect (a detector with a "
                                          "threshold at a chosen false-positive rate)")
    d = sub.add_parser("detect", help="fit a detector on normal data, set its threshold on "
                                      "held-out normal rows, report test FPR and detection rate")
    add_image_data_options(d, _DEFAULTS.data, "folder holding mnist/ or fashion_mnist/ (IDX .gz files)")
    d.add_argument("--normal", type=at.class_ids, default=None, metavar="CLASSES",
                   help="comma-separated normal class ids (default: all); the test split's "
                        "other classes are the novelty to find")
    d.add_argument("--unlabelled", action="store_true",
                   help="an unlabelled RBM instead of the labelled one (no class labels used)")
    d.add_argument("--method", default=_DEFAULTS.method,
                   choices=("auto",) + anomaly.LABEL_METHODS + anomaly.METHODS,
                   help=f"the anomaly score (auto: '{anomaly.AUTO_LABEL_METHOD}' labelled, "
                        f"'{anomaly.AUTO_METHOD}' unlabelled; labelled: "
                        f"{', '.join(anomaly.LABEL_METHODS)}; unlabelled: "
                        f"{', '.join(anomaly.METHODS)})")
    d.add_argument("--hidden", type=at.positive_int, default=_DEFAULTS.hidden,
                   help=f"hidden units (default {_DEFAULTS.hidden})")
    d.add_argument("--epochs", type=at.positive_int, default=None,
                   help="default: about 3,000 CD updates")
    d.add_argument("--learning-rate", "--lr", type=at.positive_float,
                   default=_DEFAULTS.learning_rate, help="the unlabelled RBM's SGD rate")
    d.add_argument("--fpr", type=_fpr, default=_DEFAULTS.fpr,
                   help="false-positive rate the threshold is set at (default %(default)s)")
    d.add_argument("--calibration", type=_fraction, default=_DEFAULTS.calibration,
                   help="fraction of normal training rows held out to set the threshold "
                        "(default %(default)s)")
    d.add_argument("--limit", type=at.positive_int, default=None,
                   help="use the first N train/test examples")
    add_seed_option(d, _DEFAULTS.seed)
    at.add_output_options(d, "detector.keras")
    add_json_option(d, "metrics")
    add_training_options(d, backup=False)
    d.set_defaults(func=_detect)
