"""Anomaly scores of energy-based models: higher means more anomalous.

A likelihood model is a poor novelty detector on its own: images with little ink (or, in
general, low complexity) get a high likelihood whatever they show, so an RBM trained on the
digits 0-8 gives the held-out 9s a *lower* free energy than the training digits (Nalisnick et
al. 2019, "Do deep generative models know what they don't know?"). The scores here correct for
that in different ways. Every one is a function of the free energy F(v) (log p(v) = -F(v) -
log Z; log Z is one constant per model, so it drops out of every ranking) and of a summary of the
training data that the model keeps (:class:`AnomalyReference`).

Scores of an unlabelled RBM (:meth:`tfrbm.models.rbm.RBMModel.anomaly_scores`):

``"free_energy"``: F(v). Catches inputs unlike anything the model has seen (noise, another data
    set: AUROC 1.00 on MNIST vs noise or Fashion-MNIST), fails on novelty that resembles the
    data (below chance for held-out digit classes: benchmarks/RESULTS.md, issue 35).
``"ratio"``: F(v) + log p_0(v), the likelihood ratio log p_0(v) - log p(v) (+ log Z) against a
    background model p_0 (Ren et al. 2019, "Likelihood ratios for out-of-distribution
    detection"). The background is the independent-pixel (base-rate) model fitted to the
    training data at the first ``fit`` (the model's ``base_rate_bias``): log p_0(v) =
    -e(v; b_0) - log sum_v exp(-e(v; b_0)), e the visible units' energy term. The pixel model
    explains the population statistics (ink, stroke width) that dominate the likelihood, so the
    ratio keeps what the RBM's hidden units add: the shapes. Helps most where the novelty has
    ordinary pixel statistics.
``"complexity"``: F(v) / ln 2 - L(v), the negative log-likelihood in bits minus the input's
    complexity L(v), its zlib compression length in bits (Serrà et al. 2020, "Input complexity
    and out-of-distribution detection with likelihood-based generative models"). The
    compressor is a universal background model; needs no summary. Helps where the novelty is
    simpler or more complex than the data (it is near chance on held-out digits, whose
    complexity matches the rest); binary visible units only.
``"typicality"``: |mean F(batch) - E_train F| / (sd_train F / sqrt(M)), the typicality test of
    Nalisnick et al. 2019 ("Detecting out-of-distribution inputs to deep generative models using
    typicality") on consecutive batches of M = ``batch_size`` rows; every row gets its batch's
    statistic. It flags a batch whose mean free energy is *atypical* in either direction, so it
    catches the too-likely inputs that "free_energy" scores as normal; it needs batches drawn
    from one source (M = 1 is a per-row two-sided test, weak on held-out digits).

Scores of a labelled model (:meth:`tfrbm.models.dbn.DBNModel.anomaly_scores`: a DBN, or a
one-layer DBN, i.e. a labelled RBM, whose top RBM models [features | one-hot label]); from the
class-conditional free energies F_k = F([f(v), e_k]):

``"entropy"``: the entropy of p(k | v) = softmax(-F_k): high when no class explains the input.
``"guarded_entropy"``: the entropy, plus max(0, z - 3), where z = (F(v) - mean) / sd is the
    z-score of the label-marginal free energy F(v) = -log sum_k exp(-F_k) against the training
    data's (the model's :class:`AnomalyReference`). The entropy alone misses inputs far from
    every class (noise can be confidently "a 1"); the guard adds their distance and leaves the
    typical inputs (z < 3) to the entropy.
``"margin"``: -(F_(2) - F_(1)), the (negated) gap between the best and second-best class, i.e.
    -log p(k_1 | v) / p(k_2 | v).
``"class_free_energy"``: min_k F_k, the best class-conditional free energy (a likelihood score,
    with its complexity bias).
Held-out digit classes look like two known classes at once (a 9 is half 4, half 7), so the
class posterior is uncertain for them: the label-aware scores are the ones that find held-out
classes (benchmarks/RESULTS.md, issue 35).

:func:`fpr_threshold` turns scores of held-out normal data into a threshold at a chosen
false-positive rate and :func:`binomial_interval` gives the interval its realized rate should
fall in.
"""
import dataclasses
import math
import zlib
from statistics import NormalDist

import numpy as np

from tfrbm.errors import UserError

