#!/usr/bin/env python3
"""Side-by-side throughput of strata and the PyTorch peer on ResNet-18 / Plain-18 (1x28x28, 10 classes).

Runs, for each batch size:
  * the strata model benchmark (benchmarks/model_bench.cpp) with --benchmark_format=json; the batch size and the
    number of timed steps reach it through the environment variables STRATA_BENCH_BATCH and STRATA_BENCH_ITERS;
  * the PyTorch peer script (/work/shared/peers/torch_resnet18.py <batch> <steps>), one JSON line per case;
and prints one table: net, batch, threads, train img/s (strata, torch, ratio strata/torch), infer img/s (same).
With /usr/bin/time available it also measures the peak RSS of one training process of each (ResNet-18, 1 thread;
the torch process also runs its inference after training, which needs less memory).

--isa avx2 (or sse2, generic) caps both sides at one instruction set: strata through STRATA_ISA, PyTorch through
ATEN_CPU_CAPABILITY (its own kernels) and DNNL_MAX_CPU_ISA (oneDNN's convolutions; DNNL_VERBOSE=1 shows the ISA
it picked), so that the AVX2 rows compare AVX2 code with AVX2 code.

Usage:
  python3 benchmarks/compare_peer.py [--batch 64 [16 256 ...]] [--steps 10] [--strata-bin PATH]
                                     [--peer PATH] [--torch-python /usr/bin/python3] [--out table.md] [--no-rss]
                                     [--isa avx2] [--rounds 3]

Only the Python standard library is needed here; PyTorch must be importable by --torch-python.
Both sides report the median step: strata's is the median over --steps repetitions of model_bench with one timed
step each (STRATA_BENCH_ITERS=1, --benchmark_repetitions; each repetition builds the net and runs 2 untimed
warm-up steps), the peer's the median of its --steps timed steps after 3 warm-up steps. (Before 2026-12-05
strata's figure was the mean over the steps of one run, which counts the host's hiccups that a median skips.)
"""
import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TIME = "/usr/bin/time"

# model_train/resnet18/batch:64/threads:1/iterations:5/real_time
NAME_RE = re.compile(r"^model_(train|infer)/(\w+)/batch:(\d+)/threads:(\d+)")


def run(cmd, env=None):
    """Runs cmd, returns (stdout, stderr); exits with the command's stderr on failure."""
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"compare_peer: {' '.join(cmd)} failed with exit code {proc.returncode}:\n{proc.stderr}")
    return proc.stdout, proc.stderr


# --isa: the environment that caps each side at that instruction set.
ISA_ENV = {
    "avx512": ({"STRATA_ISA": "avx512"}, {"ATEN_CPU_CAPABILITY": "avx512", "DNNL_MAX_CPU_ISA": "AVX512_CORE"}),
    "avx2": ({"STRATA_ISA": "avx2"}, {"ATEN_CPU_CAPABILITY": "avx2", "DNNL_MAX_CPU_ISA": "AVX2"}),
    "sse2": ({"STRATA_ISA": "generic"}, {"ATEN_CPU_CAPABILITY": "default", "DNNL_MAX_CPU_ISA": "SSE41"}),
}
ISA = None  # set from --isa


def strata_env(batch, steps):
    env = dict(os.environ)
    if ISA:
        env.update(ISA_ENV[ISA][0])
    env["STRATA_BENCH_BATCH"] = str(batch)
    env["STRATA_BENCH_ITERS"] = "1"  # one timed step per repetition: the median is over single steps
    return env


def run_strata(binary, batch, steps):
    """{(net, threads): {"train": img/s, "infer": img/s}} from the model benchmark's JSON output: the median over
    `steps` repetitions of one timed step each (after the case's warm-up steps), as the peer takes the median of
    its steps."""
    out, _ = run([binary, "--benchmark_format=json", "--benchmark_filter=^model_",
                  f"--benchmark_repetitions={steps}", "--benchmark_report_aggregates_only=true"],
                 env=strata_env(batch, steps))
    results = {}
    for b in json.loads(out)["benchmarks"]:
        m = NAME_RE.match(b["name"])
        if not m or b.get("run_type") != "aggregate" or b.get("aggregate_name") != "median":
            continue
        kind, net, _, threads = m.group(1), m.group(2), int(m.group(3)), int(m.group(4))
        results.setdefault((net, threads), {})[kind] = float(b["img/s"])
    return results


