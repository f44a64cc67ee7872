"""Pin the loop references of ``reference.py`` on cases small enough to work out by hand.

If a reference were wrong, every property test comparing convnp against it would be
comparing against the wrong thing; these expected values were computed on paper.
"""

import math

import numpy as np
import pytest
from reference import (
    avgpool1d_ref,
    avgpool2d_ref,
    conv1d_ref,
    conv2d_ref,
    cross_entropy_ref,
    gelu_ref,
    linear_ref,
    log_softmax_ref,
    maxpool1d_ref,
    maxpool2d_backward_ref,
    maxpool2d_ref,
    out_size_ref,
    pad_ref,
    same_pads_ref,
    softmax_ref,
)

X34 = np.arange(12.0).reshape(1, 1, 3, 4)  # [[0 1 2 3], [4 5 6 7], [8 9 10 11]]


def test_out_size_ref():
    assert out_size_ref(28, 5, p=2) == 28
    assert out_size_ref(32, 3, s=2) == 15
    assert out_size_ref(7, 3, d=2) == 3
    assert (out_size_ref(5, 2, 2), out_size_ref(5, 2, 2, ceil_mode=True)) == (2, 3)
    # ceil rounds 5/3 up to 2 windows after the first, but the third would start at
    # 6 = n + p, inside the right padding, so it is dropped.
    assert out_size_ref(5, 2, 3, 1, ceil_mode=True) == 2
    assert out_size_ref(2, 3) == 0


def test_conv2d_ref_square_textbook():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w = np.array([[[[0.0, 1], [2, 3]]]])
    np.testing.assert_array_equal(conv2d_ref(x, w)[0, 0], [[19, 25], [37, 43]])


def test_conv2d_ref_non_square_kernel_and_image():
    # kernel [[1], [2]]: y[h, w] = x[h, w] + 2 x[h+1, w]
    w = np.array([[[[1.0], [2.0]]]])
    np.testing.assert_array_equal(conv2d_ref(X34, w)[0, 0],
                                  [[8, 11, 14, 17], [20, 23, 26, 29]])


def test_conv2d_ref_stride_and_padding():
    # ones (2, 3) padded by 1 -> (4, 5); a 2x2 ones kernel counts the real pixels covered.
    y = conv2d_ref(np.ones((1, 1, 2, 3)), np.ones((1, 1, 2, 2)), stride=(1, 2), padding=1)
    np.testing.assert_array_equal(y[0, 0], [[1, 2], [2, 4], [1, 2]])


def test_conv2d_ref_dilation():
    # taps (0,0), (0,2), (2,0), (2,2): 0+2+8+10 and 1+3+9+11
    y = conv2d_ref(X34, np.ones((1, 1, 2, 2)), dilation=2)
    np.testing.assert_array_equal(y[0, 0], [[20, 24]])


def test_conv2d_ref_groups_and_bias():
    x = np.array([[[[1.0, 2]], [[3, 4]]]])  # (1, 2, 1, 2)
    w = np.array([10.0, 100]).reshape(2, 1, 1, 1)
    y = conv2d_ref(x, w, bias=np.array([1.0, -1]), groups=2)
    np.testing.assert_array_equal(y[0], [[[11, 21]], [[299, 399]]])
    # groups=1: each output sees both channels
    y1 = conv2d_ref(x, np.array([1.0, 1, 1, -1]).reshape(2, 2, 1, 1))
    np.testing.assert_array_equal(y1[0], [[[4, 6]], [[-2, -2]]])


def test_conv1d_ref():
    x = np.arange(5.0).reshape(1, 1, 5)
    np.testing.assert_array_equal(conv1d_ref(x, np.ones((1, 1, 2)))[0, 0], [1, 3, 5, 7])
    # padded [0, 0 1 2 3 4, 0], kernel [1, 2], windows at 0, 2, 4
    w12 = np.array([[[1.0, 2]]])
    np.testing.assert_array_equal(conv1d_ref(x, w12, stride=2, padding=1)[0, 0], [0, 5, 11])
    np.testing.assert_array_equal(conv1d_ref(x, np.ones((1, 1, 2)), dilation=2)[0, 0],
                                  [2, 4, 6])
    xg = np.array([[[1.0, 2], [3, 4]]])
    y = conv1d_ref(xg, np.array([2.0, 3]).reshape(2, 1, 1), np.array([0.5, 0]), groups=2)
    np.testing.assert_array_equal(y[0], [[2.5, 4.5], [9, 12]])