__all__ = ["METHODS", "LABEL_METHODS", "AUTO_METHOD", "AUTO_METHOD_REAL", "AUTO_LABEL_METHOD", "AnomalyReference",
           "AnomalyReferenceMixin", "background_log_prob", "complexity_bits", "unlabelled_scores",
           "label_scores", "marginal_free_energy", "resolve_method", "GUARD_Z", "fpr_threshold", "binomial_interval"]

#: methods of an unlabelled RBM, in the order the benchmark reports them
METHODS = ("free_energy", "ratio", "complexity", "typicality")
#: methods of a labelled model
LABEL_METHODS = ("guarded_entropy", "entropy", "margin", "class_free_energy")
#: what ``method="auto"`` means for an unlabelled RBM (leave-one-class-out on MNIST,
#: benchmarks/RESULTS.md, issue 35): no unlabelled score finds held-out digits well; "complexity"
#: has the best worst class (0.43 and 0.40 at 200 and 500 hidden units, against the free
#: energy's 0.09 and 0.14) at a mean 0.005 and 0.022 below the free energy's (one seed each)
AUTO_METHOD = "complexity"
#: "auto" for real-valued visible units, which "complexity" cannot compress
AUTO_METHOD_REAL = "free_energy"
#: "auto" for a labelled model: the best mean leave-one-class-out AUROC on MNIST (0.886, 95%
#: interval [0.878, 0.895] over three seeds at 500 hidden units) and the only labelled score
#: that keeps noise and Fashion-MNIST at >= 0.99
AUTO_LABEL_METHOD = "guarded_entropy"
#: the guard of "guarded_entropy": free-energy z-scores above it add to the entropy
GUARD_Z = 3.0


