"""Where the time of a CD-1 step and of an AIS step goes: ablations of hand-written TF loops.

Each variant runs a whole loop inside one ``tf.function`` (no Keras, no tf.data), so what is left
is the cost of the kernels themselves. Removing one part at a time shows what it costs:

* ``cd``: one epoch of CD-1 at batch B on 60,000 random binary rows (784 x H). Variants: the full
  step (stateless Philox draws, momentum update), without the random draws (thresholds instead),
  with one uniform draw per step for both layers, with uint32 random bits compared against
  p * 2^32 (integer comparison instead of float), without momentum, the matrix products alone
  (chained as in CD), one product alone. ``--dtype bfloat16`` runs every product with bfloat16
  inputs (the kernel rounded once per step), as ``matmul_dtype="bfloat16"`` does.
* ``ais``: 3,000 betas of the AIS loop with 100 runs (as tfrbm.likelihood.ais does it). Variants: the full step,
  without the random draws, and the two products with sigmoids and threshold sampling alone.

    python benchmarks/profile_speed.py cd --batch 100 --hidden 500
    python benchmarks/profile_speed.py cd --batch 100 --hidden 500 --dtype bfloat16
    python benchmarks/profile_speed.py ais
    python benchmarks/profile_speed.py rng      # the random draws alone, four ways

Numbers are milliseconds per step (per beta), best of 2 runs.
"""
import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

V = 784


def _best(fn, repeats=2):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        np.asarray(out)
        times.append(time.perf_counter() - t0)
    return min(times)


def profile_cd(batch, hidden, n=60000, dtype="float32"):
    rng = np.random.default_rng(0)
    x = tf.constant((rng.random((n, V)) < 0.13).astype("float32"))
    W = tf.Variable(rng.normal(0, 0.01, (V, hidden)).astype("float32"))
    b, c = tf.Variable(tf.zeros(V)), tf.Variable(tf.zeros(hidden))
    mW, mb, mc = tf.Variable(tf.zeros((V, hidden))), tf.Variable(tf.zeros(V)), tf.Variable(tf.zeros(hidden))

    low = dtype == "bfloat16"

    def mm(a, w, **kw):
        if low:
            return tf.cast(tf.matmul(tf.cast(a, tf.bfloat16), w, **kw), tf.float32)
        return tf.matmul(a, w, **kw)

    def bern(p, seed, random, u=None):
        if u is not None:
            return tf.cast(u < p, tf.float32)
        if random == "bits":
            bits = tf.random.stateless_uniform(tf.shape(p), seed, minval=None, maxval=None,
                                               dtype=tf.uint32)
            return tf.cast(bits < tf.cast(p * 4294967040.0, tf.uint32), tf.float32)
        if random:
            return tf.cast(tf.random.stateless_uniform(tf.shape(p), seed) < p, tf.float32)
        return tf.cast(p > 0.5, tf.float32)

    def step(v0, seed, random=True, momentum=True):
        Wp = tf.cast(W, tf.bfloat16) if low else W
        u_h = u_v = None
        if random == "one draw":
            u = tf.random.stateless_uniform((batch, hidden + V), seed)
            u_h, u_v = u[:, :hidden], u[:, hidden:]
        ph0 = tf.sigmoid(mm(v0, Wp) + c)
        h0 = bern(ph0, seed, random, u_h)
        pv1 = tf.sigmoid(mm(h0, Wp, transpose_b=True) + b)
        v1 = bern(pv1, seed + 1, random, u_v)
        ph1 = tf.sigmoid(mm(v1, Wp) + c)
        gW = mm(tf.concat([-v0, v1], 0), tf.cast(tf.concat([ph0 / batch, ph1 / batch], 0), Wp.dtype),
                transpose_a=True)
        gb = -(tf.reduce_mean(v0, 0) - tf.reduce_mean(v1, 0))
        gc = -(tf.reduce_mean(ph0, 0) - tf.reduce_mean(ph1, 0))
        if momentum:
            for m, g, p in ((mW, gW, W), (mb, gb, b), (mc, gc, c)):
                m.assign(0.5 * m - 0.05 * g)
                p.assign_add(m)
        else:
            W.assign_sub(0.05 * gW)
        return tf.reduce_mean(tf.square(v0 - pv1))

    def products(v0, seed):
        Wp = tf.cast(W, tf.bfloat16) if low else W
        h = mm(v0, Wp)
        vr = mm(h, Wp, transpose_b=True)
        h1 = mm(vr, Wp)
        W.assign_sub(1e-9 * mm(tf.concat([v0, vr], 0), tf.cast(tf.concat([h, h1], 0), Wp.dtype),
                               transpose_a=True))
        return tf.constant(0.0)

    def one_product(v0, seed):
        Wp = tf.cast(W, tf.bfloat16) if low else W
        return tf.reduce_sum(mm(v0, Wp)[:, :1])

    variants = {"full CD-1 step": step,
                "one uniform draw for both": lambda v, s: step(v, s, random="one draw"),
                "uint32 bits vs p * 2^32": lambda v, s: step(v, s, random="bits"),
                "without random draws": lambda v, s: step(v, s, random=False),
                "without momentum": lambda v, s: step(v, s, momentum=False),
                "the four products alone": products,
                "one B x 784 x H product": one_product}
    steps = n // batch
    print(f"CD-1, batch {batch}, hidden {hidden}, {dtype} products: ms per step "
          "(whole epoch in one tf.function)")
    for name, body in variants.items():
        @tf.function
        def epoch():
            acc = tf.constant(0.0)
            for i in tf.range(steps):
                seed = tf.stack([tf.cast(i, tf.int64), tf.constant(7, tf.int64)])
                acc += body(x[i * batch:(i + 1) * batch], seed)
            return acc
        t = _best(epoch)
        print(f"  {name:28s} {1e3 * t / steps:7.3f} ms   ({n / t:,.0f} ex/s)", flush=True)


