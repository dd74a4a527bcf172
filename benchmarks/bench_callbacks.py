"""The README quick start with and without its TensorBoard callback (and other stock callbacks).

Each run is its own process: MNIST, stochastic binarization, batch 100, RBMLayer(500), PCD-1 with
100 chains, SGD(0.05, momentum=0.9), as in the README. The runs alternate (A B B A ...) so that a
change in machine load hits both sides alike; the report gives the median wall and CPU seconds of
``fit`` per setting and the ratio to the plain fit.

    python benchmarks/bench_callbacks.py --epochs 2 --repeats 2
"""
import argparse
import json
import statistics
import sys
import tempfile
import time

from harness import cpu_seconds, run_side

SETTINGS = ("plain", "tensorboard", "checkpoint_terminate")


def run_one(setting, epochs, limit):
    import keras   # in the side's process only: the driver loads no TensorFlow

    import tfrbm
    keras.utils.set_random_seed(0)
    ds = tfrbm.data.mnist(split="train", binarize="stochastic", batch_size=100, limit=limit)
    rbm = tfrbm.RBMModel(tfrbm.RBMLayer(500), cd_k=1, persistent=True, n_chains=100)
    rbm.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9))
    logs = tempfile.mkdtemp(prefix="tfrbm_bench_cb_")
    callbacks = {
        "plain": [],
        "tensorboard": [keras.callbacks.TensorBoard(logs)],
        "checkpoint_terminate": [keras.callbacks.ModelCheckpoint(logs + "/m.keras"),
                                 keras.callbacks.TerminateOnNaN()],
    }[setting]
    c0, t0 = cpu_seconds(), time.perf_counter()
    rbm.fit(ds, epochs=epochs, callbacks=callbacks, verbose=0)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    return {"setting": setting, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "steps_per_execution": int(rbm.steps_per_execution), "epochs": epochs}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--limit", type=int, default=None, help="MNIST rows (default all 60,000)")
    p.add_argument("--settings", default=",".join(SETTINGS))
    p.add_argument("--only")
    args = p.parse_args(argv)
    if args.only:
        print(json.dumps(run_one(args.only, args.epochs, args.limit)), flush=True)
        return 0
    settings = args.settings.split(",")
    rows = {s: [] for s in settings}
    for r in range(args.repeats):
        order = settings if r % 2 == 0 else settings[::-1]
        for s in order:
            row = run_side(__file__, ["--only", s, "--epochs", args.epochs]
                           + (["--limit", args.limit] if args.limit else []))
            rows[s].append(row)
            print(json.dumps(row), flush=True)
    base_wall = statistics.median(r["wall_s"] for r in rows["plain"])
    base_cpu = statistics.median(r["cpu_s"] for r in rows["plain"])
    for s in settings:
        wall = statistics.median(r["wall_s"] for r in rows[s])
        cpu = statistics.median(r["cpu_s"] for r in rows[s])
        print(f"{s}: median fit wall {wall:.1f} s ({wall / base_wall:.3f}x plain), "
              f"CPU {cpu:.1f} s ({cpu / base_cpu:.3f}x plain), "
              f"steps_per_execution {rows[s][0]['steps_per_execution']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
