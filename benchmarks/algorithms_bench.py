"""Loops, ``np.tensordot`` and im2col side by side, and each speed variant of ``_fast.py``.

Run through ``conv_bench.py``::

    python benchmarks/conv_bench.py --algorithms   # the three algorithms, one table
    python benchmarks/conv_bench.py --tricks       # each _fast.py variant against its plain form

``--algorithms``, per shape (float32 input, LeNet's two convolutions and one large layer):

- ``loops``: ``convnp.naive.conv2d_forward_naive`` then ``conv2d_backward_naive``;
  ``tensordot`` and ``im2col``: ``Conv2d(..., algorithm=...)`` forward then backward
  (all gradients, input included), as in the default table.
- The loops cost the same for every image (the batch is their outermost loop), so they
  are timed on the first ``LOOP_IMAGES`` images only and the time is multiplied by
  ``N / LOOP_IMAGES``; the table says so. Their peak MB is that of the smaller batch,
  not scaled. On the large shape they are not run: the table gives the time that the
  LeNet rows' time per multiply-add predicts, marked as an estimate.
- ``GF/s``: 3x the forward flops ``2*N*C_out*H_out*W_out*C_in*kH*kW`` over the f+b time;
  ``x loops``: the loops' (scaled) time over this row's.

``--tricks``, per shape: each variant in ``convnp/functional/_fast.py`` against the
plain computation it replaces, on the arrays a training step gives them (float32; the
input stored as each layout's previous convolution leaves it). The
two orientations of grad_W and ``np.tensordot`` against ``np.matmul`` run on the BLAS
threads ``_blas.matmul`` picks for that product (one thread for a small one), so that
they differ only in what they compare; ``_blas.matmul``'s thread choice has its own line.
Every pair is timed alternately in ``ROUNDS`` rounds (``_timing.time_alternating``),
first on the machine as it is, then again while one extra process keeps a core busy
(``_timing.busy_core``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from _timing import (
    busy_core,
    default_repeats,
    fmt,
    peak_extra_mb,
    time_alternating,
    time_blocks,
)

import convnp
from convnp import naive
from convnp.functional import _blas, _fast, _ufunc_buffers, columns, row_columns
from convnp.functional import conv as conv_module
from convnp.functional.shapes import conv_output_size

LOOP_IMAGES = 2  # images the loops are timed on
LOOP_REPEATS = 3
ROUNDS = 3


def _arrays(shape: tuple[int, ...], dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Input x (N, C, H, W) and an output gradient (N, C_out, H_out, W_out) for ``shape``."""
    N, C, H, W, C_out, k, s, p = shape
    rng = np.random.default_rng(0)
    H_out, W_out = conv_output_size(H, k, s, p), conv_output_size(W, k, s, p)
    return (rng.standard_normal((N, C, H, W), dtype=dtype),
            rng.standard_normal((N, C_out, H_out, W_out), dtype=dtype))


def _stored(a: np.ndarray, order: tuple[int, ...]) -> np.ndarray:
    """``a`` (same shape and values), stored in memory with its axes in ``order``."""
    return np.ascontiguousarray(a.transpose(order)).transpose(np.argsort(order))


def _matrix(grad_y: np.ndarray, order: tuple[int, ...]) -> np.ndarray:
    """grad_y as the (1, C_out, M) matrix of a convolution's backward, columns in ``order``."""
    return np.ascontiguousarray(grad_y.transpose(order)).reshape(1, grad_y.shape[1], -1)


def _forward_flops(shape: tuple[int, ...]) -> float:
    N, C, H, W, C_out, k, s, p = shape
    return 2.0 * N * C_out * conv_output_size(H, k, s, p) * conv_output_size(W, k, s, p) * C * k * k


def _label(shape: tuple[int, ...]) -> str:
    N, C, H, W, C_out, k, s, p = shape
    return f"({N},{C},{H},{W}; {C_out},{k},{s},{p})"


def _time_layer(shape: tuple[int, ...], algorithm: str, repeats: int) -> tuple[float, float]:
    """f+b ms and peak MB of ``Conv2d(..., algorithm=algorithm)`` on ``shape``."""
    N, C, H, W, C_out, k, s, p = shape
    x, gy = _arrays(shape)

    def make_step() -> Callable[[], object]:
        conv = convnp.Conv2d(C, C_out, k, stride=s, padding=p, algorithm=algorithm,
                             rng=np.random.default_rng(1))
        return lambda: (conv(x), conv.backward(gy))

    return time_blocks([make_step()], repeats)[0], peak_extra_mb(make_step)


