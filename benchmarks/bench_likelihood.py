"""Salakhutdinov & Murray (2008) table 2 on MNIST: AIS test log-likelihood of 500-unit RBMs.

Trains a 500-hidden-unit RBM on the 60,000 MNIST training images (binarized stochastically,
fresh each epoch) by CD-1 or PCD, then estimates log Z by AIS (default: 100 runs, the paper's
14,500 betas, base-rate model fitted to the training images) and reports the mean test
log-probability with its bounds. The test set is binarized once: pixel i of image n is 1 when
u < intensity with u drawn from numpy.random.default_rng(--test-seed) (default 0).

    python benchmarks/bench_likelihood.py --method pcd --epochs 60
    python benchmarks/bench_likelihood.py --method cd1 --epochs 30
    python benchmarks/bench_likelihood.py --load /tmp/rbm_pcd.keras   # AIS only

Paper (mean test log-probability, 500 hidden): CD-1 -125.53, CD-3 -105.50, CD-25 -86.34.
"""
import argparse
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", choices=("pcd", "cd1"), default="pcd")
    p.add_argument("--hidden", type=int, default=500)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--lr", type=float, default=0.02, help="initial SGD learning rate (decays linearly to lr*final-lr-factor)")
    p.add_argument("--final-lr-factor", type=float, default=0.02)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--cd-k", type=int, default=1)
    p.add_argument("--n-chains", type=int, default=100)
    p.add_argument("--cpu-budget-min", type=float, default=None,
                   help="stop training after this many CPU-minutes of the process")
    p.add_argument("--n-runs", type=int, default=100)
    p.add_argument("--n-betas", type=int, default=14500)
    p.add_argument("--test-seed", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data-dir", default=None)
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

    from tfrbm import ais
    from tfrbm.data.images import load_mnist, mnist
    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel

    keras.utils.set_random_seed(args.seed)
    x_train, _ = load_mnist("train", data_dir=args.data_dir)
    x_test, _ = load_mnist("test", data_dir=args.data_dir)
    rng = np.random.default_rng(args.test_seed)
    test_bin = (rng.random(x_test.shape, dtype=np.float32) < x_test).astype(np.float32)

    result = {"method": args.method, "hidden": args.hidden}
    cpu0, wall0 = time.process_time(), time.perf_counter()
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

        class Clock(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                cpu = (time.process_time() - cpu0) / 60
                print(f"epoch {epoch + 1}: wall {time.perf_counter() - wall0:.0f}s cpu {cpu:.1f}min "
                      f"recon {logs.get('reconstruction_error', float('nan')):.4f}", flush=True)
                if args.cpu_budget_min and cpu >= args.cpu_budget_min:
                    print("CPU budget reached; stopping", flush=True)
                    self.model.stop_training = True

        hist = model.fit(data, epochs=args.epochs, verbose=0, callbacks=[Clock()])
        result.update(epochs_run=len(hist.history["reconstruction_error"]), epochs=args.epochs,
                      lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay,
                      cd_k=k, batch_size=args.batch_size,
                      train_wall_s=round(time.perf_counter() - wall0, 1),
                      train_cpu_min=round((time.process_time() - cpu0) / 60, 2))
        if args.save:
            model.save(args.save)
            result["saved"] = args.save
        print(json.dumps(result), flush=True)

    t_ais, c_ais = time.perf_counter(), time.process_time()
    betas = ais.make_betas(args.n_betas)
    log_z, lo, hi = model.log_partition(method="ais", n_runs=args.n_runs, betas=betas,
                                        base_data=x_train, seed=args.seed, jit_compile=args.jit)
    neg_f = float(np.mean(-model.free_energy(test_bin).astype(np.float64)))
    neg_f_train = float(np.mean(-model.free_energy(
        (np.random.default_rng(1).random((10000, 784), dtype=np.float32) < x_train[:10000]).astype(np.float32)
    ).astype(np.float64)))
    result.update(log_z=log_z, log_z_lower=lo, log_z_upper=hi,
                  test_log_likelihood=neg_f - log_z,
                  test_ll_lower=neg_f - hi, test_ll_upper=neg_f - lo,
                  train10k_log_likelihood=neg_f_train - log_z,
                  ais_runs=args.n_runs, ais_betas=len(betas) - 1,
                  ais_wall_s=round(time.perf_counter() - t_ais, 1),
                  ais_cpu_min=round((time.process_time() - c_ais) / 60, 2),
                  total_wall_s=round(time.perf_counter() - wall0, 1))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
