"""Digits accuracy of RBMTransformer / DBNTransformer / BernoulliRBM settings, each + the same
LogisticRegression(max_iter=1000): the sweep behind RBMTransformer's defaults (issue 17).

The split is the README's: the first 1,500 of scikit-learn's 1,797 digits (scaled to [0, 1]) to
train, the other 297 to test. Each argument is one JSON object of estimator parameters, with
"kind" "tf" (RBMTransformer, the default), "dbn" (DBNTransformer) or "sk" (BernoulliRBM);
one JSON line per setting: test accuracy, wall and CPU seconds of the pipeline's fit.

    python benchmarks/sweep_sklearn_defaults.py '{"kind": "sk", "n_components": 256, "random_state": 0}' \\
        '{"n_components": 256, "random_state": 0}' '{"kind": "dbn", "random_state": 0}'
"""
import json
import os
import sys
import time

from harness import cpu_seconds


def main(argv):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    x, y = load_digits(return_X_y=True)
    x_train, y_train, x_test, y_test = x[:1500] / 16, y[:1500], x[1500:] / 16, y[1500:]
    for spec in argv:
        params = json.loads(spec)
        kind = params.pop("kind", "tf")
        if kind == "sk":
            from sklearn.neural_network import BernoulliRBM as Estimator
        elif kind == "dbn":
            from tfrbm.sklearn import DBNTransformer as Estimator
        else:
            from tfrbm.sklearn import RBMTransformer as Estimator
        t0, c0 = time.perf_counter(), cpu_seconds()
        clf = make_pipeline(Estimator(**params), LogisticRegression(max_iter=1000))
        clf.fit(x_train, y_train)
        print(json.dumps({"setting": spec, "accuracy": round(clf.score(x_test, y_test), 4),
                          "fit_wall_s": round(time.perf_counter() - t0, 1),
                          "fit_cpu_s": round(cpu_seconds() - c0, 1)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
