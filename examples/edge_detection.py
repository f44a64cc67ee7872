"""Apply the classic hand-made filters to MNIST digits and save the grid as a PNG.

    python examples/edge_detection.py                          # writes edge_detection.png
    python examples/edge_detection.py --out docs/img/edge_detection.png --n-digits 4

One row per digit (from the sample bundled with convnp, no download): the digit, then
its cross-correlation (what ``Conv2d`` computes) with the four line detectors, the two
Sobel kernels and the Sobel gradient magnitude ``sqrt(gx^2 + gy^2)``. Needs matplotlib.
"""

from __future__ import annotations

import argparse

import numpy as np

from convnp.data import load_mnist_sample
from convnp.kernels import KERNELS, correlate2d
from convnp.viz import show_images

FILTERS = ("vertical", "horizontal", "diagonal_45", "diagonal_135", "sobel_x", "sobel_y")


def filter_grid(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Stack, for each digit, the digit and its filter responses; titles for the first row.

    Args:
        images: (N, 28, 28) uint8 digits.
        labels: (N,) their classes.

    Returns:
        ``(stack, titles)``: (N * 8, 28, 28) float64 images in row order, and one title
        per image (the filter names on the first row, the digit's class in column 0).
    """
    columns = ["digit", *FILTERS, "sobel magnitude"]
    stack, titles = [], []
    for row, (image, label) in enumerate(zip(images, labels)):
        x = image / 255.0
        responses = {name: correlate2d(x, KERNELS[name], padding="same") for name in FILTERS}
        magnitude = np.hypot(responses["sobel_x"], responses["sobel_y"])
        stack += [x, *responses.values(), magnitude]
        titles += [f"digit {label}"] + (columns[1:] if row == 0 else [""] * (len(columns) - 1))
    return np.stack(stack), titles


def main(argv: list[str] | None = None) -> str:
    """Parse the arguments, draw the grid, save it; returns the path written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="edge_detection.png", help="PNG to write")
    parser.add_argument("--n-digits", type=int, default=4,
                        help="how many digits (rows), of different classes while possible")
    args = parser.parse_args(argv)
    if args.n_digits < 1:
        parser.error(f"--n-digits must be >= 1, got {args.n_digits}")
    images, labels = load_mnist_sample("test")
    # digits 0, 1, ..., 9, then the second 0, the second 1, ...
    chosen = [int(np.flatnonzero(labels == i % 10)[i // 10]) for i in range(args.n_digits)]
    stack, titles = filter_grid(images[chosen], labels[chosen])
    show_images(stack, titles, ncols=len(FILTERS) + 2, save=args.out)
    print(f"wrote {args.out}")
    return args.out


if __name__ == "__main__":
    main()
