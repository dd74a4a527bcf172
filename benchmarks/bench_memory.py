"""Training memory: peak RSS for one pass over MNIST (60,000 examples) against ten passes
(600,000 examples) streamed through the same tf.data pipeline.

Both cases feed ``RBMModel.fit`` through one pipeline, tfrbm's ``make_dataset`` (shuffled each
pass, not cached, repeated, tf.data autotuner off), cut to 1 pass ("array") or ``--repeat`` passes
("stream") with ``take``; so the only difference is how many examples flow through training.
Each case runs in its own child process (peak RSS, ``ru_maxrss``, is per process), which loads
MNIST, binarizes it once, records its RSS, trains for its passes and records its peak RSS.
Training memory that does not grow with the data set shows as the same peak for 60,000 and
600,000 examples.

Usage:
    python benchmarks/bench_memory.py                         # hidden 500, batch 100, 10x repeat
    python benchmarks/bench_memory.py --hidden 100 --repeat 10 --json /tmp/mem.json
    python benchmarks/bench_memory.py --case stream           # one case, in this process
"""
import argparse
import json
import time

from harness import binarized_mnist, peak_rss_mib, rss_mib, run_side, write_json  # before TF


def case_main(case, hidden, batch, repeat, examples):
    import keras

    from tfrbm.data.pipeline import make_dataset
    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel

    x = binarized_mnist("train", examples, seed=0, draw_dtype="float32")
    rss_data = rss_mib()
    model = RBMModel(RBMLayer(hidden), seed=1)
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    if case not in ("array", "stream"):
        raise ValueError(f"unknown case {case!r}; use 'array' or 'stream'")
    passes = 1 if case == "array" else repeat
    n_seen = len(x) * passes
    ds = make_dataset(x, batch_size=batch, shuffle=True, seed=7, cache=False, repeat=True)
    ds = ds.take(n_seen // batch)
    start = time.perf_counter()
    model.fit(ds, epochs=1, verbose=0)
    seconds = time.perf_counter() - start

    return {"case": case, "examples_seen": n_seen, "hidden": hidden, "batch": batch,
            "rss_after_data_mib": rss_data, "rss_end_mib": rss_mib(),
            "peak_rss_mib": peak_rss_mib(), "train_seconds": seconds,
            "examples_per_s": n_seen / seconds}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", choices=("array", "stream", "both"), default="both")
    parser.add_argument("--hidden", type=int, default=500)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=10, help="times the streamed case repeats the data")
    parser.add_argument("--examples", type=int, default=60000)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    if args.case != "both":
        res = case_main(args.case, args.hidden, args.batch, args.repeat, args.examples)
        print(json.dumps(res))
        return res

    results = []
    for case in ("array", "stream"):
        results.append(run_side(__file__, ["--case", case, "--hidden", args.hidden, "--batch",
                                           args.batch, "--repeat", args.repeat, "--examples",
                                           args.examples]))
    print(f"{'case':<8}{'examples':>10}{'RSS after data':>16}{'peak RSS':>11}{'RSS at end':>12}"
          f"{'train s':>9}{'ex/s':>9}")
    for r in results:
        print(f"{r['case']:<8}{r['examples_seen']:>10,}{r['rss_after_data_mib']:>13.0f} MiB"
              f"{r['peak_rss_mib']:>8.0f} MiB{r['rss_end_mib']:>8.0f} MiB{r['train_seconds']:>9.1f}"
              f"{r['examples_per_s']:>9,.0f}")
    growth = results[1]["peak_rss_mib"] - results[0]["peak_rss_mib"]
    print(f"peak RSS difference, {results[1]['examples_seen']:,} streamed vs "
          f"{results[0]['examples_seen']:,} in memory: {growth:+.0f} MiB")
    return write_json(args.json, results)


if __name__ == "__main__":
    main()
