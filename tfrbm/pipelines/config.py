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

from tfrbm.errors import UserError
from tfrbm.validation import validate_params

__all__ = ["PipelineConfig", "check_digits_holdout"]


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


def check_digits_holdout(config):
    """The digits' two test splits (``holdout``) exist for the digits only."""
    if config.holdout is not None and config.data != "digits":
        raise UserError(f"holdout={config.holdout!r} applies to the digits only; {config.data} "
                        "has one official test split")
