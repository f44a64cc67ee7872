"""convnp.naive: hand-computed cases, backward loops against finite differences, PyTorch.

The forward loops are also pinned in ``test_reference.py`` under their short test names.
Here every backward is checked against float64 central differences of its own forward
(a local helper, not ``convnp.gradcheck``), and every function against PyTorch for every
option, on non-square shapes.
"""

import ast
import re
from pathlib import Path

import numpy as np
import pytest

from convnp import naive

X34 = np.arange(12.0).reshape(1, 1, 3, 4)  # [[0 1 2 3], [4 5 6 7], [8 9 10 11]]


def assert_grads(got, *expected):
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        if e is None:
            assert g is None
        else:
            np.testing.assert_array_equal(g, e)


def test_naive_imports_only_numpy_math_and_itself():
    """The loops stay an independent reference: no import from the rest of convnp."""
    files = sorted(Path(naive.__file__).parent.glob("*.py"))
    assert len(files) == 6
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                assert [a.name for a in node.names] in (["math"], ["numpy"]), path.name
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                assert node.module in ("__future__", "numpy.typing"), path.name


# --------------------------------------------------------------------------- hand-computed
def test_conv2d_backward_by_hand():
    x = np.array([[[[0.0, 1, 2], [3, 4, 5]]]])
    # y[h, w] = x[h, w] + 2 x[h, w+1]; grad_y = identity (2, 2)
    got = naive.conv2d_backward_naive(np.eye(2)[None, None], x, np.array([[[[1.0, 2]]]]),
                                      bias=np.zeros(1))
    assert_grads(got, [[[[1, 2, 0], [0, 1, 2]]]], [[[[0 + 4, 1 + 5]]]], [2])


def test_conv2d_backward_stride_padding_dilation_groups_by_hand():
    # ones (2, 3), 2x2 kernel, stride (1, 2), padding 1: every pixel is used twice, by
    # rows h = r and r + 1 and by one column window; the kernel's taps count real pixels.
    got = naive.conv2d_backward_naive(np.ones((1, 1, 3, 2)), np.ones((1, 1, 2, 3)),
                                      np.ones((1, 1, 2, 2)), stride=(1, 2), padding=1)
    assert_grads(got, np.full((1, 1, 2, 3), 2.0), [[[[2, 4], [2, 4]]]], None)
    # dilation 2 on X34: outputs tap (0,0),(0,2),(2,0),(2,2) and (0,1),(0,3),(2,1),(2,3)
    gx, gw, _ = naive.conv2d_backward_naive(np.array([[[[1.0, 10]]]]), X34,
                                            np.ones((1, 1, 2, 2)), dilation=2)
    np.testing.assert_array_equal(gx[0, 0], [[1, 10, 1, 10], [0, 0, 0, 0], [1, 10, 1, 10]])
    np.testing.assert_array_equal(gw[0, 0], [[0 + 10, 2 + 30], [8 + 90, 10 + 110]])
    # groups 2: channel 0 only sees weight 10, channel 1 only weight 100
    x = np.array([[[[1.0, 2]], [[3, 4]]]])
    got = naive.conv2d_backward_naive(np.array([[[[1.0, 1]], [[1, -1]]]]), x,
                                      np.array([10.0, 100]).reshape(2, 1, 1, 1),
                                      np.zeros(2), groups=2)
    assert_grads(got, [[[[10, 10]], [[100, -100]]]], np.array([3.0, -1]).reshape(2, 1, 1, 1),
                 [2, 0])


