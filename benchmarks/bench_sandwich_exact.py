"""The likelihood sandwich on enumerable RBMs: RAISE lower and AIS upper against the exact value.

For random RBMs (gentle: |W| ~ 0.6; sharp: |W| ~ 3-5, where one AIS run dominates a short
schedule), 200 exact samples of the model are scored by
``tfrbm.likelihood.sandwich_log_likelihood`` (100 AIS runs, RAISE on every row, uniform base model
for the sharp ones) for K = 10, 100, 1000, 10000 betas, and compared with exact enumeration.

    python benchmarks/bench_sandwich_exact.py
"""
import os
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


from tfrbm import likelihood  # noqa: E402
from tfrbm.testing import exact_samples as model_samples, random_layer  # noqa: E402

MODELS = [(12, 10, 0, 0.6), (16, 8, 1, 0.6), (10, 14, 2, 0.8),
          (20, 10, 4, 3.0), (20, 12, 5, 4.0), (24, 10, 6, 5.0)]


def main():
    print("| V x H | scale | K | exact | RAISE lower +- se | AIS upper +- se | gap | AIS ESS / 100 | std log w | warned |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for nv, nh, seed, scale in MODELS:
        layer = random_layer(nv, nh, seed, scale)
        data = model_samples(layer, 200, seed)
        exact = likelihood.exact_log_likelihood(layer, data)
        for k in (10, 100, 1000, 10000):
            t = time.process_time()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                s = likelihood.sandwich_log_likelihood(layer, data, n_runs=100, n_betas=k, seed=5)
            print(f"| {nv} x {nh} | {scale} | {k} | {exact:.3f} | {s.lower:.3f} +- {s.lower_se:.3f} | "
                  f"{s.upper:.3f} +- {s.upper_se:.3f} | {s.gap:.3f} | {s.ais.ess:.1f} | "
                  f"{s.ais.log_w_std:.2f} | {'yes' if caught else 'no'} |", flush=True)
        print(f"<!-- {nv}x{nh} done, {time.process_time() - t:.1f} CPU-s for the last K -->", flush=True)


if __name__ == "__main__":
    main()
