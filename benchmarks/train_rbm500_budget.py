# ruff: noqa: E401, E402, E702
"""lik stream: train an MNIST RBM-500 under a CPU-time budget (process CPU via getrusage).

lr decays linearly in *CPU time used* from lr0 to 0 at the budget (``--schedule linear``) or
stays at lr0 (``--schedule constant``); momentum ``--momentum-initial`` for the first
`--mom-epochs` epochs then ``--momentum``; checkpoints every `--ckpt-every` epochs. ``--extra``
passes RBMModel options (e.g. '{"centering": true}' or '{"tempering": 4}') and ``--method cd``
trains by plain CD-k instead of PCD-k.
"""
import argparse, json, os, time
from harness import cpu_seconds as cpu  # before TF

p = argparse.ArgumentParser()
p.add_argument("--budget-min", type=float, default=30.0)
p.add_argument("--lr", type=float, default=0.03)
p.add_argument("--mom-epochs", type=int, default=5)
p.add_argument("--wd", type=float, default=1e-5)
p.add_argument("--cd-k", type=int, default=1)
p.add_argument("--method", choices=("pcd", "cd"), default="pcd")
p.add_argument("--schedule", choices=("linear", "constant"), default="linear")
p.add_argument("--momentum", type=float, default=0.9)
p.add_argument("--momentum-initial", type=float, default=0.5)
p.add_argument("--n-chains", type=int, default=100)
p.add_argument("--batch", type=int, default=100)
p.add_argument("--seed", type=int, default=1)
p.add_argument("--extra", default="{}", help="json of extra RBMModel kwargs")
p.add_argument("--out", required=True)
p.add_argument("--budget-file", default=None)
p.add_argument("--ckpt-every", type=int, default=20)
a = p.parse_args()

import keras
from tfrbm.data.images import mnist
from tfrbm.layers import RBMLayer
from tfrbm.models.rbm import RBMModel

def current_budget():
    # the budget (CPU-minutes) can be lowered while running: --budget-file holds a number
    try:
        return float(open(a.budget_file).read()) * 60
    except (OSError, ValueError, TypeError):
        return a.budget_min * 60

keras.utils.set_random_seed(a.seed)
budget = a.budget_min * 60
model = RBMModel(RBMLayer(500), cd_k=a.cd_k, persistent=a.method == "pcd", n_chains=a.n_chains,
                 weight_decay=a.wd, seed=a.seed, **json.loads(a.extra))
data = mnist("train", batch_size=a.batch, seed=a.seed)
cpu0, wall0 = cpu(), time.perf_counter()
state = {"epoch": 0}

class Clock(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        used = cpu() - cpu0
        budget = current_budget()
        decay = max(0.0, 1 - used / budget) if a.schedule == "linear" else 1.0
        self.model.optimizer.learning_rate.assign(a.lr * decay)
    def on_epoch_end(self, epoch, logs=None):
        state["epoch"] += 1
        used = cpu() - cpu0
        print(f"epoch {state['epoch']}: cpu {used/60:.2f} min wall {time.perf_counter()-wall0:.0f}s "
              f"lr {float(self.model.optimizer.learning_rate.numpy()):.5f} "
              f"recon {logs.get('reconstruction_error', float('nan')):.4f} load {os.getloadavg()[0]:.2f}",
              flush=True)
        if state["epoch"] % a.ckpt_every == 0:
            self.model.save(a.out.replace(".keras", "_ckpt.keras"))
        budget = current_budget()
        # stop when the next epoch would pass the budget
        if used + used / state["epoch"] > budget:
            self.model.stop_training = True

model.compile(optimizer=keras.optimizers.SGD(a.lr, momentum=a.momentum_initial))
model.fit(data, epochs=a.mom_epochs, verbose=0, callbacks=[Clock()])
model.compile(optimizer=keras.optimizers.SGD(a.lr, momentum=a.momentum))
if cpu() - cpu0 < current_budget():
    model.fit(data, epochs=100000, verbose=0, callbacks=[Clock()])
model.save(a.out)
print(json.dumps({"out": a.out, "epochs": state["epoch"], "train_cpu_min": round((cpu() - cpu0) / 60, 2),
                  "train_wall_s": round(time.perf_counter() - wall0, 1), "args": vars(a)}), flush=True)
