"""Train one rung of the d2l modern-CNN ladder on Fashion-MNIST at 28x28, in NumPy.

    python examples/train_fashion.py --model resnet                 # full Fashion-MNIST
    python examples/train_fashion.py --model bn-lenet --epochs 3
    python examples/train_fashion.py --model densenet --sample --limit 512 --epochs 1

Models (``convnp.models.ladder_model``): ``lenet`` (the modern LeNet-5), ``bn-lenet`` (d2l's
BN-LeNet), ``nin``, ``vgg``, ``resnet`` and ``densenet``, all at Fashion-MNIST's native
28x28 (d2l resizes to 96 or 224 px). Every model uses the same recipe unless a flag
overrides it: SGD with momentum 0.9, weight decay 5e-4, 10 epochs, a cosine schedule
over the epochs, inputs standardised with the Fashion-MNIST mean and std. The learning
rate and the batch size are per model (``LEARNING_RATES``, ``BATCH_SIZES``): the two
LeNets keep batch 64; the four larger nets, all with BatchNorm, use batch 128, which
makes fewer, larger matrix products and suits their higher learning rates. ResNet, the
largest, fits the training set far better than the test set, so it also trains with
two mild regularisers: each batch is randomly mirrored left to right
(``convnp.data.Augment``; ``FLIPPED``) and the targets are smoothed by 0.1
(``CrossEntropyLoss(label_smoothing=0.1)``; ``LABEL_SMOOTHING``). Flips are on by
default only for Fashion-MNIST: a mirrored 2, 3 or 7 of the MNIST fallback is no digit.
ResNet's learning rate follows a one-cycle schedule instead (``OneCycleLR``, stepped
after every batch; ``ONE_CYCLE``): up from lr/25 to its lr of 0.2 over the first 30% of
the batches, then down to lr/250,000. On a held-out sixth of the training set it beat
the cosine schedule at lr 0.1 on every seed tried (``docs/10_modern_cnns.md``).

If Fashion-MNIST cannot be found (``--data-dir``, ``$CONVNP_DATA``, ``~/.cache/convnp``)
or downloaded, the script says so in one line and trains on the bundled MNIST sample,
so the command always runs. It ends by printing the test accuracy.
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
    Augment,
    DataLoader,
    load_mnist_sample,
    load_or_sample,
    normalize,
)
from convnp.losses import CrossEntropyLoss
from convnp.models import LADDER, ladder_model
from convnp.optim import SGD, CosineAnnealingLR, OneCycleLR
from convnp.train import Trainer

LEARNING_RATES = {"lenet": 0.05, "bn-lenet": 0.1, "nin": 0.05, "vgg": 0.05, "resnet": 0.2,
                  "densenet": 0.1}  # the peak of the schedule for the models in ONE_CYCLE
BATCH_SIZES = {"lenet": 64, "bn-lenet": 64, "nin": 128, "vgg": 128, "resnet": 128,
               "densenet": 128}
FLIPPED = {"resnet"}
LABEL_SMOOTHING = {"resnet": 0.1}
ONE_CYCLE = {"resnet"}
SCHEDULES = ("cosine", "one-cycle")
# Models with a BatchNorm1d: in training it needs at least 2 images per batch. (The
# BatchNorm2d layers of the others see many pixels per channel, even in a 1-image batch.)
NEEDS_TWO_IMAGES = {"bn-lenet"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=LADDER, default="resnet")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int,
                   help="default: the model's entry in BATCH_SIZES")
    p.add_argument("--lr", type=float, help="default: the model's entry in LEARNING_RATES")
    p.add_argument("--schedule", choices=SCHEDULES,
                   help="'cosine' over the epochs, or 'one-cycle' over the batches (OneCycleLR "
                        "with peak --lr); default: 'one-cycle' for the models in ONE_CYCLE")
    p.add_argument("--flip", action=argparse.BooleanOptionalAction,
                   help="mirror random training images; default: on for the models in "
                        "FLIPPED, on Fashion-MNIST")
    p.add_argument("--shift", type=int, default=0, metavar="PIXELS",
                   help="shift random training images by up to this many pixels")
    p.add_argument("--label-smoothing", type=float,
                   help="default: the model's entry in LABEL_SMOOTHING, else 0")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=None, help="folder with the IDX files")
    p.add_argument("--save", default=None, metavar="PATH", help="write a checkpoint (.npz)")
    p.add_argument("--plot", default=None, metavar="PATH",
                   help="save training curves as PNG (needs matplotlib)")
    p.add_argument("--sample", action="store_true", help="use the bundled MNIST sample")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help="train on the first N training images only (for a quick try)")
    p.add_argument("--no-download", action="store_true",
                   help="only look for the dataset on disk, never download it")
    p.add_argument("--verbose", type=int, default=1)
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse and check the flags; a bad value stops here, before any data is loaded."""
    p = build_parser()
    args = p.parse_args(argv)
    check_training_flags(p, args)
    check_range(p, "--label-smoothing", args.label_smoothing, 0, 1)
    check_range(p, "--momentum", args.momentum, 0)
    check_range(p, "--limit", args.limit, 1)
    if not 0 <= args.shift < 28:
        p.error(f"--shift must be in [0, 27] pixels for 28x28 images, got {args.shift}")
    check_data_dir(p, args.data_dir, download=not args.no_download)
    check_output(p, "--save", args.save)
    check_output(p, "--plot", args.plot)
    if args.lr is None:
        args.lr = LEARNING_RATES[args.model]
    if args.batch_size is None:
        args.batch_size = BATCH_SIZES[args.model]
    if args.label_smoothing is None:
        args.label_smoothing = LABEL_SMOOTHING.get(args.model, 0.0)
    if args.schedule is None:
        args.schedule = "one-cycle" if args.model in ONE_CYCLE else "cosine"
    return args


