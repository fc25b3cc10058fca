#!/usr/bin/python3
"""PyTorch twin of examples/skip_vs_plain: every setting, both recipes, strata's data order.

Each panel's recipe is skip_vs_plain's default, read from the program (docs/experiment.md, "The recipes"):
- data: the first N Fashion-MNIST training images, pixels / 255, normalised with the training split's mean
  0.2860 and std 0.3530; no augmentation; the first --test-limit (1,000) test images, eval mode, main output;
- batches reshuffled every epoch, the last partial batch dropped (--keep-last keeps it); by default in EXACTLY
  strata's order (strata's DataLoader: a Fisher-Yates shuffle by strata's xoshiro256** Generator seeded from
  (seed, epoch), reimplemented below), or with --torch-order a torch.randperm order;
- with batch-norm (--limit, --epochs/--steps, --batch, --optimizer, --lr, --warmup, --clip): 5,000 images, batch
  128, 3 epochs (117 steps), SGD lr 0.1 momentum 0.9 (dampening 0), linear warm-up over 20 steps (step s < 20 at
  lr (s + 1) / 20), no clipping;
- without normalisation (--none-limit, --none-steps, --none-batch, --none-optimizer, --none-lr, --none-warmup,
  --none-clip): 1,000 images, batch 32, 200 steps, Adam lr 1e-3 (betas 0.9/0.999, eps 1e-8), linear warm-up over
  50 steps, no clipping; no weight decay anywhere;
- nets: CIFAR-style 6n+2 (He et al. 2016, Sec. 4.2): 3x3 stem conv + [BN] + ReLU, three stages of n BasicBlocks
  (conv3x3-[BN]-ReLU-conv3x3-[BN], + shortcut, ReLU) of widths 16/32/64, the first block of stages 2-3 with
  stride 2, option-A shortcuts (identity, or every 2nd pixel and zero-padded channels, half before and half after)
  for "resnet", no shortcut for "plain"; global average pool, FC to 10 classes; "-aux": linear heads (global
  average pool + FC) after stages 1 and 2, each head's cross-entropy weighted 0.3 (constant, GoogLeNet);
  "-none": no normalisation, convs with biases;
  dsn / dsn-noaux: strata's models::dsn, three stages of (conv3x3 + [BN] + ReLU) x 2 + max-pool 2 of widths
  32/64/128, linear companion heads after stages 1 and 2 (dsn only) weighted 0.3 x (1 - step / budget), fading
  to zero at the end of the budget (Lee et al. 2014; cross-entropy, not their squared hinge), global pool + FC;
- init: Kaiming normal (fan-out, ReLU gain) for every conv, PyTorch's defaults for the FCs and conv biases, BN gamma
  1 beta 0; without normalisation, a residual branch's last conv weight starts at zero (strata's
  zero_init_residual; its bias keeps its draw); BN eps 1e-5 momentum 0.1;
- metric: the mean main-output training loss (training mode, before each update) of the last 50 steps, and the
  test error at the end; a loss above --diverge-above (1000) or non-finite stops the setting as diverged.

Initial weights: by default torch.manual_seed(seed); with --init-npz DIR, DIR/<setting>_seed<seed>.npz (strata's
initial weights, written by save_npz under torchvision names) so that both start from identical weights.

    /usr/bin/python3 benchmarks/torch_skip_vs_plain.py --settings plain20-bn,plain56-bn,resnet56-bn --seeds 1,2,3,4
    /usr/bin/python3 benchmarks/torch_skip_vs_plain.py --settings plain20-none,plain56-none,plain56-aux-none,resnet56-none
    /usr/bin/python3 benchmarks/torch_skip_vs_plain.py --settings plain56-aux-bn,dsn-noaux-bn,dsn-bn --jsonl out.jsonl
    /usr/bin/python3 benchmarks/torch_skip_vs_plain.py --warmup 0 --keep-last     # the batch-norm recipe before the warm-up

Prints one line per (setting, seed), then a table of settings x seeds (final train loss / test error). Needs
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


def load_split(directory, split, limit):
    """The first `limit` images of split "train" or "t10k", normalised as strata's Dataset::normalize."""
    def find(name):
        for c in (name, name + ".gz"):
            if os.path.isfile(os.path.join(directory, c)):
                return os.path.join(directory, c)
        raise FileNotFoundError(f"{directory}: no {name}[.gz]")
    images = read_idx(find(f"{split}-images-idx3-ubyte"))[:limit]
    labels = read_idx(find(f"{split}-labels-idx1-ubyte"))[:limit]
    x = torch.from_numpy(images.astype(np.float32) / np.float32(255.0)).unsqueeze(1)
    x = (x - FASHION_MNIST_MEAN) / FASHION_MNIST_STD
    return x.contiguous(), torch.from_numpy(labels.astype(np.int64))


