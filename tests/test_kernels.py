"""Tests of convnp.kernels: the classic filters, correlate2d and convolve2d.

The references are explicit loops written from the definitions; they share no code
with convnp.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convnp import kernels
from convnp.kernels import KERNELS, convolve2d, correlate2d
from convnp.layers import Conv2d


def correlate_loops(x, k, padding=(0, 0), stride=(1, 1)):
    """y[h, w] = sum_ij k[i, j] x_pad[h*sH + i, w*sW + j], by hand."""
    (pH, pW), (sH, sW) = padding, stride
    H, W = x.shape
    kH, kW = k.shape
    xp = np.zeros((H + 2 * pH, W + 2 * pW))
    xp[pH:pH + H, pW:pW + W] = x
    H_out = (H + 2 * pH - kH) // sH + 1
    W_out = (W + 2 * pW - kW) // sW + 1
    y = np.zeros((H_out, W_out))
    for h in range(H_out):
        for w in range(W_out):
            total = 0.0
            for i in range(kH):
                for j in range(kW):
                    total += k[i, j] * xp[h * sH + i, w * sW + j]
            y[h, w] = total
    return y


def full_convolution_loops(x, k):
    """The textbook definition: (x * k)[a, b] = sum_{m, n} x[m, n] k[a - m, b - n]."""
    H, W = x.shape
    kH, kW = k.shape
    y = np.zeros((H + kH - 1, W + kW - 1))
    for a in range(y.shape[0]):
        for b in range(y.shape[1]):
            for m in range(H):
                for n in range(W):
                    if 0 <= a - m < kH and 0 <= b - n < kW:
                        y[a, b] += x[m, n] * k[a - m, b - n]
    return y


# --------------------------------------------------------------------------- the filters
def test_filter_values_are_the_classic_masks():
    row = [-1, 2, -1]
    np.testing.assert_array_equal(kernels.VERTICAL, [row, row, row])
    np.testing.assert_array_equal(kernels.HORIZONTAL, np.array([row, row, row]).T)
    np.testing.assert_array_equal(kernels.DIAGONAL_45, [[-1, -1, 2], [-1, 2, -1], [2, -1, -1]])
    np.testing.assert_array_equal(kernels.DIAGONAL_135, [[2, -1, -1], [-1, 2, -1], [-1, -1, 2]])
    np.testing.assert_array_equal(kernels.SOBEL_X, [[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    np.testing.assert_array_equal(kernels.SOBEL_Y, kernels.SOBEL_X.T)
    np.testing.assert_array_equal(kernels.IDENTITY, [[0, 0, 0], [0, 1, 0], [0, 0, 0]])
    np.testing.assert_allclose(kernels.BOX_BLUR, np.full((3, 3), 1 / 9))
    np.testing.assert_allclose(kernels.GAUSSIAN_BLUR,
                               np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16)
    np.testing.assert_array_equal(kernels.SHARPEN, [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    np.testing.assert_array_equal(kernels.LAPLACIAN, [[0, 1, 0], [1, -4, 1], [0, 1, 0]])


def test_kernels_dict_is_complete_read_only_float64():
    assert list(KERNELS) == ["vertical", "horizontal", "diagonal_45", "diagonal_135",
                             "sobel_x", "sobel_y", "identity", "box_blur", "gaussian_blur",
                             "sharpen", "laplacian"]
    for name, k in KERNELS.items():
        assert k is getattr(kernels, name.upper())
        assert k.shape == (3, 3) and k.dtype == np.float64
        with pytest.raises(ValueError):
            k[0, 0] = 7.0


@pytest.mark.parametrize("name, total", [
    ("vertical", 0), ("horizontal", 0), ("diagonal_45", 0), ("diagonal_135", 0),
    ("sobel_x", 0), ("sobel_y", 0), ("laplacian", 0),
    ("identity", 1), ("box_blur", 1), ("gaussian_blur", 1), ("sharpen", 1),
])
def test_detectors_ignore_flat_images_and_smoothers_keep_them(name, total):
    flat = np.full((5, 6), 3.0)
    np.testing.assert_allclose(correlate2d(flat, KERNELS[name]), np.full((3, 4), 3.0 * total),
                               atol=1e-12)


@pytest.mark.parametrize("name, line", [
    ("vertical", np.ones((5, 1)) * (np.arange(5) == 2)[None, :]),
    ("horizontal", (np.arange(5) == 2)[:, None] * np.ones((1, 5))),
    ("diagonal_45", np.fliplr(np.eye(5))),
    ("diagonal_135", np.eye(5)),
])
def test_each_line_detector_prefers_its_own_line(name, line):
    line = line.astype(float)
    responses = {other: correlate2d(line, KERNELS[other])[1, 1]
                 for other in ("vertical", "horizontal", "diagonal_45", "diagonal_135")}
    assert max(responses, key=responses.get) == name
    assert responses[name] == 6.0


def test_sobel_x_is_left_minus_right():
    step = np.zeros((4, 6))
    step[:, :3] = 1.0  # bright left half, dark right half
    assert (correlate2d(step, kernels.SOBEL_X) >= 0).all()
    assert correlate2d(step, kernels.SOBEL_X).max() == 4.0
    assert (correlate2d(step.T, kernels.SOBEL_Y) >= 0).all()  # bright top


# --------------------------------------------------------------------------- correlate2d
def test_lecture_examples():
    x = np.array([[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2],
                  [2, 0, 0, 0, 1]])
    k = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]])
    np.testing.assert_array_equal(correlate2d(x, k), [[12, 12, 17], [10, 17, 19], [9, 6, 14]])
    np.testing.assert_array_equal(correlate2d(x, k, padding=1, stride=2),
                                  correlate_loops(x, k, (1, 1), (2, 2)))
    assert correlate2d(x, k, padding=1, stride=2).shape == (3, 3)
    np.testing.assert_array_equal(correlate2d(np.arange(9).reshape(3, 3), [[0, 1], [2, 3]]),
                                  [[19, 25], [37, 43]])
    patch = np.array([[200, 150, 150], [100, 50, 100], [25, 25, 10]])
    assert correlate2d(patch, kernels.SOBEL_X).item() == 65.0


def test_vertical_line_patch():
    patch = np.array([[.2, .2, .9, .2, .5], [.1, .1, .9, .3, .2], [0, .2, .8, .1, .1],
                      [.2, .3, .9, .1, .2], [.1, .1, .9, .3, .2]])
    np.testing.assert_allclose(correlate2d(patch, kernels.VERTICAL),
                               [[-1.9, 4.1, -2.2], [-1.7, 4.1, -2.1], [-1.7, 4.1, -2.1]],
                               atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(H=st.integers(1, 8), W=st.integers(1, 8), kH=st.integers(1, 4), kW=st.integers(1, 4),
       pH=st.integers(0, 3), pW=st.integers(0, 3), sH=st.integers(1, 3), sW=st.integers(1, 3),
       seed=st.integers(0, 2**16))
def test_correlate2d_matches_loops(H, W, kH, kW, pH, pW, sH, sW, seed):
    if H + 2 * pH < kH or W + 2 * pW < kW:
        return
    rng = np.random.default_rng(seed)
    x, k = rng.standard_normal((H, W)), rng.standard_normal((kH, kW))
    np.testing.assert_allclose(correlate2d(x, k, (pH, pW), (sH, sW)),
                               correlate_loops(x, k, (pH, pW), (sH, sW)), atol=1e-12)


def test_correlate2d_is_what_conv2d_computes():
    rng = np.random.default_rng(0)
    x, k = rng.standard_normal((7, 10)), rng.standard_normal((3, 4))
    conv = Conv2d(1, 1, (3, 4), stride=(2, 1), padding=(1, 2), bias=False, dtype=np.float64)
    conv.weight.data[0, 0] = k
    np.testing.assert_allclose(correlate2d(x, k, (1, 2), (2, 1)), conv(x[None, None])[0, 0],
                               atol=1e-12)


def test_padding_modes_and_dtypes():
    rng = np.random.default_rng(1)
    x, k = rng.integers(0, 256, (6, 9)).astype(np.uint8), rng.standard_normal((3, 5))
    assert correlate2d(x, k).dtype == np.float64
    assert correlate2d(x, k, "valid").shape == (4, 5)
    assert correlate2d(x, k, "same").shape == (6, 9)
    assert correlate2d(x, k, "full").shape == (8, 13)
    np.testing.assert_allclose(correlate2d(x, k, "same"), correlate_loops(x, k, (1, 2)))
    np.testing.assert_allclose(correlate2d(x, k, "full"), correlate_loops(x, k, (2, 4)))


@pytest.mark.parametrize("call, message", [
    (lambda: correlate2d(np.ones((2, 3, 3)), np.ones((3, 3))), "2-D image"),
    (lambda: correlate2d(np.ones((3, 3)), np.ones(3)), "2-D kernel"),
    (lambda: correlate2d(np.ones((3, 3)), np.ones((2, 2)), "same"), "odd kernel"),
    (lambda: correlate2d(np.ones((3, 3)), np.ones((2, 2)), "circular"), "'valid', 'same'"),
    (lambda: correlate2d(np.ones((3, 3)), np.ones((2, 2)), -1), ">= 0"),
    (lambda: correlate2d(np.ones((3, 3)), np.ones((2, 2)), stride=0), ">= 1"),
    (lambda: correlate2d(np.ones((2, 5)), np.ones((3, 3))), "larger than the padded image"),
    (lambda: convolve2d(np.ones((2, 5)), np.ones((3, 3))), "convolve2d: kernel"),
    (lambda: convolve2d(np.ones((3, 3)), np.ones((1, 2, 2))), "convolve2d: expected a 2-D"),
])
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --------------------------------------------------------------------------- convolve2d
@settings(max_examples=30, deadline=None)
@given(H=st.integers(1, 6), W=st.integers(1, 6), kH=st.integers(1, 4), kW=st.integers(1, 4),
       seed=st.integers(0, 2**16))
def test_full_convolution_matches_the_definition(H, W, kH, kW, seed):
    rng = np.random.default_rng(seed)
    x, k = rng.standard_normal((H, W)), rng.standard_normal((kH, kW))
    np.testing.assert_allclose(convolve2d(x, k, "full"), full_convolution_loops(x, k),
                               atol=1e-12)


def test_convolution_is_correlation_with_the_flipped_kernel():
    rng = np.random.default_rng(2)
    x, k = rng.standard_normal((8, 11)), rng.standard_normal((3, 2))
    for padding, stride in ((0, 1), ((1, 2), (2, 3)), ("full", 1)):
        np.testing.assert_allclose(convolve2d(x, k, padding, stride),
                                   correlate2d(x, np.flip(k), padding, stride), atol=1e-12)
    assert not np.allclose(convolve2d(x, k), correlate2d(x, k))


def test_impulse_shows_the_kernel_flipped_or_upright():
    impulse = np.zeros((3, 3))
    impulse[1, 1] = 1.0
    k = np.arange(1, 10).reshape(3, 3)
    full_corr = correlate2d(impulse, k, "full")
    full_conv = convolve2d(impulse, k, "full")
    np.testing.assert_array_equal(full_corr[1:4, 1:4], k[::-1, ::-1])
    np.testing.assert_array_equal(full_conv[1:4, 1:4], k)


def test_an_image_of_strings_is_named():
    with pytest.raises(TypeError, match=r"correlate2d: the image must hold numbers, got dtype"):
        correlate2d(np.array([["a", "b"], ["c", "d"]]), np.ones((1, 1)))