@pytest.mark.parametrize("mode, expected", [
    ("zeros", [0, 0, 1, 2, 3, 4, 0, 0]),
    ("reflect", [3, 2, 1, 2, 3, 4, 3, 2]),
    ("replicate", [1, 1, 1, 2, 3, 4, 4, 4]),
    ("circular", [3, 4, 1, 2, 3, 4, 1, 2]),
])
def test_pad_ref_1d(mode, expected):
    x = np.array([[[1.0, 2, 3, 4]]])
    np.testing.assert_array_equal(pad_ref(x, [(2, 2)], mode)[0, 0], expected)


@pytest.mark.parametrize("mode, expected", [
    ("zeros", [[0, 0, 0, 0], [1, 2, 3, 0], [4, 5, 6, 0]]),
    ("reflect", [[4, 5, 6, 5], [1, 2, 3, 2], [4, 5, 6, 5]]),
    ("replicate", [[1, 2, 3, 3], [1, 2, 3, 3], [4, 5, 6, 6]]),
    ("circular", [[4, 5, 6, 4], [1, 2, 3, 1], [4, 5, 6, 4]]),
])
def test_pad_ref_2d_asymmetric(mode, expected):
    x = np.array([[[[1.0, 2, 3], [4, 5, 6]]]])  # (2, 3), one row on top, one column right
    np.testing.assert_array_equal(pad_ref(x, [(1, 0), (0, 1)], mode)[0, 0], expected)


def test_same_pads_ref():
    assert same_pads_ref((3, 4), (1, 1)) == [(1, 1), (1, 2)]
    assert same_pads_ref((2, 3), (3, 2)) == [(1, 2), (2, 2)]


def test_maxpool_refs():
    x = np.array([[[[1.0, 5, 2, 0], [3, 4, 8, 1]]]])
    np.testing.assert_array_equal(maxpool2d_ref(x, 2)[0, 0], [[5, 8]])
    x1 = np.array([[[1.0, 2, 3, 4, 5]]])
    np.testing.assert_array_equal(maxpool1d_ref(x1, 2)[0, 0], [2, 4])
    np.testing.assert_array_equal(maxpool1d_ref(x1, 2, ceil_mode=True)[0, 0], [2, 4, 5])
    # padding 1: windows [pad, 1], [2, 3]
    np.testing.assert_array_equal(maxpool1d_ref(x1[..., :3], 2, padding=1)[0, 0], [1, 3])
    # dilation 2: taps t and t + 2
    x5 = np.array([[[1.0, 5, 2, 7, 3]]])
    np.testing.assert_array_equal(maxpool1d_ref(x5, 2, 1, dilation=2)[0, 0], [2, 7, 3])
    np.testing.assert_array_equal(maxpool2d_ref(x5[:, :, None], (1, 2), 1, dilation=2)[0, 0],
                                  [[2, 7, 3]])
    # all negative, padded: the padding never wins
    neg = -np.array([[[[3.0, 1, 2], [5, 4, 6]]]])
    np.testing.assert_array_equal(maxpool2d_ref(neg, 2, padding=1)[0, 0],
                                  [[-3, -1], [-5, -4]])


def test_maxpool2d_backward_ref_ties_go_to_first():
    x = np.array([[[[1.0, 3], [3, 1]]]])
    g = maxpool2d_backward_ref(x, np.array([[[[7.0]]]]), 2)
    np.testing.assert_array_equal(g[0, 0], [[0, 7], [0, 0]])
    # overlapping windows (stride 1) whose shared pixel is the maximum of both
    x2 = np.array([[[[1.0, 9, 2]]]])
    g2 = maxpool2d_backward_ref(x2, np.array([[[[1.0, 10]]]]), (1, 2), 1)
    np.testing.assert_array_equal(g2[0, 0], [[0, 11, 0]])


