#!/usr/bin/python3
"""PyTorch twin of examples/skip_vs_plain's batch-norm settings (plain20-bn, plain56-bn, resnet56-bn, ...).

The recipe is skip_vs_plain's default, read from the program:
- data: the first --limit (5,000) Fashion-MNIST training images, pixels / 255, normalised with the training
  split's mean 0.2860 and std 0.3530; no augmentation;
- batches of 128, reshuffled every epoch, the last partial batch dropped (5,000 = 39 x 128 + 8: 39 steps per
  epoch, 117 in the default 3 epochs; --keep-last keeps it, 120 steps, as skip_vs_plain --keep-last); by default in EXACTLY
  strata's order (strata's DataLoader: a Fisher-Yates shuffle by strata's xoshiro256** Generator seeded from
  (seed, epoch), reimplemented below), or with --torch-order a torch.randperm order;
- nets: CIFAR-style 6n+2 (He et al. 2016, Sec. 4.2): 3x3 stem conv (no bias) + BN + ReLU, three stages of n
  BasicBlocks (conv3x3-BN-ReLU-conv3x3-BN, + shortcut, ReLU) of widths 16/32/64, the first block of stages 2-3
  with stride 2, option-A shortcuts (identity, or every 2nd pixel and zero-padded channels, half before and half
  after) for "resnet", no shortcut for "plain"; global average pool, FC to 10 classes;
- init: Kaiming normal (fan-out, ReLU gain) for every conv, PyTorch's default for the FC, BN gamma 1 beta 0 (no
  zero-init of the last BN in a block: skip_vs_plain zero-inits residual branches only without normalisation);
  BN eps 1e-5 momentum 0.1;
- loss: mean softmax cross-entropy over the batch; SGD lr 0.1, momentum 0.9, dampening 0, no weight decay;
  a linear warm-up over the first 20 steps (step s < 20 at lr (s + 1) / 20, as skip_vs_plain's --warmup 20),
  then constant (--warmup 0: constant from the start);
- metric: the mean training loss (training mode, before each update) of the last 50 steps.

Initial weights: by default torch.manual_seed(seed); with --init-npz DIR, DIR/<setting>_seed<seed>.npz (strata's
initial weights, written by save_npz under torchvision names) so that both start from identical weights.

    /usr/bin/python3 benchmarks/torch_skip_vs_plain.py --settings plain20-bn,plain56-bn,resnet56-bn --seeds 1,2,3,4
    /usr/bin/python3 benchmarks/torch_skip_vs_plain.py --settings resnet56-bn --seeds 1 --print-steps 10
    /usr/bin/python3 benchmarks/torch_skip_vs_plain.py --warmup 0 --keep-last     # the recipe before the warm-up

Prints one line per (setting, seed) with the final train loss, then a table of settings x seeds. Needs
PyTorch (Debian: python3-torch; run with /usr/bin/python3).
"""
import argparse
import gzip
import math
import os
import re
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MASK = (1 << 64) - 1
FASHION_MNIST_MEAN, FASHION_MNIST_STD = 0.2860, 0.3530


# ---- strata's random streams (core/random.hpp, data/data_loader.hpp) ------------------------------------------

