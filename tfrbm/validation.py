"""One validation vocabulary: declared constraints, checked in one place, one error type.

In the style of scikit-learn's ``_parameter_constraints``: a class declares, once, what each
argument may be, as a list of constraints of which one must hold::

    class RBMModel(...):
        _parameter_constraints = {
            "cd_k": [Interval(Integral, 1, None)],
            "hidden_statistics": [Options("probabilities", "states")],
            "sparsity_target": [None, Interval(Real, 0, 1, closed="neither")],
        }
        def __init__(self, cd_k=1, ...):
            params = validate_params({"cd_k": cd_k, ...}, self._parameter_constraints, type(self))

Constraints: :class:`Interval` (integers or reals, open or closed ends; NaN never fits),
:class:`Options` (one of some values), :class:`Instance` (an instance of a type), ``None`` (the
value None) and :class:`Predicate` (any test with a description). A value that fits no
constraint raises :class:`tfrbm.errors.UserError` naming the argument, what it may be and what
it was. :func:`check_param` checks a single argument (the same vocabulary, for function
arguments). Integral values come back as ``int``, real ones as ``float``.
"""
import math
from numbers import Integral, Real

import numpy as np

from tfrbm.errors import UserError

__all__ = ["Interval", "Options", "Instance", "Predicate", "check_param", "validate_params",
           "validate_init",
           "POSITIVE_INT", "NON_NEGATIVE_INT", "STEPS", "NON_NEGATIVE", "POSITIVE", "BOOLEAN", "SIZES",
           "whole_number", "finite_number", "Integral", "Real", "MAX_RATING_LEVELS", "RATING_LEVELS"]


class Interval:
    """Numbers of ``type`` (``Integral`` or ``Real``) between ``left`` and ``right``.

    ``None`` for an end means unbounded; ``closed`` is "both", "left", "right" or "neither".
    Booleans are never numbers here, and NaN and +-Inf lie in no interval.
    """

    def __init__(self, type, left, right, closed="both"):
        if type not in (Integral, Real):
            raise TypeError("Interval type must be numbers.Integral or numbers.Real")
        if closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"closed must be 'both', 'left', 'right' or 'neither', got {closed!r}")
        self.type, self.left, self.right, self.closed = type, left, right, closed

    def accepts(self, value):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, self.type):
            return False
        if self.type is Real and not math.isfinite(float(value)):
            return False
        left_ok = self.left is None or (value >= self.left if self.closed in ("both", "left")
                                        else value > self.left)
        right_ok = self.right is None or (value <= self.right if self.closed in ("both", "right")
                                          else value < self.right)
        return bool(left_ok and right_ok)

    def convert(self, value):
        return int(value) if self.type is Integral else float(value)

    def __str__(self):
        if self.type is Integral and self.right is None and self.closed in ("both", "left"):
            if self.left == 1:
                return "a positive integer"
            if self.left == 0:
                return "a non-negative integer"
        kind = "an integer" if self.type is Integral else "a number"
        if self.left is not None and self.right is None:
            return f"{kind} {'>=' if self.closed in ('both', 'left') else '>'} {self.left}"
        if self.right is not None and self.left is None:
            return f"{kind} {'<=' if self.closed in ('both', 'right') else '<'} {self.right}"
        if self.left is None:
            return f"{kind}"
        lb = "[" if self.closed in ("both", "left") else "("
        rb = "]" if self.closed in ("both", "right") else ")"
        return f"{kind} in {lb}{self.left}, {self.right}{rb}"


class Options:
    """One of the given values (compared with ``==``; strings are case-sensitive)."""

    def __init__(self, *values):
        self.values = values

    def accepts(self, value):
        return any(value is v or (type(value) is type(v) and value == v) for v in self.values)

    def convert(self, value):
        return value

    def __str__(self):
        return "one of " + ", ".join(repr(v) for v in self.values)


class Instance:
    """An instance of ``cls`` (or of one of a tuple of classes)."""

    def __init__(self, cls, description=None):
        self.cls = cls
        self.description = description

    def accepts(self, value):
        return isinstance(value, self.cls)

    def convert(self, value):
        return value

    def __str__(self):
        if self.description:
            return self.description
        classes = self.cls if isinstance(self.cls, tuple) else (self.cls,)
        return "a " + " or ".join(c.__name__ for c in classes)


class Predicate:
    """Any value for which ``test(value)`` is true; ``description`` says what that means."""

    def __init__(self, test, description, convert=None):
        self.test, self.description, self._convert = test, description, convert

    def accepts(self, value):
        try:
            return bool(self.test(value))
        except (TypeError, ValueError):
            return False

    def convert(self, value):
        return value if self._convert is None else self._convert(value)

    def __str__(self):
        return self.description


