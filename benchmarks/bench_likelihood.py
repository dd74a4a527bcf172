"""Salakhutdinov & Murray (2008) table 2 on MNIST: AIS test log-likelihood of 500-unit RBMs.

Trains a 500-hidden-unit RBM on the 60,000 MNIST training images (binarized stochastically,
fresh each epoch) by CD-1 or PCD, then brackets the mean test log-probability: RAISE (reverse AIS,
a stochastic lower bound; chains on --raise-rows random test rows, the exact mean free energy
of all 10,000) and AIS (100 runs, base-rate model fitted to the training images; optimistic in
expectation), each on the schedules K/2^d, ..., K/2, K (K = --n-betas, d = --doublings), so the
output shows both sides, the gap closing with K, the AIS effective sample size and how far log Z
moved when the schedule doubled. The test set is binarized once: pixel i of image n is 1 when
u < intensity with u drawn from numpy.random.default_rng(--test-seed) (default 0).

    python benchmarks/bench_likelihood.py --method pcd --epochs 60
    python benchmarks/bench_likelihood.py --method cd1 --epochs 30
    python benchmarks/bench_likelihood.py --load /tmp/rbm_pcd.keras   # AIS only

Paper (mean test log-probability, 500 hidden): CD-1 -125.53, CD-3 -105.50, CD-25 -86.34.
"""
import argparse
import json
import sys
import time

from harness import add_options, binarize, binarized_mnist, cpu_budget_callback, cpu_seconds


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", choices=("pcd", "cd1"), default="pcd")
    add_options(p, hidden=500, epochs=60, batch_size=100)
    p.add_argument("--lr", type=float, default=0.02, help="initial SGD learning rate (decays linearly to lr*final-lr-factor)")
    add_options(p, final_lr_factor=0.02, momentum=0.9, weight_decay=1e-4, cd_k=1, n_chains=100)
    p.add_argument("--cpu-budget-min", type=float, default=None,
                   help="stop training after this many CPU-minutes of the process")
    p.add_argument("--n-runs", type=int, default=100)
    p.add_argument("--n-betas", type=int, default=14500)
    p.add_argument("--doublings", type=int, default=1,
                   help="also evaluate K/2, ..., K/2^d betas (default 1: K/2 and K)")
    p.add_argument("--raise-rows", type=int, default=100,
                   help="test rows RAISE runs reverse chains on (default 100)")
    add_options(p, test_seed=0, seed=1, data_dir=(str, None))
    p.add_argument("--save", default=None, help="save the trained model (.keras)")
    p.add_argument("--load", default=None, help="skip training: evaluate this saved model")
    p.add_argument("--resume", default=None,
                   help="continue training this saved model (its persistent chains too) for --epochs more")
    p.add_argument("--jit", action="store_true", help="XLA-compile the AIS loop")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import keras
    import numpy as np

    from tfrbm.data.images import load_mnist, mnist
    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel

    keras.utils.set_random_seed(args.seed)
    x_train, _ = load_mnist("train", data_dir=args.data_dir)
    test_bin = binarized_mnist("test", seed=args.test_seed, data_dir=args.data_dir,
                               draw_dtype="float32")

    result = {"method": args.method, "hidden": args.hidden}
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    if args.load:
        model = keras.saving.load_model(args.load)
        result["loaded"] = args.load
    else:
        persistent = args.method == "pcd"
        k = args.cd_k if persistent else 1
        if args.resume:
            model = keras.saving.load_model(args.resume)
            result["resumed_from"] = args.resume
        else:
            model = RBMModel(RBMLayer(args.hidden), cd_k=k, persistent=persistent,
                             n_chains=args.n_chains, weight_decay=args.weight_decay, seed=args.seed)
        steps = args.epochs * (len(x_train) // args.batch_size)
        schedule = keras.optimizers.schedules.PolynomialDecay(
            args.lr, steps, end_learning_rate=args.lr * args.final_lr_factor, power=1.0)
        model.compile(optimizer=keras.optimizers.SGD(schedule, momentum=args.momentum))
        data = mnist("train", batch_size=args.batch_size, data_dir=args.data_dir, seed=args.seed)
        # the budget counts the training's CPU time (from cpu0), not the start-up's
        clock = cpu_budget_callback(cpu0 + 60 * args.cpu_budget_min if args.cpu_budget_min else 0,
                                    key="reconstruction_error")
        hist = model.fit(data, epochs=args.epochs, verbose=0, callbacks=[clock])
        result.update(epochs_run=len(hist.history["reconstruction_error"]), epochs=args.epochs,
                      lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay,
                      cd_k=k, batch_size=args.batch_size,
                      train_wall_s=round(time.perf_counter() - wall0, 1),
                      train_cpu_min=round((cpu_seconds() - cpu0) / 60, 2))
        if args.save:
            model.save(args.save)
            result["saved"] = args.save
        print(json.dumps(result), flush=True)

    import warnings

    from tfrbm.likelihood.ais import AISWarning
    result["train10k_neg_free_energy"] = float(np.mean(-model.free_energy(
        binarize(x_train[:10000], 1, "float32")).astype(np.float64)))
    previous = None
    for d in range(args.doublings, -1, -1):
        k = args.n_betas // 2 ** d
        t_ais, c_ais = time.perf_counter(), cpu_seconds()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", AISWarning)
            s = model.log_likelihood(test_bin, method="sandwich", n_runs=args.n_runs, n_betas=k,
                                     base_data=x_train, raise_rows=args.raise_rows, seed=args.seed,
                                     jit_compile=args.jit)
        a = s.ais
        row = dict(result, betas=k, test_ll_lower_raise=s.lower, test_ll_lower_se=s.lower_se,
                   test_ll_upper_ais=s.upper, test_ll_upper_se=s.upper_se, gap=s.gap,
                   log_z=a.log_z, log_z_lower=a.log_z_lower, log_z_upper=a.log_z_upper,
                   ais_runs=a.n_runs, ais_ess=a.ess, ais_log_w_std=a.log_w_std,
                   log_z_change_on_doubling=None if previous is None else a.log_z - previous,
                   raise_rows=s.raise_result.n_sampled,
                   train10k_ll_upper_ais=result["train10k_neg_free_energy"] - a.log_z,
                   warnings=[str(w.message) for w in caught],
                   eval_wall_s=round(time.perf_counter() - t_ais, 1),
                   eval_cpu_min=round((cpu_seconds() - c_ais) / 60, 2),
                   total_wall_s=round(time.perf_counter() - wall0, 1))
        previous = a.log_z
        print(s.describe(), flush=True)
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
