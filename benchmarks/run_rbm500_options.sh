#!/bin/sh
# Issue 14 item 5: the effect of each training option at an equal CPU budget, both bounds.
# Each row: train an MNIST RBM-500 for BUDGET CPU-minutes (one TF thread), then the sandwich
# (RAISE on 100 test rows + exact mean free energy of all 10,000; AIS 100 runs) at K/2 and K betas.
#   sh benchmarks/run_rbm500_options.sh OUTDIR [BUDGET_MIN] [K]
set -e
out=${1:?usage: run_rbm500_options.sh OUTDIR [BUDGET_MIN] [K]}
budget=${2:-5}
k=${3:-16000}
here=$(dirname "$0")
mkdir -p "$out"
export TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1
row() {
    name=$1; shift
    python "$here/train_rbm500_budget.py" --budget-min "$budget" --out "$out/$name.keras" "$@" \
        > "$out/$name.train.log" 2>&1
    python "$here/bench_likelihood.py" --load "$out/$name.keras" --n-betas "$k" --doublings 1 \
        --raise-rows 100 --seed 1 > "$out/$name.eval.log" 2>&1
}
# plain PCD-1: constant learning rate, no momentum, no weight decay
row pcd_plain --schedule constant --lr 0.05 --momentum-initial 0 --momentum 0 --wd 0
# + momentum 0.5 -> 0.9, weight decay 1e-5, learning rate decaying linearly over the budget
row pcd_schedules
# + centering (Melchior et al. 2016)
row pcd_schedules_centering --extra '{"centering": true}'
# + parallel tempering, 4 replicas (Desjardins et al. 2010)
row pcd_schedules_tempering --extra '{"tempering": 4}'
# Salakhutdinov & Murray's CD-1 row, same schedules
row cd1_schedules --method cd