class _NoneConstraint:
    def accepts(self, value):
        return value is None

    def convert(self, value):
        return None

    def __str__(self):
        return "None"


def _constraint(c):
    return _NoneConstraint() if c is None else c


def _is_sizes(value):
    return (not isinstance(value, (str, bytes, dict)) and len(value) > 0
            and all(isinstance(v, Integral) and not isinstance(v, (bool, np.bool_)) and v >= 1
                    for v in value))


#: the common cases, shared so that every message reads the same
POSITIVE_INT = [Interval(Integral, 1, None)]
NON_NEGATIVE_INT = [Interval(Integral, 0, None)]
POSITIVE = [Interval(Real, 0, None, closed="neither")]
NON_NEGATIVE = [Interval(Real, 0, None)]
#: a count of Gibbs steps: the samplers' loop counters are int32
STEPS = [Interval(Integral, 1, 2**31 - 1)]
#: True or False (numpy booleans too), converted to a Python bool
BOOLEAN = Predicate(lambda v: isinstance(v, (bool, np.bool_)), "True or False", convert=bool)
#: layer sizes: a non-empty sequence of positive integers, converted to a tuple of ints
SIZES = Predicate(_is_sizes, "a non-empty list of positive integers",
                  convert=lambda v: tuple(int(s) for s in v))


def _is_whole(value, low):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        return False
    if not isinstance(value, Integral) and not math.isfinite(value):
        return False
    return int(value) == value and value >= low


def whole_number(low, high=None, why=""):
    """A whole number >= ``low`` (and <= ``high``), integral or float (``100`` or ``100.0``),
    converted to ``int``; ``why`` explains the upper bound in the message.

    Unlike ``Interval(Integral, ...)`` this accepts a float with no fractional part, as the
    recommender classes always have.
    """
    if high is None:
        return Predicate(lambda v: _is_whole(v, low), f"a whole number >= {low}", convert=int)
    return Predicate(lambda v: _is_whole(v, low) and v <= high,
                     f"a whole number from {low} to {high}{why}", convert=int)


#: rating matrices are uint8 (0 = missing): K levels 1..K fit when K <= 255
MAX_RATING_LEVELS = 255
#: the constraint on ``n_levels`` of every ratings model
RATING_LEVELS = whole_number(2, MAX_RATING_LEVELS, " (ratings are stored as 8-bit levels)")


def finite_number(low=None, high=None, low_open=False):
    """A number (not a string or a bool) that ``float()`` turns into a finite number within
    the bounds, converted to ``float``.

    ``low`` is inclusive unless ``low_open``; ``high`` is inclusive.
    """
    def test(value):
        if isinstance(value, (str, bytes, bool, np.bool_)):
            return False   # "0.1" is a typo for 0.1 (or a config read as text): say so
        try:
            v = float(value)
        except (OverflowError, TypeError, ValueError):
            return False
        return (math.isfinite(v) and (low is None or (v > low if low_open else v >= low))
                and (high is None or v <= high))
    bound = (f" > {low}" if low_open else f" >= {low}") if low is not None else ""
    bound += f" and <= {high}" if high is not None else ""
    return Predicate(test, f"a finite number{bound}", convert=float)


def check_param(name, value, constraints):
    """``value`` (converted) if it fits one of ``constraints``, else a :class:`UserError`.

    ``constraints`` is a list (or a single constraint); numpy integer and float scalars count as
    integers and reals.
    """
    if not isinstance(constraints, (list, tuple)):
        constraints = [constraints]
    constraints = [_constraint(c) for c in constraints]
    for c in constraints:
        if c.accepts(value):
            return c.convert(value)
    allowed = " or ".join(str(c) for c in constraints)
    raise UserError(f"{name} must be {allowed}, got {value!r}")


def validate_params(params, constraints, owner=None):
    """Check every entry of ``params`` against ``constraints[name]``; return the converted dict.

    A parameter without a declared constraint is a programming error (``KeyError``), so a
    class's declaration stays complete.
    """
    where = f"{owner.__name__}: " if owner is not None else ""
    out = {}
    for name, value in params.items():
        try:
            out[name] = check_param(name, value, constraints[name])
        except UserError as exc:
            raise UserError(where + str(exc)) from None
    return out


def validate_init(owner, params, required=None):
    """A constructor's check: ``params`` against ``type(owner)._parameter_constraints``
    (:func:`validate_params`, errors prefixed with the class name); returns the converted dict.

    ``required``: ``(name, what)`` of an argument that has no usable default: None there is a
    UserError ``"{class} needs {what}"`` (``("layer", "an RBMLayer, e.g. RBMModel(RBMLayer(500))")``).
    """
    cls = type(owner)
    if required is not None and params[required[0]] is None:
        raise UserError(f"{cls.__name__} needs {required[1]}")
    return validate_params(params, cls._parameter_constraints, cls)
