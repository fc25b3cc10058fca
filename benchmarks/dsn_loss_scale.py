#!/usr/bin/python3
"""The scale of strata's squared-hinge loss (dsn) beside the usual formulations, for docs/models.md.

For a batch of scores like a freshly initialised net's (N(0, std^2), 128 images, 10 classes) prints the loss
and the gradient norm per image of: strata's squared_hinge_loss (one-vs-all, summed over the classes, mean over
the batch), the same with a mean over the classes (Keras' squared_hinge), PyTorch's MultiMarginLoss(p=2)
(pairwise, divided by the number of classes), Lee et al. 2014's pairwise sum, and cross-entropy.

    /usr/bin/python3 benchmarks/dsn_loss_scale.py [--std 0.1] [--seed 0]
"""
import argparse

import torch
import torch.nn.functional as F


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--std", type=float, default=0.1)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    n, c = a.batch, a.classes
    scores = (torch.randn(n, c) * a.std).requires_grad_()
    labels = torch.randint(0, c, (n,))
    t = -torch.ones(n, c)
    t[torch.arange(n), labels] = 1
    wrong = 1 - F.one_hot(labels, c).float()

    def pairwise(s):
        return (F.relu(1 - s.gather(1, labels[:, None]) + s) ** 2 * wrong).sum(1)

    losses = {
        "strata squared_hinge_loss (one-vs-all, sum over classes)": lambda s: (F.relu(1 - t * s) ** 2).sum(1).mean(),
        "one-vs-all, mean over classes (Keras squared_hinge)": lambda s: (F.relu(1 - t * s) ** 2).mean(1).mean(),
        "PyTorch MultiMarginLoss(p=2) (pairwise, / C)": lambda s: torch.nn.MultiMarginLoss(p=2)(s, labels),
        "Lee et al. 2014 eq. 3 (pairwise, sum over classes)": lambda s: pairwise(s).mean(),
        "cross-entropy": lambda s: F.cross_entropy(s, labels),
    }
    ce_norm = None
    rows = []
    for name, fn in losses.items():
        value = fn(scores)
        (grad,) = torch.autograd.grad(value, scores)
        per_image = (grad * n).norm(dim=1).mean().item()  # the gradient of one image's loss
        rows.append((name, value.item(), per_image))
        if name == "cross-entropy":
            ce_norm = per_image
    print(f"scores ~ N(0, {a.std}^2), {n} images, {c} classes")
    for name, value, norm in rows:
        print(f"{name:58s} loss {value:7.3f}  gradient norm per image {norm:7.3f}  ({norm / ce_norm:4.1f}x cross-entropy)")


if __name__ == "__main__":
    main()
