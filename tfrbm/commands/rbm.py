"""RBM commands: ``tfrbm rbm VERB``: train on an image data set, echen's ``rbmcmd`` workflow on a
model file, and the likelihood of a trained RBM.

    tfrbm rbm train                                   # embedded 8x8 digits, good defaults
    tfrbm rbm train --data mnist --data-dir DIR --model rbm.keras   # MNIST; also save rbm.keras
    tfrbm rbm likelihood --model rbm.keras --data mnist
    tfrbm rbm init state.keras 6 2 0.1                # rbmcmd: a new model file
    tfrbm rbm train --model state.keras --epochs 5000 < rows.txt
    echo "0 0 0 1 1 0" | tfrbm rbm run-visible state.keras
    echo "1 0" | tfrbm rbm run-hidden state.keras
    tfrbm rbm daydream state.keras 3 5                # 5 samples after 3 steps each
    tfrbm rbm daydream-trace state.keras 3            # one chain, every step

The top-level spellings (``tfrbm train``, the README's quick start, ``tfrbm init``, ``tfrbm
run-visible`` ...) are aliases (:data:`ALIASES`). echen's own spellings run too: the model file
first and underscores in the verbs, ``tfrbm rbmstate.keras train 5000 < rows.txt``,
``tfrbm rbmstate.keras run_visible``, ``tfrbm rbmstate.keras daydream_trace 3`` (see
:func:`tfrbm.cli.rbmcmd_order`).
"""
import argparse
import io
import os
import pathlib
import re
import select
import stat
import sys

import numpy as np

from tfrbm import argtypes as at
from tfrbm.commands.common import (add_json_option, add_noun, add_seed_option, add_training_options,
                                   add_verbosity_options, backup_callbacks, print_json,
                                   report_resume, verbosity)
from tfrbm.commands.likelihood import add_likelihood_verb
from tfrbm.errors import UserError
from tfrbm.pipelines.rbm_file import RowTrainingConfig, create_rbm_file, load_rbm_file, train_rbm_file
from tfrbm.pipelines.rbm_images import IMAGE_DEFAULTS, RBMImageConfig, train_rbm_on_images

#: the image pipeline's defaults
_IMAGES = RBMImageConfig()


#: old spellings (top-level verbs, echen's underscores) -> the grammar's
ALIASES = {
    **{verb: f"rbm {verb}" for verb in ("train", "init", "run-visible", "run-hidden", "daydream",
                                         "daydream-trace", "likelihood")},
    **{f"{prefix}{verb.replace('-', '_')}": f"rbm {verb}"
       for verb in ("run-visible", "run-hidden", "daydream-trace") for prefix in ("", "rbm ")},
}


def register(sub):
    """``tfrbm rbm VERB``; echen's verbs at the top level are aliases (:data:`ALIASES`)."""
    verbs = add_noun(sub, "rbm", "restricted Boltzmann machines: train, init, run-visible, "
                                 "run-hidden, daydream, daydream-trace, likelihood")
    _add_verbs(verbs)
    add_likelihood_verb(verbs)


