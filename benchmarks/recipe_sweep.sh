#!/bin/sh
# The recipe sweep of docs/models.md: one short train_mnist run per line of a plan file, each appended to a
# TSV (model, options, final train loss, test accuracy, wall seconds, exit status).
#
#   benchmarks/recipe_sweep.sh TRAIN_MNIST PLAN OUT.tsv [common options...]
#
# PLAN: one run per line, "MODEL [train_mnist options...]"; blank lines and lines starting with # are skipped.
# The common options (default: --epochs 1 --limit 5000 --test-limit 2000 --threads 1) come after each line's
# own. Runs are sequential and niced: start one sweep per free core at most.
set -eu
[ $# -ge 3 ] || { echo "usage: $0 TRAIN_MNIST PLAN OUT.tsv [common options...]" >&2; exit 2; }
bin=$1; plan=$2; out=$3; shift 3
[ $# -gt 0 ] || set -- --epochs 1 --limit 5000 --test-limit 2000 --threads 1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
[ -s "$out" ] || printf 'model\toptions\ttrain_loss\ttest_acc\tseconds\tstatus\n' >"$out"
grep -v '^[[:space:]]*\(#\|$\)' "$plan" | while read -r model opts; do
    rm -f "$tmp/m.jsonl"
    start=$(date +%s)
    status=0
    # shellcheck disable=SC2086  # the options are meant to split
    nice -n 19 "$bin" --model "$model" $opts "$@" --quiet --metrics "$tmp/m.jsonl" </dev/null >"$tmp/log" 2>&1 ||
        status=$?
    secs=$(( $(date +%s) - start ))
    loss=nan; acc=nan
    if [ -s "$tmp/m.jsonl" ]; then
        last=$(tail -n 1 "$tmp/m.jsonl")
        loss=$(printf '%s' "$last" | sed 's/.*"loss":\([^,]*\).*/\1/')
        acc=$(printf '%s' "$last" | sed 's/.*"test_acc":\([^,]*\).*/\1/')
    fi
    [ "$status" -eq 0 ] || tail -n 2 "$tmp/log" >&2
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$model" "$opts" "$loss" "$acc" "$secs" "$status" | tee -a "$out"
done
