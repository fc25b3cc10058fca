#!/bin/sh
# The model table of docs/models.md: for each model train_mnist offers, its parameters and multiply-adds per
# image (train_mnist --summary), images/s on 1 and 2 threads (a short run), and the test accuracy after a
# 1-epoch and a 3-epoch run with the model's default recipe (full Fashion-MNIST: minutes to hours per model on
# a 2-core machine). Prints one markdown row per model; run it on an otherwise idle machine for the speeds.
#
#   benchmarks/model_table.sh TRAIN_MNIST [--costs-only] [MODEL...]
#
# Without MODEL: every model of the table. --costs-only: parameters and multiply-adds only (seconds).
# The accuracy runs are niced and use 2 threads; set TABLE_EPOCHS="1" to skip the 3-epoch runs, TABLE_EPOCHS=""
# to skip the accuracy runs (speeds only).
set -eu
[ $# -ge 1 ] || { echo "usage: $0 TRAIN_MNIST [--costs-only] [MODEL...]" >&2; exit 2; }
bin=$1; shift
costs_only=0
if [ "${1:-}" = "--costs-only" ]; then costs_only=1; shift; fi
[ $# -gt 0 ] || set -- resnet18 resnet18-aux resnet34 resnet34-aux resnet50 resnet50-aux plain18 plain18-aux \
    plain34 plain34-aux resnet20 resnet20-aux resnet32 resnet44 resnet56 resnet56-aux resnet110 resnet110-aux \
    plain20 plain20-aux plain32 plain44 plain56 plain56-aux plain110 plain110-aux dsn
epochs_list=${TABLE_EPOCHS-1 3}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

last_field() {  # last_field FILE KEY: KEY's value in the last JSON line of FILE
    tail -n 1 "$1" | sed "s/.*\"$2\":\([^,}]*\).*/\1/"
}

echo "| model | recipe | parameters | multiply-adds / image | test acc. 1 epoch | test acc. 3 epochs | images/s, 1 thread | images/s, 2 threads |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for model in "$@"; do
    line=$("$bin" --model "$model" --summary --limit 256 --test-limit 16 | tail -n 1)
    params=$(printf '%s' "$line" | sed 's/.*: \([0-9]*\) parameters.*/\1/')
    macs=$(printf '%s' "$line" | sed 's/.*, \([0-9]*\) multiply-adds.*/\1/')
    recipe=$(printf '%s' "$line" | sed 's/.*; recipe \([^:]*\):.*/\1/')
    acc1="not measured"; acc3="not measured"; ips1="not measured"; ips2="not measured"
    if [ "$costs_only" -eq 0 ]; then
        for threads in 1 2; do  # speed: 10 steps of the recipe's batch after one step of warm-up
            rm -f "$tmp/s.jsonl"
            nice -n 19 "$bin" --model "$model" --limit 1408 --test-limit 16 --threads $threads --quiet \
                --metrics "$tmp/s.jsonl" >/dev/null 2>&1 || true
            [ -s "$tmp/s.jsonl" ] && eval "ips$threads=\$(last_field \"\$tmp/s.jsonl\" images_per_s)"
        done
        for epochs in $epochs_list; do
            rm -f "$tmp/a.jsonl"
            nice -n 19 "$bin" --model "$model" --epochs "$epochs" --threads 2 --quiet --metrics "$tmp/a.jsonl" \
                >/dev/null 2>&1 || true
            if [ -s "$tmp/a.jsonl" ]; then
                acc=$(last_field "$tmp/a.jsonl" test_acc)
                acc=$(awk -v a="$acc" 'BEGIN { printf "%.2f%%", 100 * a }')
                [ "$epochs" = 1 ] && acc1=$acc
                [ "$epochs" = 3 ] && acc3=$acc
            fi
        done
    fi
    echo "| $model | $recipe | $params | $macs | $acc1 | $acc3 | $ips1 | $ips2 |"
done