def _add_verbs(sub):
    p = sub.add_parser("train", help="train an RBM (embedded digits by default, or MNIST), or an "
                                     "rbmcmd model file on rows",
                       description="Train an RBM with contrastive divergence on an image data set "
                                   "and write the model and figures to --output (and the model to "
                                   "--model, if given). With --model naming an existing file "
                                   "(rbmcmd), train that model on rows of 0/1 read from --input or "
                                   "standard input, and save it back.")
    p.add_argument("--data", choices=sorted(IMAGE_DEFAULTS),
                   help="data set (default: the embedded scikit-learn 8x8 digits)")
    p.add_argument("--data-dir", type=at.existing_dir,
                   help="folder with the data set (or set TFRBM_DATA_DIR)")
    p.add_argument("--hidden", type=at.positive_int, help="hidden units (default: 64 digits, 500 MNIST)")
    p.add_argument("--hidden-units", choices=["bernoulli", "gaussian", "relu"],
                   help="hidden unit family (default bernoulli; relu: stepped-sigmoid units)")
    p.add_argument("--epochs", type=at.positive_int, help="epochs (default: 30 digits, 5 MNIST)")
    p.add_argument("--batch-size", type=at.positive_int,
                   help="batch size (default: 32 digits, 100 MNIST)")
    p.add_argument("--learning-rate", "--lr", dest="lr", type=at.positive_float,
                   help="learning rate of SGD (default 0.05)")
    p.add_argument("--momentum", type=at.unit_interval, help="SGD momentum (default 0.9)")
    p.add_argument("--cd-k", type=at.positive_int, help="Gibbs steps per update (default 1)")
    p.add_argument("--persistent", action="store_true", help="persistent CD")
    p.add_argument("--n-chains", type=at.positive_int, help="persistent chains (default 100)")
    p.add_argument("--binarize", choices=["stochastic", "threshold", "none"],
                   help="binarization, drawn fresh each epoch when stochastic (default)")
    p.add_argument("--limit", type=at.positive_int, help="use only the first N training examples")
    add_seed_option(p, 0)
    p.add_argument("--output", type=at.output_dir, metavar="DIR",
                   help="folder for model.keras and the figures (default tfrbm_output)")
    add_json_option(p)
    add_verbosity_options(p, "a progress bar")
    p.add_argument("--model", type=at.model_in_or_out, metavar="PATH.keras",
                   help="the model file: a new file receives the model trained on --data; an "
                        "existing one (rbmcmd, see `tfrbm rbm init`) is trained on the rows of "
                        "--input and saved back")
    p.add_argument("--input", type=at.input_file, default=None,
                   help="rbmcmd: file of 0/1 rows for an existing --model, '-' for standard "
                        "input (the default)")
    p.add_argument("rbmcmd_epochs", nargs="?", type=at.positive_int, metavar="EPOCHS",
                   help="rbmcmd: epochs, as echen's `rbmcmd FILE train EPOCHS` (same as --epochs)")
    add_training_options(p)
    p.set_defaults(func=_train)

    p = sub.add_parser("init", help="rbmcmd: create a model file N_VISIBLE x N_HIDDEN")
    p.add_argument("model", type=at.keras_file, metavar="FILE.keras", help="the model file to create")
    p.add_argument("n_visible", type=at.positive_int, metavar="N_VISIBLE", help="visible units")
    p.add_argument("n_hidden", type=at.positive_int, metavar="N_HIDDEN", help="hidden units")
    p.add_argument("learning_rate", type=at.positive_float, nargs="?", default=0.1,
                   metavar="LEARNING_RATE", help="SGD learning rate (default 0.1)")
    add_seed_option(p, 0, "seed of the initial weights")
    p.add_argument("--overwrite", action="store_true", help="replace an existing model file")
    p.set_defaults(func=_init)

    for name, helptext in (("run-visible", "rbmcmd: hidden units for visible rows on stdin"),
                           ("run-hidden", "rbmcmd: visible units for hidden rows on stdin")):
        p = sub.add_parser(name, help=helptext)
        _model_file_argument(p)
        p.add_argument("--input", type=at.input_file, default="-",
                       help="file of rows, '-' for stdin (default)")
        p.add_argument("--probabilities", action="store_true",
                       help="print probabilities instead of sampled 0/1 states")
        add_seed_option(p, None, "seed of the sampled states")
        p.set_defaults(func=_run_visible if name == "run-visible" else _run_hidden)

    p = sub.add_parser("daydream", help="rbmcmd: N samples after STEPS Gibbs steps")
    _model_file_argument(p)
    p.add_argument("steps", type=at.positive_int, metavar="STEPS", help="Gibbs steps per sample")
    p.add_argument("n", type=at.positive_int, nargs="?", default=1, metavar="N",
                   help="how many samples (default 1)")
    add_seed_option(p, None)
    p.set_defaults(func=_daydream)

    p = sub.add_parser("daydream-trace", help="rbmcmd: one chain's visible states at every step")
    _model_file_argument(p)
    p.add_argument("steps", type=at.positive_int, metavar="STEPS", help="Gibbs steps")
    add_seed_option(p, None)
    p.set_defaults(func=_daydream_trace)


def _model_file_argument(p):
    p.add_argument("model", type=at.existing_file, metavar="FILE.keras",
                   help="the RBM model file (made by `tfrbm rbm init` or `tfrbm rbm train`)")


# ---------------------------------------------------------------------------- helpers
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z", re.ASCII)   # "١" is not 1