def torch_env():
    env = dict(os.environ)
    if ISA:
        env.update(ISA_ENV[ISA][1])
    return env


def run_torch(python, peer, batch, steps):
    """{(net, threads): {"train": img/s, "infer": img/s}} from the peer's JSON lines."""
    out, _ = run([python, peer, str(batch), str(steps)], env=torch_env())
    results = {}
    for line in out.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        results[(r["net"], int(r["threads"]))] = {"train": float(r["train_img_s"]), "infer": float(r["infer_img_s"])}
    return results


def peak_rss_mb(cmd, env=None):
    """Peak resident set size in MB of cmd via /usr/bin/time -v, or None."""
    _, err = run([TIME, "-v"] + cmd, env=env)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    return int(m.group(1)) / 1024.0 if m else None


def rss_pair(args, batch):
    """(strata MB, torch MB) of one ResNet-18 training process at 1 thread and this batch."""
    steps = min(args.steps, 3)
    strata = peak_rss_mb([args.strata_bin, f"--benchmark_filter=^model_train/resnet18/batch:{batch}/threads:1/"],
                         env=strata_env(batch, steps))
    peer_dir, peer_mod = os.path.split(os.path.abspath(args.peer))
    code = (f"import sys; sys.path.insert(0, {peer_dir!r}); import {os.path.splitext(peer_mod)[0]} as p; "
            f"p.bench(True, {batch}, {steps}, 1)")
    torch = peak_rss_mb([args.torch_python, "-c", code], env=torch_env())
    return strata, torch


def fmt(v, digits=1):
    return "-" if v is None else f"{v:.{digits}f}"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def median(values):
    """The median of a list of numbers, None when it is empty."""
    v = sorted(values)
    if not v:
        return None
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2


def fmt_ratios(ratios):
    """The median of paired ratios, with their range when there are several: "1.62 (1.48-1.71)"."""
    if not ratios:
        return "-"
    if len(ratios) == 1:
        return f"{ratios[0]:.2f}"
    return f"{median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"


def load_average():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def cpu_name():
    """The CPU's model name and its widest vector extension, from /proc/cpuinfo ("AMD EPYC, AVX2")."""
    model, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model == "unknown CPU":
                    model = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    widest = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE2"
    return f"{model}, {widest}"


def scaling_cells(rounds, net):
    """The 1 -> 2 thread training scaling of one side: the median of the rounds' 2-thread / 1-thread rates."""
    per_round = [x[(net, 2)]["train"] / x[(net, 1)]["train"] for x in rounds
                 if "train" in x.get((net, 1), {}) and "train" in x.get((net, 2), {}) and x[(net, 1)]["train"]]
    return fmt_ratios(per_round)


