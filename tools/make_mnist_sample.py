"""Build ``convnp/data/mnist_sample.npz``, the small MNIST subset shipped with convnp.

Draws 500 training and 100 test digits per class (5,000 and 1,000 in all) from the full
MNIST files, with a fixed seed, and stores them with ``np.savez_compressed``:

    x_train uint8 (5000, 28, 28)   y_train uint8 (5000,)   idx_train int32 (5000,)
    x_test  uint8 (1000, 28, 28)   y_test  uint8 (1000,)   idx_test  int32 (1000,)

``idx_*`` are the positions of the chosen digits in the full splits (kept in their
original order), so anyone can trace a sample digit back to MNIST.

Usage::

    python tools/make_mnist_sample.py [DATA_DIR] [--out PATH] [--seed N]

DATA_DIR holds the four MNIST files (raw or .gz, directly or in ``mnist/``); it defaults
to ``$CONVNP_DATA``, else ``../shared/datasets`` next to the repository.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from convnp.data.idx import atomic_writer
from convnp.data.mnist import load_mnist

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "convnp" / "data" / "mnist_sample.npz"
PER_CLASS = {"train": 500, "test": 100}
SEED = 20240521


def stratified_indices(labels: np.ndarray, per_class: int,
                       rng: np.random.Generator) -> np.ndarray:
    """Pick ``per_class`` indices of each label value at random, returned sorted.

    Args:
        labels: integer class labels, shape (N,).
        per_class: how many to draw from each class (without replacement).
        rng: the generator making the choice.

    Returns:
        Sorted int32 indices into ``labels``, ``per_class`` for each class present.
    """
    chosen = [rng.choice(np.flatnonzero(labels == c), size=per_class, replace=False)
              for c in np.unique(labels)]
    return np.sort(np.concatenate(chosen)).astype(np.int32)


def build_sample(data_dir: Path, out: Path, seed: int = SEED) -> None:
    """Load full MNIST from ``data_dir`` (checking its MD5s) and write the sample to ``out``.

    Args:
        data_dir: folder with the four MNIST files.
        out: the ``.npz`` file to write (atomically).
        seed: seed of the ``np.random.Generator`` choosing the digits.
    """
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, per_class in PER_CLASS.items():
        images, labels = load_mnist(split, root=data_dir, download=False, verify=True)
        idx = stratified_indices(labels, per_class, rng)
        arrays[f"x_{split}"] = images[idx]
        arrays[f"y_{split}"] = labels[idx].astype(np.uint8)
        arrays[f"idx_{split}"] = idx
    with atomic_writer(out) as f:
        np.savez_compressed(f, **arrays)


def main() -> None:
    """Command-line entry point."""
    default_dir = os.environ.get("CONVNP_DATA") or str(REPO.parent / "shared" / "datasets")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", default=default_dir,
                        help="folder with the full MNIST files (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output .npz (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=SEED, help="random seed (default: %(default)s)")
    args = parser.parse_args()
    build_sample(Path(args.data_dir), args.out, args.seed)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
