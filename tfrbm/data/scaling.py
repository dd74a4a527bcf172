"""Standardising real-valued data for Gaussian visible units.

Gaussian visible units (``RBMLayer(n, visible="gaussian")``) model each feature with unit
variance, or with a learned variance that starts at the data's (``visible_variance="learned"``);
either way p(h | v) sees v on its raw scale, so features should have mean 0 and standard
deviation 1 (``RBMModel.fit`` warns when the training data is far from that). Fit the scaling on
the training set only and apply the same one to validation and test data.
"""
import numpy as np

from tfrbm.errors import UserError

__all__ = ["Standardizer"]


class Standardizer:
    """Per-feature (x - mean) / std, fitted on training data; constant features get std 1.

    Example:
        >>> scaler = Standardizer().fit(x_train)
        >>> model.fit(scaler.transform(x_train))
        >>> samples = scaler.inverse_transform(model.daydream(16))
    """

    def __init__(self, min_std=1e-6):
        if not min_std > 0:
            raise UserError(f"min_std must be > 0, got {min_std!r}")
        self.min_std = float(min_std)
        self.mean_ = self.std_ = None

    def fit(self, x):
        x = self._check(x)
        self.mean_ = x.mean(axis=0)
        std = x.std(axis=0)
        self.std_ = np.where(std < self.min_std, 1.0, std)
        return self

    def transform(self, x):
        x = self._check(x, fitted=True)
        return ((x - self.mean_) / self.std_).astype(np.float32)

    def fit_transform(self, x):
        return self.fit(x).transform(x)

    def inverse_transform(self, z):
        z = self._check(z, fitted=True)
        return (z * self.std_ + self.mean_).astype(np.float32)

    def _check(self, x, fitted=False):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or not len(x):
            raise UserError(f"standardising needs a non-empty 2-D array (rows, features), "
                             f"got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise UserError("the data holds NaN or Inf values; drop or fix those rows first")
        if fitted:
            if self.mean_ is None:
                raise UserError("call fit (on the training data) before transform")
            if x.shape[1] != len(self.mean_):
                raise UserError(f"the Standardizer was fitted on {len(self.mean_)} features; "
                                f"this data has {x.shape[1]}")
        return x
