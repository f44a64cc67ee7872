"""Speed of convnp's Conv2d, ConvTranspose2d and MaxPool2d, next to a BLAS GEMM and PyTorch.

Run ``python benchmarks/conv_bench.py`` (``--quick`` for a fast look, ``--repeats R`` to
set the number of timed repeats, ``--check`` to compare both convolution algorithms and
the pooling kernels with PyTorch first).
``--algorithms`` prints loops, ``np.tensordot`` and im2col side by side instead, and
``--tricks`` each speed variant of ``functional/_fast.py`` against its plain version
(both in ``algorithms_bench.py``; ``docs/performance.md`` shows and explains the output).

What is measured, per shape (float32, through the layers as a training step uses them):

- ``fwd``: ``layer(x)``; ``f+b``: ``layer(x)`` then ``layer.backward(grad_y)`` (all
  gradients, input included). Times are medians of ``R`` repeats after a warm-up, each
  measurement in its own block (see ``_timing.time_blocks``).
- ``GF/s``: forward flops ``2*N*C_out*H_out*W_out*C_in*kH*kW`` (per group) over the time;
  forward+backward counts 3x that (two more GEMMs of the same size).
- ``peak MB``: the largest amount of memory that forward+backward holds on top of what
  existed before it (``tracemalloc`` sees NumPy's allocations), i.e. output, cache,
  columns and gradients, measured on a fresh layer in a separate, untimed run.
- ``BLAS GF/s``: ``np.matmul`` of the convolution's GEMM size,
  ``(C_out, C_in*kH*kW) @ (C_in*kH*kW, N*H_out*W_out)``, as one product: the rate of
  im2col's product. It is a reference, not a ceiling: the row columns (trick 7) run one
  narrower product per output row, at another rate.
  For ConvTranspose2d the GEMM is ``(C_out*kH*kW, C_in) @ (C_in, N*H*W)`` and the flops
  ``2*N*C_in*H*W*C_out*kH*kW`` (every input pixel meets every kernel tap).
- ``torch``: ``torch.nn.Conv2d`` / ``MaxPool2d`` with the same weights and an input that
  requires grad, default thread count; ``ratio`` = convnp f+b / torch f+b.

A new layer kind is one more entry in ``BENCHES``: a function ``bench_xxx(shape, repeats)``
returning a ``Row``, and its list of shapes.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from _timing import (
    default_repeats,
    fmt,
    peak_extra_mb,
    print_machine,
    time_blocks,
    torch_or_none,
)
from algorithms_bench import run_algorithms, run_tricks

import convnp
from convnp.functional import row_columns
from convnp.functional._fast import correlation_is_cheaper
from convnp.functional.conv import RowsCache
from convnp.functional.conv_transpose import ConvTransposeCache
from convnp.functional.row_columns import grad_x_rows_are_cheaper
from convnp.functional.shapes import conv_output_size, conv_transpose_output_size

# (N, C, H, W, C_out, k, stride, padding); the first two are LeNet's convolutions.
CONV_SHAPES = [
    (64, 1, 28, 28, 6, 5, 1, 2),
    (64, 6, 14, 14, 16, 5, 1, 0),
    (32, 64, 32, 32, 64, 3, 1, 1),
    (32, 128, 16, 16, 128, 3, 1, 1),
    (32, 64, 32, 32, 128, 3, 2, 1),
]
# LeNet's two convolutions and one large layer, for --algorithms and --tricks; --tricks
# adds a DenseNet layer's, which narrows the channels (trick 6).
ALGORITHM_SHAPES = CONV_SHAPES[:3]
TRICK_SHAPES = [*ALGORITHM_SHAPES, (64, 64, 7, 7, 16, 3, 1, 1)]
CONV_TRANSPOSE_SHAPES = [(32, 64, 16, 16, 32, 4, 2, 1)]
# (N, C, H, W, k): MaxPool2d(k), stride k.
POOL_SHAPES = [(64, 6, 28, 28, 2)]


@dataclass
class Row:
    """One line of the table; times in ms, None where not measured."""

    label: str
    fwd_ms: float
    fb_ms: float
    peak_mb: float
    flops: float | None = None  # forward flops
    blas_gflops: float | None = None
    torch_fwd_ms: float | None = None
    torch_fb_ms: float | None = None


def bench_conv2d(shape: tuple[int, ...], repeats: int | None) -> Row:
    """Conv2d row: forward flops = 2*N*C_out*H_out*W_out*C_in*k*k."""
    N, C, H, W, C_out, k, s, p = shape
    H_out, W_out = conv_output_size(H, k, s, p), conv_output_size(W, k, s, p)
    return _conv_row(shape, convnp.Conv2d, "Conv2d", (N, C_out, H_out, W_out),
                     gemm=(C_out, C * k * k, N * H_out * W_out), repeats=repeats)


def bench_conv_transpose2d(shape: tuple[int, ...], repeats: int | None) -> Row:
    """ConvTranspose2d row: every input pixel meets every tap, 2*N*C_in*H*W*C_out*k*k flops."""
    N, C, H, W, C_out, k, s, p = shape
    H_out, W_out = (conv_transpose_output_size(n, k, s, p) for n in (H, W))
    return _conv_row(shape, convnp.ConvTranspose2d, "ConvTranspose2d", (N, C_out, H_out, W_out),
                     gemm=(C_out * k * k, C, N * H * W), repeats=repeats)


def _conv_row(shape: tuple[int, ...], layer_cls: type, torch_name: str,
              y_shape: tuple[int, ...], gemm: tuple[int, int, int], repeats: int | None) -> Row:
    """Time a convolution-like layer forward and forward+backward, with torch and plain GEMM."""
    N, C, H, W, C_out, k, s, p = shape
    rng = np.random.default_rng(0)
    M, K, cols = gemm
    flops = 2.0 * M * K * cols
    repeats = repeats or default_repeats(flops)
    x = rng.standard_normal((N, C, H, W), dtype=np.float32)
    gy = rng.standard_normal(y_shape, dtype=np.float32)

    def make_layer():
        return layer_cls(C, C_out, k, stride=s, padding=p, rng=np.random.default_rng(1))

    conv = make_layer()

    def fwd() -> object:
        return conv(x)

    def fwd_bwd() -> object:
        conv(x)
        return conv.backward(gy)

    def make_step() -> Callable[[], object]:
        fresh = make_layer()
        return lambda: (fresh(x), fresh.backward(gy))

    a = rng.standard_normal((M, K), dtype=np.float32)
    b = rng.standard_normal((K, cols), dtype=np.float32)
    fns = [fwd, fwd_bwd, lambda: a @ b]
    torch = torch_or_none()
    if torch is not None:
        tconv = getattr(torch.nn, torch_name)(C, C_out, k, stride=s, padding=p)
        with torch.no_grad():
            tconv.weight.copy_(torch.from_numpy(conv.weight.data))
            tconv.bias.copy_(torch.from_numpy(conv.bias.data))
        tx = torch.from_numpy(x).requires_grad_(True)
        tgy = torch.from_numpy(gy)
        fns += [lambda: tconv(tx), lambda: tconv(tx).backward(tgy)]
    ms = time_blocks(fns, repeats)
    label = f"({N},{C},{H},{W}; {C_out},{k},{s},{p})"
    row = Row(label, ms[0], ms[1], peak_extra_mb(make_step), flops, flops / ms[2] / 1e6)
    if torch is not None:
        row.torch_fwd_ms, row.torch_fb_ms = ms[3], ms[4]
    return row


def bench_maxpool2d(shape: tuple[int, ...], repeats: int | None) -> Row:
    N, C, H, W, k = shape
    rng = np.random.default_rng(0)
    repeats = repeats or 15
    x = rng.standard_normal((N, C, H, W), dtype=np.float32)
    gy = rng.standard_normal((N, C, H // k, W // k), dtype=np.float32)
    pool = convnp.MaxPool2d(k)

    def fwd_bwd() -> object:
        pool(x)
        return pool.backward(gy)

    def make_step() -> Callable[[], object]:
        fresh = convnp.MaxPool2d(k)
        return lambda: (fresh(x), fresh.backward(gy))

    fns = [lambda: pool(x), fwd_bwd]
    torch = torch_or_none()
    if torch is not None:
        tpool = torch.nn.MaxPool2d(k)
        tx = torch.from_numpy(x).requires_grad_(True)
        tgy = torch.from_numpy(gy)
        fns += [lambda: tpool(tx), lambda: tpool(tx).backward(tgy)]
    ms = time_blocks(fns, repeats)
    row = Row(f"MaxPool2d({k}) ({N},{C},{H},{W})", ms[0], ms[1], peak_extra_mb(make_step))
    if torch is not None:
        row.torch_fwd_ms, row.torch_fb_ms = ms[2], ms[3]
    return row


BENCHES: list[tuple[str, Callable[[tuple[int, ...], int | None], Row], list]] = [
    ("conv2d  shape (N,C,H,W; C_out,k,stride,pad)", bench_conv2d, CONV_SHAPES),
    ("conv_transpose2d  shape (N,C,H,W; C_out,k,stride,pad)", bench_conv_transpose2d,
     CONV_TRANSPOSE_SHAPES),
    ("pool", bench_maxpool2d, POOL_SHAPES),
]


def print_table(title: str, rows: list[Row]) -> None:
    head = (f"{'':36} {'fwd ms':>8} {'GF/s':>6} {'f+b ms':>8} {'GF/s':>6} {'peak MB':>8} "
            f"{'BLAS GF/s':>9} {'torch fwd':>9} {'torch f+b':>9} {'ratio f+b':>9}")
    print(f"\n{title}\n{head}\n{'-' * len(head)}")
    for r in rows:
        gf = None if r.flops is None else r.flops / r.fwd_ms / 1e6
        gf_fb = None if r.flops is None else 3 * r.flops / r.fb_ms / 1e6
        ratio = None if r.torch_fb_ms is None else r.fb_ms / r.torch_fb_ms
        print(f"{r.label:36} {r.fwd_ms:8.2f} {fmt(gf, 6, 1)} {r.fb_ms:8.2f} "
              f"{fmt(gf_fb, 6, 1)} {r.peak_mb:8.1f} {fmt(r.blas_gflops, 9, 1)} "
              f"{fmt(r.torch_fwd_ms, 9, 2)} {fmt(r.torch_fb_ms, 9, 2)} {fmt(ratio, 9, 2)}")


# ----------------------------------------------------------------------------- --check
def _ints(rng: np.random.Generator, low: int, high: int, n: int) -> tuple[int, ...]:
    return tuple(int(v) for v in rng.integers(low, high + 1, n))


def _random_conv_case(rng: np.random.Generator, dims: int,
                      rows: bool = False) -> tuple[dict, tuple[int, ...]]:
    """A random Conv1d/Conv2d configuration and an input shape (H != W) that it accepts.

    Half the cases have stride 1, and C_out is drawn below and above C_in, so both ways
    of computing dL/dx in ``conv2d_backward`` (col2im and the correlation) are exercised.
    With ``rows`` (2-D only), one group, kH > 1, and stride and dilation 1 in H: the
    configurations the row columns take.
    """
    while True:
        G = 1 if rows else int(rng.choice([1, 1, 2, 3]))
        stride = (1,) * dims if rng.random() < 0.5 else _ints(rng, 1, 3, dims)
        kernel, dilation = _ints(rng, 1, 4, dims), _ints(rng, 1, 2, dims)
        if rows:
            stride, dilation = (1, stride[1]), (1, dilation[1])
            kernel = (int(rng.integers(2, 5)), kernel[1])
        kw = {"in_channels": G * int(rng.integers(1, 5)),
              "out_channels": G * int(rng.integers(1, 5)),
              "kernel_size": kernel, "stride": stride,
              "dilation": dilation, "padding": _ints(rng, 0, 3, dims),
              "groups": G, "bias": bool(rng.integers(2)),
              "padding_mode": str(rng.choice(["zeros", "zeros", "zeros", "reflect",
                                              "replicate", "circular"]))}
        if rng.random() < 0.15 and max(stride) == 1:
            kw["padding"] = str(rng.choice(["same", "valid"]))
        # W up to 20: both the one-pass and the two-pass im2col (W_out < 16) are used.
        size = (*_ints(rng, 3, 12, dims - 1), int(rng.integers(3, 21)))
        if dims == 2 and size[0] == size[1]:
            size = (size[0], size[1] + 1)
        pads = (0,) * dims if isinstance(kw["padding"], str) else kw["padding"]
        fits = all(n + 2 * q >= d * (k - 1) + 1 and q < n for n, q, k, d in
                   zip(size, pads, kw["kernel_size"], kw["dilation"]))
        if fits:
            return kw, (int(rng.integers(1, 4)), kw["in_channels"], *size)


def _compare(name: str, ours: np.ndarray, theirs, tol: float = 1e-10) -> None:
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=tol, atol=tol, err_msg=name)


def check_conv(torch, cases: int, rng: np.random.Generator) -> tuple[int, int, int, int]:
    """Forward and all gradients of random Conv1d/Conv2d configurations against torch,
    with both algorithms ('im2col' and 'tensordot') from the same weights.

    The cases are too small for the row columns' rule (``ROWS_MIN_WIDTH``), so every
    other case is one the rule allows and runs with that floor at 1.

    Returns how many cases (in 'im2col') computed y by transposition, how many by row
    columns, how many others took the correlation path for dL/dx, and how many the rows
    (``conv2d_grad_x_by_rows``).
    """
    warnings.filterwarnings("ignore", message="Using padding='same'")  # torch's copy notice
    totals = [0, 0, 0, 0]
    floor = row_columns.ROWS_MIN_WIDTH
    for case in range(cases):
        row_columns.ROWS_MIN_WIDTH = 1 if case % 2 else floor
        try:
            counts = _check_conv_case(torch, case, rng)
        finally:
            row_columns.ROWS_MIN_WIDTH = floor
        totals = [total + count for total, count in zip(totals, counts)]
    return totals[0], totals[1], totals[2], totals[3]


def _check_conv_case(torch, case: int, rng: np.random.Generator
                     ) -> tuple[int, int, int, int]:
    """One case of ``check_conv``; returns (transposition, rows, correlation, dL/dx by
    rows) as 0/1."""
    dims = 1 if case % 4 == 2 else 2
    kw, x_shape = _random_conv_case(rng, dims, rows=case % 2 == 1)
    seed = int(rng.integers(2**31))
    x = rng.standard_normal(x_shape)
    tconv = getattr(torch.nn, f"Conv{dims}d")(**kw, dtype=torch.float64)
    for algorithm in ("tensordot", "im2col"):  # im2col last: its cache is read below
        name = f"Conv{dims}d({kw}, algorithm={algorithm!r})"
        conv = getattr(convnp, f"Conv{dims}d")(**kw, algorithm=algorithm, dtype=np.float64,
                                               rng=np.random.default_rng(seed))
        with torch.no_grad():
            tconv.weight.copy_(torch.from_numpy(conv.weight.data))
            if conv.bias is not None:
                tconv.bias.copy_(torch.from_numpy(conv.bias.data))
        tconv.zero_grad()
        tx = torch.from_numpy(x).requires_grad_(True)
        ty = tconv(tx)
        y = conv(x)
        gy = np.random.default_rng(seed).standard_normal(y.shape)
        ty.backward(torch.from_numpy(gy))
        _compare(f"{name} forward", y, ty)
        _compare(f"{name} grad_x", conv.backward(gy), tx.grad)
        _compare(f"{name} grad_weight", conv.weight.grad, tconv.weight.grad)
        if conv.bias is not None:
            _compare(f"{name} grad_bias", conv.bias.grad, tconv.bias.grad)
        conv.zero_grad()
        conv(x)
        if conv.backward(gy, input_grad=False) is not None:
            raise AssertionError(f"{name}: backward(input_grad=False) must return None")
        _compare(f"{name} grad_weight (input_grad=False)", conv.weight.grad,
                 tconv.weight.grad)
    cache = conv._saved()[0]
    y4_shape = (*y.shape[:2], 1, y.shape[2]) if dims == 1 else y.shape
    if isinstance(cache, ConvTransposeCache):
        return 1, 0, 0, 0
    kernel = cache.weight.shape[2:]
    correlation = correlation_is_cheaper(cache.x_shape, y4_shape, kernel, cache.stride,
                                         cache.padding, cache.dilation)
    grad_x_rows = not correlation and grad_x_rows_are_cheaper(
        cache.x_shape, y4_shape, kernel, cache.stride, cache.dilation, kw.get("groups", 1))
    return 0, int(isinstance(cache, RowsCache)), int(correlation), int(grad_x_rows)


def check_pool(torch, cases: int, rng: np.random.Generator) -> None:
    """Random MaxPool2d/AvgPool2d configurations (ceil_mode, padding, dilation) vs torch."""
    for case in range(cases):
        is_max = case % 3 != 2
        k = _ints(rng, 1, 3, 2)
        kw = {"kernel_size": k, "stride": _ints(rng, 1, 3, 2),
              "padding": tuple(int(rng.integers(0, ki // 2 + 1)) for ki in k),  # torch's limit
              "ceil_mode": bool(rng.integers(2))}
        if is_max:
            kw["dilation"] = _ints(rng, 1, 2, 2)
        else:
            kw["count_include_pad"] = bool(rng.integers(2))
        H, W = _ints(rng, 5, 12, 2)
        # Small integers make many ties, which tests the first-maximum rule; -inf tests
        # that a padded position never wins.
        x = rng.integers(-3, 4, (2, 3, H, W + (H == W))).astype(np.float64)
        if is_max and case % 5 == 0:
            x[x < 0] = -np.inf
        name = "MaxPool2d" if is_max else "AvgPool2d"
        pool = getattr(convnp, name)(**kw)
        tx = torch.from_numpy(x).requires_grad_(True)
        ty = getattr(torch.nn, name)(**kw)(tx)
        y = pool(x)
        gy = rng.standard_normal(y.shape)
        ty.backward(torch.from_numpy(gy))
        _compare(f"{name}({kw}) forward", y, ty)
        _compare(f"{name}({kw}) grad_x", pool.backward(gy), tx.grad)


def check_gradients(rng: np.random.Generator) -> None:
    """Finite-difference checks of a few small float64 configurations (no torch needed)."""
    configs = [dict(kernel_size=3, padding=1), dict(kernel_size=(2, 3), stride=(2, 1)),
               dict(kernel_size=3, dilation=(2, 1), padding=(2, 0), groups=2)]
    for kw in configs:
        for c_in, c_out in ((4, 4), (2, 6), (6, 2)):  # correlation, col2im, transposition
            conv = convnp.Conv2d(c_in, c_out, **kw, rng=rng, dtype=np.float64)
            convnp.gradcheck(conv, rng.standard_normal((2, c_in, 7, 9)), rng=rng)
    # Distinct values: finite differences are undefined at ties.
    x = rng.permutation(2 * 3 * 7 * 9).reshape(2, 3, 7, 9).astype(np.float64)
    convnp.gradcheck(convnp.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), x, rng=rng)
    convnp.gradcheck(convnp.MaxPool2d(2), x, rng=rng)


def run_checks(cases: int) -> None:
    rng = np.random.default_rng(12345)
    torch = torch_or_none()
    if torch is None:
        print("check: torch not installed, skipping the comparison with torch")
    else:
        transpositions, rows, correlations, grad_x_rows = check_conv(torch, cases, rng)
        check_pool(torch, cases, rng)
        print(f"check: {cases} Conv1d/Conv2d, each with algorithm 'im2col' ({transpositions} "
              f"with y by transposition, {rows} by row columns, {correlations} with dL/dx by "
              f"correlation, {grad_x_rows} by rows) and "
              f"'tensordot', and {cases} pooling "
              "configurations match torch to 1e-10")
    check_gradients(rng)
    print("check: gradcheck passed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed repeats per measurement (default: 15 small, 7 large)")
    parser.add_argument("--quick", action="store_true", help="3 repeats, for a fast look")
    parser.add_argument("--check", action="store_true",
                        help="first compare the kernels with torch and gradcheck")
    parser.add_argument("--cases", type=int, default=60, help="random configurations for --check")
    parser.add_argument("--algorithms", action="store_true",
                        help="instead: loops, tensordot and im2col side by side (LeNet + large)")
    parser.add_argument("--tricks", action="store_true",
                        help="instead: each variant of functional/_fast.py against its plain form")
    args = parser.parse_args(argv)
    if args.check:
        run_checks(args.cases)
    repeats = 3 if args.quick and args.repeats is None else args.repeats
    print_machine()
    if args.algorithms:
        run_algorithms(ALGORITHM_SHAPES, repeats)
    if args.tricks:
        run_tricks(TRICK_SHAPES, repeats)
    if not (args.algorithms or args.tricks):
        for title, bench, shapes in BENCHES:
            print_table(title, [bench(shape, repeats) for shape in shapes])
    return 0


if __name__ == "__main__":
    sys.exit(main())
