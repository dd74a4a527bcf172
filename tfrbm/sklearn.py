"""scikit-learn estimators: RBM and DBN feature extractors for ``Pipeline`` and ``GridSearchCV``.

    from sklearn.pipeline import make_pipeline
    from sklearn.linear_model import LogisticRegression
    from tfrbm.sklearn import RBMTransformer
    clf = make_pipeline(RBMTransformer(n_components=256, random_state=0), LogisticRegression())
    clf.fit(x_train, y_train).score(x_test, y_test)

:class:`RBMTransformer` trains an :class:`tfrbm.RBMModel` by CD-k (or PCD-k) through ``fit``
and maps rows to the hidden probabilities p(h = 1 | v) = sigmoid(v W + c); :class:`DBNTransformer`
pre-trains a :class:`tfrbm.DBNModel` greedily and maps rows to its top layer's mean-field
features. Both are ordinary scikit-learn estimators: constructor arguments are their parameters
(``get_params``/``set_params``, ``clone``), fitted state ends in ``_``, and they accept numpy
arrays, pandas DataFrames (column names are remembered) and scipy sparse matrices (densified one
fit at a time: an RBM's visible layer is dense). ``random_state`` seeds the weights, the Gibbs
noise and the batch order, so a fit is reproducible.

Input range: Bernoulli visible units (default) need values in [0, 1] (binary data or
intensities); ``visible="gaussian"`` takes any real values (standardise them first). The
estimator tags declare the lower bound (``input_tags.positive_only``, the range tag
scikit-learn has); values above 1 get the same clear error as negative ones.

The transformers have scikit-learn's output API: ``get_feature_names_out`` (``rbmtransformer0``,
``rbmtransformer1``, ...) and ``set_output`` (``Pipeline.set_output(transform="pandas")``).
:class:`RBMTransformer` also has ``partial_fit`` and ``gibbs``, as ``BernoulliRBM``.

The fitted Keras model is ``model_``; it pickles (Keras saves it in its ``.keras`` format).
"""
import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, check_non_negative, validate_data

from tfrbm.validation import (POSITIVE, POSITIVE_INT, SIZES, Integral, Interval, Real, check_param,
                              validate_params)

__all__ = ["RBMTransformer", "DBNTransformer"]


def _seed(random_state):
    """An int seed from ``random_state`` (None stays None: fresh randomness)."""
    if random_state is None:
        return None
    if isinstance(random_state, numbers.Integral):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _store_params(estimator, arguments):
    """Store each constructor argument, unchanged, as the attribute of the same name
    (scikit-learn's rule for ``__init__``; the checks wait for ``fit``). ``arguments`` is the
    constructor's ``locals()``."""
    for name, value in arguments.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


#: what ``fit`` checks of the constructor arguments both transformers share (scikit-learn's rule
#: leaves ``__init__`` unchecked); the unit and model classes check the rest
_SHARED_CONSTRAINTS = {
    "n_iter": POSITIVE_INT,
    "batch_size": POSITIVE_INT,
    "cd_k": POSITIVE_INT,
    "learning_rate": POSITIVE,
    "momentum": [Interval(Real, 0, 1, closed="left")],
}


def _check_params(est):
    """The shared arguments of ``est``, checked (:mod:`tfrbm.validation`): never truncated
    (``n_components=2.5`` is refused, not made 2) and an integer ``random_state`` within the
    seeds NumPy takes (a ``RandomState`` or None is scikit-learn's to use)."""
    params = {name: getattr(est, name) for name in _SHARED_CONSTRAINTS}
    constraints = dict(_SHARED_CONSTRAINTS)
    if hasattr(est, "n_components"):
        params["n_components"], constraints["n_components"] = est.n_components, POSITIVE_INT
    if isinstance(est.random_state, numbers.Integral):
        params["random_state"] = est.random_state
        constraints["random_state"] = [Interval(Integral, 0, 2**32 - 1)]
    return validate_params(params, constraints, type(est))


