"""A saved RBM's mean log-likelihood, bracketed by RAISE and AIS: the pipeline behind
``tfrbm rbm likelihood``.

    from tfrbm.pipelines.likelihood import estimate_likelihood
    report = estimate_likelihood("model.keras", data="digits", runs=8, max_betas=50)
    report.sandwich.lower, report.sandwich.upper

:class:`LikelihoodConfig` is the one place the pipeline's defaults live (the command's options
take theirs from it) and where they are checked. The split is binarized once with ``seed``
(pixel intensities as probabilities). AIS (upper estimate of mean log p(v), from below on
log Z) uses a base-rate model fitted to the training split; RAISE (lower estimate) runs reverse
chains on ``raise_rows`` rows over the same final schedule. AIS always runs the doubling search
of :func:`tfrbm.likelihood.ais.auto_log_partition` (``n_betas="auto"``), so the result carries
how far log Z moved when the schedule doubled: with ``max_betas=N`` it runs N/2 and then N
intermediate distributions; with ``max_betas=None`` it doubles from 1,000 until log Z moves less
than :data:`tfrbm.likelihood.ais.AUTO_TOLERANCE` nats or ``time_budget`` seconds run out.
"""
import dataclasses
import pathlib
import time
import warnings
from numbers import Integral

import numpy as np

from tfrbm.data.images import load_images
from tfrbm.errors import UserError
from tfrbm.limits import check_allocation
from tfrbm.pipelines.rbm_file import load_rbm_file
from tfrbm.pipelines.config import DATA_DIR, PipelineConfig, SEED
from tfrbm.validation import POSITIVE, POSITIVE_INT, Interval, Options

__all__ = ["LikelihoodConfig", "LikelihoodReport", "estimate_likelihood"]


@dataclasses.dataclass(frozen=True)
class LikelihoodConfig(PipelineConfig):
    """Every setting of :func:`estimate_likelihood`, with its default.

    data: "mnist", "digits" or "fashion_mnist"; data_dir: the folder holding it; split: the
    split whose mean log p(v) is estimated. runs: AIS runs. max_betas: the longest AIS schedule
    (intermediate distributions; at least 6, since the search runs max_betas // 2 first); the
    default 14,500 is Salakhutdinov & Murray's schedule. None: no fixed length, double from
    1,000 until log Z settles or ``time_budget`` seconds run out. raise_rows: rows of the split
    that RAISE runs chains on. time_budget: seconds for the search when max_betas is None (None:
    no limit). seed: the binarization's and the samplers' seed.
    """
    data: str = "mnist"
    data_dir: str = None
    split: str = "test"
    runs: int = 100
    max_betas: int = 14500
    raise_rows: int = 100
    time_budget: float = 600.0
    seed: int = 0

    _parameter_constraints = {
        "data": [Options("mnist", "digits", "fashion_mnist")],
        "data_dir": DATA_DIR,
        "split": [Options("train", "test")],
        "runs": POSITIVE_INT,
        "max_betas": [None, Interval(Integral, 6, None)],
        "raise_rows": POSITIVE_INT,
        "time_budget": [None] + POSITIVE,
        "seed": SEED,
    }

    def schedule(self):
        """The keyword arguments of the AIS schedule search (:func:`ais.auto_log_partition`)."""
        if self.max_betas is None:
            return {"n_betas": "auto", "time_budget": self.time_budget}
        # the convergence check: the same estimate on half the schedule first
        return {"n_betas": "auto", "start_betas": self.max_betas // 2,
                "max_betas": self.max_betas, "time_budget": None}


@dataclasses.dataclass
class LikelihoodReport:
    """What :func:`estimate_likelihood` found.

    ``sandwich``: the :class:`tfrbm.likelihood.SandwichResult` (``lower``/``upper`` and their
    standard errors, ``ais`` diagnostics); ``metrics``: its flat dict plus ``split``, ``data``
    and ``seconds``; ``warnings``: the messages of the AIS warnings raised on the way;
    ``converged``: False when log Z still moved by ``AUTO_TOLERANCE`` nats or more on the last
    doubling of the schedule (read the interval then, not either end).
    """
    sandwich: object
    metrics: dict
    warnings: list
    converged: bool


def estimate_likelihood(model, config=None, **settings):
    """Mean log p(v) of ``config.data``'s ``config.split`` under ``model``, between RAISE and AIS.

    ``model``: an RBMModel or the path of one saved as ``.keras``. ``config``: a
    :class:`LikelihoodConfig` (default: its defaults); keyword ``settings`` replace single fields
    of it (``estimate_likelihood(path, data="digits", runs=8)``). Returns a
    :class:`LikelihoodReport`.
    """
    config = LikelihoodConfig.resolve(config, **settings)

    from tfrbm.likelihood import ais
    from tfrbm.likelihood.sandwich import sandwich_log_likelihood

    if isinstance(model, (str, pathlib.PurePath)):
        model = load_rbm_file(model)
    x_train, _ = load_images(config.data, split="train", data_dir=config.data_dir)
    x, _ = load_images(config.data, split=config.split, data_dir=config.data_dir)
    n_visible = model.layer.n_visible
    if x.shape[1] != n_visible:
        raise UserError(f"the model has {n_visible} visible units; {config.data} has {x.shape[1]}")
    check_allocation(f"{config.runs:,} AIS runs",
                     3 * 4 * config.runs * (x.shape[1] + model.layer.units))
    v = (np.random.default_rng(config.seed).random(x.shape, dtype=np.float32) < x).astype(np.float32)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ais.AISWarning)
        sandwich = sandwich_log_likelihood(model.layer, v, n_runs=config.runs, base_data=x_train,
                                           raise_rows=min(config.raise_rows, len(v)),
                                           seed=config.seed, **config.schedule())
    metrics = sandwich.to_dict()
    metrics.update(split=config.split, data=config.data,
                   seconds=round(time.perf_counter() - start, 1))
    doubling = sandwich.ais.change_on_doubling
    return LikelihoodReport(
        sandwich, metrics,
        warnings=[str(w.message) for w in caught if issubclass(w.category, ais.AISWarning)],
        converged=doubling is None or abs(doubling) < ais.AUTO_TOLERANCE)
