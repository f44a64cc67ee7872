"""Misuse of the public array functions of ``convnp.functional``: clear errors, ints for pairs.

Each case once gave a silent wrong result or a raw NumPy/Python traceback (audit s14,
section 8). Now each raises TypeError/ValueError naming the function and the argument.
"""

import numpy as np
import pytest

import convnp.functional as F

rng = np.random.default_rng(0)
x = rng.random((2, 3, 8, 8)).astype(np.float32)
w = rng.random((4, 3, 3, 3)).astype(np.float32)
b = np.zeros(4, np.float32)
x1 = rng.random((2, 3, 9)).astype(np.float32)
w1 = rng.random((4, 3, 3)).astype(np.float32)
cols = F.im2col(x, (3, 3))
y, conv_cache = F.conv2d_forward(x, w, b)
_, pool_cache = F.max_pool2d_forward(x, (2, 2), (2, 2))
_, avg_cache = F.avg_pool2d_forward(x, (2, 2), (2, 2))

VALUE_ERRORS = [
    # silent wrong results before
    (lambda: F.col2im(cols, (2, 3, 9, 9), (3, 3)),
     r"col2im: cols must have shape \(3, 3, 3, 2, 7, 7\).*got \(3, 3, 3, 2, 6, 6\)"),
    (lambda: F.col2im(cols, x.shape, (2, 2)), r"col2im: cols must have shape \(3, 2, 2, 2, 7, 7\)"),
    (lambda: F.col2im1d(F.im2col1d(x1, 3), x1.shape, 2), r"col2im1d: cols must have shape"),
    (lambda: F.max_pool2d_forward(x, (2, 2), (2, 2), padding=(2, 2)),
     r"max_pool2d_forward: padding must be at most half the kernel size, got padding=\(2, 2\)"),
    (lambda: F.avg_pool1d_forward(x1, 2, 2, padding=2), r"avg_pool1d_forward: padding must be at"),
    (lambda: F.pad(x, [(1, 1)]),
     r"pad: pads must hold one \(before, after\) pair .* got \[\(1, 1\)\]"),
    (lambda: F.pad(x, [(9, 9), (1, 1)], mode="reflect"),
     r"pad: reflect padding 9 must be smaller than the input size 8"),
    (lambda: F.pad(x, [(9, 9), (1, 1)], mode="circular"),
     r"pad: circular padding 9 must be at most the input size 8"),
    (lambda: F.downsample_forward(x, (2,)), r"downsample_forward: factor must be an integer or 2"),
    (lambda: F.upsample_nearest_forward(x, (0, 0)),
     r"upsample_nearest_forward: scale_factor must be >= 1, got \(0, 0\)"),
    (lambda: F.upsample_zeros_forward(x, 0), r"upsample_zeros_forward: factor must be >= 1"),
    (lambda: F.im2col(x, (0, 0)), r"im2col: kernel_size must be >= 1, got \(0, 0\)"),
    (lambda: F.im2col(x, (9, 9)), r"im2col: empty output \(H_out, W_out\) = \(0, 0\)"),
    (lambda: F.im2col1d(x1, 10), r"im2col1d: empty output \(L_out,\) = \(0,\)"),
    (lambda: F.conv_output_size(2, 5), r"conv_output_size: the window \(effective size 5\) does "
                                       r"not fit"),
    (lambda: F.conv2d_forward(x.astype(np.float64), w, b),
     r"conv2d_forward: x, weight and bias must have one dtype, got x float64, weight float32"),
    (lambda: F.conv1d_forward(x1, w1.astype(np.float64), None),
     r"conv1d_forward: x, weight and bias must have one dtype, got x float32, weight float64"),
    (lambda: F.conv2d_forward(x, w, b.astype(np.float64)),
     r"bias float64; cast bias, e.g. bias.astype\(weight.dtype\)"),
    (lambda: F.conv2d_forward(x.astype(np.float64), w, b),
     r"x float64, weight float32, bias float32; cast x, e.g. x.astype\(weight.dtype\)"),
    # raw tracebacks before
    (lambda: F.im2col(x[0], (3, 3)), r"im2col: x must be a 4-D \(N, C, H, W\) array, got shape "
                                     r"\(3, 8, 8\); if x is one example"),
    (lambda: F.im2col(x, (3, 3), (0, 0)), r"im2col: stride must be >= 1, got \(0, 0\)"),
    (lambda: F.im2col(x, (3, 3), padding=-1), r"im2col: padding must be >= 0, got -1"),
    (lambda: F.im2col(x, (3, 3, 3)), r"im2col: kernel_size must be an int or a tuple of 2 ints"),
    (lambda: F.pool_output_size(8, 2, 0), r"pool_output_size: stride must be >= 1, got 0"),
    (lambda: F.conv_transpose_output_size(8, 2, output_padding=-1),
     r"conv_transpose_output_size: output_padding must be >= 0"),
    (lambda: F.conv2d_forward(x, w, np.zeros(3, np.float32)),
     r"conv2d_forward: bias must have shape \(4,\), one entry per output channel, got \(3,\)"),
    (lambda: F.conv2d_forward(x, w, np.float32(0)[None][0:0]), r"bias must have shape \(4,\)"),
    (lambda: F.conv2d_forward(x, w[:, :1], None, groups=3),
     r"conv2d_forward: groups=3 must divide weight.shape\[0\] = 4"),
    (lambda: F.conv2d_forward(x, w, b, stride=(1, 0)), r"conv2d_forward: stride must be >= 1"),
    (lambda: F.conv2d_backward(np.ones((2, 4, 5, 5), np.float32), conv_cache),
     r"conv2d_backward: grad_y must have the forward output's shape \(2, 4, 6, 6\), got "
     r"\(2, 4, 5, 5\)"),
    (lambda: F.conv1d_backward(np.ones((2, 4, 6), np.float32), F.conv1d_forward(x1, w1, None)[1]),
     r"conv1d_backward: grad_y must have the forward output's shape \(2, 4, 7\)"),
    (lambda: F.max_pool2d_forward(x[0], (2, 2), (2, 2)),
     r"max_pool2d_forward: x must be a 4-D \(N, C, H, W\) array"),
    (lambda: F.avg_pool2d_forward(x, (0, 0), (1, 1)), r"avg_pool2d_forward: kernel_size must be"),
    (lambda: F.max_pool2d_backward(np.ones((2, 3, 3, 3), np.float32), pool_cache),
     r"max_pool2d_backward: grad_y must have the forward output's shape \(2, 3, 4, 4\)"),
    (lambda: F.avg_pool2d_backward(np.ones((2, 3, 3, 3), np.float32), avg_cache),
     r"avg_pool2d_backward: grad_y must have the forward output's shape \(2, 3, 4, 4\)"),
    (lambda: F.conv_transpose2d_forward(x, w, b),
     r"conv_transpose2d_forward: x has 3 channels \(x.shape\[1\]\) but weight of shape "
     r"\(4, 3, 3, 3\) with groups=1 expects 4 \(weight layout \(C_in, C_out/G, k...\)\)"),
    (lambda: F.conv_transpose1d_forward(x1, w1.transpose(1, 0, 2), None, stride=2,
                                        output_padding=2),
     r"conv_transpose1d_forward: output_padding along L must be smaller than"),
    (lambda: F.conv_transpose2d_backward(
        np.ones((2, 3, 9, 9), np.float32),
        F.conv_transpose2d_forward(x, w.transpose(1, 0, 2, 3).copy(), b)[1]),
     r"conv_transpose2d_backward: grad_y must have the forward output's shape \(2, 4, 10, 10\)"),
    (lambda: F.pad(x, [(1, 1), (1, 1)], mode="wrap"),
     r"pad: mode must be one of 'zeros', 'reflect', 'replicate', 'circular', got 'wrap'"),
    (lambda: F.pad(x, [(1, 1), (-1, 1)]), r"pad: pads\[1\] must be >= 0"),
    (lambda: F.pad_backward(x, [(5, 5), (0, 0)]), r"pad_backward: grad of shape .* is smaller "
                                                   r"than its padding \(5, 5\)"),
    (lambda: F.upsample_nearest_backward(x, (3, 3)),
     r"upsample_nearest_backward: grad_y's spatial sizes must be multiples of k"),
    (lambda: F.upsample_zeros_backward(x, (2, 2)),
     r"upsample_zeros_backward: grad_y's spatial sizes must be k\*\(L-1\) \+ 1"),
    (lambda: F.downsample_backward(x, (2, 2), (16,)), r"downsample_backward: expected a gradient"),
]