def check_batches(args: argparse.Namespace, n_train: int) -> None:
    """Stop before training if a model of NEEDS_TWO_IMAGES would get a 1-image batch."""
    if args.model not in NEEDS_TWO_IMAGES:
        return
    if args.batch_size == 1:
        why = "--batch-size 1 gives batches of 1 image"
    elif n_train % args.batch_size == 1:
        why = (f"{n_train} training images in batches of {args.batch_size} leave a last "
               "batch of 1 image")
    else:
        return
    build_parser().error(f"--model {args.model}: {why}, but its BatchNorm1d layers need at "
                         "least 2 images per batch in training; change --batch-size or --limit")


def load_data(args: argparse.Namespace):
    """Return ``(x_train, y_train, x_test, y_test, description, background)``.

    The inputs are standardised; ``background`` is the value a 0 pixel becomes.
    """
    if args.sample:
        data = (*load_mnist_sample("train"), *load_mnist_sample("test"))
        description = "bundled MNIST sample"
    else:
        *data, fallback = load_or_sample("fashion-mnist", args.data_dir, not args.no_download)
        description = "full fashion-mnist"
        if fallback is not None:
            print(f"Full fashion-mnist not available ({fallback}); training on the bundled "
                  "MNIST sample instead.")
            description = "bundled MNIST sample"
    x_train, y_train, x_test, y_test = data
    mean, std = (FASHION_MNIST_MEAN, FASHION_MNIST_STD) if "fashion" in description else (
        MNIST_MEAN, MNIST_STD)
    if args.limit is not None:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    x_train, x_test = normalize(x_train, mean, std), normalize(x_test, mean, std)
    return x_train, y_train, x_test, y_test, description, -mean / std


def main(argv: list[str] | None = None) -> float:
    args = parse_args(argv)
    start = time.perf_counter()
    x_train, y_train, x_test, y_test, description, background = load_data(args)
    check_batches(args, len(x_train))
    if args.flip is None:
        args.flip = args.model in FLIPPED and "fashion" in description
    rng = np.random.default_rng(args.seed)
    model = ladder_model(args.model, rng=rng)
    n_params = sum(p.data.size for p in model.parameters())
    lr = f"one-cycle lr up to {args.lr}" if args.schedule == "one-cycle" else f"lr {args.lr}"
    recipe = [f"SGD {lr} momentum {args.momentum}"]
    recipe += ["random flips"] if args.flip else []
    recipe += [f"shifts up to {args.shift} px"] if args.shift else []
    recipe += [f"label smoothing {args.label_smoothing}"] if args.label_smoothing else []
    print(f"{args.model} ({n_params:,} parameters) on {description}: {len(x_train)} training, "
          f"{len(x_test)} test images; {args.epochs} epochs, batch {args.batch_size}, "
          f"{', '.join(recipe)}")
    optimizer = SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                    weight_decay=args.weight_decay)
    augment = (Augment(args.flip, args.shift, fill=background) if args.flip or args.shift
               else None)
    loader = DataLoader(x_train, y_train, args.batch_size, shuffle=True, rng=rng,
                        transform=augment)
    if args.schedule == "one-cycle":
        scheduler = OneCycleLR(optimizer, max_lr=args.lr, total_steps=args.epochs * len(loader))
        step = "batch"
    else:
        scheduler, step = CosineAnnealingLR(optimizer, T_max=args.epochs), "epoch"
    loss_fn = CrossEntropyLoss(label_smoothing=args.label_smoothing)
    trainer = Trainer(model, loss_fn, optimizer, scheduler, scheduler_step=step,
                      verbose=args.verbose)
    # As in d2l, the test set is evaluated after every epoch to show progress ("val" below);
    # nothing is chosen by it, so it stays a fair test.
    history = trainer.fit(loader, args.epochs, val_data=(x_test, y_test))
    accuracy = history.val_acc[-1]
    print(f"final test accuracy {accuracy:.2%} | {np.mean(history.seconds):.1f}s per epoch | "
          f"total time {time.perf_counter() - start:.1f}s")
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
