"""What every pipeline's config shares: :class:`PipelineConfig`, the base of the frozen config
dataclasses (:class:`~tfrbm.pipelines.dbn.DBNTrainingConfig`,
:class:`~tfrbm.pipelines.likelihood.LikelihoodConfig`, ...).

A config declares its fields with their defaults and a ``_parameter_constraints`` table (the
vocabulary of :mod:`tfrbm.validation`); creating one checks every field against it (a
:class:`~tfrbm.errors.UserError` naming the field) and stores the converted values, then runs
the config's :meth:`~PipelineConfig.check` for rules that tie fields together. A pipeline takes
``config=None, **settings`` and calls :meth:`PipelineConfig.resolve`. No TensorFlow here.
"""
import dataclasses
import math
import pathlib

from tfrbm.errors import UserError
from tfrbm.validation import POSITIVE, POSITIVE_INT, Instance, Integral, Interval, Options, validate_params

__all__ = ["PipelineConfig", "check_digits_holdout", "DATA_DIR", "SEED", "IMAGE_DATA",
           "DIGITS_HOLDOUT", "FINETUNE", "resolve_finetune_epochs"]

#: constraints the configs share: a data folder, a seed
DATA_DIR = [None, Instance((str, pathlib.PurePath), "a path")]
SEED = [Interval(Integral, None, None)]
#: an image data set and its folder
IMAGE_DATA = {"data": [Options("digits", "mnist", "fashion_mnist")], "data_dir": DATA_DIR}
#: the digits' two test splits (:func:`check_digits_holdout`)
DIGITS_HOLDOUT = {"holdout": [None, Options("stratified", "last")]}
#: a classifier fine-tuned from a deep model: epochs (None: about ``finetune_updates``), Adam rate
FINETUNE = {"finetune_epochs": [None] + POSITIVE_INT, "finetune_lr": POSITIVE,
            "finetune_updates": POSITIVE_INT}


class PipelineConfig:
    """Base of the pipelines' frozen config dataclasses (see the module docstring)."""

    _parameter_constraints = {}

    def __post_init__(self):
        checked = validate_params(dataclasses.asdict(self), self._parameter_constraints, type(self))
        for name, value in checked.items():
            object.__setattr__(self, name, value)
        self.check()

    def check(self):
        """Rules between fields, after each field's own check (none by default)."""

    def set_checked(self, name, value):
        """Store a field's normalised value (the dataclass is frozen); for :meth:`check`."""
        object.__setattr__(self, name, value)

    @classmethod
    def resolve(cls, config=None, **settings):
        """``config`` (default: the defaults) with keyword ``settings`` replacing single fields."""
        return dataclasses.replace(config or cls(), **settings)


def resolve_finetune_epochs(config, steps_per_epoch):
    """``config.finetune_epochs``, or (None) enough epochs for about ``config.finetune_updates``
    updates at ``steps_per_epoch`` (at least one)."""
    if config.finetune_epochs is not None:
        return config.finetune_epochs
    return max(1, math.ceil(config.finetune_updates / steps_per_epoch))


def check_digits_holdout(config):
    """The digits' two test splits (``holdout``) exist for the digits only."""
    if config.holdout is not None and config.data != "digits":
        raise UserError(f"holdout={config.holdout!r} applies to the digits only; {config.data} "
                        "has one official test split")