def test_conv1d_backward_by_hand():
    x = np.array([[[1.0, 2, 3, 4, 5]]])
    # stride 2, padding 1: windows tap (-1, 0), (1, 2), (3, 4)
    got = naive.conv1d_backward_naive(np.array([[[1.0, 10, 100]]]), x, np.array([[[1.0, 2]]]),
                                      np.zeros(1), stride=2, padding=1)
    assert_grads(got, [[[2, 10, 20, 100, 200]]], [[[20 + 400, 1 + 30 + 500]]], [111])
    # dilation 2: windows tap (0, 2), (1, 3), (2, 4)
    got = naive.conv1d_backward_naive(np.array([[[1.0, 2, 3]]]), x, np.ones((1, 1, 2)),
                                      dilation=2)
    assert_grads(got, [[[1, 2, 4, 2, 3]]], [[[1 + 4 + 9, 3 + 8 + 15]]], None)
    got = naive.conv1d_backward_naive(np.array([[[1.0, 1], [1, 2]]]),
                                      np.array([[[1.0, 2], [3, 4]]]),
                                      np.array([2.0, 3]).reshape(2, 1, 1), groups=2)
    assert_grads(got, [[[2, 2], [3, 6]]], np.array([3.0, 11]).reshape(2, 1, 1), None)


def test_max_pool2d_by_hand():
    x = np.array([[[[1.0, 5, 2, 0], [3, 4, 8, 1]]]])
    np.testing.assert_array_equal(naive.max_pool2d_backward_naive(np.array([[[[7.0, 9]]]]), x, 2),
                                  [[[[0, 7, 0, 0], [0, 0, 9, 0]]]])
    # ceil_mode: the second column window is [3, overhang] over [4, overhang]
    x = np.array([[[[1.0, 2, 3], [6, 5, 4]]]])
    np.testing.assert_array_equal(naive.max_pool2d_forward_naive(x, 2, ceil_mode=True),
                                  [[[[6, 4]]]])
    np.testing.assert_array_equal(
        naive.max_pool2d_backward_naive(np.array([[[[1.0, 2]]]]), x, 2, ceil_mode=True),
        [[[[0, 0, 0], [1, 0, 2]]]])
    # padding 1, dilation 2: taps rows h-1, h+1 and columns w-1, w+1; X34 grows to the
    # bottom right, so the last real tap of each window wins.
    y = naive.max_pool2d_forward_naive(X34, 2, stride=1, padding=1, dilation=2)
    np.testing.assert_array_equal(y[0, 0], [[5, 6, 7, 6], [9, 10, 11, 10], [5, 6, 7, 6]])
    g = naive.max_pool2d_backward_naive(np.ones((1, 1, 3, 4)), X34, 2, stride=1, padding=1,
                                        dilation=2)
    np.testing.assert_array_equal(g[0, 0], [[0, 0, 0, 0], [0, 2, 4, 2], [0, 1, 2, 1]])
    # all equal: each window's first tap wins
    g = naive.max_pool2d_backward_naive(np.array([[[[1.0, 10]]]]), np.ones((1, 1, 2, 3)), 2, 1)
    np.testing.assert_array_equal(g[0, 0], [[1, 10, 0], [0, 0, 0]])


def test_max_pool1d_backward_by_hand():
    x = np.array([[[1.0, 5, 2, 7, 3]]])  # dilation 2: windows (0, 2), (1, 3), (2, 4)
    g = naive.max_pool1d_backward_naive(np.array([[[1.0, 10, 100]]]), x, 2, 1, dilation=2)
    np.testing.assert_array_equal(g, [[[0, 0, 1, 10, 100]]])
    g = naive.max_pool1d_backward_naive(np.array([[[1.0, 2, 3]]]), np.array([[[1.0, 2, 3, 4, 5]]]),
                                        2, ceil_mode=True)
    np.testing.assert_array_equal(g, [[[0, 1, 0, 2, 3]]])
    # padding 1, dilation 5 over 4 samples: the one window taps -1 and 4, both outside
    x4 = np.array([[[1.0, 2, 3, 4]]])
    np.testing.assert_array_equal(naive.max_pool1d_forward_naive(x4, 2, 1, 1, 5), [[[-np.inf]]])
    np.testing.assert_array_equal(
        naive.max_pool1d_backward_naive(np.ones((1, 1, 1)), x4, 2, 1, 1, 5), np.zeros_like(x4))