def _parse_row(line):
    """One row: numbers separated by spaces or by commas (not both mixed into empty fields).

    Strict on purpose: ``0,,1`` (an empty field that would shift the columns) and ``0_1`` (which
    Python's float() reads as 1) are refused, as are nan and inf.
    """
    fields = [f.strip() for f in line.split(",")] if "," in line else line.split()
    if "" in fields:
        raise ValueError("empty field between commas")
    for field in fields:
        if not _NUMBER.match(field):
            raise ValueError(f"{field!r} is not a plain decimal number")
    return [float(f) for f in fields]


def _read_rows(source):
    """Rows of numbers from a file or stdin ('-'), one example per line."""
    if source == "-":
        try:
            text, where = sys.stdin.read(), "standard input"
        except UnicodeDecodeError:
            raise UserError("standard input is not text (rows of numbers); it looks like binary "
                            "data") from None
    else:
        path = pathlib.Path(source)
        if not path.is_file():
            raise UserError(f"input file {source} does not exist")
        try:
            text, where = path.read_text(encoding="utf-8"), source
        except UnicodeDecodeError:
            raise UserError(f"input file {source} is not text (rows of numbers); it looks like "
                            "a binary file") from None
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        try:
            rows.append(_parse_row(line))
        except ValueError as exc:
            raise UserError(f"{where}, line {lineno}: {exc}, got {line!r}") from None
        if len(rows[-1]) != len(rows[0]):
            raise UserError(f"{where}, line {lineno}: {len(rows[-1])} values, but line 1 has {len(rows[0])}")
    if not rows:
        raise UserError(f"no rows read from {where}")
    return np.array(rows, np.float32)


def _print_rows(rows):
    for row in np.atleast_2d(rows):
        print(" ".join(f"{v:g}" if float(v).is_integer() else f"{v:.4f}" for v in row))


def _load(path):
    return load_rbm_file(path, hint=f"; create one with `tfrbm rbm init {path} N_VISIBLE N_HIDDEN` "
                                    "(this command needs a model made by `tfrbm rbm init` or "
                                    "`tfrbm rbm train`)")


# ---------------------------------------------------------------------------- commands
def _init(args):
    if pathlib.Path(args.model).exists() and not args.overwrite:
        raise UserError(f"{args.model} exists (perhaps a trained model); pass --overwrite to "
                        "replace it")
    create_rbm_file(args.model, args.n_visible, args.n_hidden, args.learning_rate, seed=args.seed)
    print(f"created {args.model}: {args.n_visible} visible x {args.n_hidden} hidden, learning rate {args.learning_rate}")
    return 0


def _rows_on_stdin(wait=0.2):
    """True when standard input holds text within ``wait`` seconds (rows meant for an rbmcmd
    model: ``printf ... | tfrbm rbm train --model FILE``); False for a terminal, /dev/null, an
    empty pipe or a pipe nobody writes to. Only called to refuse, so what it reads is not lost."""
    try:
        fd = sys.stdin.fileno()
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISFIFO(mode) or stat.S_ISREG(mode)):
            return False
        if not select.select([fd], [], [], wait)[0]:
            return False
        return bool(os.read(fd, 65536).strip())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):   # no real stdin
        return False


def _train(args):
    """``--model`` names a file that exists: rbmcmd (rows, saved back); else a new model trained
    on --data is written there. Rows given for a file that does not exist are refused."""
    if args.rbmcmd_epochs is not None:
        if args.epochs is not None and args.epochs != args.rbmcmd_epochs:
            raise UserError(f"EPOCHS {args.rbmcmd_epochs} and --epochs {args.epochs} disagree; give one")
        if not args.model:
            raise UserError(f"EPOCHS {args.rbmcmd_epochs} is rbmcmd's form and needs a model file: "
                            f"`tfrbm FILE.keras train {args.rbmcmd_epochs}` or "
                            "`tfrbm rbm train --model FILE.keras`")
        args.epochs = args.rbmcmd_epochs
    if args.model and pathlib.Path(args.model).is_file():
        args.input = args.input or "-"
        return _train_rows(args)
    if args.model and (args.rbmcmd_epochs is not None or args.input or _rows_on_stdin()):
        why = ("EPOCHS" if args.rbmcmd_epochs is not None else "--input" if args.input
               else "rows on standard input")
        raise UserError(f"model file {args.model} does not exist, and {why} train an existing "
                        f"rbmcmd model: create it first with `tfrbm rbm init {args.model} "
                        "N_VISIBLE N_HIDDEN`, or give no rows to train a new RBM on --data images "
                        "and save it there")
    if args.input:
        raise UserError("--input gives rows to an existing rbmcmd model: name it with --model")
    return _train_images(args)