@pytest.mark.parametrize("call, message", VALUE_ERRORS)
def test_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


TYPE_ERRORS = [
    (lambda: F.im2col(x.tolist(), 3), r"im2col: x must be a numpy.ndarray, got list"),
    (lambda: F.im2col(x, 3.0), r"im2col: kernel_size must be an int or a tuple of 2 ints, got 3.0"),
    (lambda: F.im2col(x, (3, True)), r"im2col: kernel_size must be an int or a tuple of 2 ints"),
    (lambda: F.im2col1d(x1, (3.0,)), r"im2col1d: kernel_size must be an int or a 1-tuple of ints"),
    (lambda: F.conv_output_size(8.0, 3), r"conv_output_size: n must be an int, got float 8.0"),
    (lambda: F.conv2d_forward(x, w, np.float32(0)), r"conv2d_forward: bias must be a "
                                                    r"numpy.ndarray, got float32"),
    (lambda: F.conv2d_forward(x, w.tolist(), None), r"conv2d_forward: weight must be a "
                                                    r"numpy.ndarray, got list"),
    (lambda: F.conv2d_forward(x, w, b, groups=1.0), r"conv2d_forward: groups must be an int"),
    (lambda: F.conv2d_backward(y, None), r"conv2d_backward: cache must be the cache that "
                                         r"conv2d_forward returned, got NoneType"),
    (lambda: F.conv2d_backward(y, pool_cache), r"conv2d_backward: cache must be the cache that "
                                               r"conv2d_forward returned, got PoolCache"),
    (lambda: F.conv2d_backward(y.tolist(), conv_cache), r"conv2d_backward: grad_y must be a "
                                                        r"numpy.ndarray, got list"),
    (lambda: F.max_pool2d_backward(np.ones((2, 3, 4, 4)), conv_cache),
     r"max_pool2d_backward: cache must be the cache that max_pool2d_forward returned"),
    (lambda: F.max_pool2d_backward(np.ones((2, 3, 4, 4)), avg_cache),
     r"max_pool2d_backward: cache must be .* got that of average-pooling"),
    (lambda: F.max_pool2d_forward(x, (2, 2), ceil_mode=1), r"max_pool2d_forward: ceil_mode must "
                                                           r"be a bool"),
    (lambda: F.pad(x, [1.5, 1]), r"pad: pads\[0\] must be an int or a tuple of 2 ints"),
    (lambda: F.pad(x, "1"), r"pad: pads must hold one \(before, after\) pair"),
    (lambda: F.pad(x, [(1, 1), (1, 1)], mode=None), r"pad: mode must be one of"),
    (lambda: F.upsample_nearest_forward(x, "2"), r"upsample_nearest_forward: scale_factor must "
                                                 r"be an integer"),
]


