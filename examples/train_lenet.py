"""Train LeNet-5 on MNIST (or Fashion-MNIST) with convnp, from scratch in NumPy.

    python examples/train_lenet.py                        # modern LeNet, full MNIST, >= 99%
    python examples/train_lenet.py --sample --epochs 3    # the bundled 5,000-digit sample
    python examples/train_lenet.py --variant classic --dataset fashion-mnist   # d2l's LeNet

Each variant has its own recipe of defaults (any flag overrides it):

    modern   SGD lr 0.05, momentum 0.9, weight decay 5e-4, batch 64, cosine schedule,
             inputs standardised with the dataset's mean and std (Adam: lr 1e-3)
    classic  Dive into Deep Learning's: SGD lr 0.9, no momentum, batch 256, constant lr,
             Xavier init, inputs in [0, 1]

If full MNIST cannot be found or downloaded, the script says so in one line and trains
on the bundled sample, so the command always works.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from convnp.checkpoint import save_checkpoint
from convnp.cli import check_data_dir, check_output, check_range, check_training_flags
from convnp.data import (
    FASHION_MNIST_MEAN,
    FASHION_MNIST_STD,
    MNIST_MEAN,
    MNIST_STD,
    DataLoader,
    load_mnist_sample,
    load_or_sample,
    normalize,
)
from convnp.losses import CrossEntropyLoss
from convnp.models import lenet5
from convnp.optim import SGD, Adam, CosineAnnealingLR
from convnp.train import Trainer

RECIPES = {
    "modern": {"batch_size": 64, "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4,
               "schedule": "cosine", "normalize": True},
    "classic": {"batch_size": 256, "lr": 0.9, "momentum": 0.0, "weight_decay": 0.0,
                "schedule": "none", "normalize": False},
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
    p.add_argument("--variant", choices=["modern", "classic"], default="modern")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--momentum", type=float)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    p.add_argument("--schedule", choices=["cosine", "none"],
                   help="learning-rate schedule over the epochs")
    p.add_argument("--normalize", action=argparse.BooleanOptionalAction,
                   help="standardise inputs with the MNIST mean/std (else pixels in [0, 1])")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=None, help="folder with the IDX files")
    p.add_argument("--save", default=None, metavar="PATH", help="write a checkpoint (.npz)")
    p.add_argument("--sample", action="store_true", help="use the bundled MNIST sample")
    p.add_argument("--no-download", action="store_true",
                   help="only look for the dataset on disk, never download it")
    p.add_argument("--plot", default=None, metavar="PATH",
                   help="save training curves as PNG (needs matplotlib)")
    p.add_argument("--verbose", type=int, default=1)
    args = p.parse_args(argv)
    check_training_flags(p, args)
    check_range(p, "--momentum", args.momentum, 0)
    check_data_dir(p, args.data_dir, download=not args.no_download)
    check_output(p, "--save", args.save)
    check_output(p, "--plot", args.plot)
    if args.optimizer == "adam":
        if args.momentum is not None:
            p.error("--momentum applies to --optimizer sgd only (Adam has betas)")
        args.momentum = 0.0
        if args.lr is None:
            args.lr = 1e-3
    for name, value in RECIPES[args.variant].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def load_data(args: argparse.Namespace):
    """Return ``(x_train, y_train, x_test, y_test, description)``."""
    if args.sample:
        return (*load_mnist_sample("train"), *load_mnist_sample("test"), "bundled MNIST sample")
    *data, fallback = load_or_sample(args.dataset, args.data_dir, not args.no_download)
    if fallback is None:
        return (*data, f"full {args.dataset}")
    print(f"Full {args.dataset} not available ({fallback}); training on the bundled MNIST "
          "sample instead.")
    return (*data, "bundled MNIST sample")


def main(argv: list[str] | None = None) -> float:
    args = parse_args(argv)
    start = time.perf_counter()
    x_train, y_train, x_test, y_test, description = load_data(args)
    if args.normalize:
        mean, std = (FASHION_MNIST_MEAN, FASHION_MNIST_STD) if "fashion" in description \
            else (MNIST_MEAN, MNIST_STD)
        x_train, x_test = normalize(x_train, mean, std), normalize(x_test, mean, std)
    print(f"{args.variant} LeNet on {description}: {len(x_train)} training, {len(x_test)} "
          f"test images; {args.epochs} epochs, batch {args.batch_size}, {args.optimizer} "
          f"lr {args.lr}")

    rng = np.random.default_rng(args.seed)
    model = lenet5(args.variant, rng=rng)
    if args.optimizer == "sgd":
        optimizer = SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                        weight_decay=args.weight_decay)
    else:
        optimizer = Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    scheduler = CosineAnnealingLR(optimizer, T_max=args.epochs) if args.schedule == "cosine" \
        else None
    loader = DataLoader(x_train, y_train, args.batch_size, shuffle=True, rng=rng)
    trainer = Trainer(model, CrossEntropyLoss(), optimizer, scheduler, verbose=args.verbose)
    # As in d2l, the test set is evaluated after every epoch to show progress ("val" below).
    # Nothing is chosen by it (no early stopping, no tuning), so it stays a fair test.
    history = trainer.fit(loader, args.epochs, val_data=(x_test, y_test))

    accuracy = history.val_acc[-1]  # the test set, evaluated after the last epoch
    print(f"final test accuracy {accuracy:.2%} | total time {time.perf_counter() - start:.1f}s")
    if args.save:
        save_checkpoint(args.save, model, optimizer, history, scheduler=scheduler, loader=loader)
        print(f"checkpoint written to {args.save}")
    if args.plot:
        from convnp.viz import plot_history

        try:
            plot_history(history, save=args.plot)
        except ImportError as error:  # matplotlib is imported only when plotting
            print(f"--plot skipped: {error}", file=sys.stderr)
        else:
            print(f"training curves written to {args.plot}")
    return accuracy


if __name__ == "__main__":
    main()
