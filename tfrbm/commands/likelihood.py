"""``tfrbm rbm likelihood``: a saved RBM's mean log-likelihood, bracketed.

``tfrbm rbm likelihood --model FILE.keras [--data mnist] [--split test] [--runs 100]
[--max-betas 14500|auto] [--raise-rows 100]`` brackets the mean log-probability of the split
(stochastically binarized once with ``--seed``) between a RAISE lower estimate and an AIS upper
estimate (base-rate model fitted to the training split), and prints the AIS diagnostics:
effective sample size, std of log w, and how far log Z moved when the schedule doubled (AIS runs
with --max-betas/2 and then --max-betas; with ``auto`` it doubles from 1,000 until log Z moves
< 0.1 nats or --time-budget runs out). ``--betas`` is the old spelling of ``--max-betas``. The
defaults are :class:`tfrbm.pipelines.likelihood.LikelihoodConfig`'s. The verb belongs to the
``rbm`` noun, whose module adds it with :func:`add_likelihood_verb` (this module registers no
noun); ``tfrbm likelihood`` is its old spelling (:data:`tfrbm.commands.rbm.ALIASES`).
"""
import argparse

from tfrbm import argtypes as at
from tfrbm.commands.common import add_json_option, add_seed_option, config_from_args, print_json
from tfrbm.pipelines.likelihood import LikelihoodConfig, estimate_likelihood

#: the pipeline's defaults, shown in --help
_LIKELIHOOD = LikelihoodConfig()

__all__ = ["add_likelihood_verb", "run_likelihood_command"]


def _max_betas(text):
    """An integer, or "auto" (None: no fixed length); the pipeline checks the range."""
    if text == "auto":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer or 'auto', got {text!r}") from None


def add_likelihood_verb(verbs):
    """``likelihood``, a verb of ``tfrbm rbm``: ``verbs`` is that noun's sub-parsers."""
    q = verbs.add_parser("likelihood", help="mean log-likelihood of a data split bracketed by "
                                            "RAISE (lower) and AIS (upper), with AIS diagnostics")
    q.add_argument("--model", required=True, type=at.existing_file, metavar="PATH.keras",
                   help="a saved RBMModel (.keras)")
    q.add_argument("--data", default=_LIKELIHOOD.data, choices=("mnist", "digits", "fashion_mnist"),
                   help=f"data set (default {_LIKELIHOOD.data})")
    q.add_argument("--data-dir", type=at.existing_dir, default=_LIKELIHOOD.data_dir,
                   help="folder with the data set (or set TFRBM_DATA_DIR)")
    q.add_argument("--split", default=_LIKELIHOOD.split, choices=("train", "test"),
                   help=f"the split whose mean log p(v) is bracketed (default {_LIKELIHOOD.split}); "
                        "it is binarized once by sampling with --seed")
    q.add_argument("--runs", type=at.positive_int, default=_LIKELIHOOD.runs,
                   help=f"AIS runs (default {_LIKELIHOOD.runs})")
    q.add_argument("--max-betas", type=_max_betas, default=_LIKELIHOOD.max_betas,
                   help="the longest AIS schedule (intermediate distributions; AIS runs half of "
                        "it first, to see how far log Z moves on doubling), or 'auto' (double "
                        f"from 1,000 until log Z settles); default {_LIKELIHOOD.max_betas}")
    at.add_hidden_alias(q, "--betas", dest="max_betas", type=_max_betas)
    q.add_argument("--raise-rows", type=at.positive_int, default=_LIKELIHOOD.raise_rows,
                   help=f"rows of the split that RAISE runs reverse chains on (default "
                        f"{_LIKELIHOOD.raise_rows})")
    q.add_argument("--time-budget", type=float, default=_LIKELIHOOD.time_budget,
                   help=f"seconds for --max-betas auto's schedule search (default "
                        f"{_LIKELIHOOD.time_budget:g})")
    add_seed_option(q, _LIKELIHOOD.seed, "seed of the binarization and the chains")
    add_json_option(q, "the bounds and diagnostics")
    q.set_defaults(func=run_likelihood_command)


def run_likelihood_command(args):
    """Print the bracket that :func:`tfrbm.pipelines.likelihood.estimate_likelihood` finds."""
    from tfrbm.likelihood.ais import AUTO_TOLERANCE
    config = config_from_args(LikelihoodConfig, args)
    report = estimate_likelihood(args.model, config)
    s, a = report.sandwich, report.sandwich.ais
    print(f"mean log p(v) on {args.data} {args.split}: between {s.lower:.2f} +- {s.lower_se:.2f} "
          f"(RAISE, lower; chains on {s.raise_result.n_sampled} of {s.raise_result.n_rows} rows) and "
          f"{s.upper:.2f} +- {s.upper_se:.2f} (AIS, upper) nats; gap {s.gap:.2f}")
    doubling = a.change_on_doubling
    moved = ("" if doubling is None else
             f"; log Z moved {doubling:+.2f} nats when the betas doubled from {a.history[-2]['n_betas']}")
    print(f"log Z = {a.log_z:.2f} [{a.log_z_lower:.2f}, {a.log_z_upper:.2f}] (AIS, {a.n_runs} runs x "
          f"{a.n_betas} betas); ESS {a.ess:.1f} of {a.n_runs}, std log w {a.log_w_std:.2f}{moved}")
    if not report.converged:
        print(f"not converged: log Z still moves by {abs(doubling):.2f} >= {AUTO_TOLERANCE} nats "
              "per doubling; read the interval, not either end, and use more betas (a larger "
              "--max-betas, or --max-betas auto)")
    for message in report.warnings:
        print(f"warning: {message}")
    if args.json:
        print_json(report.metrics)
    return 0