# ---- nets ----------------------------------------------------------------------------------------------------

class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride, residual, bn=True):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=not bn)
        self.bn1 = nn.BatchNorm2d(cout) if bn else nn.Identity()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=not bn)
        self.bn2 = nn.BatchNorm2d(cout) if bn else nn.Identity()
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


def linear_head(channels, num_classes):
    """An auxiliary head as strata's AuxHeadKind::linear: global average pool + FC (PyTorch's default init)."""
    return nn.Linear(channels, num_classes)


class CifarNet(nn.Module):
    """(plain|resnet)<6n+2>[-aux]-(bn|none): heads after stages 1 and 2 when `heads`."""

    def __init__(self, depth, residual, bn=True, heads=False, in_channels=1, num_classes=10):
        super().__init__()
        assert depth >= 8 and (depth - 2) % 6 == 0
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=not bn)
        self.bn1 = nn.BatchNorm2d(16) if bn else nn.Identity()
        cin = 16
        for s, w in enumerate((16, 32, 64)):
            blocks = []
            for b in range(n):
                blocks.append(BasicBlock(cin, w, 2 if (b == 0 and s > 0) else 1, residual, bn))
                cin = w
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        self.fc = nn.Linear(64, num_classes)
        self.heads = nn.ModuleList([linear_head(w, num_classes) for w in (16, 32)]) if heads else None
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        # nn.Linear and conv biases keep PyTorch's default init; BatchNorm gamma 1, beta 0.
        if residual and not bn:  # strata's zero_init_residual without normalisation: the last conv's weight
            for m in self.modules():
                if isinstance(m, BasicBlock):
                    nn.init.zeros_(m.conv2.weight)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        aux = []
        for s, layer in enumerate((self.layer1, self.layer2, self.layer3)):
            y = layer(y)
            if self.heads is not None and s < 2 and self.training:
                aux.append(self.heads[s](torch.flatten(F.adaptive_avg_pool2d(y, 1), 1)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1)), aux