def _time_loops(shape: tuple[int, ...]) -> tuple[float, float]:
    """f+b ms and peak MB of the loop kernels on the first ``LOOP_IMAGES`` images."""
    N, C, H, W, C_out, k, s, p = shape
    x, gy = _arrays(shape)
    x, gy = x[:LOOP_IMAGES], gy[:LOOP_IMAGES]
    rng = np.random.default_rng(1)
    weight = rng.standard_normal((C_out, C, k, k), dtype=np.float32)
    bias = rng.standard_normal(C_out, dtype=np.float32)

    def make_step() -> Callable[[], object]:
        return lambda: (naive.conv2d_forward_naive(x, weight, bias, s, p),
                        naive.conv2d_backward_naive(gy, x, weight, bias, s, p))

    return time_blocks([make_step()], LOOP_REPEATS, warmup=0)[0], peak_extra_mb(make_step)


def run_algorithms(shapes: list[tuple[int, ...]], repeats: int | None,
                   loop_shapes: int = 2) -> None:
    """Print the three-algorithm table; the loops run on the first ``loop_shapes`` shapes."""
    head = (f"{'shape (N,C,H,W; C_out,k,stride,pad)':36} {'algorithm':10} {'f+b ms':>10} "
            f"{'GF/s':>7} {'peak MB':>8} {'x loops':>8}  note")
    print(f"\nconv2d forward+backward, three algorithms (float32 in; loops compute in "
          f"float64)\n{head}\n{'-' * len(head)}")
    ms_per_mac = []  # the loops' f+b time per forward multiply-add, for the estimate
    for index, shape in enumerate(shapes):
        N, flops = shape[0], _forward_flops(shape)
        reps = repeats or default_repeats(flops)
        rows: list[tuple[str, float | None, float | None, str]] = []
        if index < loop_shapes:
            ms, mb = _time_loops(shape)
            loop_ms = ms * N / LOOP_IMAGES
            ms_per_mac.append(loop_ms / (flops / 2))
            rows.append(("loops", loop_ms, mb, f"timed on {LOOP_IMAGES} images, ms x "
                         f"{N // LOOP_IMAGES}; peak MB of {LOOP_IMAGES} images"))
        else:
            loop_ms = None
            guess = "" if not ms_per_mac else (
                f", about {np.mean(ms_per_mac) * flops / 2 / 6e4:.1f} min at the loops' "
                f"rate above (estimate)")
            rows.append(("loops", None, None, f"skipped: too slow{guess}"))
        for algorithm in ("tensordot", "im2col"):
            ms, mb = _time_layer(shape, algorithm, reps)
            rows.append((algorithm, ms, mb, ""))
        for algorithm, ms, mb, note in rows:
            gf = None if ms is None else 3 * flops / ms / 1e6
            speedup = None if ms is None or loop_ms is None else loop_ms / ms
            print(f"{_label(shape):36} {algorithm:10} {fmt(ms, 10, 1)} {fmt(gf, 7, 3)} "
                  f"{fmt(mb, 8, 1)} {fmt(speedup, 8, 0)}  {note}".rstrip())


