"""Soak test: a long PCD run on MNIST must keep weights bounded, free energies finite, memory flat.

Trains RBMModel(PCD-1) for ``--epochs`` epochs (default 100) on the first ``--n-train`` MNIST
training images (binarized at 0.5) and after every epoch records: the kernel's Frobenius norm
and max |W|, the mean free energy of 1,000 test images (finite?), the reconstruction error, and
the process's resident memory (VmRSS). StopOnNonFinite guards every 50 steps. Prints one line per
epoch, writes JSON lines to ``--log`` and ends with a summary:

    memory growth = RSS(last epoch) - RSS(epoch --warmup); pass if < --max-growth-mb

Usage: python benchmarks/bench_soak.py [--epochs 100 --n-train 10000 --hidden 256]
"""
import argparse
import json
import sys
import time

from harness import add_options, command_line, rss_mib
import numpy as np


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_options(p, epochs=100, n_train=10000, hidden=256, batch_size=100, n_chains=100,
                learning_rate=0.05)
    p.add_argument("--warmup", type=int, default=5, help="epoch whose RSS is the baseline")
    add_options(p, max_growth_mb=50.0, max_weight_norm=1e3, data_dir=(str, None),
                log="/tmp/bench_soak.jsonl")
    args = p.parse_args(argv)

    import keras
    from tfrbm.data.images import load_mnist
    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel
    from tfrbm.safety import StopOnNonFinite

    keras.utils.set_random_seed(0)
    x, _ = load_mnist("train", data_dir=args.data_dir, source="files")
    xt, _ = load_mnist("test", data_dir=args.data_dir, source="files")
    x = (x[:args.n_train] > 0.5).astype("float32")
    xt = (xt[:1000] > 0.5).astype("float32")
    model = RBMModel(RBMLayer(args.hidden), persistent=True, n_chains=args.n_chains, seed=0)
    model.compile(optimizer=keras.optimizers.SGD(args.learning_rate, momentum=0.5))
    records = []
    log = open(args.log, "w")
    t0 = time.time()

    class Recorder(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            w = keras.ops.convert_to_numpy(model.layer.kernel)
            fe = model.free_energy(xt)
            chains = keras.ops.convert_to_numpy(model.persistent_chains)
            rec = {"epoch": epoch + 1, "seconds": round(time.time() - t0, 1),
                   "weight_norm": float(np.linalg.norm(w)), "max_abs_w": float(np.abs(w).max()),
                   "free_energy_test": float(fe.mean()), "free_energy_finite": bool(np.isfinite(fe).all()),
                   "chains_finite": bool(np.isfinite(chains).all()),
                   "recon_error": float(logs.get("reconstruction_error", float("nan"))),
                   "rss_mb": round(rss_mib(), 1)}
            records.append(rec)
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(" ".join(f"{k}={v}" for k, v in rec.items()), flush=True)

    model.fit(x, epochs=args.epochs, batch_size=args.batch_size, shuffle=True, verbose=0,
              callbacks=[StopOnNonFinite(check_every=50, restore_last_finite=False), Recorder()])
    base = records[min(args.warmup, len(records)) - 1]
    last = records[-1]
    growth = last["rss_mb"] - base["rss_mb"]
    summary = {
        "command": command_line(__file__, argv),
        "epochs_completed": len(records), "n_train": args.n_train, "hidden": args.hidden,
        "seconds": last["seconds"],
        "max_weight_norm": max(r["weight_norm"] for r in records),
        "final_weight_norm": last["weight_norm"], "final_max_abs_w": last["max_abs_w"],
        "all_free_energies_finite": all(r["free_energy_finite"] for r in records),
        "free_energy_test_first_last": [records[0]["free_energy_test"], last["free_energy_test"]],
        "rss_mb_warmup_epoch": base["rss_mb"], "rss_mb_last": last["rss_mb"],
        "rss_growth_mb": round(growth, 1),
        "rss_max_mb": max(r["rss_mb"] for r in records),
    }
    summary["pass"] = bool(summary["all_free_energies_finite"]
                           and summary["max_weight_norm"] < args.max_weight_norm
                           and growth < args.max_growth_mb)
    print("SUMMARY " + json.dumps(summary), flush=True)
    log.write(json.dumps({"summary": summary}) + "\n")
    log.close()
    return 0 if summary["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
