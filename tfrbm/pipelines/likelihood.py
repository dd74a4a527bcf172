"""A saved RBM's mean log-likelihood, bracketed by RAISE and AIS: the pipeline behind
``tfrbm likelihood``.

    from tfrbm.pipelines.likelihood import estimate_likelihood
    report = estimate_likelihood("model.keras", data="digits", runs=8, betas=50)
    report.sandwich.lower, report.sandwich.upper

The split is binarized once with ``seed`` (pixel intensities as probabilities). AIS (upper
estimate of mean log p(v), from below on log Z) uses a base-rate model fitted to the training
split; RAISE (lower estimate) runs reverse chains on ``raise_rows`` rows over the same final
schedule. With ``betas=N`` AIS runs with N/2 and then N intermediate distributions, so the
result always carries how far log Z moved when the schedule doubled; ``betas="auto"`` doubles
from 1,000 until log Z moves less than :data:`tfrbm.likelihood.ais.AUTO_TOLERANCE` nats or ``time_budget``
seconds run out.
"""
import dataclasses
import pathlib
import time

from tfrbm.errors import UserError
from tfrbm.validation import (POSITIVE, POSITIVE_INT, Instance, Integral, Interval, Options,
                              validate_params)

__all__ = ["LikelihoodReport", "estimate_likelihood", "load_rbm_file"]

_PARAMETER_CONSTRAINTS = {
    "data": [Options("mnist", "digits", "fashion_mnist")],
    "data_dir": [None, Instance((str, pathlib.PurePath), "a path")],
    "split": [Options("train", "test")],
    "runs": POSITIVE_INT,
    "betas": [Options("auto"), Interval(Integral, 6, None)],
    "raise_rows": POSITIVE_INT,
    "time_budget": [None] + POSITIVE,
    "seed": [Interval(Integral, None, None)],
}


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


def load_rbm_file(path):
    """The RBMModel saved at ``path`` (``.keras``); a UserError for a missing, corrupt or
    foreign file."""
    import keras

    import tfrbm
    path = pathlib.Path(path)
    if not path.is_file():
        raise UserError(f"model file not found: {path}")
    tfrbm.register_keras_classes()
    try:
        model = keras.saving.load_model(path)
    except Exception as exc:   # a corrupt or foreign file
        raise UserError(f"cannot load model file {path}: {exc}") from None
    if not hasattr(model, "log_partition"):
        raise UserError(f"{path} does not hold an RBMModel")
    return model


def estimate_likelihood(model, data="mnist", data_dir=None, split="test", runs=100, betas=14500,
                        raise_rows=100, time_budget=600.0, seed=0):
    """Mean log p(v) of ``data``'s ``split`` under ``model``, between RAISE and AIS.

    ``model``: an RBMModel or the path of one saved as ``.keras``. ``runs``: AIS runs;
    ``betas``: intermediate distributions (at least 6, since the doubling check runs betas/2
    first) or "auto"; ``raise_rows``: rows of the split that RAISE runs chains on;
    ``time_budget``: seconds for the "auto" schedule search. Returns a :class:`LikelihoodReport`.
    """
    params = validate_params(dict(data=data, data_dir=data_dir, split=split, runs=runs,
                                  betas=betas, raise_rows=raise_rows, time_budget=time_budget,
                                  seed=seed), _PARAMETER_CONSTRAINTS)
    import warnings

    import numpy as np

    from tfrbm.likelihood import ais
    from tfrbm.data.images import load_images
    from tfrbm.likelihood import sandwich_log_likelihood
    from tfrbm.limits import check_allocation

    if isinstance(model, (str, pathlib.PurePath)):
        model = load_rbm_file(model)
    x_train, _ = load_images(data, split="train", data_dir=data_dir)
    x, _ = load_images(data, split=split, data_dir=data_dir)
    n_visible = model.layer.n_visible
    if x.shape[1] != n_visible:
        raise UserError(f"the model has {n_visible} visible units; {data} has {x.shape[1]}")
    check_allocation(f"{runs:,} AIS runs", 3 * 4 * runs * (x.shape[1] + model.layer.units))
    v = (np.random.default_rng(seed).random(x.shape, dtype=np.float32) < x).astype(np.float32)
    if betas == "auto":
        schedule = {"n_betas": "auto", "time_budget": params["time_budget"]}
    else:   # the convergence check: the same estimate on half the schedule first
        schedule = {"n_betas": "auto", "start_betas": betas // 2, "max_betas": betas,
                    "time_budget": None}
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ais.AISWarning)
        sandwich = sandwich_log_likelihood(model.layer, v, n_runs=runs, base_data=x_train,
                                           raise_rows=min(raise_rows, len(v)), seed=seed,
                                           **schedule)
    metrics = sandwich.to_dict()
    metrics.update(split=split, data=data, seconds=round(time.perf_counter() - start, 1))
    doubling = sandwich.ais.change_on_doubling
    return LikelihoodReport(
        sandwich, metrics,
        warnings=[str(w.message) for w in caught if issubclass(w.category, ais.AISWarning)],
        converged=doubling is None or abs(doubling) < ais.AUTO_TOLERANCE)
