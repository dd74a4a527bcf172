"""Why a labelled DBN's ``generate(label)`` misses classes, and what fixes it (issue 15).

    python benchmarks/explore_dbn_generate.py diagnose DBN.keras --cnn CNN.keras
    python benchmarks/explore_dbn_generate.py retrain-top DBN.keras --cnn CNN.keras --centering --decay --chunks 40,20
    python benchmarks/explore_dbn_generate.py anneal DBN.keras --cnn CNN.keras --anneal-steps 100
    python benchmarks/explore_dbn_generate.py digits --variants default,p,pc,pcd

``DBN.keras`` is a labelled DBN saved by ``bench_dbn.py generate --save-dbn``, ``CNN.keras`` the
judge saved by its ``--save-cnn``. Each prints JSON lines: per-class rates at which the judge
labels generated digits as the requested class.

- ``diagnose``: chains started from real test digits of the requested class (do they stay?),
  and the top RBM's free energy of real features vs the chains' end points under each label.
- ``retrain-top``: retrain only the top RBM (PCD-1, 100 chains, SGD momentum 0.5, batch 100) on
  the fixed features of the saved DBN's lower layers; judge after each chunk of epochs.
- ``anneal``: a chain start with the feature couplings raised from 0 to 1 while the label acts at
  full strength, then the ordinary clamped Gibbs steps.
- ``digits``: the embedded digits, top-RBM variants (default CD-1; ``p`` PCD; ``pc`` PCD +
  centering; ``pcd`` PCD + centering + rate decaying to 1 %), judged by an SVC on the real images.
"""
import argparse
import json
import time

from harness import judge_rates as rates  # before TF
import keras
import numpy as np
import tensorflow as tf

import tfrbm  # noqa: F401  (registers the saved classes)
from tfrbm import gibbs
from tfrbm.data.images import load_digits, load_mnist
from tfrbm.layers import RBMLayer
from tfrbm.models.dbn import DBNModel, default_schedule
from tfrbm.models.rbm import RBMModel


def cnn_judge(cnn):
    return lambda x: cnn.predict(x, batch_size=500, verbose=0).argmax(1)


def clamp_mask(top, n_labels):
    n_features = top.n_visible - n_labels
    return tf.concat([tf.zeros([n_features], top.kernel.dtype),
                      tf.ones([n_labels], top.kernel.dtype)], 0)


def diagnose(args, dbn, judge):
    _, (xt, yt) = load_mnist("train"), load_mnist("test")
    top, k = dbn.rbms[-1], dbn.n_labels
    labels = np.repeat(np.arange(10), args.per_class)
    idx = np.concatenate([np.where(yt == c)[0][:args.per_class] for c in range(10)])
    feats = dbn.features(xt[idx], len(dbn.rbms) - 1)
    one_hot = tf.one_hot(labels, k, dtype=feats.dtype)
    mask = clamp_mask(top, k)
    v0 = tf.concat([tf.cast(feats > 0.5, feats.dtype), one_hot], -1)
    for steps in (1, 100, 1000):
        v_mean, _ = gibbs.clamped_chain(top, v0, mask, steps, tf.constant([0, 0], tf.int64))
        print(json.dumps({"start": "real digits of the class", "steps": steps,
                          **rates(judge(dbn._down(v_mean).numpy()), labels)}), flush=True)
    # chains from the base-rate start (as generate): their end points' free energies
    n_features = top.n_visible - k
    p0 = tf.broadcast_to(tf.sigmoid(top.visible_bias[:n_features]), [len(labels), n_features])
    vb = tf.cast(tf.random.stateless_uniform(p0.shape, [1, 1], dtype=p0.dtype) < p0, p0.dtype)
    _, v = gibbs.clamped_chain(top, tf.concat([vb, one_hot], -1), mask, 1000,
                               tf.constant([0, 1], tf.int64))

    def free_energy(vf, lab):
        vf = tf.constant(vf, top.kernel.dtype)
        return float(tf.reduce_mean(top.free_energy(
            tf.concat([vf, tf.one_hot(lab, k, dtype=vf.dtype)], -1))))
    real = (feats.numpy() > 0.5).astype(np.float32)
    ends = v.numpy()[:, :n_features]
    for c in range(10):
        rows = labels == c
        print(json.dumps({"class": c,
                          "F(real | own label)": round(free_energy(real[rows], labels[rows]), 1),
                          "F(chain end | label)": round(free_energy(ends[rows], labels[rows]),
                                                        1)}),
              flush=True)


def retrain_top(args, dbn, judge):
    (x, y), (xt, yt) = load_mnist("train"), load_mnist("test")
    top = dbn.rbms[-1]
    feats = np.concatenate([dbn.features(x[j:j + 5000], upto=len(dbn.rbms) - 1).numpy()
                            for j in range(0, len(x), 5000)])
    data = np.concatenate([feats, np.eye(dbn.n_labels, dtype=np.float32)[y]], 1)
    layer = RBMLayer(top.units, visible=top.visible_units, name="retrained_top")
    rbm = RBMModel(layer, persistent=True, n_chains=100, centering=args.centering, seed=0)
    chunks = [int(c) for c in args.chunks.split(",")]
    rate = args.lr
    if args.decay:
        total = sum(chunks) * int(np.ceil(len(data) / 100))
        rate = keras.optimizers.schedules.PolynomialDecay(args.lr, total, args.lr / 100)
    rbm.compile(optimizer=keras.optimizers.SGD(rate, momentum=0.5))
    labels = np.repeat(np.arange(10), args.per_class)
    done, cpu0 = 0, time.process_time()
    for chunk in chunks:
        rbm.fit_in_memory(data, epochs=chunk, batch_size=100)
        done += chunk
        for name in ("kernel", "visible_bias", "hidden_bias"):
            getattr(top, name).assign(getattr(layer, name))
        classify = float(np.mean(dbn.classify(xt).argmax(1) == yt))
        samples = dbn.generate(labels, n=len(labels), steps=args.steps, seed=0)
        print(json.dumps({"centering": args.centering, "decay": args.decay, "epochs": done,
                          "cpu": round(time.process_time() - cpu0),
                          "classify": round(classify, 4), **rates(judge(samples), labels)}),
              flush=True)