@dataclasses.dataclass(frozen=True)
class AnomalyReference:
    """What a model keeps of its training data for the anomaly scores (saved in its config).

    free_energy_mean, free_energy_std: mean and standard deviation of the free energy over
    ``rows`` training rows, measured at the end of ``fit``: F(v) of an RBM (the typicality test's
    reference), the label-marginal free energy of a labelled DBN (the guard of
    "guarded_entropy").
    """
    free_energy_mean: float
    free_energy_std: float
    rows: int

    @classmethod
    def from_free_energies(cls, free_energy):
        f = np.asarray(free_energy, dtype=np.float64)
        if f.ndim != 1 or len(f) < 2 or not np.isfinite(f).all():
            raise UserError("the anomaly reference needs the finite free energies of at least 2 "
                            f"training rows, got shape {f.shape}")
        return cls(float(f.mean()), float(f.std(ddof=1)), int(len(f)))

    def to_config(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_config(cls, config):
        if config is None or isinstance(config, cls):
            return config
        try:
            return cls(float(config["free_energy_mean"]), float(config["free_energy_std"]),
                       int(config["rows"]))
        except (TypeError, KeyError, ValueError):
            raise UserError(f"anomaly_reference must be a dict with free_energy_mean, "
                            f"free_energy_std and rows, got {config!r}") from None


class AnomalyReferenceMixin:
    """Keeps a model's :class:`AnomalyReference` as ``anomaly_reference`` and in its config, so
    it survives ``.keras`` round trips (None until the model is fitted)."""

    def __init__(self, *args, anomaly_reference=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.anomaly_reference = AnomalyReference.from_config(anomaly_reference)

    def get_config(self):
        config = super().get_config()
        ref = getattr(self, "anomaly_reference", None)
        config["anomaly_reference"] = None if ref is None else ref.to_config()
        return config


def resolve_method(method, allowed, auto):
    """``method`` checked against ``allowed`` ("auto" -> ``auto``); UserError otherwise."""
    if method == "auto":
        return auto
    if not isinstance(method, str) or method not in allowed:
        raise UserError(f"unknown anomaly method {method!r}; use 'auto' or one of "
                        f"{', '.join(map(repr, allowed))}")
    return method


def background_log_prob(units, bias, v):
    """log p_0(v) of the independent-unit (base-rate) model with visible biases ``bias``:
    -e(v; b) - log_marginal(0; b), one value per row (float64 numpy)."""
    v = np.asarray(v, dtype=np.float32)
    bias = np.asarray(bias, dtype=np.float32)
    log_z = units.log_marginal(np.zeros_like(bias), bias)
    return np.asarray(-units.energy_term(v, bias) - log_z, dtype=np.float64)


def complexity_bits(v):
    """L(v): each row's length in bits when its binary states (rounded at 0.5, packed 8 to a
    byte) are compressed by zlib at level 9."""
    v = np.asarray(v)
    packed = np.packbits(v > 0.5, axis=1)
    return np.array([8.0 * len(zlib.compress(row.tobytes(), 9)) for row in packed])


def unlabelled_scores(method, free_energy, v=None, background=None, reference=None,
                      batch_size=1):
    """The scores of an unlabelled model (see the module docstring); higher = more anomalous.

    free_energy: F(v) per row. v: the rows (``"complexity"``). background: log p_0(v) per row
    (``"ratio"``). reference: an :class:`AnomalyReference` (``"typicality"``).
    """
    f = np.asarray(free_energy, dtype=np.float64)
    if method == "free_energy":
        return f
    if method == "ratio":
        return f + np.asarray(background, dtype=np.float64)
    if method == "complexity":
        return f / math.log(2.0) - complexity_bits(v)
    if method == "typicality":
        if reference is None:
            raise UserError("the typicality score needs the training data's free-energy "
                            "summary: fit the model (or call fit_anomaly_reference(x_train))")
        m = int(batch_size)
        if m < 1:
            raise UserError(f"batch_size must be a positive integer, got {batch_size!r}")
        n = len(f)
        starts = np.arange(0, n, m)
        means = np.add.reduceat(f, starts) / np.diff(np.r_[starts, n]) if n else f
        sizes = np.diff(np.r_[starts, n])
        stat = np.abs(means - reference.free_energy_mean) / (
            max(reference.free_energy_std, 1e-12) / np.sqrt(sizes))
        return np.repeat(stat, sizes)
    raise UserError(f"unknown anomaly method {method!r}")


def marginal_free_energy(class_free_energies):
    """-log sum_k exp(-F_k): the free energy of the features with the label summed out."""
    fk = np.asarray(class_free_energies, dtype=np.float64)
    return -np.logaddexp.reduce(-fk, axis=1)


def label_scores(method, class_free_energies, reference=None):
    """Label-aware scores from F_k, shape (N, K) (see the module docstring); ``reference``: the
    :class:`AnomalyReference` of the marginal free energy (``"guarded_entropy"``)."""
    fk = np.asarray(class_free_energies, dtype=np.float64)
    if fk.ndim != 2 or fk.shape[1] < 2:
        raise UserError(f"class free energies must have shape (rows, classes >= 2), got {fk.shape}")
    if method == "guarded_entropy":
        if reference is None:
            raise UserError("the guarded_entropy score needs the training data's free-energy "
                            "summary: fit the model (or call fit_anomaly_reference(x_train))")
        z = (marginal_free_energy(fk) - reference.free_energy_mean) / max(
            reference.free_energy_std, 1e-12)
        return label_scores("entropy", fk) + np.maximum(0.0, z - GUARD_Z)
    if method == "class_free_energy":
        return fk.min(axis=1)
    if method == "margin":
        best = np.sort(fk, axis=1)
        return -(best[:, 1] - best[:, 0])
    if method == "entropy":
        log_p = -fk - np.logaddexp.reduce(-fk, axis=1, keepdims=True)
        return -(np.exp(log_p) * log_p).sum(axis=1)
    raise UserError(f"unknown anomaly method {method!r}")


def fpr_threshold(normal_scores, fpr):
    """The threshold t that flags (score > t) a fraction ``fpr`` of ``normal_scores``: their
    (1 - fpr) empirical quantile, taken as the ceil(n (1 - fpr))-th smallest score, so at most
    floor(n fpr) of them are flagged. Needs at least ceil(1 / fpr) scores."""
    s = np.asarray(normal_scores, dtype=np.float64).ravel()
    if not 0 < float(fpr) < 1:
        raise UserError(f"the false-positive rate must be in (0, 1), got {fpr!r}")
    if not np.isfinite(s).all():
        raise UserError("the normal data's anomaly scores hold non-finite values")
    need = math.ceil(1.0 / float(fpr))
    if len(s) < need:
        raise UserError(f"a false-positive rate of {fpr} needs at least {need} held-out normal "
                        f"rows to set its threshold, got {len(s)}")
    k = math.ceil(len(s) * (1.0 - float(fpr)))
    return float(np.sort(s)[k - 1])


def binomial_interval(successes, trials, level=0.95):
    """The Wilson score interval (lo, hi) for a binomial proportion."""
    if trials < 1:
        raise UserError("the binomial interval needs at least one trial")
    z = NormalDist().inv_cdf(0.5 + level / 2)
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)
