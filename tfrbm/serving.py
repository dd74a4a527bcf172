"""Serving endpoints: each model declares what it serves; :mod:`tfrbm.export` only writes it.

A model that can be exported has a method ``serving_endpoints()`` that returns
:class:`Endpoints`: the Keras layer or model that owns the variables, and an ordered list of
(name, function, input signature). The first endpoint is also ``serving_default``. The functions
are built from the same step methods the model's Python verbs call (``RBMModel.daydream`` and
the ``sample`` signature both call ``RBMModel._fantasize``), so the math and the seed layout live
in one place. Serving inputs are checked inside the graph with ``tf.debugging`` asserts (the
helpers below), because a SavedModel has no Python to refuse a mask of 7 or ``steps=-5``.

Keras models without ``serving_endpoints`` (the DBN's classifier, the CNN, the autoencoders)
get :func:`keras_model_endpoints`: ``predict(inputs) -> probabilities``. The mixin that gives a
model its ``export`` method is :class:`tfrbm.export.ServingMixin` (above this module: it calls the
writer).
"""
import tensorflow as tf

from tfrbm.errors import ExportError

__all__ = ["Endpoints", "endpoints_of", "keras_model_endpoints", "spec",
           "require_built", "check_at_least", "check_binary", "check_finite", "check_range"]


class Endpoints:
    """What a model serves: ``owner`` (tracked for its variables) and named, typed functions.

    ``endpoints`` is a list of ``(name, function, input_signature)``; each function takes the
    signature's tensors and returns a dict of named output tensors.
    """

    def __init__(self, owner, endpoints):
        if not endpoints:
            raise ExportError("a model must serve at least one endpoint")
        self.owner = owner
        self.endpoints = [(str(name), fn, list(signature)) for name, fn, signature in endpoints]

    @property
    def names(self):
        """Signature keys of the export, ``serving_default`` first."""
        return ["serving_default"] + [name for name, _, _ in self.endpoints]

    def __iter__(self):
        return iter(self.endpoints)


def spec(shape, dtype, name):
    """A named ``tf.TensorSpec`` (the name is the signature's input key)."""
    return tf.TensorSpec(shape, dtype, name=name)


def require_built(built, what):
    """Raise :class:`ExportError` unless the model is built."""
    if not built:
        raise ExportError(f"the {what} is not built yet: fit it (or build it) first")


# ------------------------------------------------------------------ in-graph input checks
def check_finite(x, name):
    """``x`` with a graph assert that every value is finite (floating inputs only)."""
    if not x.dtype.is_floating:
        return x
    with tf.control_dependencies([tf.debugging.assert_all_finite(
            x, f"{name} must be finite (got NaN or Inf)")]):
        return tf.identity(x)


def check_range(x, low, high, name):
    """``x`` with graph asserts that it is finite and every value lies in [low, high]."""
    x = check_finite(x, name)
    low_t, high_t = tf.cast(low, x.dtype), tf.cast(high, x.dtype)
    checks = [tf.debugging.assert_greater_equal(x, low_t, message=f"{name} must be >= {low}"),
              tf.debugging.assert_less_equal(x, high_t, message=f"{name} must be <= {high}")]
    with tf.control_dependencies(checks):
        return tf.identity(x)


def check_binary(x, name):
    """``x`` with a graph assert that every value is exactly 0 or 1 (a mask)."""
    ok = tf.reduce_all(tf.logical_or(tf.equal(x, 0), tf.equal(x, 1)))
    with tf.control_dependencies([tf.debugging.Assert(
            ok, [f"{name} must contain only 0 and 1"])]):
        return tf.identity(x)


def check_at_least(x, minimum, name):
    """Scalar ``x`` with a graph assert that it is >= ``minimum``."""
    with tf.control_dependencies([tf.debugging.assert_greater_equal(
            x, tf.cast(minimum, x.dtype), message=f"{name} must be >= {minimum}")]):
        return tf.identity(x)


# ------------------------------------------------------------------ defaults and lookup
def keras_model_endpoints(model):
    """``predict(inputs) -> probabilities`` for a single-input Keras model (finite inputs)."""
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise ExportError(f"{type(model).__name__} has no known input shape: build or fit it "
                          "first, or give it a serving_endpoints() method")
    if len(inputs) != 1:
        raise ExportError("only single-input Keras models can be exported")
    shape, dtype = tuple(inputs[0].shape), tf.as_dtype(inputs[0].dtype)
    signature = [spec((None,) + shape[1:], dtype, "inputs")]

    def predict(inputs):
        out = model(check_finite(inputs, "inputs"), training=False)
        return {"probabilities": tf.cast(out, tf.float32)}

    return Endpoints(model, [("predict", predict, signature)])


def endpoints_of(model):
    """``model.serving_endpoints()``, or the plain Keras default for a Keras model without one."""
    provider = getattr(model, "serving_endpoints", None)
    if provider is not None:
        endpoints = provider()
    elif callable(model) and hasattr(model, "inputs") and hasattr(model, "variables"):
        endpoints = keras_model_endpoints(model)
    else:
        raise ExportError(f"cannot export a {type(model).__name__}: it has no serving_endpoints() "
                          "method and is not a Keras model")
    if not isinstance(endpoints, Endpoints):
        raise ExportError(f"{type(model).__name__}.serving_endpoints() must return "
                          f"tfrbm.serving.Endpoints, got {type(endpoints).__name__}")
    return endpoints