def _mix64(z):
    z = (z + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


class StrataGenerator:
    """strata::Generator: xoshiro256** seeded through splitmix64 (only the integer draws the loader uses)."""

    def __init__(self, seed):
        x = seed & MASK
        self.s = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & MASK
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
            self.s.append(z ^ (z >> 31))

    @staticmethod
    def _rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & MASK

    def next_u64(self):
        s = self.s
        result = (self._rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self._rotl(s[3], 45)
        return result

    def below(self, n):
        limit = MASK - (MASK % n)
        while True:
            x = self.next_u64()
            if x < limit:
                return x % n


def strata_epoch_order(n, seed, epoch):
    """The order strata's DataLoader visits n samples in epoch `epoch` (shuffle on, seed `seed`)."""
    stream = _mix64(_mix64(_mix64(seed ^ _mix64(1)) + epoch) + 0)  # stream_seed(seed, 1, epoch, 0)
    gen = StrataGenerator(stream)
    order = list(range(n))
    for i in range(n, 1, -1):
        j = gen.below(i)
        order[i - 1], order[j] = order[j], order[i - 1]
    return order


# ---- data ----------------------------------------------------------------------------------------------------

def read_idx(path):
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[:3] != b"\0\0\x08":
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_train(directory, limit):
    def find(name):
        for c in (name, name + ".gz"):
            if os.path.isfile(os.path.join(directory, c)):
                return os.path.join(directory, c)
        raise FileNotFoundError(f"{directory}: no {name}[.gz]")
    images = read_idx(find("train-images-idx3-ubyte"))[:limit]
    labels = read_idx(find("train-labels-idx1-ubyte"))[:limit]
    x = torch.from_numpy(images.astype(np.float32) / np.float32(255.0)).unsqueeze(1)
    x = (x - FASHION_MNIST_MEAN) / FASHION_MNIST_STD
    return x.contiguous(), torch.from_numpy(labels.astype(np.int64))


# ---- nets ----------------------------------------------------------------------------------------------------

class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride, residual):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.residual, self.stride, self.cin, self.cout = residual, stride, cin, cout

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if self.residual:
            s = x
            if self.stride != 1 or self.cin != self.cout:  # option A: subsample, zero-pad channels
                s = x[:, :, ::self.stride, ::self.stride]
                front = (self.cout - self.cin) // 2
                s = F.pad(s, (0, 0, 0, 0, front, self.cout - self.cin - front))
            y = y + s
        return F.relu(y)


class CifarNet(nn.Module):
    def __init__(self, depth, residual, in_channels=1, num_classes=10):
        super().__init__()
        assert depth >= 8 and (depth - 2) % 6 == 0
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        cin = 16
        for s, w in enumerate((16, 32, 64)):
            blocks = []
            for b in range(n):
                blocks.append(BasicBlock(cin, w, 2 if (b == 0 and s > 0) else 1, residual))
                cin = w
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        self.fc = nn.Linear(64, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        # nn.Linear keeps PyTorch's default init; BatchNorm gamma 1, beta 0.

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.layer3(self.layer2(self.layer1(y)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))


def parse_setting(name):
    m = re.fullmatch(r"(plain|resnet)(\d+)-bn", name)
    if not m:
        raise SystemExit(f"'{name}': this twin covers the batch-norm CIFAR-style settings, (plain|resnet)<6n+2>-bn")
    return int(m.group(2)), m.group(1) == "resnet"


# ---- training ------------------------------------------------------------------------------------------------

def lr_at(step, args):
    if args.warmup > 0 and step < args.warmup:
        if args.warmup_style == "constant":  # He et al. 2016 (ResNet-110): lr / 10 until training gets going
            return args.lr / 10
        return args.lr * (step + 1) / args.warmup
    return args.lr


def run(setting, seed, x, y, args):
    depth, residual = parse_setting(setting)
    torch.manual_seed(seed)
    net = CifarNet(depth, residual)
    if args.init_npz:
        path = os.path.join(args.init_npz, f"{setting}_seed{seed}.npz")
        state = {k: torch.from_numpy(np.asarray(v)) for k, v in np.load(path).items()}
        net.load_state_dict(state, strict=True)
    if args.double:
        net = net.double()
        x = x.double()
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=0.0)
    n = x.shape[0]
    batches = (n + args.batch - 1) // args.batch if args.keep_last else n // args.batch
    budget = args.steps if args.steps > 0 else args.epochs * batches
    losses = []
    step, epoch = 0, 0
    g = torch.Generator().manual_seed(seed)
    while step < budget:
        order = strata_epoch_order(n, seed, epoch) if not args.torch_order else torch.randperm(n, generator=g).tolist()
        order = torch.tensor(order)
        for b in range(batches):
            if step >= budget:
                break
            idx = order[b * args.batch:(b + 1) * args.batch]
            for group in opt.param_groups:
                group["lr"] = lr_at(step, args)
            loss = F.cross_entropy(net(x[idx]), y[idx])
            if not math.isfinite(loss.item()):
                losses.append(float("nan"))
                return losses
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if args.print_steps and (step < args.print_steps or step % 10 == 0):
                print(f"    {setting} seed {seed} step {step:3d} loss {loss.item():.6f}", flush=True)
            step += 1
        epoch += 1
    return losses


def tail_mean(losses, k=50):
    t = losses[-k:]
    return sum(t) / len(t) if t else float("nan")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--settings", default="plain20-bn,plain56-bn,resnet56-bn")
    p.add_argument("--seeds", default="1,2,3,4")
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--limit", type=int, default=5000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--steps", type=int, default=0, help="steps instead of epochs (0: use --epochs)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--warmup", type=int, default=20, help="linear warm-up steps: lr * (step + 1) / warmup (0: off)")
    p.add_argument("--warmup-style", choices=["linear", "constant"], default="linear",
                   help="linear: lr (step + 1) / warmup; constant: lr / 10 during the warm-up (He et al.)")
    p.add_argument("--keep-last", action="store_true", help="keep each epoch's last partial batch (default: dropped)")
    p.add_argument("--torch-order", action="store_true", help="torch.randperm order instead of strata's")
    p.add_argument("--init-npz", default="", help="directory of <setting>_seed<seed>.npz initial weights")
    p.add_argument("--double", action="store_true", help="train in float64 (a diagnostic: float32 is the twin)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--print-steps", type=int, default=0, help="print the loss of the first K steps (and every 10th)")
    p.add_argument("--losses-csv", default="", help="write setting,seed,step,loss of every step here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    x, y = load_train(args.data_dir, args.limit)
    settings = args.settings.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    table = {}
    rows = []
    for s in settings:
        for seed in seeds:
            t0 = time.time()
            losses = run(s, seed, x, y, args)
            table[(s, seed)] = tail_mean(losses)
            rows += [(s, seed, i, l) for i, l in enumerate(losses)]
            print(f"{s:14s} seed {seed}: final train loss {table[(s, seed)]:.3f}  ({len(losses)} steps, "
                  f"{time.time() - t0:.0f} s)", flush=True)
    if args.losses_csv:
        with open(args.losses_csv, "w") as f:
            f.write("setting,seed,step,loss\n")
            for r in rows:
                f.write(f"{r[0]},{r[1]},{r[2]},{r[3]!r}\n")
    print("\nfinal train loss (mean of the last 50 steps)")
    print("| setting | " + " | ".join(f"seed {s}" for s in seeds) + " | mean |")
    print("|---|" + "---:|" * (len(seeds) + 1))
    for s in settings:
        v = [table[(s, seed)] for seed in seeds]
        print(f"| {s} | " + " | ".join(f"{a:.3f}" for a in v) + f" | {sum(v) / len(v):.3f} |")


if __name__ == "__main__":
    sys.exit(main())
