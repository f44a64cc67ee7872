"""Scanning MLPs on MNIST: read each digit row by row, as a CNN and as a literal scan.

    python examples/scanning_mlp_mnist.py                         # full MNIST (see --data-dir)
    python examples/scanning_mlp_mnist.py --sample --epochs 2     # bundled 5,000-digit sample

(On a busy 2-core machine, ``OPENBLAS_NUM_THREADS=1`` in front can make training many
times faster: the small matrix products here gain nothing from BLAS threads.)

Each 28x28 image is a sequence of 28 time steps (the rows, image axis H), each step a
vector of 28 features (the pixels of that row, axis W): ``(N, 1, 28, 28) -> (N, 28, 28)``
as (N, features, time), by ``RowsAsTime``. Two classifiers look at windows of 8 rows
every 4 rows (6 windows), then a Linear layer reads all 6 window outputs:

1. simple scan: an MLP on each 8-row window (224 inputs) = Conv1d(28->h1, k=8, s=4),
   then its later layers as 1x1 convolutions;
2. distributed scan: Conv1d(28->a, k=2, s=2), Conv1d(a->b, k=2, s=2), Conv1d(b->c,
   k=2, s=1): receptive field 2 x 2 x 2 = 8 rows, total stride 2 x 2 x 1 = 4.

After training, each model's convolutions are turned back into MLP matrices
(``conv1d_to_mlp_weight``), and ``scan_mlp`` (simple) or ``distributed_scan_mlp``
(distributed) slides that MLP over 1,000 test images with Python loops; each must agree
with the CNN to float32 rounding. If full MNIST cannot be found,
the script says so in one line and uses the bundled sample, so it always runs.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from convnp.cli import check_data_dir, check_range, check_training_flags
from convnp.data import DataLoader, load_mnist_sample, load_or_sample
from convnp.layers import Conv1d, Flatten, Linear, ReLU, Sequential
from convnp.layers.module import inspection_mode
from convnp.losses import CrossEntropyLoss
from convnp.models.scan_reference import distributed_scan_mlp, scan_mlp
from convnp.models.scanning import RowsAsTime, conv1d_to_mlp_weight
from convnp.optim import SGD, CosineAnnealingLR
from convnp.train import Trainer

ROWS = FEATURES = 28
WINDOW, STRIDE = 8, 4
N_WINDOWS = (ROWS - WINDOW) // STRIDE + 1  # 6


def build_simple(hidden: tuple[int, ...] = (96, 64, 32), *, rng: np.random.Generator,
                 dtype=np.float32) -> Sequential:
    """RowsAsTime, Conv1d(28->h1, k=8, s=4)-ReLU, 1x1 Conv1d-ReLU per later size, Linear.

    The MLP on one window is 224 -> h1 -> h2 -> ... (ReLU after every layer); its 6
    window outputs, flattened channel-major as in the homework (``Flatten``), feed
    Linear(6 * h_last -> 10).
    """
    kw = {"rng": rng, "dtype": dtype}
    layers = [RowsAsTime(), Conv1d(FEATURES, hidden[0], WINDOW, stride=STRIDE, **kw), ReLU()]
    for c_in, c_out in zip(hidden, hidden[1:]):
        layers += [Conv1d(c_in, c_out, 1, **kw), ReLU()]
    return Sequential(*layers, Flatten(), Linear(N_WINDOWS * hidden[-1], 10, **kw))


def build_distributed(channels: tuple[int, int, int] = (48, 64, 96), *,
                      rng: np.random.Generator, dtype=np.float32) -> Sequential:
    """RowsAsTime, three width-2 Conv1d-ReLU (strides 2, 2, 1), Linear(6 * c -> 10).

    Time steps: 28 -> 14 -> 7 -> 6, the same 6 windows of 8 rows as ``build_simple``.
    """
    a, b, c = channels
    kw = {"rng": rng, "dtype": dtype}
    return Sequential(RowsAsTime(), Conv1d(FEATURES, a, 2, stride=2, **kw), ReLU(),
                      Conv1d(a, b, 2, stride=2, **kw), ReLU(),
                      Conv1d(b, c, 2, stride=1, **kw), ReLU(),
                      Flatten(), Linear(N_WINDOWS * c, 10, **kw))


def count_parameters(model: Sequential) -> int:
    return sum(p.data.size for p in model.parameters())


def scan_check(model: Sequential, images: np.ndarray, distributed: bool = False,
               repeats: int = 3) -> dict[str, float]:
    """Compare a trained model with the literal scan run on its weights as an MLP.

    The convolutions become MLP matrices (``conv1d_to_mlp_weight``; the biases are the
    same vectors). ``scan_mlp`` (simple model) or ``distributed_scan_mlp`` (distributed
    model, widths 2, 2, 2) slides that MLP over the rows with Python loops. Its output is
    time-major (window by window); it is put in the CNN's channel-major ``Flatten`` order
    (``reshape(N, 6, h).transpose(0, 2, 1)``) before it is compared and before the Linear
    head is applied to it with NumPy.

    Args:
        model: a ``build_simple`` model, or a ``build_distributed`` one if ``distributed``.
        images: uint8 (N, 28, 28).
        distributed: which kind of model ``model`` is.
        repeats: time each form this many times and keep the fastest.

    Returns:
        ``max_abs_diff``: largest |difference| of the scanning part's output (N, 6 * h);
        ``max_abs_diff_logits``: the same for the logits (N, 10);
        ``cnn_seconds``, ``scan_seconds``: time of the scanning part in each form.
    """
    x = images[:, None].astype(np.float32) / np.float32(255)
    convs = [layer for layer in model if isinstance(layer, Conv1d)]
    weights = [conv1d_to_mlp_weight(conv.weight.data) for conv in convs]
    biases = [conv.bias.data for conv in convs]
    head = model[-1]
    sequences = x[:, 0].transpose(0, 2, 1)  # (N, 28 features = columns, 28 steps = rows)

    def cnn():
        return model[:-1](x)

    def scan():
        if distributed:
            return distributed_scan_mlp(weights, sequences, (2, 2, 2), STRIDE, biases=biases,
                                        activate_last=True)
        return scan_mlp(weights, sequences, WINDOW, STRIDE, biases=biases, activate_last=True)

    with inspection_mode(model):
        outputs, seconds = [], []
        for run in (cnn, scan):
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                out = run()
                times.append(time.perf_counter() - start)
            outputs.append(out)
            seconds.append(min(times))
        logits_cnn = model(x)
    n = len(images)
    scanned = outputs[1].reshape(n, N_WINDOWS, -1).transpose(0, 2, 1).reshape(n, -1)
    logits_scan = scanned @ head.weight.data.T + head.bias.data
    return {"max_abs_diff": float(np.abs(outputs[0] - scanned).max()),
            "max_abs_diff_logits": float(np.abs(logits_cnn - logits_scan).max()),
            "cnn_seconds": seconds[0], "scan_seconds": seconds[1]}


def load_data(data_dir: str | None, sample: bool):
    """Return ``(x_train, y_train, x_test, y_test, description)`` as uint8 images."""
    if sample:
        return (*load_mnist_sample("train"), *load_mnist_sample("test"), "bundled MNIST sample")
    *data, fallback = load_or_sample("mnist", data_dir, download=False)
    if fallback is None:
        return (*data, "full MNIST")
    print(f"Full MNIST not found ({fallback}); using the bundled sample instead.")
    return (*data, "bundled MNIST sample")


def train(model: Sequential, data, args: argparse.Namespace, seed: int) -> dict[str, float]:
    """Train with SGD (momentum 0.9, cosine schedule); return test accuracy and timing."""
    x_train, y_train, x_test, y_test = data
    optimizer = SGD(model.parameters(), lr=args.lr, momentum=0.9,
                    weight_decay=args.weight_decay)
    scheduler = CosineAnnealingLR(optimizer, T_max=args.epochs)
    trainer = Trainer(model, CrossEntropyLoss(), optimizer, scheduler, verbose=args.verbose)
    loader = DataLoader(x_train, y_train, args.batch_size, rng=np.random.default_rng(seed))
    history = trainer.fit(loader, args.epochs)
    _, accuracy = trainer.evaluate(x_test, y_test)
    return {"accuracy": accuracy, "seconds_per_epoch": float(np.mean(history.seconds))}


def parse_sizes(p: argparse.ArgumentParser, flag: str, text: str,
                count: int | None = None) -> tuple[int, ...]:
    """Return ``"96,64,32"`` as ``(96, 64, 32)``; ``p.error`` unless all are ints >= 1.

    ``count``: how many there must be (None: any number).
    """
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1 or (count is not None and len(sizes) != count):
        how_many = "" if count is None else f"{count} "
        p.error(f"{flag} must be {how_many}comma-separated integers >= 1, got {text!r}")
    return sizes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse and check the flags; ``hidden`` and ``dist_channels`` become int tuples."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=None, help="folder with the MNIST IDX files")
    p.add_argument("--sample", action="store_true", help="use the bundled MNIST sample")
    p.add_argument("--hidden", default="96,64,32",
                   help="simple scan: MLP layer sizes, comma-separated (default 96,64,32)")
    p.add_argument("--dist-channels", default="48,64,96",
                   help="distributed scan: channels of the 3 width-2 layers (default 48,64,96)")
    p.add_argument("--scan-images", type=int, default=1000,
                   help="test images for the scan_mlp comparison")
    p.add_argument("--verbose", type=int, default=1)
    args = p.parse_args(argv)
    check_training_flags(p, args)
    check_range(p, "--scan-images", args.scan_images, 1)
    check_data_dir(p, args.data_dir, download=False)  # this script never downloads
    args.hidden = parse_sizes(p, "--hidden", args.hidden)
    args.dist_channels = parse_sizes(p, "--dist-channels", args.dist_channels, count=3)
    return args


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    args = parse_args(argv)
    *data, description = load_data(args.data_dir, args.sample)
    print(f"Data: {description}, {len(data[0])} training and {len(data[2])} test images")
    rng = np.random.default_rng(args.seed)
    models = {"simple scan": build_simple(args.hidden, rng=rng),
              "distributed scan": build_distributed(args.dist_channels, rng=rng)}
    results = {}
    for i, (name, model) in enumerate(models.items()):
        print(f"\n== {name}: {count_parameters(model)} parameters ==\n{model}")
        results[name] = train(model, data, args, args.seed + 1 + i)
        results[name]["parameters"] = count_parameters(model)
    images = data[2][:args.scan_images]
    print(f"\nResults on {description} after {args.epochs} epochs:")
    for name in models:
        r = results[name]
        print(f"  {name:17s} test accuracy {r['accuracy']:.2%}  parameters "
              f"{r['parameters']:6d}  {r['seconds_per_epoch']:.1f} s/epoch")
    for name, model in models.items():
        check = scan_check(model, images, distributed=name.startswith("distributed"))
        check["speedup"] = check["scan_seconds"] / check["cnn_seconds"]
        results[f"{name} check"] = check
        scan = "distributed_scan_mlp" if name.startswith("distributed") else "scan_mlp"
        print(f"  {scan} on the {name} model's weights, {len(images)} test images, "
              f"float32:\n    max |scan - CNN| {check['max_abs_diff']:.2e} over the window "
              f"outputs ({check['max_abs_diff_logits']:.2e} after the Linear head); the CNN "
              f"form is {check['speedup']:.2f}x as fast ({check['cnn_seconds'] * 1e3:.1f} ms "
              f"vs {check['scan_seconds'] * 1e3:.1f} ms)")
    return results


if __name__ == "__main__":
    main()