#: flags of image training that have no meaning for an existing --model file
_IMAGE_ONLY = ("data", "data_dir", "hidden", "persistent", "n_chains", "binarize", "limit", "output")


def _train_rows(args):
    given = [f"--{name.replace('_', '-')}" for name in _IMAGE_ONLY if getattr(args, name)]
    if given:
        raise UserError(f"{', '.join(given)} cannot apply to an existing --model file (its size and "
                        "kind are fixed); drop them, or train a new model without --model")
    settings = {"epochs": args.epochs, "batch_size": args.batch_size, "learning_rate": args.lr,
                "momentum": args.momentum, "cd_k": args.cd_k, "seed": args.seed}
    config = RowTrainingConfig(**{k: v for k, v in settings.items() if v is not None})
    model = _load(args.model)
    rows = _read_rows(args.input)
    callbacks = backup_callbacks(args)
    result = train_rbm_file(args.model, rows, config, model=model, callbacks=callbacks,
                            verbose=0 if args.quiet or args.json else verbosity(args, "auto"))
    report_resume(callbacks)
    if args.json:
        print_json(result.metrics)
    else:
        print(f"trained {args.model} for {result.epochs} epochs: "
              + ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items()))
    return 0


def _train_images(args):
    if args.output is None:   # the default folder is proved writable before training, too
        try:
            args.output = at.output_dir(_IMAGES.output)
        except argparse.ArgumentTypeError as exc:
            raise UserError(f"--output: {exc}") from None
    given = {"data": args.data, "data_dir": args.data_dir, "hidden": args.hidden,
             "epochs": args.epochs, "batch_size": args.batch_size, "learning_rate": args.lr,
             "momentum": args.momentum, "cd_k": args.cd_k, "n_chains": args.n_chains,
             "binarize": args.binarize, "limit": args.limit, "output": args.output,
             "hidden_units": args.hidden_units}
    quiet = args.quiet or args.json

    def announce(s):
        if not args.json:
            print(f"training a {s['n_visible']}x{s['hidden']} RBM on {s['data']} "
                  f"({s['n_examples']} examples), {'P' if s['persistent'] else ''}CD-{s['cd_k']}, "
                  f"{s['epochs']} epochs, batch {s['batch_size']}")

    config = RBMImageConfig(**{k: v for k, v in given.items() if v is not None},
                            persistent=args.persistent, seed=args.seed)
    callbacks = backup_callbacks(args)
    result = train_rbm_on_images(config, model_file=args.model, callbacks=callbacks,
                                 verbose=0 if quiet else verbosity(args, "auto"),
                                 on_start=announce)
    report_resume(callbacks)
    metrics = result.metrics
    if args.json:
        print_json(metrics)
    else:
        for key in sorted(metrics):
            print(f"{key:>28}: {metrics[key]:.4f}" if isinstance(metrics[key], float) else f"{key:>28}: {metrics[key]}")
        print(f"wrote model.keras, weights.png, samples.png, reconstructions.png, training.png to {result.output}/")
        if args.model:
            print(f"wrote the model to {args.model}")
    return 0


def _run_visible(args):
    model = _load(args.model)
    rows = _read_rows(args.input)
    _print_rows(model.run_visible(rows, sample=not args.probabilities, seed=args.seed))
    return 0


def _run_hidden(args):
    model = _load(args.model)
    rows = _read_rows(args.input)
    _print_rows(model.run_hidden(rows, sample=not args.probabilities, seed=args.seed))
    return 0


def _daydream(args):
    model = _load(args.model)
    _print_rows(model.daydream(args.n, steps=args.steps, sample=True, seed=args.seed,
                               progress=True))
    return 0


def _daydream_trace(args):
    model = _load(args.model)
    _, trace = model.daydream(1, steps=args.steps, trace=True, sample=True, seed=args.seed,
                              progress=True)
    _print_rows(trace[:, 0])
    return 0
