"""DBN classifier on the embedded 8x8 digits (1,500 train, 297 test: --holdout), several seeds.

Pre-trains ``DBNModel(layers)`` as ``tfrbm dbn train`` does (:func:`tfrbm.pipelines.dbn.build_dbn`,
:func:`~tfrbm.pipelines.dbn.pretrain_dbn`: CD-k/PCD, SGD momentum 0.5, ``default_schedule``
batch) for about ``--updates`` CD updates per layer, then fine-tunes ``to_classifier(10, init=...)`` for about
``--ft-updates`` Adam updates, for each init in ``--inits`` (the same budget, optimizer and seed
for both: the pre-trained vs random side by side). ``--aug`` fine-tunes on the training images
plus their four 1-pixel shifts. Prints one JSON line per (seed, init) with the test accuracy,
the last training accuracy and the CPU seconds, then the mean and min over seeds.

    python benchmarks/bench_dbn_digits.py --inits pretrained,random --seeds 0,1,2
"""
import argparse
import json
import sys
import time


import numpy as np  # noqa: E402


def shifts(x, y):
    """The images plus their four 1-pixel shifts (up, down, left, right; zeros shifted in)."""
    im = x.reshape(-1, 8, 8)
    out, ys = [im], [y]
    for dy, dx in [(-1, 0), (1, 0), (0, -1), (0, 1)]:
        s = np.zeros_like(im)
        s[:, max(dy, 0):8 + min(dy, 0), max(dx, 0):8 + min(dx, 0)] = \
            im[:, max(-dy, 0):8 + min(-dy, 0), max(-dx, 0):8 + min(-dx, 0)]
        out.append(s)
        ys.append(y)
    return np.concatenate(out).reshape(-1, 64).astype(np.float32), np.concatenate(ys)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layers", default="500,200,50")
    p.add_argument("--updates", type=int, default=3000, help="CD updates per layer")
    p.add_argument("--lr", type=float, default=0.1, help="RBM SGD rate (momentum 0.5)")
    p.add_argument("--batch", type=int, default=None, help="pre-training batch (default_schedule)")
    p.add_argument("--cdk", type=int, default=1)
    p.add_argument("--pcd", action="store_true")
    p.add_argument("--wd", type=float, default=0.0, help="RBM weight decay")
    p.add_argument("--ft-lr", type=float, default=1e-3)
    p.add_argument("--ft-updates", type=int, default=3000)
    p.add_argument("--ft-batch", type=int, default=None)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--aug", action="store_true", help="fine-tune on the images and their shifts")
    p.add_argument("--aug-pre", action="store_true", help="also pre-train on them")
    p.add_argument("--inits", default="pretrained", help="pretrained,random")
    p.add_argument("--holdout", default="last", choices=("last", "stratified"),
                   help="the digits test split (tfrbm.data.images.load_digits)")
    p.add_argument("--seeds", default="0")
    p.add_argument("--cosine", action="store_true", help="cosine-decay the fine-tuning rate")
    p.add_argument("--ft-opt", default="adam", choices=("adam", "sgd"))
    a = p.parse_args()
    import keras
    from tfrbm.data.images import load_images
    from tfrbm.models.dbn import default_schedule
    from tfrbm.pipelines.dbn import DBNTrainingConfig, build_dbn, pretrain_dbn
    x, y = load_images("digits", "train", holdout=a.holdout)
    xt, yt = load_images("digits", "test", holdout=a.holdout)
    xa, ya = shifts(x, y) if a.aug else (x, y)
    res = {}
    for seed in [int(s) for s in a.seeds.split(",")]:
        keras.utils.set_random_seed(seed)
        layers = [int(s) for s in a.layers.split(",")]
        config = DBNTrainingConfig(data="digits", holdout=a.holdout, layers=tuple(layers),
                                   cd_k=a.cdk, persistent=a.pcd, learning_rate=a.lr, seed=seed)
        dbn = build_dbn(config)
        xp = xa if a.aug_pre else x
        bs, _ = default_schedule(len(xp), a.batch)
        ep = max(1, -(-a.updates // -(-len(xp) // bs)))
        t = time.process_time()
        if "pretrained" in a.inits:
            pretrain_dbn(dbn, xp, config, ep, bs, weight_decay=a.wd)
        else:
            dbn.build((None, 64))
        tp = time.process_time() - t
        for init in a.inits.split(","):
            keras.utils.set_random_seed(seed)
            fb = a.ft_batch or default_schedule(len(x))[0]
            steps = -(-len(xa) // fb)
            fe = max(1, -(-a.ft_updates // steps))
            lr = a.ft_lr
            if a.cosine:
                lr = keras.optimizers.schedules.CosineDecay(a.ft_lr, fe * steps)
            opt = (keras.optimizers.Adam(lr) if a.ft_opt == "adam"
                   else keras.optimizers.SGD(lr, momentum=0.9))
            clf = dbn.to_classifier(10, init=init, dropout=a.dropout, optimizer=opt)
            t = time.process_time()
            hh = clf.fit(xa, ya, epochs=fe, batch_size=fb, verbose=0, shuffle=True)
            tf_ = time.process_time() - t
            acc = clf.evaluate(xt, yt, verbose=0)[1]
            res.setdefault(init, []).append(acc)
            print(json.dumps(dict(seed=seed, init=init, acc=round(acc, 4),
                                  train_acc=round(hh.history["accuracy"][-1], 4), pre_epochs=ep,
                                  pre_batch=bs, ft_epochs=fe, ft_batch=fb, cpu_pre=round(tp, 1),
                                  cpu_ft=round(tf_, 1))), flush=True)
    for k, v in res.items():
        print(k, "mean %.4f min %.4f" % (np.mean(v), np.min(v)), " ".join(sys.argv[1:]), flush=True)


if __name__ == "__main__":
    main()