class Dsn(nn.Module):
    """strata's models::dsn (Lee et al. 2014 in spirit): three stages of (conv3x3 [+BN] + ReLU) x 2 + max-pool 2,
    widths 32/64/128, a linear companion head (GAP + FC) after stages 1 and 2 when `heads`, GAP + FC."""

    def __init__(self, bn=True, heads=True, in_channels=1, num_classes=10, widths=(32, 64, 128)):
        super().__init__()
        stages, cin = [], in_channels
        for w in widths:
            layers = []
            for c in range(2):
                layers.append(nn.Conv2d(cin if c == 0 else w, w, 3, 1, 1, bias=not bn))
                if bn:
                    layers.append(nn.BatchNorm2d(w))
                layers.append(nn.ReLU())
            layers.append(nn.MaxPool2d(2))
            stages.append(nn.Sequential(*layers))
            cin = w
        self.stages = nn.ModuleList(stages)
        self.heads = nn.ModuleList([linear_head(w, num_classes) for w in widths[:-1]]) if heads else None
        self.fc = nn.Linear(cin, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        aux = []
        for s, stage in enumerate(self.stages):
            x = stage(x)
            if self.heads is not None and s < len(self.stages) - 1 and self.training:
                aux.append(self.heads[s](torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)), aux


def parse_setting(name):
    """(plain|resnet)<6n+2>[-aux]-(bn|none) or dsn[-noaux]-(bn|none), with an optional @steps (ignored here)."""
    name = name.split("@")[0]
    m = re.fullmatch(r"(plain|resnet)(\d+)(-aux)?-(bn|none)", name)
    if m:
        return dict(kind="cifar", depth=int(m.group(2)), residual=m.group(1) == "resnet", heads=bool(m.group(3)),
                    bn=m.group(4) == "bn")
    m = re.fullmatch(r"dsn(-noaux)?-(bn|none)", name)
    if m:
        return dict(kind="dsn", heads=not m.group(1), bn=m.group(2) == "bn")
    raise SystemExit(f"'{name}': use (plain|resnet)<6n+2>[-aux]-(bn|none) or dsn[-noaux]-(bn|none)")


def build(setting):
    p = parse_setting(setting)
    if p["kind"] == "dsn":
        return Dsn(bn=p["bn"], heads=p["heads"]), p
    return CifarNet(p["depth"], p["residual"], bn=p["bn"], heads=p["heads"]), p


def head_weight(p, step, budget, args):
    """The weight of each head's loss at `step`: CIFAR-style heads a constant --head-weight (GoogLeNet's 0.3); the
    DSN's companions --head-weight fading linearly to zero at the end of the budget (Lee et al. 2014)."""
    if p["kind"] == "dsn":
        return args.head_weight * max(0.0, 1.0 - step / budget)
    return args.head_weight


# ---- training ------------------------------------------------------------------------------------------------

def lr_at(step, args):
    if args.warmup > 0 and step < args.warmup:
        if args.warmup_style == "constant":  # He et al. 2016 (ResNet-110): lr / 10 until training gets going
            return args.lr / 10
        return args.lr * (step + 1) / args.warmup
    return args.lr


def test_error(net, xt, yt):
    net.eval()
    wrong = 0
    with torch.no_grad():
        for i in range(0, xt.shape[0], 250):
            out, _ = net(xt[i:i + 250])
            wrong += int((out.argmax(1) != yt[i:i + 250]).sum())
    net.train()
    return wrong / xt.shape[0]


def recipe_of(setting, args):
    """The recipe of the setting's panel: the --none-* options for settings without normalisation."""
    if parse_setting(setting)["bn"]:
        return args
    rc = argparse.Namespace(**vars(args))
    for k in ("limit", "steps", "batch", "optimizer", "lr", "warmup", "clip"):
        setattr(rc, k, getattr(args, "none_" + k))
    return rc


def describe_recipe(rc):
    rate = f"lr {rc.lr:g}" + (f" momentum {rc.momentum:g}" if rc.optimizer == "sgd" else "")
    return (f"{rc.limit} images, batch {rc.batch}, {f'{rc.steps} steps' if rc.steps else f'{rc.epochs} epochs'}, "
            f"{rc.optimizer} {rate}, warm-up {rc.warmup}, clip {rc.clip:g}")


def run(setting, seed, x, y, xt, yt, args):
    """Trains one setting with its panel's recipe; returns a dict: losses (main head, every step), diverged_at
    (step or None), test_error (main head, eval mode, at the end), first/last conv grad norms at step 0."""
    args = recipe_of(setting, args)
    x, y = x[:args.limit], y[:args.limit]
    torch.manual_seed(seed)
    net, p = build(setting)
    if args.init_npz:
        path = os.path.join(args.init_npz, f"{setting}_seed{seed}.npz")
        state = {k: torch.from_numpy(np.asarray(v)) for k, v in np.load(path).items()}
        net.load_state_dict(state, strict=True)
    if args.double:
        net = net.double()
        x, xt = x.double(), xt.double()
    net.train()
    if args.optimizer == "adam":
        opt = torch.optim.Adam(net.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    else:
        opt = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=0.0)
    convs = [m for n, m in net.named_modules() if isinstance(m, nn.Conv2d)]
    n = x.shape[0]
    batches = (n + args.batch - 1) // args.batch if args.keep_last else n // args.batch
    budget = args.steps if args.steps > 0 else args.epochs * batches
    if "@" in setting:
        budget = int(setting.split("@")[1])
    res = dict(setting=setting.split("@")[0], seed=seed, losses=[], aux=[], diverged_at=None, grad0=None)
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
            out, aux = net(x[idx])
            main_loss = F.cross_entropy(out, y[idx])
            aux_losses = [F.cross_entropy(a, y[idx]) for a in aux]
            w = head_weight(p, step, budget, args)
            loss = main_loss + sum(w * a for a in aux_losses) if aux_losses else main_loss
            if not math.isfinite(loss.item()) or main_loss.item() > args.diverge_above:
                res["diverged_at"] = step
                res["test_error"] = float("nan")
                return res
            opt.zero_grad()
            loss.backward()
            if step == 0:
                res["grad0"] = (convs[0].weight.grad.norm().item(), convs[-1].weight.grad.norm().item())
            if args.clip > 0:
                torch.nn.utils.clip_grad_norm_(net.parameters(), args.clip)
            opt.step()
            res["losses"].append(main_loss.item())
            res["aux"].append([a.item() for a in aux_losses])
            if args.print_steps and (step < args.print_steps or step % args.print_every == 0):
                print(f"    {setting} seed {seed} step {step:3d} loss {main_loss.item():.6f}", flush=True)
            step += 1
        epoch += 1
    res["test_error"] = test_error(net, xt, yt)
    return res


def tail_mean(losses, k=50):
    t = losses[-k:]
    return sum(t) / len(t) if t else float("nan")


def describe(r, k):
    if r["diverged_at"] is not None:
        return f"diverged at {r['diverged_at']}"
    return f"{tail_mean(r['losses'], k):.3f} / {100 * r['test_error']:.1f}%"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--settings", default="plain20-bn,plain56-bn,resnet56-bn")
    p.add_argument("--seeds", default="1,2,3,4")
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--limit", type=int, default=5000)
    p.add_argument("--test-limit", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--steps", type=int, default=0, help="steps instead of epochs (0: use --epochs)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd",
                   help="sgd (momentum --momentum) or adam (betas 0.9/0.999, eps 1e-8); no weight decay")
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--warmup", type=int, default=20, help="linear warm-up steps: lr * (step + 1) / warmup (0: off)")
    p.add_argument("--warmup-style", choices=["linear", "constant"], default="linear",
                   help="linear: lr (step + 1) / warmup; constant: lr / 10 during the warm-up (He et al.)")
    p.add_argument("--clip", type=float, default=0.0, help="clip the global gradient norm of every net to this (0: off)")
    p.add_argument("--none-limit", type=int, default=1000, help="without normalisation: training images")
    p.add_argument("--none-steps", type=int, default=200, help="without normalisation: steps")
    p.add_argument("--none-batch", type=int, default=32, help="without normalisation: batch size")
    p.add_argument("--none-optimizer", choices=["sgd", "adam"], default="adam", help="without normalisation: optimizer")
    p.add_argument("--none-lr", type=float, default=1e-3, help="without normalisation: learning rate")
    p.add_argument("--none-warmup", type=int, default=50, help="without normalisation: linear warm-up steps")
    p.add_argument("--none-clip", type=float, default=0.0, help="without normalisation: gradient-norm clip (0: off)")
    p.add_argument("--head-weight", type=float, default=0.3,
                   help="weight of each auxiliary head's loss (constant for -aux, fading to 0 over the budget for dsn)")
    p.add_argument("--diverge-above", type=float, default=1e3,
                   help="a main loss above this (or a non-finite loss) stops the setting as diverged")
    p.add_argument("--tail", type=int, default=50, help="final train loss = mean main loss of the last K steps")
    p.add_argument("--keep-last", action="store_true", help="keep each epoch's last partial batch (default: dropped)")
    p.add_argument("--torch-order", action="store_true", help="torch.randperm order instead of strata's")
    p.add_argument("--init-npz", default="", help="directory of <setting>_seed<seed>.npz initial weights")
    p.add_argument("--double", action="store_true", help="train in float64 (a diagnostic: float32 is the twin)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--print-steps", type=int, default=0, help="print the loss of the first K steps (and every --print-every)")
    p.add_argument("--print-every", type=int, default=10)
    p.add_argument("--losses-csv", default="", help="write setting,seed,step,loss of every step here")
    p.add_argument("--jsonl", default="", help="append one JSON line per (setting, seed) here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    x, y = load_split(args.data_dir, "train", max(args.limit, args.none_limit))
    xt, yt = load_split(args.data_dir, "t10k", args.test_limit)
    settings = args.settings.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    table = {}
    rows = []
    for s in settings:
        recipe = describe_recipe(recipe_of(s, args))
        for seed in seeds:
            t0 = time.time()
            r = run(s, seed, x, y, xt, yt, args)
            r["seconds"] = time.time() - t0
            table[(s, seed)] = r
            rows += [(r["setting"], seed, i, l) for i, l in enumerate(r["losses"])]
            g0 = r["grad0"] or (float("nan"), float("nan"))
            print(f"{s:18s} seed {seed}: final train loss / test error {describe(r, args.tail)}  ({len(r['losses'])} "
                  f"steps, first/last conv grad at init {g0[0]:.3g}/{g0[1]:.3g}, {r['seconds']:.0f} s)", flush=True)
            if args.jsonl:
                import json
                rec = dict(setting=r["setting"], seed=seed, recipe=recipe, steps=len(r["losses"]),
                           diverged_at=r["diverged_at"], final_loss=tail_mean(r["losses"], args.tail),
                           test_error=r["test_error"], grad0=g0, seconds=round(r["seconds"], 1),
                           loss_at=[round(sum(r["losses"][i:i + 10]) / len(r["losses"][i:i + 10]), 4)
                                    for i in range(0, len(r["losses"]), 10)],
                           aux_final=[tail_mean([a[k] for a in r["aux"]], args.tail) for k in range(len(r["aux"][0]))]
                           if r["aux"] and r["aux"][0] else [])
                with open(args.jsonl, "a") as f:
                    f.write(json.dumps(rec) + "\n")
    if args.losses_csv:
        with open(args.losses_csv, "w") as f:
            f.write("setting,seed,step,loss\n")
            for r in rows:
                f.write(f"{r[0]},{r[1]},{r[2]},{r[3]!r}\n")
    print(f"\nfinal train loss (mean of the last {args.tail} steps) / test error")
    for norm in sorted({parse_setting(s)["bn"] for s in settings}, reverse=True):
        print(f"  {'with batch-norm' if norm else 'without normalisation'}: {describe_recipe(recipe_of('plain20-bn' if norm else 'plain20-none', args))}")
    print("| setting | " + " | ".join(f"seed {s}" for s in seeds) + " |")
    print("|---|" + "---:|" * len(seeds))
    for s in settings:
        print(f"| {s} | " + " | ".join(describe(table[(s, seed)], args.tail) for seed in seeds) + " |")


if __name__ == "__main__":
    sys.exit(main())
