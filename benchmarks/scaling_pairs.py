"""1 -> 2 thread scaling of a training step, strata and the PyTorch peer measured the same way.

A shared machine's speed drifts by 10-40% within seconds, so a scaling figure from separate 1- and 2-thread runs
(compare_peer.py's) can land anywhere from 1.1x to 1.9x. Here every pair of timed steps (one on 1 thread, one on
2, alternating which goes first, each after an untimed step on the same thread count) sees the same host load,
and the medians of the pairs' ratios are compared. strata's side is model_bench's scaling_train cases; PyTorch's
is the peer's network (/work/shared/peers/torch_resnet18.py) driven by the same pairing here.

  python3 benchmarks/scaling_pairs.py [--strata-bin build/release/benchmarks/model_bench] [--pairs 30]
                                      [--rounds 2] [--peer PATH] [--torch-python /usr/bin/python3] [--cores]

Prints one markdown row per net and round; the rounds alternate strata and PyTorch.

With --cores (Linux) each round instead times, in rotating order, a 1-thread step pinned to each of the first two
CPUs and a 2-thread step (strata: model_bench's cores_train cases), and reports the medians and the efficiency:
the 2-thread rate over the sum of the two 1-thread rates, the fraction of two cores of unequal speed that the
2-thread step uses.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

# The peer's workload, shared by both drivers: net(skip) builds a fresh ResNet-18 (or Plain-18) with its optimizer
# and a fixed batch, and returns one training step.
TORCH_SETUP = r'''
import json, os, statistics, sys, time
PEER_DIR, BATCH, COUNT = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sys.path.insert(0, PEER_DIR)
import torch
import torch.nn.functional as F
from torch_resnet18 import ResNet18

def net(skip):
    torch.manual_seed(0)
    model = ResNet18(skip)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(BATCH, 1, 28, 28)
    y = torch.randint(0, 10, (BATCH,))
    model.train()
    def step():
        opt.zero_grad(); F.cross_entropy(model(x), y).backward(); opt.step()
    return step

def timed(step):
    t = time.perf_counter()
    step()
    return (time.perf_counter() - t) * 1e3
'''

TORCH_PAIRS = TORCH_SETUP + r'''
def run(skip, pairs):
    step = net(skip)
    def on(threads):
        torch.set_num_threads(threads)
        return timed(step)
    for i in range(4):
        on(1 + i % 2)
    one, two = [], []
    for i in range(pairs):
        order = (1, 2) if i % 2 == 0 else (2, 1)
        got = {}
        for threads in order:
            on(threads)
            got[threads] = on(threads)
        one.append(got[1]); two.append(got[2])
    ratios = [a / b for a, b in zip(one, two)]
    print(json.dumps(dict(net="resnet18" if skip else "plain18", ms_1t=statistics.median(one),
                          ms_2t=statistics.median(two), x2=statistics.median(ratios))), flush=True)

for skip in (True, False):
    run(skip, COUNT)
'''

TORCH_CORES = TORCH_SETUP + r'''
allowed = sorted(os.sched_getaffinity(0))
cpus = allowed[:2]

def run(skip, rounds):
    step = net(skip)
    torch.set_num_threads(2)
    for _ in range(3):
        step()  # the intra-op threads start unpinned
    def in_setting(setting):  # 0, 1: one thread pinned to cpus[setting]; 2: two threads, unpinned
        os.sched_setaffinity(0, {cpus[setting]} if setting < 2 else set(allowed))
        torch.set_num_threads(1 if setting < 2 else 2)
        step()
        return timed(step)
    ms = [[], [], []]
    eff = []
    for r in range(rounds):
        got = [0.0, 0.0, 0.0]
        for k in range(3):
            setting = (r + k) % 3
            got[setting] = in_setting(setting)
        for k in range(3):
            ms[k].append(got[k])
        eff.append((1 / got[2]) / (1 / got[0] + 1 / got[1]))
    os.sched_setaffinity(0, set(allowed))
    print(json.dumps(dict(net="resnet18" if skip else "plain18", ms_a=statistics.median(ms[0]),
                          ms_b=statistics.median(ms[1]), ms_2t=statistics.median(ms[2]),
                          efficiency=statistics.median(eff))), flush=True)

for skip in (True, False):
    run(skip, COUNT)
'''


def strata_rows(binary, case, count):
    """model_bench's `case` cases (STRATA_BENCH_ITERS=count) as {net: the benchmark's JSON record}."""
    env = dict(os.environ, STRATA_BENCH_ITERS=str(count))
    out = subprocess.run([binary, f"--benchmark_filter=^{case}/", "--benchmark_format=json"], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"scaling_pairs: {binary} failed with exit code {out.returncode}:\n{out.stderr}")
    rows = {}
    for b in json.loads(out.stdout)["benchmarks"]:
        if "error_message" in b:
            sys.exit(f"scaling_pairs: {b['name']}: {b['error_message']}")
        rows[re.match(case + r"/(\w+)/", b["name"]).group(1)] = b
    return rows


def torch_rows(python, script, peer, count):
    """The peer driver `script` (TORCH_PAIRS or TORCH_CORES) on batch 64 as {net: its JSON line}."""
    env = dict(os.environ)
    env.pop("OMP_NUM_THREADS", None)
    out = subprocess.run([python, "-c", script, os.path.dirname(os.path.abspath(peer)), "64", str(count)],
                         env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"scaling_pairs: the PyTorch run failed with exit code {out.returncode}:\n{out.stderr}")
    return {r["net"]: r for r in map(json.loads, out.stdout.splitlines())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strata-bin", default="build/release/benchmarks/model_bench")
    ap.add_argument("--pairs", type=int, default=30,
                    help="timed pairs (with --cores: rounds of three steps) per net and side (default 30)")
    ap.add_argument("--rounds", type=int, default=2, help="strata/PyTorch alternations (default 2)")
    ap.add_argument("--peer", default="/work/shared/peers/torch_resnet18.py")
    ap.add_argument("--torch-python", default="/usr/bin/python3")
    ap.add_argument("--cores", action="store_true",
                    help="pin the 1-thread steps to each of two CPUs and report the efficiency (Linux)")
    args = ap.parse_args()
    if args.pairs < 1 or args.rounds < 1:
        sys.exit("scaling_pairs: --pairs and --rounds must be positive")
    for path in (args.strata_bin, args.peer, args.torch_python):
        if not os.path.exists(path):
            sys.exit(f"scaling_pairs: {path} does not exist")
    if args.cores:
        if len(os.sched_getaffinity(0)) < 2:
            sys.exit("scaling_pairs: --cores needs two CPUs")
        print("| round | net | strata 1 thread, CPU A / B (ms) | strata 2 threads (ms) | strata efficiency "
              "| PyTorch 1 thread, CPU A / B (ms) | PyTorch 2 threads (ms) | PyTorch efficiency |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|")
        for r in range(1, args.rounds + 1):
            s = strata_rows(args.strata_bin, "cores_train", args.pairs)
            t = torch_rows(args.torch_python, TORCH_CORES, args.peer, args.pairs)
            for net in ("resnet18", "plain18"):
                a, b = s[net], t[net]
                per_cpu = sorted(k for k in a if k.startswith("ms_cpu"))
                a = dict(a, ms_a=a[per_cpu[0]], ms_b=a[per_cpu[1]])
                print(f"| {r} | {net} | {a['ms_a']:.1f} / {a['ms_b']:.1f} | {a['ms_2t']:.1f} | {a['efficiency']:.2f} "
                      f"| {b['ms_a']:.1f} / {b['ms_b']:.1f} | {b['ms_2t']:.1f} | {b['efficiency']:.2f} |", flush=True)
        return
    print("| round | net | strata 1 thread (ms) | strata 2 threads (ms) | strata x2 | PyTorch 1 thread (ms) "
          "| PyTorch 2 threads (ms) | PyTorch x2 |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in range(1, args.rounds + 1):
        s = strata_rows(args.strata_bin, "scaling_train", args.pairs)
        t = torch_rows(args.torch_python, TORCH_PAIRS, args.peer, args.pairs)
        for net in ("resnet18", "plain18"):
            a, b = s[net], t[net]
            print(f"| {r} | {net} | {a['ms_1t']:.1f} | {a['ms_2t']:.1f} | {a['x2']:.2f} | {b['ms_1t']:.1f} "
                  f"| {b['ms_2t']:.1f} | {b['x2']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