# ----------------------------------------------------------------------------- --tricks
def trick_pairs(shape: tuple[int, ...]
                ) -> list[tuple[str, str, Callable[[], np.ndarray], Callable[[], np.ndarray]]]:
    """``(what, when used, plain, fast)`` for each variant, on the arrays of ``shape``."""
    N, C, H, W, C_out, k, s, p = shape
    x, grad_y = _arrays(shape)
    rng = np.random.default_rng(2)
    weight = rng.standard_normal((C_out, C, k, k), dtype=np.float32)
    ks, st, pd, dl = (k, k), (s, s), (p, p), (1, 1)
    # x and grad_y stored as each layout's convolutions leave them in memory
    x_batch_first = _stored(x, (1, 0, 2, 3))
    x_batch_last, gy_batch_last = _stored(x, (1, 2, 3, 0)), _stored(grad_y, (1, 2, 3, 0))
    cols6 = columns.im2col(x_batch_first, ks, st, pd, dl)  # (C, kH, kW, N, H_out, W_out)
    w = weight.reshape(1, C_out, C * k * k)
    grad_cols = np.matmul(w.transpose(0, 2, 1), _matrix(grad_y, (1, 0, 2, 3)))
    grad_cols = grad_cols.reshape(cols6.shape)
    cols = _fast.batch_last_im2col(x_batch_last, ks, st, pd, dl).reshape(1, C * k * k, -1)
    gy = _matrix(grad_y, (1, 2, 3, 0))
    grad_cols_last = np.moveaxis(grad_cols, 3, 5).copy()
    correlation = _fast.correlation_is_cheaper(x.shape, grad_y.shape, ks, st, pd, dl)

    small = 2 * w.size * cols.shape[-1] < _blas.SMALL_PRODUCT_FLOPS

    def one_thread(fn: Callable[[], np.ndarray]) -> Callable[[], np.ndarray]:
        def on_one_thread() -> np.ndarray:
            with _blas.one_blas_thread():
                return fn()
        return on_one_thread

    def threads_as_fast(fn: Callable[[], np.ndarray]) -> Callable[[], np.ndarray]:
        """``fn`` on the BLAS threads that ``_blas.matmul`` would choose for this product
        now: one if it is small and other programs keep a core busy, else all."""
        def on_matmuls_threads() -> np.ndarray:
            return one_thread(fn)() if small and _blas.others_busy() else fn()
        return on_matmuls_threads

    def col2im_numpys_buffers() -> np.ndarray:
        """``batch_last_col2im`` with NumPy's own ufunc buffer size instead of trick 5's."""
        saved, _ufunc_buffers.UFUNC_BUFFER = _ufunc_buffers.UFUNC_BUFFER, np.getbufsize()
        try:
            return _fast.batch_last_col2im(grad_cols_last, x.shape, ks, st, pd, dl)
        finally:
            _ufunc_buffers.UFUNC_BUFFER = saved

    def grad_x_col2im() -> np.ndarray:
        g = _blas.matmul(w.transpose(0, 2, 1), gy).reshape(grad_cols_last.shape)
        return _fast.batch_last_col2im(g, x.shape, ks, st, pd, dl)

    in_pieces = _fast.pieces(w[0].size, cols.shape[-1]) is not None
    transposition = _fast.transposition_is_cheaper(x.shape, grad_y.shape, ks, st, pd, dl)

    rows = row_columns.rows_are_cheaper(x.shape, grad_y.shape, ks, st, dl, 1)

    def conv_and_grads(by_transposition: bool, by_rows: bool) -> Callable[[], np.ndarray]:
        """``conv2d_forward`` with y by im2col, by transposition (trick 6) or by row
        columns (trick 7), whatever their rules say, then ``conv2d_backward``; returns
        grad_W."""
        def step() -> np.ndarray:
            saved = conv_module.transposition_is_cheaper, conv_module.rows_are_cheaper
            conv_module.transposition_is_cheaper = lambda *shapes: by_transposition
            conv_module.rows_are_cheaper = lambda *shapes: by_rows
            try:
                _, cache = conv_module.conv2d_forward(x_batch_last, weight, None, st, pd, dl)
            finally:
                conv_module.transposition_is_cheaper, conv_module.rows_are_cheaper = saved
            return conv_module.conv2d_backward(gy_batch_last, cache)[1]
        return step

    pairs = [
        ("im2col: batch first / batch last", "yes",
         lambda: columns.im2col(x_batch_first, ks, st, pd, dl),
         lambda: np.moveaxis(_fast.batch_last_im2col(x_batch_last, ks, st, pd, dl), 5, 3)),
        ("col2im: batch first / batch last", "yes",
         lambda: columns.col2im(grad_cols, x.shape, ks, st, pd, dl),
         lambda: _fast.batch_last_col2im(grad_cols_last, x.shape, ks, st, pd, dl)),
        (f"col2im: ufunc buffers {np.getbufsize()} / {_ufunc_buffers.UFUNC_BUFFER}", "yes",
         col2im_numpys_buffers,
         lambda: _fast.batch_last_col2im(grad_cols_last, x.shape, ks, st, pd, dl)),
        ("grad_W: gy@cols.T / (cols@gy.T).T", "yes",
         threads_as_fast(lambda: np.matmul(gy, cols.transpose(0, 2, 1))),
         threads_as_fast(lambda: np.matmul(cols, gy.transpose(0, 2, 1)).transpose(0, 2, 1))),
        ("grad_W: one product / in pieces", "yes" if in_pieces else "no (grad_W large)",
         threads_as_fast(lambda: np.matmul(cols, gy.transpose(0, 2, 1)).transpose(0, 2, 1)),
         threads_as_fast(lambda: _fast.fast_grad_weight(gy, cols))),
        ("Y: one product / in pieces", "yes" if in_pieces else "no (weight large)",
         threads_as_fast(lambda: np.matmul(w, cols)),
         threads_as_fast(lambda: _fast.fast_forward(w, cols))),
        ("Y: all BLAS threads / one", "when busy" if small else "no (large)",
         lambda: np.matmul(w, cols), one_thread(lambda: np.matmul(w, cols))),
        ("Y: tensordot / matmul (G = 1)", "matmul",
         threads_as_fast(lambda: np.tensordot(w[0], cols[0], 1)),
         threads_as_fast(lambda: np.matmul(w, cols))),
    ]
    if _fast.has_flipped_form(ks, st, pd, dl):
        pairs.insert(3, ("dL/dx: col2im / correlation", "correlation" if correlation else "col2im",
                         grad_x_col2im,
                         lambda: _fast.conv2d_grad_x_by_correlation(gy_batch_last, weight,
                                                                    pd, dl, 1)))
        pairs.append(("y, grads: im2col / transposition",
                      "transposition" if transposition else "im2col",
                      conv_and_grads(False, False), conv_and_grads(True, False)))
    if k > 1 and s == 1:
        grad_x_rows = row_columns.grad_x_rows_are_cheaper(x.shape, grad_y.shape, ks, st, dl, 1)
        pairs.append(("dL/dx: col2im / rows",
                      "no (correlation)" if correlation else "yes" if grad_x_rows else "no",
                      grad_x_col2im,
                      lambda: row_columns.conv2d_grad_x_by_rows(
                          gy_batch_last.transpose(1, 2, 3, 0), weight, x.shape, st, pd, dl)))
        pairs.append(("y, grads: im2col / row columns",
                      "no (transposition)" if transposition else "yes" if rows else "no (narrow)",
                      conv_and_grads(False, False), conv_and_grads(False, True)))
    return pairs