def test_avg_pool_backward_by_hand():
    # windows start at -1, 1, 3 and divide by 3, 3, 2 (count_include_pad) or 2, 3, 1
    x4 = np.array([[[1.0, 2, 3, 4]]])
    gy = np.array([[[3.0, 6, 2]]])
    args = (3, 2, 1, True)  # kernel_size, stride, padding, ceil_mode
    np.testing.assert_array_equal(naive.avg_pool1d_backward_naive(gy, x4, *args),
                                  [[[1, 1 + 2, 2, 2 + 1]]])
    np.testing.assert_array_equal(naive.avg_pool1d_backward_naive(gy, x4, *args, False),
                                  [[[1.5, 1.5 + 2, 2, 2 + 2]]])
    # (2, 3) padded by 1, 2x2 windows at stride 2: the real pixels per window are 1 and 2
    ones = np.ones((1, 1, 2, 3))
    np.testing.assert_array_equal(naive.avg_pool2d_backward_naive(np.ones((1, 1, 2, 2)), ones,
                                                                  2, 2, 1), ones / 4)
    np.testing.assert_array_equal(
        naive.avg_pool2d_backward_naive(np.ones((1, 1, 2, 2)), ones, 2, 2, 1,
                                        count_include_pad=False),
        [[[[1, 0.5, 0.5], [1, 0.5, 0.5]]]])


def test_conv_transpose1d_by_hand():
    x, w = np.array([[[1.0, 10]]]), np.array([[[1.0, 2, 3]]])
    # full [1, 2, 3+10, 20, 30, 0] (output_padding adds the 0); padding 1 crops one each side
    kw = {"stride": 2, "padding": 1, "output_padding": 1}
    np.testing.assert_array_equal(naive.conv_transpose1d_forward_naive(x, w, **kw),
                                  [[[2, 13, 20, 30]]])
    # y[0..3] is full[1..4]: x0's first tap and x1's nothing are cropped
    got = naive.conv_transpose1d_backward_naive(np.array([[[1.0, 0, 0, 1]]]), x, w,
                                                np.zeros(1), **kw)
    assert_grads(got, [[[2, 3]]], [[[0, 1, 10]]], [2])
    # dilation 2, stride 1: x0 writes at 0, 2 and x1 at 1, 3
    np.testing.assert_array_equal(
        naive.conv_transpose1d_forward_naive(x, np.array([[[1.0, 2]]]), dilation=2),
        [[[1, 10, 2, 20]]])
    xg = np.array([[[1.0, 2], [3, 4]]])
    np.testing.assert_array_equal(
        naive.conv_transpose1d_forward_naive(xg, np.array([2.0, 5]).reshape(2, 1, 1),
                                             np.array([0.5, 0]), groups=2),
        [[[2.5, 4.5], [15, 20]]])


def test_conv_transpose2d_by_hand():
    # rows: x0 fills full rows 0-1, x1 rows 2-3; padding (1, 0) keeps rows 1-2
    y = naive.conv_transpose2d_forward_naive(np.array([[[[1.0], [2]]]]), np.ones((1, 1, 2, 2)),
                                             stride=(2, 1), padding=(1, 0))
    np.testing.assert_array_equal(y, [[[[1, 1], [2, 2]]]])
    # without groups every output channel sums over both input channels
    xg = np.array([[[[1.0, 2]], [[3, 4]]]])  # (1, 2, 1, 2)
    w = np.array([1.0, 10, 100, 1000]).reshape(2, 2, 1, 1)
    np.testing.assert_array_equal(naive.conv_transpose2d_forward_naive(xg, w),
                                  [[[[301, 402]], [[3010, 4020]]]])
    gx, gw, gb = naive.conv_transpose2d_backward_naive(np.ones((1, 2, 1, 2)), xg, w, np.zeros(2))
    np.testing.assert_array_equal(gx, [[[[11, 11]], [[1100, 1100]]]])
    np.testing.assert_array_equal(gw[:, :, 0, 0], [[3, 3], [7, 7]])
    np.testing.assert_array_equal(gb, [2, 2])


