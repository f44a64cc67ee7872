"""Time one training epoch of the modern LeNet at batch 64: convnp, and PyTorch in the same run.

    python benchmarks/lenet_bench.py                 # full MNIST if found, else the sample
    python benchmarks/lenet_bench.py --images 20000  # a shorter epoch

Both frameworks train the same model from the same initial weights on the same batches
(SGD, lr 0.05, momentum 0.9). Only the ratio of the two times means anything on a
shared machine. Peak memory (RSS) is read after the convnp epoch, before torch is
imported, so it is convnp's alone.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np

from convnp.data import MNIST_MEAN, MNIST_STD, DataLoader, load_or_sample, normalize
from convnp.losses import CrossEntropyLoss
from convnp.models import lenet5
from convnp.optim import SGD
from convnp.train import Trainer


def load(images: int | None) -> tuple[np.ndarray, np.ndarray, str]:
    x, y, _, _, fallback = load_or_sample("mnist", download=False)
    source = "full MNIST" if fallback is None else "bundled MNIST sample (full MNIST not found)"
    if images:
        x, y = x[:images], y[:images]
    return normalize(x, MNIST_MEAN, MNIST_STD), y, source


def convnp_epoch(model, x, y, seed: int, batch_size: int) -> float:
    trainer = Trainer(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.05, momentum=0.9),
                      verbose=0)
    loader = DataLoader(x, y, batch_size, rng=np.random.default_rng(seed))
    start = time.perf_counter()
    trainer.fit(loader, epochs=1)
    return time.perf_counter() - start


def torch_epoch(model, x, y, seed: int, batch_size: int) -> float:
    import torch

    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.ReLU(), torch.nn.Linear(120, 84), torch.nn.ReLU(),
        torch.nn.Linear(84, 10),
    )
    net.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    loader = DataLoader(x, y, batch_size, rng=np.random.default_rng(seed))
    start = time.perf_counter()
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = loss_fn(net(torch.from_numpy(xb)), torch.from_numpy(yb))
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=None, help="train on the first N images")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    x, y, source = load(args.images)
    print(f"LeNet-5 (modern), one epoch of {len(x)} images from {source}, batch "
          f"{args.batch_size}, float32, {os.cpu_count()} CPUs")
    init = lenet5(rng=np.random.default_rng(args.seed))
    weights = init.state_dict()

    convnp_s = convnp_epoch(init, x, y, args.seed, args.batch_size)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"convnp : {convnp_s:7.2f} s/epoch  {len(x) / convnp_s:8.0f} img/s  "
          f"peak RSS {peak_mb:.0f} MB")
    try:
        import torch
    except ImportError:
        print("torch  : not installed (pip install torch==2.13.0 to compare)")
        return
    model = lenet5(rng=np.random.default_rng(args.seed))
    model.load_state_dict(weights)
    torch_s = torch_epoch(model, x, y, args.seed, args.batch_size)
    print(f"torch  : {torch_s:7.2f} s/epoch  {len(x) / torch_s:8.0f} img/s  "
          f"({torch.get_num_threads()} threads)")
    print(f"ratio convnp/torch: {convnp_s / torch_s:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