def run_tricks(shapes: list[tuple[int, ...]], repeats: int | None) -> None:
    """Print, per shape and variant, plain ms, fast ms and their ratio, quiet and busy."""
    head = (f"{'shape (N,C,H,W; C_out,k,stride,pad)':36} {'plain / fast':34} {'used':17}"
            f"{'plain':>8} {'fast':>8} {'ratio':>6} {'plain':>8} {'fast':>8} {'ratio':>6}")
    print(f"\nspeed variants of functional/_fast.py against the plain computation, float32; ms, "
          f"median of {ROUNDS} alternating rounds;\nratio = plain/fast (> 1: the variant is "
          f"faster). Left: as the machine is; right: with one extra busy core.")
    print(f"{'':89}{'--------- as is ---------':>24} {'--- one busy core ---':>24}")
    print(f"{head}\n{'-' * len(head)}")
    for shape in shapes:
        reps = repeats or default_repeats(_forward_flops(shape))
        pairs = trick_pairs(shape)
        for what, _, plain, fast in pairs:
            a, b = plain(), fast()
            np.testing.assert_allclose(np.asarray(a).reshape(np.shape(b)), b, rtol=1e-3,
                                       atol=1e-3, err_msg=f"{what} on {shape}")
        quiet = [time_alternating([plain, fast], reps, ROUNDS) for _, _, plain, fast in pairs]
        with busy_core():
            busy = [time_alternating([plain, fast], reps, ROUNDS) for _, _, plain, fast in pairs]
        for (what, used, _, _), q, b in zip(pairs, quiet, busy):
            print(f"{_label(shape):36} {what:34} {used:17}{q[0]:8.2f} {q[1]:8.2f} "
                  f"{q[0] / q[1]:6.2f} {b[0]:8.2f} {b[1]:8.2f} {b[0] / b[1]:6.2f}")