def text_table(header, rows):
    """The rows under their header, each column right-aligned to its widest cell, two spaces apart."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(cells, widths)) for cells in [header] + rows)


def markdown_table(header, rows):
    """The rows under their header as a Markdown table."""
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] +
                     ["| " + " | ".join(r) + " |" for r in rows])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", nargs="+", default=["64"],
                    help="batch sizes, e.g. --batch 16 64 256 or --batch 16,64,256 (default 64)")
    ap.add_argument("--steps", type=int, default=10, help="timed steps per case (both sides)")
    ap.add_argument("--strata-bin", default=os.path.join(ROOT, "build/native/benchmarks/model_bench"))
    ap.add_argument("--peer", default="/work/shared/peers/torch_resnet18.py")
    ap.add_argument("--torch-python", default="/usr/bin/python3")
    ap.add_argument("--out", help="also write the table as Markdown to this file")
    ap.add_argument("--rounds", type=int, default=1,
                    help="alternate the two sides this many times per batch (strata first in odd rounds, PyTorch "
                         "first in even ones) and report medians over the rounds, with the range of the paired "
                         "ratios: the host's speed drifts between runs, and pairing cancels most of it")
    ap.add_argument("--no-rss", action="store_true", help="skip the peak-RSS measurement")
    ap.add_argument("--isa", choices=sorted(ISA_ENV),
                    help="cap strata and PyTorch at this instruction set (default: each picks the best it has)")
    args = ap.parse_args()
    global ISA
    ISA = args.isa
    try:
        args.batch = [int(b) for item in args.batch for b in item.split(",") if b]
    except ValueError:
        sys.exit(f"compare_peer: --batch takes integers, got {args.batch}")
    if not os.access(args.strata_bin, os.X_OK):
        sys.exit(f"compare_peer: no strata benchmark at {args.strata_bin}; build it with\n"
                 "  cmake -S . -B build/native -DCMAKE_BUILD_TYPE=Release -DSTRATA_MARCH=native && "
                 "cmake --build build/native --target model_bench")
    if args.steps < 1 or any(b < 2 for b in args.batch):
        sys.exit("compare_peer: --steps must be >= 1 and every batch >= 2")
    if args.rounds < 1:
        sys.exit(f"compare_peer: --rounds must be >= 1, got {args.rounds}")
    with_rss = not args.no_rss and shutil.which(TIME) is not None

    load_before = load_average()
    header = ["net", "batch", "threads", "strata train img/s", "torch train img/s", "ratio",
              "strata infer img/s", "torch infer img/s", "ratio"]
    rows, rss_rows, scaling_rows = [], [], []
    for batch in args.batch:
        s_rounds, t_rounds = [], []
        for r in range(args.rounds):
            sides = [("strata", lambda: run_strata(args.strata_bin, batch, args.steps), s_rounds),
                     ("torch", lambda: run_torch(args.torch_python, args.peer, batch, args.steps), t_rounds)]
            for name, measure, into in (sides if r % 2 == 0 else sides[::-1]):
                print(f"compare_peer: batch {batch}, round {r + 1} of {args.rounds}: {name} ...", file=sys.stderr,
                      flush=True)
                into.append(measure())
        keys = set().union(*s_rounds, *t_rounds)
        for key in sorted(keys, key=lambda k: (k[0] != "resnet18", k[0], k[1])):
            cells = [key[0], str(batch), str(key[1])]
            for kind in ("train", "infer"):
                sv = [x[key][kind] for x in s_rounds if kind in x.get(key, {})]
                tv = [x[key][kind] for x in t_rounds if kind in x.get(key, {})]
                paired = [a / b for a, b in zip(sv, tv) if b]
                cells += [fmt(median(sv)), fmt(median(tv)), fmt_ratios(paired)]
            rows.append(cells)
        for net in sorted({k[0] for k in keys}, key=lambda n: (n != "resnet18", n)):
            if (net, 1) in keys and (net, 2) in keys:
                scaling_rows.append([net, str(batch), scaling_cells(s_rounds, net), scaling_cells(t_rounds, net)])
        if with_rss:
            print(f"compare_peer: batch {batch}: peak RSS ...", file=sys.stderr, flush=True)
            sm, tm = rss_pair(args, batch)
            rss_rows.append(["resnet18 train", str(batch), "1", fmt(sm, 0), fmt(tm, 0), fmt(ratio(sm, tm), 2)])
    load_after = load_average()

    scaling_header = ["net", "batch", "strata train 1 -> 2 threads", "torch train 1 -> 2 threads"]
    rss_header = ["process", "batch", "threads", "strata peak RSS MB", "torch peak RSS MB", "ratio"]
    tables = [(header, rows), (scaling_header, scaling_rows), (rss_header, rss_rows)]
    print("\n\n".join(text_table(h, r) for h, r in tables if r))
    print(f"\nCPU: {cpu_name()}, {os.cpu_count()} CPUs; load average (1/5/15 min): {load_before} before, "
          f"{load_after} after; steps per case: {args.steps}; rounds: {args.rounds}; "
          f"instruction sets: {args.isa or 'each side its best'}")

    if args.out:
        md = ["# strata vs PyTorch: ResNet-18 / Plain-18 on 1x28x28", "",
              f"{datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M UTC')}, {cpu_name()}, {os.cpu_count()} CPUs, "
              f"load average "
              f"{load_before} before / {load_after} after, {args.steps} timed steps per case, {args.rounds} "
              f"round(s) (img/s: medians over the rounds; ratio: median of the paired ratios, range in brackets), "
              f"instruction sets: "
              f"{args.isa or 'each side its best'}. Ratio = strata / torch.",
              ""]
        md += ["\n\n".join(markdown_table(h, r) for h, r in tables if r)]
        with open(args.out, "w") as f:
            f.write("\n".join(md) + "\n")
        print(f"compare_peer: wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