@pytest.mark.parametrize("call, message", TYPE_ERRORS)
def test_type_errors(call, message):
    with pytest.raises(TypeError, match=message):
        call()


def same(a, b):
    """Equal results (arrays, or (array, cache) pairs compared by their array)."""
    a, b = (a[0], b[0]) if isinstance(a, tuple) else (a, b)
    return a.shape == b.shape and np.array_equal(a, b)


INT_EQUALS_PAIR = [
    (lambda: F.im2col(x, 3, 2, 1, 1), lambda: F.im2col(x, (3, 3), (2, 2), (1, 1), (1, 1))),
    (lambda: F.col2im(cols, x.shape, 3), lambda: F.col2im(cols, x.shape, (3, 3))),
    (lambda: F.im2col1d(x1, (3,), (2,)), lambda: F.im2col1d(x1, 3, 2)),
    (lambda: F.conv2d_forward(x, w, b, 1, 1, 2), lambda: F.conv2d_forward(x, w, b, (1, 1), (1, 1),
                                                                          (2, 2))),
    (lambda: F.conv1d_forward(x1, w1, None, (2,), (1,)), lambda: F.conv1d_forward(x1, w1, None, 2,
                                                                                  1)),
    (lambda: F.conv_transpose2d_forward(x, w.transpose(1, 0, 2, 3).copy(), b, 2, 1, 1),
     lambda: F.conv_transpose2d_forward(x, w.transpose(1, 0, 2, 3).copy(), b, (2, 2), (1, 1),
                                        (1, 1))),
    (lambda: F.max_pool2d_forward(x, 2, 2), lambda: F.max_pool2d_forward(x, (2, 2), (2, 2))),
    (lambda: F.max_pool2d_forward(x, 2), lambda: F.max_pool2d_forward(x, (2, 2), None)),
    (lambda: F.avg_pool2d_forward(x, 3, 2, 1), lambda: F.avg_pool2d_forward(x, (3, 3), (2, 2),
                                                                            (1, 1))),
    (lambda: F.max_pool1d_forward(x1, (3,), (2,)), lambda: F.max_pool1d_forward(x1, 3, 2)),
    (lambda: F.avg_pool1d_forward(x1, 3), lambda: F.avg_pool1d_forward(x1, 3, 3)),
    (lambda: F.upsample_nearest_forward(x, 2), lambda: F.upsample_nearest_forward(x, (2, 2))),
    (lambda: F.upsample_zeros_forward(x, 2), lambda: F.upsample_zeros_forward(x, (2, 2))),
    (lambda: F.downsample_forward(x, 2), lambda: F.downsample_forward(x, (2, 2))),
    (lambda: F.pad(x, [1, 2]), lambda: F.pad(x, [(1, 1), (2, 2)])),
    (lambda: F.pad(x, 1, "reflect"), lambda: F.pad(x, [(1, 1), (1, 1)], "reflect")),
]


@pytest.mark.parametrize("as_int, as_pair", INT_EQUALS_PAIR)
def test_an_int_equals_its_pair(as_int, as_pair):
    assert same(as_int(), as_pair())


def test_int_pool_backward_equals_pair():
    gy = np.ones((2, 3, 4, 4), np.float32)
    a = F.max_pool2d_backward(gy, F.max_pool2d_forward(x, 2, 2)[1])
    b = F.max_pool2d_backward(gy, F.max_pool2d_forward(x, (2, 2), (2, 2))[1])
    assert np.array_equal(a, b)


def test_numpy_arrays_are_accepted_for_sizes_as_before():
    from convnp.functional import downsample_backward, downsample_forward, pad

    x = np.ones((1, 1, 4, 5))
    assert pad(x, np.array([[1, 1], [2, 2]])).shape == (1, 1, 6, 9)
    assert downsample_forward(x, np.array([2, 2])).shape == (1, 1, 2, 3)
    grad = downsample_backward(np.ones((1, 1, 2, 3)), np.array([2, 2]), np.array([4, 5]))
    assert grad.shape == (1, 1, 4, 5)
