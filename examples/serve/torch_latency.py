"""Batch-1 inference latency of the PyTorch twin of `serve`'s ResNet-18 (1x28x28, 10 classes), for the README.

Uses the project's reference workload (/work/shared/peers/torch_resnet18.py, or the path given as argv[1]),
torch.no_grad(), eval mode, one thread; prints the median, min and p90 over 200 runs after 5 warm-up runs,
as `serve --benchmark 200` does.
"""
import importlib.util, sys, time
import torch

path = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/peers/torch_resnet18.py"
spec = importlib.util.spec_from_file_location("torch_resnet18", path)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)

torch.set_num_threads(1)
torch.manual_seed(0)
model = mod.ResNet18(skip=True).eval()
x = torch.randn(1, 1, 28, 28)
runs = 200
with torch.no_grad():
    for _ in range(5):
        model(x)
    ms = []
    for _ in range(runs):
        t = time.perf_counter()
        model(x)
        ms.append((time.perf_counter() - t) * 1000)
ms.sort()
print(f"pytorch {torch.__version__} batch-1 latency over {runs} runs: median {ms[runs // 2]:.3f} ms, "
      f"min {ms[0]:.3f} ms, p90 {ms[runs * 9 // 10]:.3f} ms")
