"""Time one training epoch of the modern LeNet at batch 64: convnp, and PyTorch in the same run.

    python benchmarks/lenet_bench.py                       # full MNIST if found, else the sample
    python benchmarks/lenet_bench.py --images 20000        # a shorter epoch
    python benchmarks/lenet_bench.py --background-load     # quiet, then with one core kept busy
    python benchmarks/lenet_bench.py --runs 3              # three rounds, one line each

Both frameworks train the same model from the same initial weights on the same batches
(SGD, lr 0.05, momentum 0.9). convnp is timed in two loops:

- ``readme``: the five-line step README teaches, ``model.backward(loss_fn.backward())``,
  which also computes dL/dx for the first convolution;
- ``trainer``: ``Trainer.fit``, which skips that gradient (``input_grad=False``).

torch's loop never computes dL/dx for the images (they do not require grad). Only the
ratios mean anything on a shared machine, and its speed drifts within seconds, so each
epoch is timed in ``--segments`` pieces and the three loops take turns piece by piece
(``_timing.take_turns``): a drift then slows all three alike. With
``--background-load`` every run is repeated while a second process spins on one core
(bounded: it stops by itself), and the slow-down busy/quiet is printed for each. Peak
memory (RSS) is read after the first convnp epoch, before torch is imported, so it is
convnp's alone.
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import time
from collections.abc import Iterator
from contextlib import nullcontext

import numpy as np
from _timing import busy_core, segment_sizes, take_turns

from convnp.data import MNIST_MEAN, MNIST_STD, DataLoader, load_or_sample, normalize
from convnp.losses import CrossEntropyLoss
from convnp.models import lenet5
from convnp.optim import SGD
from convnp.train import Trainer

LOOPS = ("readme", "trainer")


def load_data(images: int | None) -> tuple[np.ndarray, np.ndarray, str]:
    x, y, _, _, fallback = load_or_sample("mnist", download=False)
    source = "full MNIST" if fallback is None else "bundled MNIST sample (full MNIST not found)"
    if images:
        x, y = x[:images], y[:images]
    return normalize(x, MNIST_MEAN, MNIST_STD), y, source


class _Take:
    """The next ``n`` batches of an iterator, as a loader that ``Trainer.fit`` accepts."""

    def __init__(self, batches: Iterator, n: int) -> None:
        self.batches, self.n = batches, n

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator:
        return itertools.islice(self.batches, self.n)


def convnp_segments(weights: dict, x: np.ndarray, y: np.ndarray, seed: int, batch_size: int,
                    loop: str, sizes: list[int]) -> Iterator[float]:
    """Train one epoch of the modern LeNet from ``weights``, a segment at a time: each
    ``next()`` trains the next ``sizes[i]`` batches and returns the seconds they took."""
    model = lenet5(rng=np.random.default_rng(seed))
    model.load_state_dict(weights)
    loss_fn = CrossEntropyLoss()
    optimizer = SGD(model.parameters(), lr=0.05, momentum=0.9)
    trainer = Trainer(model, loss_fn, optimizer, verbose=0)
    batches = iter(DataLoader(x, y, batch_size, rng=np.random.default_rng(seed)))
    for n in sizes:
        segment = _Take(batches, n)
        start = time.perf_counter()
        if loop == "trainer":
            trainer.fit(segment, epochs=1)
        else:
            for xb, yb in segment:
                logits = model(xb)
                loss_fn(logits, yb)
                model.zero_grad()
                model.backward(loss_fn.backward())
                optimizer.step()
        yield time.perf_counter() - start


def torch_segments(weights: dict, x: np.ndarray, y: np.ndarray, seed: int, batch_size: int,
                   sizes: list[int]) -> Iterator[float]:
    """The same epoch of the same network in PyTorch, from the same weights, by segments."""
    import torch

    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.ReLU(), torch.nn.Linear(120, 84), torch.nn.ReLU(),
        torch.nn.Linear(84, 10),
    )
    net.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    batches = iter(DataLoader(x, y, batch_size, rng=np.random.default_rng(seed)))
    for n in sizes:
        start = time.perf_counter()
        for xb, yb in itertools.islice(batches, n):
            optimizer.zero_grad()
            loss = loss_fn(net(torch.from_numpy(xb)), torch.from_numpy(yb))
            loss.backward()
            optimizer.step()
        yield time.perf_counter() - start


def one_round(weights: dict, x: np.ndarray, y: np.ndarray, args: argparse.Namespace,
              with_torch: bool) -> dict[str, float]:
    """Seconds per epoch for each convnp loop and for torch, taking turns by segments."""
    sizes = segment_sizes(-(-len(x) // args.batch_size), args.segments)
    runs = {loop: convnp_segments(weights, x, y, args.seed, args.batch_size, loop, sizes)
            for loop in LOOPS}
    if with_torch:
        runs["torch"] = torch_segments(weights, x, y, args.seed, args.batch_size, sizes)
    return {name: sum(seconds) for name, seconds in take_turns(runs, len(sizes)).items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=None, help="train on the first N images")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs", type=int, default=1, help="rounds of measurements")
    p.add_argument("--segments", type=int, default=10,
                   help="pieces each epoch is timed in, the loops taking turns")
    p.add_argument("--background-load", action="store_true",
                   help="also time every epoch with another process spinning on one core")
    args = p.parse_args()

    x, y, source = load_data(args.images)
    print(f"LeNet-5 (modern), one epoch of {len(x)} images from {source}, batch "
          f"{args.batch_size}, float32, {os.cpu_count()} CPUs")
    weights = lenet5(rng=np.random.default_rng(args.seed)).state_dict()
    for _ in convnp_segments(weights, x[:640], y[:640], args.seed, args.batch_size, "readme",
                             [10]):  # warm-up
        pass
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"convnp peak RSS {peak_mb:.0f} MB")
    try:
        import torch
        with_torch = True
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    except ImportError:
        with_torch = False
        print("torch: not installed (pip install torch==2.13.0 to compare)")
    loads = ("quiet", "busy") if args.background_load else ("quiet",)
    columns = [*LOOPS, "torch"] if with_torch else list(LOOPS)
    header = "".join(f"{f'{c} {load}':>16}" for load in loads for c in columns)
    ratios = "".join(f"{f'readme/torch {load}':>20}{f'trainer/torch {load}':>21}"
                     for load in loads) if with_torch else ""
    slow = "".join(f"{f'{c} busy/quiet':>20}" for c in columns) if args.background_load else ""
    print(f"{'run':>4}{header}   (s/epoch){ratios}{slow}")
    for run in range(1, args.runs + 1):
        measured = {}
        for load in loads:
            # The busy process stops by itself; give it ample time for the loaded round.
            quiet = sum(measured["quiet"].values()) if "quiet" in measured else 0
            with busy_core(seconds=10 * quiet + 60) if load == "busy" else nullcontext():
                measured[load] = one_round(weights, x, y, args, with_torch)
        line = "".join(f"{measured[load][c]:16.2f}" for load in loads for c in columns)
        if with_torch:
            line += "           " + "".join(
                f"{measured[load]['readme'] / measured[load]['torch']:20.2f}"
                f"{measured[load]['trainer'] / measured[load]['torch']:21.2f}" for load in loads)
        if args.background_load:
            line += "".join(f"{measured['busy'][c] / measured['quiet'][c]:20.2f}"
                            for c in columns)
        print(f"{run:4d}{line}")


if __name__ == "__main__":
    main()