def test_avgpool_refs():
    x = np.array([[[[1.0, 2, 3], [4, 5, 6]]]])
    np.testing.assert_array_equal(avgpool2d_ref(x, 2, 1)[0, 0], [[3, 4]])
    ones = np.ones((1, 1, 2, 3))
    np.testing.assert_array_equal(avgpool2d_ref(ones, 2, 2, 1)[0, 0],
                                  [[0.25, 0.5], [0.25, 0.5]])
    np.testing.assert_array_equal(avgpool2d_ref(ones, 2, 2, 1, count_include_pad=False)[0, 0],
                                  [[1, 1], [1, 1]])
    x1 = np.array([[[1.0, 2, 3, 4, 5]]])
    # ceil_mode: the last window [5, overhang] divides by 1, not 2
    np.testing.assert_array_equal(avgpool1d_ref(x1, 2, ceil_mode=True)[0, 0], [1.5, 3.5, 5])
    x4 = x1[..., :4]
    # windows start at -1, 1, 3; the last one covers 4 and the right padding only
    np.testing.assert_array_equal(avgpool1d_ref(x4, 3, 2, 1, ceil_mode=True)[0, 0], [1, 3, 2])
    np.testing.assert_array_equal(
        avgpool1d_ref(x4, 3, 2, 1, ceil_mode=True, count_include_pad=False)[0, 0],
        [1.5, 3, 4])
    np.testing.assert_array_equal(avgpool1d_ref(x4[..., :3], 2, 2, 1)[0, 0], [0.5, 2.5])


def test_linear_ref():
    np.testing.assert_array_equal(
        linear_ref(np.array([[1.0, 2]]), np.array([[3.0, 4]]), np.array([0.5])), [[11.5]])
    x = np.arange(6.0).reshape(1, 3, 2)
    y = linear_ref(x, np.array([[1.0, 0], [1, 1]]))
    np.testing.assert_array_equal(y, [[[0, 1], [2, 5], [4, 9]]])


def test_softmax_refs():
    x = np.array([[0.0, math.log(3)], [math.log(4), 0]])
    np.testing.assert_allclose(softmax_ref(x, 1), [[0.25, 0.75], [0.8, 0.2]])
    np.testing.assert_allclose(softmax_ref(x, 0), [[0.2, 0.75], [0.8, 0.25]])
    np.testing.assert_allclose(log_softmax_ref(x, -1), np.log([[0.25, 0.75], [0.8, 0.2]]))
    np.testing.assert_allclose(softmax_ref(np.array([[1e4, 0.0]]), 1), [[1, 0]])


def test_cross_entropy_ref():
    assert cross_entropy_ref(np.array([[0.0, 0]]), np.array([0])) == pytest.approx(math.log(2))
    logits = np.array([[0.0, math.log(3)], [0, 0]])  # p = [.25, .75], [.5, .5]
    nll = [-math.log(0.25), math.log(2)]
    np.testing.assert_allclose(cross_entropy_ref(logits, np.array([0, 1]), reduction="none"),
                               nll)
    assert cross_entropy_ref(logits, np.array([0, 1]), reduction="sum") == pytest.approx(
        sum(nll))
    # smoothing 0.2 over 2 classes: q = [0.9, 0.1] for class 0
    smooth = -(0.9 * math.log(0.25) + 0.1 * math.log(0.75))
    assert cross_entropy_ref(logits[:1], np.array([0]), 0.2) == pytest.approx(smooth)
    assert cross_entropy_ref(logits[:1], np.array([[0.9, 0.1]])) == pytest.approx(smooth)


def test_gelu_ref():
    np.testing.assert_allclose(gelu_ref(np.array([0.0, 1.0, -1.0])),
                               [0, 0.8413447460685429, -0.15865525393145707], rtol=1e-12)
    np.testing.assert_allclose(gelu_ref(np.array([1.0]), "tanh"), [0.8411919906082768],
                               rtol=1e-12)
