"""Cost of the in-step data check (issue 20 item 4): RBMModel.fit with check_batches on vs off.

    python benchmarks/bench_batch_check.py --rows 20000 --repeats 5

MNIST training images (binarized once), batch 100, 784 x 500 CD-1, a tf.data input (the case
the check exists for). The two settings alternate epoch by epoch in one process, each with its
own compiled model; per-step wall and CPU time are reported (min and median over the repeats).
"""
import argparse
import json
import statistics
import time

from harness import binarized_mnist, cpu_seconds


def isolated(model, batch, repeats, n=200):
    """The check alone vs a whole CD-1 step, each as n iterations of one compiled while loop
    (so Python and call overhead cancel): a steadier figure than whole epochs on a busy machine."""
    import tensorflow as tf

    from tfrbm.models.training import batch_problem
    units = model.layer.visible_units
    x = tf.constant(batch)
    one = tf.constant(1, tf.int64)

    @tf.function
    def checks(x):
        def body(i, acc):
            y = batch_problem(x + tf.cast(i, x.dtype) * 0.0, units, one, one)
            return i + 1, acc + y[0, 0]
        return tf.while_loop(lambda i, _: i < n, body, (0, 0.0))[1]

    @tf.function
    def baseline(x):      # the loop and the perturbation that keeps the check inside it
        def body(i, acc):
            y = x + tf.cast(i, x.dtype) * 0.0
            return i + 1, acc + y[0, 0]
        return tf.while_loop(lambda i, _: i < n, body, (0, 0.0))[1]

    @tf.function
    def steps(x):
        def body(i, acc):
            grads, _, _ = model.cd_gradients(x, tf.stack([tf.cast(i, tf.int64), one]))
            return i + 1, acc + grads[0][0, 0]
        return tf.while_loop(lambda i, _: i < n, body, (0, 0.0))[1]

    out = {}
    for name, fn in (("check_with_loop", checks), ("loop_only", baseline),
                     ("cd1_gradients", steps)):
        fn(x)
        times = []
        for _ in range(repeats):
            c0 = cpu_seconds()
            fn(x).numpy()
            times.append((cpu_seconds() - c0) / n * 1e6)
        out[f"isolated_cpu_us_{name}_min"] = round(min(times), 1)
    check = out["isolated_cpu_us_check_with_loop_min"] - out["isolated_cpu_us_loop_only_min"]
    out["isolated_cpu_us_check"] = round(check, 1)
    out["isolated_check_over_cd1_pct"] = round(100 * check / out["isolated_cpu_us_cd1_gradients_min"], 2)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel

    x = binarized_mnist("train", args.rows, seed=0, data_dir=args.data_dir, draw_dtype="float32")
    ds = tf.data.Dataset.from_tensor_slices(x).batch(100).prefetch(2)
    steps = -(-len(x) // 100)
    models = {}
    for check in (True, False):
        keras.utils.set_random_seed(0)
        model = RBMModel(RBMLayer(500), seed=0)
        model.check_batches = check
        model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.5))
        model.fit(ds.take(40), epochs=1, verbose=0)          # build, trace, warm up
        models[check] = model
    wall = {True: [], False: []}
    cpu = {True: [], False: []}
    for _ in range(args.repeats):
        for check in (True, False):
            c0, t0 = cpu_seconds(), time.perf_counter()
            models[check].fit(ds, epochs=1, verbose=0)
            c1, t1 = cpu_seconds(), time.perf_counter()
            wall[check].append((t1 - t0) / steps * 1e3)
            cpu[check].append((c1 - c0) / steps * 1e3)
    result = {}
    for name, table in (("wall_ms_per_step", wall), ("cpu_ms_per_step", cpu)):
        for check in (True, False):
            key = "check" if check else "no_check"
            result[f"{name}_{key}_min"] = round(min(table[check]), 3)
            result[f"{name}_{key}_median"] = round(statistics.median(table[check]), 3)
        result[f"{name}_overhead_min_pct"] = round(100 * (min(table[True]) / min(table[False]) - 1), 2)
        result[f"{name}_overhead_median_pct"] = round(
            100 * (statistics.median(table[True]) / statistics.median(table[False]) - 1), 2)
    result.update(rows=len(x), steps_per_epoch=steps, repeats=args.repeats)
    result.update(isolated(models[True], x[:100], args.repeats))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
