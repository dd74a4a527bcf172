"""One trace per model: why a process that fits many tfrbm models sees no retracing warning.

TensorFlow's "N out of the last M calls to <function ...> triggered tf.function retracing"
warning counts traces per *Python code object*, not per function. Keras builds each model's
train, test and predict functions from the same code (``multi_step_on_iterator``,
``multi_step_on_data``), so the first trace of every new model counts as a retrace of the one
before: after about five models (a loop of fits, a GridSearchCV, a tuner) TensorFlow warns,
although each model traces its functions once per input signature, as meant.

:class:`OneTracePerModel` marks the tf.functions Keras makes for a tfrbm model as exempt from
that cross-model count (``_omit_frequent_tracing_warning``, TensorFlow's own switch, which
tfrbm's cached inference functions use too). A model that really retraced would still do the
work: ``tests/test_quiet_fits.py`` pins that one model's repeated fits, evaluations and
predictions trace each function once.
"""
import tensorflow as tf

from tfrbm import _compat

__all__ = ["OneTracePerModel", "mark_traced_once", "cached_function"]


def mark_traced_once(fn):
    """Exempt the tf.functions inside ``fn`` from TensorFlow's cross-model retracing count."""
    for function in _compat.traced_functions(fn):
        function._omit_frequent_tracing_warning = True
    return fn


def cached_function(cache, key, python_fn):
    """``cache[key]``, made on first use: ``tf.function(python_fn, reduce_retracing=True)``
    marked by :func:`mark_traced_once` (a model's inference verbs: one trace per model and
    input signature)."""
    fn = cache.get(key)
    if fn is None:
        fn = cache[key] = mark_traced_once(tf.function(python_fn, reduce_retracing=True))
    return fn


class OneTracePerModel:
    """Keras model mixin: the train/test/predict functions Keras makes are marked by
    :func:`mark_traced_once` (list it before ``keras.Model`` in the bases)."""

    def make_train_function(self, force=False):
        fn = super().make_train_function(force=force)
        return mark_traced_once(fn if fn is not None else self.train_function)

    def make_test_function(self, force=False):
        fn = super().make_test_function(force=force)
        return mark_traced_once(fn if fn is not None else self.test_function)

    def make_predict_function(self, force=False):
        fn = super().make_predict_function(force=force)
        return mark_traced_once(fn if fn is not None else self.predict_function)
