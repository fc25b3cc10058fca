#!/usr/bin/python3
"""PyTorch twin of examples/train_mnist's default recipe, for comparison of accuracy and speed.

Recipe (train_mnist's defaults): torchvision-style ResNet-18 with one input channel and 10 classes (7x7/2 stem
+ 3x3/2 max-pool, BasicBlocks [2, 2, 2, 2] of widths 64-512, 1x1-conv + BN projection shortcuts, global average
pool, FC), Kaiming-normal (fan-out) conv init; SGD momentum 0.9, lr 0.05, weight decay 5e-4 on conv/linear
weights only (none on batch-norm parameters and biases); cosine annealing stepped every iteration over all
iterations; batch 128, shuffled every epoch; inputs normalised with the training split's pixel mean and standard
deviation; no augmentation; evaluation on the test split after every epoch.

Other nets (--model): resnet34 and plain34 (blocks [3, 4, 6, 3], same recipe as ResNet-18: train_mnist's
resnet-basic), and the CIFAR-style plain nets plainN, N = 6n + 2 (3x3/1 stem conv of 16 channels + BN + ReLU, three
stages of n basic blocks without shortcuts, widths 16, 32, 64, strides 1, 2, 2; train_mnist's cifar-plain recipe,
which is the same as resnet-basic's), and their residual twins resnetN (shortcuts that subsample and zero-pad the
channels, option A; train_mnist's cifar-resnet recipe: a linear warm-up of 20 iterations from 0.1 x lr, then the
cosine annealing over the remaining iterations).

The IDX files (raw or .gz) are read directly with gzip + numpy. Needs PyTorch (Debian: python3-torch, run with
/usr/bin/python3). Prints one line per epoch (and, with --json, a JSON line like train_mnist's --metrics).

    /usr/bin/python3 benchmarks/torch_fashion_mnist.py --epochs 1
    /usr/bin/python3 benchmarks/torch_fashion_mnist.py --limit 512 --test-limit 512   # smoke run
"""
import argparse
import gzip
import json
import math
import os
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    """An IDX file of unsigned bytes (raw or gzip) as a numpy array of its shape."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    count = math.prod(dims)
    if len(data) != offset + count:
        raise ValueError(f"{path}: {len(data) - offset} data bytes for shape {dims}")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def find(directory, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(f"{directory}: found neither {name} nor {name}.gz")


def load_split(directory, prefix):
    images = read_idx(find(directory, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(find(directory, f"{prefix}-labels-idx1-ubyte"))
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{directory}: {images.shape[0]} {prefix} images but {labels.shape[0]} labels")
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)  # [N, 1, 28, 28] in [0, 1]
    return x, torch.from_numpy(labels.astype(np.int64))


class BasicBlock(nn.Module):
    """skip=False: no shortcut (the plain twin); zero_pad: the identity subsampled and zero-padded in channels
    where the shape changes (He et al.'s option A, strata's Shortcut::zero_pad), else a 1x1 projection."""

    def __init__(self, cin, cout, stride, skip, zero_pad=False):
        super().__init__()
        self.skip = skip
        self.stride, self.extra = stride, cout - cin
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.proj = None
        if skip and not zero_pad and (stride != 1 or cin != cout):
            self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        if self.skip:
            if self.proj is not None:
                x = self.proj(x)
            elif self.stride != 1 or self.extra:
                x = F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, 0, self.extra))
            y = y + x
        return F.relu(y)


class ResNet(nn.Module):
    """A net of basic blocks on 1-channel images: ImageNet-style (7x7/2 stem + max-pool, widths 64-512) with
    `blocks` per stage, or CIFAR-style (`cifar`: 3x3/1 stem, widths 16, 32, 64); skip=False is the plain twin."""

    def __init__(self, blocks, skip=True, cifar=False, classes=10, zero_pad=False):
        super().__init__()
        widths = [16, 32, 64] if cifar else [64, 128, 256, 512]
        if cifar:
            self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        else:
            self.stem = nn.Sequential(nn.Conv2d(1, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                                      nn.MaxPool2d(3, 2, 1))
        layers, cin = [], widths[0]
        for s, (cout, count) in enumerate(zip(widths, blocks)):
            for b in range(count):
                layers.append(BasicBlock(cin, cout, 2 if s > 0 and b == 0 else 1, skip, zero_pad))
                cin = cout
        self.blocks = nn.Sequential(*layers)
        self.fc = nn.Linear(widths[-1], classes)
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def make_model(name):
    """The net called `name` (as train_mnist names it), or None."""
    imagenet = {"resnet18": ([2, 2, 2, 2], True), "plain18": ([2, 2, 2, 2], False),
                "resnet34": ([3, 4, 6, 3], True), "plain34": ([3, 4, 6, 3], False)}
    if name in imagenet:
        blocks, skip = imagenet[name]
        return ResNet(blocks, skip)
    for prefix, skip in (("plain", False), ("resnet", True)):  # CIFAR-style 6n+2, residual with option A
        if name.startswith(prefix) and name[len(prefix):].isdigit():
            depth = int(name[len(prefix):])
            if depth >= 8 and (depth - 2) % 6 == 0:
                n = (depth - 2) // 6
                return ResNet([n, n, n], skip=skip, cifar=True, zero_pad=True)
    return None


def evaluate(model, x, y, batch):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(y), batch):
            logits = model(x[i:i + batch])
            loss += F.cross_entropy(logits, y[i:i + batch], reduction="sum").item()
            correct += (logits.argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return loss / len(y), correct / len(y)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--model", default="resnet18",
                   help="resnet18, plain18, resnet34, plain34, plainN or resnetN (N = 6n + 2: 20, ..., 110)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--eval-batch-size", type=int, default=500)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--limit", type=int, default=0, help="first N training images (0: all)")
    p.add_argument("--test-limit", type=int, default=0, help="first N test images (0: all)")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: PyTorch's default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="also print a JSON line per epoch")
    args = p.parse_args()
    if args.epochs < 1 or args.batch_size < 1:
        p.error("--epochs and --batch-size must be >= 1")

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x_train, y_train = load_split(args.data, "train")
    x_test, y_test = load_split(args.data, "t10k")
    mean, std = x_train.mean().item(), x_train.std(unbiased=False).item()  # the whole split, as train_mnist's auto
    if args.limit > 0:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    if args.test_limit > 0:
        x_test, y_test = x_test[:args.test_limit], y_test[:args.test_limit]
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std

    model = make_model(args.model)
    if model is None:
        p.error(f"--model: unknown net '{args.model}' (resnet18, plain18, resnet34, plain34, plainN and resnetN with N = 6n + 2)")
    decay = [q for q in model.parameters() if q.ndim >= 2]
    no_decay = [q for q in model.parameters() if q.ndim < 2]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": args.weight_decay},
                           {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, momentum=args.momentum)
    n = len(y_train)
    drop_last = n % args.batch_size == 1  # as train_mnist: batch norm cannot train on one sample
    steps_per_epoch = n // args.batch_size if drop_last else math.ceil(n / args.batch_size)
    total = args.epochs * steps_per_epoch
    warmup = 20 if args.model.startswith("resnet") and args.model not in ("resnet18", "resnet34") else 0
    if warmup > 0:  # train_mnist's cifar-resnet recipe: --warmup 20 --warmup-start 0.1
        warnings.filterwarnings("ignore", message="The epoch parameter")  # SequentialLR's own call, torch 1.13
        schedule = torch.optim.lr_scheduler.SequentialLR(
            opt, [torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, end_factor=1.0, total_iters=warmup),
                  torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, total - warmup))],
            milestones=[warmup])
    else:
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    print(f"torch {torch.__version__}: {args.model} on {args.data}: {n} training / {len(y_test)} test images, "
          f"{steps_per_epoch} steps per epoch, {torch.get_num_threads()} threads", flush=True)

    shuffle = torch.Generator().manual_seed(args.seed)
    step = 0
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(n, generator=shuffle)
        loss_sum, correct, seen, train_seconds = 0.0, 0, 0, 0.0
        model.train()
        for b in range(steps_per_epoch):
            t0 = time.perf_counter()
            idx = order[b * args.batch_size:(b + 1) * args.batch_size]
            x, y = x_train[idx], y_train[idx]
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
            train_seconds += time.perf_counter() - t0
            step += 1
            loss_sum += loss.item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(y)
        test_loss, test_acc = evaluate(model, x_test, y_test, args.eval_batch_size)
        seconds = time.perf_counter() - start
        m = dict(epoch=epoch, step=step, loss=loss_sum / seen, train_acc=correct / seen, test_loss=test_loss,
                 test_acc=test_acc, lr=opt.param_groups[0]["lr"], images_per_s=round(seen / train_seconds, 1),
                 seconds=round(seconds, 3))
        print(f"epoch {epoch}/{args.epochs}: train loss {m['loss']:.4f} acc {100 * m['train_acc']:.2f}% | "
              f"test loss {test_loss:.4f} acc {100 * test_acc:.2f}% | {m['images_per_s']:.0f} img/s | "
              f"{seconds:.1f} s", flush=True)
        if args.json:
            print(json.dumps(m), flush=True)


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError) as e:
        print(f"torch_fashion_mnist: error: {e}", file=sys.stderr)
        sys.exit(1)