def profile_ais(hidden=500, runs=100, n_betas=3000):
    rng = np.random.default_rng(0)
    W = tf.constant(rng.normal(0, 0.05, (V, hidden)).astype("float32"))
    b = tf.constant(rng.normal(-1.5, 1, V).astype("float32"))
    c = tf.constant(rng.normal(-0.5, 0.1, hidden).astype("float32"))
    b_a = tf.constant(rng.normal(-1.5, 1, V).astype("float32"))
    betas = tf.constant(np.linspace(0, 1, n_betas + 1))
    v0 = tf.constant((rng.random((runs, V)) < 0.2).astype("float32"))
    db64 = tf.cast(b - b_a, tf.float64)

    def make(weights, random):
        @tf.function
        def run():
            def body(k, v, log_w):
                beta_prev, beta = betas[k - 1], betas[k]
                beta32 = tf.cast(beta, tf.float32)
                x = v @ W + c
                ph = tf.sigmoid(beta32 * x)
                if weights:
                    d = beta - beta_prev
                    vis = d * tf.linalg.matvec(tf.cast(v, tf.float64), db64)
                    hid = -tf.math.log1p(ph * tf.math.expm1(-tf.cast(d, tf.float32) * x))
                    log_w = log_w + vis + tf.reduce_sum(tf.cast(hid, tf.float64), -1)
                seed = tf.random.experimental.stateless_fold_in(tf.constant([1, 2], tf.int64), k)
                h = (tf.cast(tf.random.stateless_uniform(tf.shape(ph), seed) < ph, tf.float32)
                     if random else tf.cast(ph > 0.5, tf.float32))
                pv = tf.sigmoid((1 - beta32) * b_a + beta32 * (b + tf.matmul(h, W, transpose_b=True)))
                v = (tf.cast(tf.random.stateless_uniform(tf.shape(pv), seed + 1) < pv, tf.float32)
                     if random else tf.cast(pv > 0.5, tf.float32))
                return k + 1, v, log_w
            out = tf.while_loop(lambda k, *_: k <= n_betas, body,
                                (tf.constant(1), v0, tf.zeros(runs, tf.float64)), parallel_iterations=1)
            return out[2] + tf.cast(tf.reduce_sum(out[1]), tf.float64)   # keep v live
        return run

    print(f"AIS, {runs} runs, 784 x {hidden}: ms per beta ({n_betas} betas in one while loop)")
    for name, weights, random in (("full step", True, True), ("without random draws", True, False),
                                  ("products + sampling only", False, True),
                                  ("products + thresholds only", False, False)):
        t = _best(make(weights, random))
        print(f"  {name:28s} {1e3 * t / n_betas:7.3f} ms", flush=True)