def _dense(X):
    """Validated input as float32 numpy (sparse matrices are densified here)."""
    X = X.toarray() if hasattr(X, "toarray") else X
    return np.asarray(X, dtype=np.float32)


#: standard deviation of the initial weights: a number, or "fan_in" for 1 / sqrt(visible units)
#: (the default: 0.125 for 8x8 digits, 0.036 for MNIST; 0.01 left short fits on a symmetric
#: plateau, see RBMTransformer)
INIT_STD = "fan_in"


def _initializer(n_visible, seed):
    import keras
    std = INIT_STD if INIT_STD != "fan_in" else 1.0 / np.sqrt(n_visible)
    return keras.initializers.RandomNormal(stddev=float(std), seed=seed)


def _output(features, X):
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    return np.asarray(features, dtype=dtype)


class _KerasEstimator(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Shared input handling, tags, output names and optimizer of the two transformers."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        # Bernoulli visible units take [0, 1]; scikit-learn's tags can state the lower bound
        tags.input_tags.positive_only = self.visible == "bernoulli"
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.non_deterministic = self.random_state is None
        return tags

    def get_feature_names_out(self, input_features=None):
        """Output feature names: the lower-cased class name and the unit's index."""
        check_is_fitted(self)
        return super().get_feature_names_out(input_features)

    def _validate(self, X, reset):
        X = validate_data(self, X, accept_sparse=("csr", "csc", "coo"), reset=reset,
                          dtype=(np.float64, np.float32), ensure_min_samples=1)
        if self.visible == "bernoulli":     # scikit-learn's wording for positive_only estimators
            check_non_negative(X, f"{type(self).__name__} (Bernoulli visible units take [0, 1])")
        return X

    def _optimizer(self):
        import keras
        return keras.optimizers.SGD(learning_rate=float(self.learning_rate),
                                    momentum=float(self.momentum))


class RBMTransformer(_KerasEstimator):
    """A restricted Boltzmann machine as a scikit-learn transformer (CD-k or PCD-k training).

    Args:
        n_components: number of hidden units.
        learning_rate, momentum: of the SGD optimizer.
        batch_size: examples per CD update.
        n_iter: training epochs.
        cd_k: Gibbs steps per update.
        persistent: persistent CD (PCD; scikit-learn's BernoulliRBM uses PCD-1).
        weight_decay: L2 coefficient on the weights.
        visible: "bernoulli" (values in [0, 1]) or "gaussian" (any real values).
        hidden_units: the hidden unit family: "bernoulli" (default; features p(h = 1 | v)),
            "gaussian" or "relu" (stepped-sigmoid rectified units; features E[h | v]).
        random_state: seed (int, RandomState or None) of weights, Gibbs noise and batch order.
        verbose: 0 silent, 1 Keras' progress bar, 2 one line per epoch.

    The defaults (CD-1, 10 epochs of batches of 20, SGD 0.2 with momentum 0.5, initial weights
    of standard deviation 1 / sqrt(n_features)) give features that a linear classifier uses
    well: measured on scikit-learn's digits (first 1,500 rows to train, the other 297 to test,
    + ``LogisticRegression(max_iter=1000)``), test accuracy 0.872, 0.869, 0.869 for
    random_state 0, 1, 2, against 0.818, 0.825, 0.815 for ``BernoulliRBM`` at its defaults.
    Fewer updates starve the features: batch 100 at rate 0.05 (150 updates) gave 0.764; rate
    0.5 at batch 50 diverged (0.16). Initial weights of 0.01 (BernoulliRBM's) left short fits
    on a symmetric plateau (16 hidden units, 16 updates on 150 digits: every unit alike, a
    pipeline score of 0.28; 0.85 with the fan-in scale). See benchmarks/RESULTS.md (issue 17).

    ``fit`` trains with :meth:`tfrbm.RBMModel.fit_in_memory` (the CD step of ``RBMModel.fit``,
    each epoch one compiled loop over the batches, no tf.data pipeline or callbacks).

    Attributes:
        model_: the trained :class:`tfrbm.RBMModel`.
        components_: weights, shape (n_components, n_features) (scikit-learn's layout).
        intercept_hidden_, intercept_visible_: the biases.
        n_features_in_, feature_names_in_: as in every scikit-learn estimator.
    """

    def __init__(self, n_components=256, *, learning_rate=0.2, batch_size=20, n_iter=10,
                 cd_k=1, persistent=False, momentum=0.5, weight_decay=0.0, visible="bernoulli",
                 random_state=None, verbose=0, hidden_units="bernoulli"):
        _store_params(self, locals())

    def fit(self, X, y=None):
        """Train the RBM on the rows of ``X`` (``y`` is ignored)."""
        _check_params(self)
        X = _dense(self._validate(X, reset=True))
        self._new_model(X)
        self.model_.fit_in_memory(X, epochs=int(self.n_iter), batch_size=int(self.batch_size),
                                  verbose=self.verbose)
        return self

    def partial_fit(self, X, y=None):
        """One epoch over the rows of ``X`` (batches of ``batch_size``; one CD update when ``X``
        has at most ``batch_size`` rows, as ``BernoulliRBM.partial_fit``), continuing from the
        current weights, optimizer state and chains; the first call builds the RBM."""
        first = not hasattr(self, "model_")
        if first:
            _check_params(self)
        X = _dense(self._validate(X, reset=first))
        if first:
            self._new_model(X)
        self.model_.fit_in_memory(X, epochs=1, batch_size=int(self.batch_size),
                                  verbose=self.verbose)
        return self

    def _new_model(self, X):
        from tfrbm.layers import RBMLayer
        from tfrbm.models.rbm import RBMModel
        seed = _seed(self.random_state)
        layer = RBMLayer(int(self.n_components), visible=self.visible, hidden=self.hidden_units,
                         kernel_initializer=_initializer(X.shape[1], seed))
        model = RBMModel(layer, cd_k=self.cd_k, persistent=self.persistent,
                         n_chains=min(int(self.batch_size), 100) if self.persistent else 100,
                         weight_decay=self.weight_decay, seed=seed,
                         centering=False)   # the measured recipe of the docstring: plain CD
        model.compile(optimizer=self._optimizer())
        self.model_ = model
        self.random_state_ = check_random_state(self.random_state)

    @property
    def _n_features_out(self):
        return int(self.n_components)

    def gibbs(self, v):
        """One Gibbs step from the rows ``v``: h ~ p(h | v), then a sample v' ~ p(v | h),
        as ``BernoulliRBM.gibbs`` (each call draws new noise from ``random_state_``)."""
        check_is_fitted(self)
        v = self._validate(v, reset=False)
        seed = int(self.random_state_.randint(np.iinfo(np.int32).max))
        return _output(self.model_.gibbs(_dense(v), 1, sample=True, seed=seed), v)

    @property
    def components_(self):
        check_is_fitted(self)
        return self.model_.layer.kernel.numpy().T

    @property
    def intercept_hidden_(self):
        check_is_fitted(self)
        return self.model_.layer.hidden_bias.numpy()

    @property
    def intercept_visible_(self):
        check_is_fitted(self)
        return self.model_.layer.visible_bias.numpy()

    def transform(self, X):
        """p(h = 1 | v) for each row of ``X``, shape (n_samples, n_components)."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return _output(self.model_.hidden_probs(_dense(X)), X)

    def score_samples(self, X):
        """Per-row score, higher = more like the training data.

        Bernoulli visible units: the pseudo-log-likelihood, as scikit-learn's BernoulliRBM
        computes it (one random unit flipped per row, n_features * log sigmoid(F(v~) - F(v))),
        with flips drawn from ``random_state``. Gaussian visible units: -F(v), the unnormalised
        log-probability (log Z is the same for every row).
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        v = _dense(X)
        if self.model_.layer.visible_units.name == "bernoulli":
            from tfrbm.monitors import pseudo_log_likelihood
            seed = _seed(self.random_state)
            return _output(pseudo_log_likelihood(self.model_, v, seed=seed), X)
        return _output(-self.model_.free_energy(v), X)


class DBNTransformer(_KerasEstimator):
    """A deep belief network, pre-trained greedily, as a scikit-learn transformer.

    Args:
        hidden_layer_sizes: hidden units of each RBM, bottom to top.
        learning_rate, momentum, batch_size, n_iter, cd_k, persistent, weight_decay: the
            training settings of every layer (``n_iter`` epochs per layer).
        visible: visible units of the bottom RBM ("bernoulli" or "gaussian").
        hidden_units: the hidden unit family of the top RBM: "bernoulli" (default), "gaussian"
            or "relu" (features E[h | v]); the layers below it keep Bernoulli hidden units,
            whose probabilities the layer above reads (:class:`tfrbm.DBNModel`).
        random_state, verbose: as for :class:`RBMTransformer`.

    ``transform`` gives the top layer's mean-field features, p(h | v) of the top RBM for the
    layers' probabilities below. A DBN has no tractable per-row likelihood, so there is no
    ``score_samples``: use an :class:`RBMTransformer` for scores.

    The defaults are those of :class:`RBMTransformer` with 20 epochs per layer (each layer
    trains on the probabilities of the one below, by :meth:`tfrbm.DBNModel.fit_in_memory`).
    Measured on the digits split of :class:`RBMTransformer`, (256, 128): test accuracy 0.835,
    0.825, 0.842 for random_state 0, 1, 2 (BernoulliRBM: 0.818, 0.825, 0.815); with 10 epochs
    0.805 for each seed; (256, 256) 0.778-0.798, (512, 256) 0.687-0.788, rate 0.1 0.764-0.781.

    Attributes:
        model_: the pre-trained :class:`tfrbm.DBNModel`.
        n_features_in_, feature_names_in_.
    """

    def __init__(self, hidden_layer_sizes=(256, 128), *, learning_rate=0.2, batch_size=20,
                 n_iter=20, cd_k=1, persistent=False, momentum=0.5, weight_decay=0.0,
                 visible="bernoulli", random_state=None, verbose=0, hidden_units="bernoulli"):
        _store_params(self, locals())

    def fit(self, X, y=None):
        """Pre-train every layer on the rows of ``X`` (``y`` is ignored)."""
        from tfrbm.layers import RBMLayer
        from tfrbm.models.dbn import DBNModel
        _check_params(self)
        sizes = check_param("hidden_layer_sizes", self.hidden_layer_sizes, POSITIVE_INT + [SIZES])
        sizes = (sizes,) if isinstance(sizes, int) else sizes
        X = _dense(self._validate(X, reset=True))
        seed = _seed(self.random_state)
        layers, n_in = [], X.shape[1]
        for i, n in enumerate(sizes):
            init = _initializer(n_in, None if seed is None else seed + 7919 * i)
            layers.append(RBMLayer(int(n), visible=self.visible if i == 0 else "bernoulli",
                                   hidden=self.hidden_units if i == len(sizes) - 1 else "bernoulli",
                                   kernel_initializer=init, name=f"rbm_{i + 1}"))
            n_in = int(n)
        options = {"cd_k": int(self.cd_k), "persistent": bool(self.persistent),
                   "weight_decay": float(self.weight_decay)}
        if self.persistent:
            options["n_chains"] = min(int(self.batch_size), 100)
        model = DBNModel(layers, seed=seed, layer_options=[dict(options) for _ in sizes])
        model.compile(optimizer=self._optimizer())
        model.fit_in_memory(X, epochs=int(self.n_iter), batch_size=int(self.batch_size),
                            verbose=self.verbose)
        self.model_ = model
        return self

    @property
    def _n_features_out(self):
        sizes = self.hidden_layer_sizes
        return int(sizes if isinstance(sizes, numbers.Integral) else sizes[-1])

    def transform(self, X):
        """The top layer's mean-field features for each row of ``X``."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return _output(self.model_.transform(_dense(X)), X)