def test_results_are_float64_whatever_the_input_dtype():
    x = np.arange(12, dtype=np.float32).reshape(1, 1, 3, 4) / 3
    y = naive.conv2d_forward_naive(x, np.ones((1, 1, 1, 1), dtype=np.float32))
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, x.astype(np.float64))  # no rounding back to float32
    yi = naive.conv1d_forward_naive(np.arange(4).reshape(1, 1, 4), np.ones((1, 1, 2), int))
    assert yi.dtype == np.float64
    np.testing.assert_array_equal(yi, [[[1, 3, 5]]])
    for fn in (naive.max_pool1d_backward_naive, naive.avg_pool1d_backward_naive):
        assert fn(np.ones((1, 1, 2), np.float32), np.ones((1, 1, 4), np.int64), 2).dtype == "f8"


@pytest.mark.parametrize("call, message", [
    (lambda: naive.conv2d_forward_naive(np.ones((1, 3, 4, 5)), np.ones((2, 2, 3, 3))),
     "conv2d_forward_naive: x has C_in=3 channels but weight.shape[1] * groups = 2"),
    (lambda: naive.conv1d_forward_naive(np.ones((1, 3, 5)), np.ones((2, 1, 3)), groups=2),
     "conv1d_forward_naive: groups must be >= 1 and divide C_in=3, got 2"),
    (lambda: naive.conv2d_forward_naive(np.ones((1, 1, 5)), np.ones((2, 1, 3, 3))),
     "conv2d_forward_naive: x must be 4-D (N, C_in, H, W), got shape (1, 1, 5)"),
    (lambda: naive.conv2d_forward_naive(np.ones((1, 1, 2, 5)), np.ones((1, 1, 3, 3))),
     "conv2d_forward_naive: output size (0, 3) is empty"),
    (lambda: naive.conv2d_backward_naive(np.ones((1, 1, 3, 2)), np.ones((1, 1, 4, 5)),
                                         np.ones((1, 1, 2, 2))),
     "conv2d_backward_naive: grad_y must have the output's shape (1, 1, 3, 4), got (1, 1, 3, 2)"),
    (lambda: naive.conv1d_forward_naive(np.ones((1, 1, 5)), np.ones((1, 1, 3)), np.ones(2)),
     "conv1d_forward_naive: bias must have shape (1,), got (2,)"),
    (lambda: naive.max_pool2d_forward_naive(np.ones((1, 1, 4, 5)), (2, 3), padding=(1, 2)),
     "max_pool2d_forward_naive: padding must be between 0 and half the kernel size, got "
     "padding=(1, 2) for kernel_size=(2, 3)"),
    (lambda: naive.avg_pool1d_forward_naive(np.ones((1, 1, 5)), 2, stride=0),
     "avg_pool1d_forward_naive: stride must be >= 1, got (0,)"),
    (lambda: naive.conv_transpose2d_forward_naive(np.ones((1, 1, 2, 3)), np.ones((1, 1, 2, 2)),
                                                  stride=(2, 1), output_padding=(1, 1)),
     "conv_transpose2d_forward_naive: output_padding must be smaller than stride or dilation"),
    (lambda: naive.conv_transpose1d_forward_naive(np.ones((1, 2, 3)), np.ones((1, 1, 2))),
     "conv_transpose1d_forward_naive: x has C_in=2 channels but weight.shape[0] = 1"),
    (lambda: naive.max_pool2d_forward_naive(np.ones((1, 1, 4, 5)), (2, 3, 1)),
     "max_pool2d_forward_naive: kernel_size must be an int or an (H, W) pair, got (2, 3, 1)"),
    (lambda: naive.max_pool2d_forward_naive(np.ones((1, 1, 4, 5)), 2, stride=(1.5, 1)),
     "max_pool2d_forward_naive: stride must be an int or an (H, W) pair, got (1.5, 1)"),
    (lambda: naive.max_pool1d_forward_naive(np.ones((1, 1, 5)), 2, ceil_mode="no"),
     "max_pool1d_forward_naive: ceil_mode must be True or False, got 'no'"),
    (lambda: naive.avg_pool2d_forward_naive(np.ones((1, 1, 4, 5)), 2, count_include_pad=0),
     "avg_pool2d_forward_naive: count_include_pad must be True or False, got 0"),
    (lambda: naive.conv1d_forward_naive(np.ones((1, 2, 5)), np.ones((2, 1, 3)), groups=2.0),
     "conv1d_forward_naive: groups must be >= 1 and divide C_in=2, got 2.0"),
])
def test_bad_input_names_the_function_and_the_argument(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


# --------------------------------------------------------------------------- all options
# (torch.nn.functional name, shapes of (x, weight, bias) or (x,), keyword arguments)
CASES = [
    ("conv2d", [(2, 3, 4, 5), (4, 3, 2, 3), (4,)], {"stride": (2, 1), "padding": (1, 2),
                                                    "dilation": (1, 2)}),
    ("conv2d", [(1, 4, 5, 3), (6, 2, 3, 2), None], {"stride": 2, "padding": 1,
                                                    "dilation": (2, 1), "groups": 2}),
    ("conv2d", [(2, 3, 3, 6), (3, 1, 2, 2), (3,)], {"padding": (0, 1), "groups": 3}),
    ("conv1d", [(2, 3, 7), (4, 3, 3), (4,)], {"stride": 2, "padding": 2, "dilation": 2}),
    ("conv1d", [(1, 4, 6), (2, 2, 2), None], {"padding": 1, "groups": 2}),
    ("conv_transpose2d", [(2, 4, 3, 2), (4, 3, 2, 3), (6,)],
     {"stride": (2, 3), "padding": (1, 0), "output_padding": (1, 2), "groups": 2}),
    ("conv_transpose2d", [(1, 2, 2, 3), (2, 3, 3, 2), None],
     {"padding": (1, 0), "output_padding": (1, 0), "dilation": (2, 1)}),
    ("conv_transpose1d", [(2, 3, 4), (3, 2, 3), (2,)],
     {"stride": 3, "padding": 1, "output_padding": 2}),
    ("conv_transpose1d", [(1, 4, 3), (4, 1, 2), (2,)],
     {"stride": 2, "dilation": 3, "groups": 2, "output_padding": 1}),
    ("max_pool2d", [(2, 2, 5, 7)], {"kernel_size": (2, 3), "stride": (2, 1), "padding": (1, 1),
                                    "dilation": (1, 2)}),
    ("max_pool2d", [(1, 2, 6, 5)], {"kernel_size": 3, "stride": 2, "padding": 1,
                                    "ceil_mode": True}),
    ("max_pool2d", [(1, 1, 4, 7)], {"kernel_size": (3, 2)}),
    ("max_pool1d", [(2, 2, 9)], {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2,
                                 "ceil_mode": True}),
    ("max_pool1d", [(1, 3, 7)], {"kernel_size": 2}),
    ("avg_pool2d", [(2, 2, 5, 7)], {"kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 1)}),
    ("avg_pool2d", [(1, 2, 6, 5)], {"kernel_size": 3, "stride": 2, "padding": 1,
                                    "ceil_mode": True, "count_include_pad": False}),
    ("avg_pool2d", [(1, 1, 5, 4)], {"kernel_size": (2, 3), "stride": (3, 2), "padding": (1, 1),
                                    "ceil_mode": True}),
    ("avg_pool1d", [(2, 2, 8)], {"kernel_size": 3, "stride": 2, "padding": 1,
                                 "ceil_mode": True}),
    ("avg_pool1d", [(1, 3, 7)], {"kernel_size": 4, "padding": 2, "count_include_pad": False}),
]
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(CASES)]


def draw(rng, shapes):
    """Random float64 arrays of the given shapes (None stays None)."""
    return [None if s is None else rng.standard_normal(s) for s in shapes]


def run_naive(name, arrays, kwargs, rng):
    """Naive forward, a random grad_y, and the naive backward's gradients as a tuple."""
    y = getattr(naive, f"{name}_forward_naive")(*arrays, **kwargs)
    grad_y = rng.standard_normal(y.shape)
    grads = getattr(naive, f"{name}_backward_naive")(grad_y, *arrays, **kwargs)
    return y, grad_y, (grads,) if isinstance(grads, np.ndarray) else grads


def central_differences(f, a, grad_y, eps=1e-6):
    """``d sum(f() * grad_y) / da`` by central differences, changing ``a`` in place."""
    grad = np.zeros(a.shape)
    for index in np.ndindex(*a.shape):
        saved = a[index]
        a[index] = saved + eps
        plus = np.sum(f() * grad_y)
        a[index] = saved - eps
        minus = np.sum(f() * grad_y)
        a[index] = saved
        grad[index] = (plus - minus) / (2 * eps)
    return grad


@pytest.mark.parametrize("name, shapes, kwargs", CASES, ids=IDS)
def test_backward_matches_central_differences(name, shapes, kwargs, rng):
    arrays = draw(rng, shapes)
    forward = getattr(naive, f"{name}_forward_naive")
    _, grad_y, grads = run_naive(name, arrays, kwargs, rng)
    assert len(grads) == len(arrays)
    for a, grad in zip(arrays, grads):
        if a is None:
            assert grad is None
            continue
        numeric = central_differences(lambda: forward(*arrays, **kwargs), a, grad_y)
        assert grad.shape == a.shape and grad.dtype == np.float64
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name, shapes, kwargs", CASES, ids=IDS)
def test_forward_and_backward_match_torch(name, shapes, kwargs, rng):
    torch = pytest.importorskip("torch")
    arrays = draw(rng, shapes)
    y, grad_y, grads = run_naive(name, arrays, kwargs, rng)
    tensors = [None if a is None else torch.tensor(a, requires_grad=True) for a in arrays]
    y_torch = getattr(torch.nn.functional, name)(*tensors, **kwargs)
    y_torch.backward(torch.tensor(grad_y))
    np.testing.assert_allclose(y, y_torch.detach().numpy(), rtol=1e-12, atol=1e-12)
    for grad, t in zip(grads, tensors):
        if t is not None:
            np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name, shape, kwargs", [
    ("max_pool2d", (2, 2, 5, 6), {"kernel_size": 3, "stride": 1, "padding": 1}),
    ("max_pool2d", (1, 2, 4, 7), {"kernel_size": (2, 3), "stride": (1, 2), "dilation": (2, 1),
                                  "ceil_mode": True}),
    ("max_pool1d", (2, 3, 9), {"kernel_size": 3, "stride": 1, "padding": 1}),
])
def test_max_pool_ties_go_to_the_first_maximum_as_in_torch(name, shape, kwargs, rng):
    torch = pytest.importorskip("torch")
    x = rng.integers(0, 3, shape).astype(np.float64)  # many ties in overlapping windows
    _, grad_y, (grad_x,) = run_naive(name, [x], kwargs, rng)
    xt = torch.tensor(x, requires_grad=True)
    getattr(torch.nn.functional, name)(xt, **kwargs).backward(torch.tensor(grad_y))
    np.testing.assert_allclose(grad_x, xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_a_nan_wins_its_max_pool_window_as_in_pytorch():
    x = np.array([[[[1.0, np.nan, 5.0], [3.0, 2.0, 4.0]]]])  # NaN not first in its window
    y = naive.max_pool2d_forward_naive(x, (2, 2), stride=1)  # both windows hold the NaN
    assert y.shape == (1, 1, 1, 2) and np.isnan(y).all()
    assert naive.max_pool1d_forward_naive(x[:, :, 1], 2).tolist() == [[[3.0]]]