def profile_rng(batch=100, hidden=500, iters=500):
    """The random draws of one CD-1 step alone (B x H hidden and B x 784 visible Bernoulli draws)."""
    p_h, p_v = tf.random.uniform((batch, hidden)), tf.random.uniform((batch, V))
    fold = tf.random.experimental.stateless_fold_in

    def two(seed):                       # what tfrbm does: one Philox float draw per layer
        h = tf.cast(tf.random.stateless_uniform((batch, hidden), fold(seed, 1)) < p_h, tf.float32)
        v = tf.cast(tf.random.stateless_uniform((batch, V), fold(seed, 2)) < p_v, tf.float32)
        return h[0, 0] + v[0, 0]

    def one(seed):                       # one draw for both layers, split
        u = tf.random.stateless_uniform((batch, hidden + V), seed)
        return tf.cast(u[:, :hidden] < p_h, tf.float32)[0, 0] + tf.cast(u[:, hidden:] < p_v, tf.float32)[0, 0]

    def bits(seed):                      # one uint32 draw, integer comparison with p * 2^32
        r = tf.random.stateless_uniform((batch, hidden + V), seed, minval=None, maxval=None,
                                        dtype=tf.uint32)
        th, tv = tf.cast(p_h * 4294967040.0, tf.uint32), tf.cast(p_v * 4294967040.0, tf.uint32)
        return (tf.cast(r[:, :hidden] < th, tf.float32)[0, 0]
                + tf.cast(r[:, hidden:] < tv, tf.float32)[0, 0])

    variants = {"two float draws (tfrbm)": two, "one float draw, split": one,
                "one uint32 draw, int compare": bits,
                "uint32 draw only": lambda s: tf.cast(tf.random.stateless_uniform(
                    (batch, hidden + V), s, minval=None, maxval=None, dtype=tf.uint32)[0, 0], tf.float32),
                "float draw only": lambda s: tf.random.stateless_uniform((batch, hidden + V), s)[0, 0],
                "threshold compares only": lambda s: (tf.cast(0.5 < p_h, tf.float32)[0, 0]
                                                      + tf.cast(0.5 < p_v, tf.float32)[0, 0])}
    print(f"random draws of a CD-1 step, batch {batch}, hidden {hidden}: ms per step")
    for name, body in variants.items():
        @tf.function
        def loop(body=body):
            acc = tf.constant(0.0)
            for i in tf.range(iters):
                acc += body(tf.stack([tf.cast(i, tf.int64), tf.constant(7, tf.int64)]))
            return acc
        t = _best(loop, repeats=3)
        print(f"  {name:30s} {1e3 * t / iters:7.3f} ms", flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("what", choices=("cd", "ais", "rng"))
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--hidden", type=int, default=500)
    p.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32",
                   help="dtype of the CD step's products (cd only)")
    args = p.parse_args(argv)
    print(f"cpu cores visible: {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}; tf {tf.__version__}")
    if args.what == "cd":
        profile_cd(args.batch, args.hidden, dtype=args.dtype)
    elif args.what == "rng":
        profile_rng(args.batch, args.hidden)
    else:
        profile_ais(args.hidden)


if __name__ == "__main__":
    main()