def anneal(args, dbn, judge):
    top, k = dbn.rbms[-1], dbn.n_labels
    n_features = top.n_visible - k
    w, b = top.kernel, top.visible_bias
    labels = np.repeat(np.arange(10), args.per_class)
    one_hot = tf.one_hot(labels, k, dtype=w.dtype)
    label_input = top.hidden_bias + one_hot @ w[n_features:]
    seed = args.seed
    vf = tf.cast(tf.random.stateless_uniform([len(labels), n_features], [seed, 9])
                 < tf.sigmoid(b[:n_features]), w.dtype)
    for t in range(args.anneal_steps):
        beta = (t + 1) / args.anneal_steps
        ph = tf.sigmoid(label_input + beta * (vf @ w[:n_features]))
        h = tf.cast(tf.random.stateless_uniform(ph.shape, [seed, 2 * t]) < ph, w.dtype)
        pv = tf.sigmoid(b[:n_features] + beta * (h @ tf.transpose(w[:n_features])))
        vf = tf.cast(tf.random.stateless_uniform(pv.shape, [seed, 2 * t + 1]) < pv, w.dtype)
    v_mean, _ = gibbs.clamped_chain(top, tf.concat([vf, one_hot], -1), clamp_mask(top, k),
                                    args.steps, tf.constant([seed, 77], tf.int64))
    print(json.dumps({"anneal_steps": args.anneal_steps, "steps": args.steps, "seed": seed,
                      **rates(judge(dbn._down(v_mean).numpy()), labels)}), flush=True)


def digits(args):
    from sklearn.svm import SVC
    (x, y), (xt, yt) = load_digits("train"), load_digits("test")
    svc = SVC(C=10).fit(x, y)
    print(json.dumps({"judge_test_accuracy": round(float(svc.score(xt, yt)), 4)}), flush=True)
    batch, epochs = default_schedule(len(x))
    sizes = [int(s) for s in args.sizes.split(",")]
    n = len(sizes)
    labels = np.repeat(np.arange(10), args.per_class)
    tops = {"default": {}, "p": {"persistent": True},
            "pc": {"persistent": True, "centering": True},
            "pcd": {"persistent": True, "centering": True}}
    for name in args.variants.split(","):
        keras.utils.set_random_seed(args.seed)
        dbn = DBNModel(sizes, n_labels=10, seed=args.seed,
                       layer_options=[{}] * (n - 1) + [tops[name]])
        if name == "pcd":
            steps = epochs * int(np.ceil(len(x) / batch))
            dbn.compile(layer_optimizers=[None] * (n - 1) + [keras.optimizers.SGD(
                keras.optimizers.schedules.PolynomialDecay(0.05, steps, 0.0005), momentum=0.5)])
        cpu0 = time.process_time()
        dbn.fit(x, y, batch_size=batch, epochs=epochs, verbose=0)
        out = {"variant": name, "cpu": round(time.process_time() - cpu0),
               "classify": round(float(np.mean(dbn.classify(xt).argmax(1) == yt)), 3)}
        for steps in (200, 1000):
            samples = dbn.generate(labels, n=len(labels), steps=steps, seed=args.seed)
            out[f"steps_{steps}"] = rates(svc.predict(samples), labels)
        print(json.dumps(out), flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("part", choices=("diagnose", "retrain-top", "anneal", "digits"))
    p.add_argument("dbn", nargs="?", help="a labelled DBN (.keras); not for 'digits'")
    p.add_argument("--cnn", help="the judge (.keras), from bench_dbn.py generate --save-cnn")
    p.add_argument("--per-class", type=int, default=50)
    p.add_argument("--steps", type=int, default=1000, help="clamped Gibbs steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--centering", action="store_true", help="retrain-top: centering trick")
    p.add_argument("--decay", action="store_true",
                   help="retrain-top: the rate falls linearly to 1 %% over all chunks")
    p.add_argument("--lr", type=float, default=0.05, help="retrain-top: SGD rate")
    p.add_argument("--chunks", default="10,10,10", help="retrain-top: epochs between judgements")
    p.add_argument("--anneal-steps", type=int, default=100)
    p.add_argument("--sizes", default="500,500", help="digits: hidden sizes")
    p.add_argument("--variants", default="default,p,pc,pcd", help="digits: top-RBM variants")
    args = p.parse_args(argv)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    if args.part == "digits":
        return digits(args)
    if not args.dbn or not args.cnn:
        p.error(f"{args.part} needs a saved labelled DBN and --cnn")
    dbn = keras.models.load_model(args.dbn)
    judge = cnn_judge(keras.models.load_model(args.cnn))
    {"diagnose": diagnose, "retrain-top": retrain_top, "anneal": anneal}[args.part](
        args, dbn, judge)


if __name__ == "__main__":
    main()
