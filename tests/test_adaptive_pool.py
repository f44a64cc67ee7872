"""AdaptiveAvgPool1d/2d and Dropout2d: loop references, gradchecks, properties, errors."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convnp import AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool2d, Dropout2d, gradcheck


def ref_windows(h, w, out_h, out_w):
    """PyTorch's windows, one at a time: ``(i, j, rows, columns)`` with start =
    floor(i*H/out), end = ceil((i+1)*H/out) on each axis."""
    for i in range(out_h):
        rows = slice(math.floor(i * h / out_h), math.ceil((i + 1) * h / out_h))
        for j in range(out_w):
            yield i, j, rows, slice(math.floor(j * w / out_w), math.ceil((j + 1) * w / out_w))


def ref_adaptive_avg_pool2d(x, out_h, out_w):
    """Each output the mean of its window."""
    n, c, h, w = x.shape
    y = np.zeros((n, c, out_h, out_w))
    for i, j, rows, columns in ref_windows(h, w, out_h, out_w):
        window = x[:, :, rows, columns]
        y[:, :, i, j] = window.sum(axis=(2, 3)) / (window.shape[2] * window.shape[3])
    return y


@pytest.mark.parametrize("out", [(1, 1), (2, 3), (3, 2), (4, 5), (5, 7), (7, 7), (9, 8)])
def test_adaptive_avg_pool2d_matches_loop_reference(rng, out):
    x = rng.standard_normal((2, 3, 5, 7))
    np.testing.assert_allclose(AdaptiveAvgPool2d(out)(x), ref_adaptive_avg_pool2d(x, *out),
                               rtol=1e-12)


@pytest.mark.parametrize("out", [1, 2, 3, 4, 7, 9])
def test_adaptive_avg_pool1d_matches_loop_reference(rng, out):
    x = rng.standard_normal((2, 3, 7))
    expected = ref_adaptive_avg_pool2d(x[:, :, None, :], 1, out)[:, :, 0]
    np.testing.assert_allclose(AdaptiveAvgPool1d(out)(x), expected, rtol=1e-12)


def ref_adaptive_avg_pool2d_backward(grad_y, h, w):
    """Each output's gradient spread evenly over its window."""
    n, c, out_h, out_w = grad_y.shape
    grad_x = np.zeros((n, c, h, w))
    for i, j, rows, columns in ref_windows(h, w, out_h, out_w):
        window = grad_x[:, :, rows, columns]
        window += grad_y[:, :, i:i + 1, j:j + 1] / (window.shape[2] * window.shape[3])
    return grad_x


@pytest.mark.parametrize("out", [(1, 1), (2, 3), (3, 2), (5, 7), (9, 8)])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_value_stays_in_the_windows_that_hold_it(rng, out, bad):
    """As in PyTorch, which sums each window: a product with an averaging matrix would
    carry ``0 * inf = nan`` into every window."""
    x = rng.standard_normal((2, 3, 5, 7))
    x[1, 2, 1, 4] = bad
    layer = AdaptiveAvgPool2d(out)
    np.testing.assert_allclose(layer(x), ref_adaptive_avg_pool2d(x, *out), rtol=1e-12)
    grad_y = rng.standard_normal((2, 3, *out))
    grad_y[0, 1, out[0] - 1, out[1] // 2] = bad
    np.testing.assert_allclose(layer.backward(grad_y),
                               ref_adaptive_avg_pool2d_backward(grad_y, 5, 7), rtol=1e-12)
    layer_1d = AdaptiveAvgPool1d(out[1])
    np.testing.assert_allclose(layer_1d(x[:, :, 1]),
                               ref_adaptive_avg_pool2d(x[:, :, 1:2], 1, out[1])[:, :, 0],
                               rtol=1e-12)
    np.testing.assert_allclose(layer_1d.backward(grad_y[:, :, 0]),
                               ref_adaptive_avg_pool2d_backward(grad_y[:, :, :1], 1, 7)[:, :, 0],
                               rtol=1e-12)


def test_none_keeps_the_input_size_and_int_means_square(rng):
    x = rng.standard_normal((1, 2, 5, 6))
    assert AdaptiveAvgPool2d((None, 3))(x).shape == (1, 2, 5, 3)
    assert AdaptiveAvgPool2d(2)(x).shape == (1, 2, 2, 2)


def test_global_average_pooling(rng):
    x = rng.standard_normal((2, 3, 5, 7))
    np.testing.assert_allclose(AdaptiveAvgPool2d(1)(x)[..., 0, 0], x.mean(axis=(2, 3)))


@pytest.mark.parametrize("out", [(1, 1), (2, 3), (3, 2), (4, 5), (5, 7), (6, 9)])
def test_adaptive_avg_pool2d_gradcheck(rng, out):
    assert gradcheck(AdaptiveAvgPool2d(out), rng.standard_normal((2, 2, 5, 7)))


@pytest.mark.parametrize("out", [1, 2, 3, 5, 7, 8])
def test_adaptive_avg_pool1d_gradcheck(rng, out):
    assert gradcheck(AdaptiveAvgPool1d(out), rng.standard_normal((2, 2, 7)))


@given(h=st.integers(1, 9), w=st.integers(1, 9), out_h=st.integers(1, 6),
       out_w=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_adaptive_pool_property(h, w, out_h, out_w, seed):
    """Shape is the requested size; the result equals the loop; the backward is the adjoint."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 2, h, w))
    pool = AdaptiveAvgPool2d((out_h, out_w))
    y = pool(x)
    assert y.shape == (2, 2, out_h, out_w)
    np.testing.assert_allclose(y, ref_adaptive_avg_pool2d(x, out_h, out_w), rtol=1e-10,
                               atol=1e-12)
    g = rng.standard_normal(y.shape)
    np.testing.assert_allclose(np.sum(y * g), np.sum(x * pool.backward(g)), rtol=1e-10)


@given(k_h=st.integers(1, 3), k_w=st.integers(1, 3), out_h=st.integers(1, 4),
       out_w=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_dividing_sizes_equal_avg_pool(k_h, k_w, out_h, out_w, seed):
    x = np.random.default_rng(seed).standard_normal((1, 2, k_h * out_h, k_w * out_w))
    np.testing.assert_allclose(AdaptiveAvgPool2d((out_h, out_w))(x),  # sums in other orders:
                               AvgPool2d((k_h, k_w))(x), rtol=1e-12, atol=1e-15)  # a mean near 0


def test_adaptive_pool_errors():
    with pytest.raises(ValueError, match="AdaptiveAvgPool2d: output_size entries must be ints"):
        AdaptiveAvgPool2d((0, 2))
    with pytest.raises(ValueError, match="AdaptiveAvgPool1d: output_size must be an int"):
        AdaptiveAvgPool1d(None)
    with pytest.raises(ValueError, match="AdaptiveAvgPool2d: expected a 4-D input"):
        AdaptiveAvgPool2d(1)(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"AdaptiveAvgPool1d.backward: expected a gradient"):
        pool = AdaptiveAvgPool1d(2)
        pool(np.zeros((1, 1, 5)))
        pool.backward(np.zeros((1, 1, 3)))


# --------------------------------------------------------------------------- Dropout2d
def test_dropout2d_zeroes_whole_channels_and_rescales(rng):
    drop = Dropout2d(0.4, rng=rng)
    x = rng.standard_normal((50, 8, 3, 5))
    y = drop(x)
    kept = np.abs(y).sum(axis=(2, 3)) > 0
    np.testing.assert_allclose(y[kept], (x / 0.6)[kept])
    np.testing.assert_array_equal(y[~kept], 0)
    assert 0.5 < kept.mean() < 0.7  # 400 channels, keep probability 0.6
    g = rng.standard_normal(x.shape)
    np.testing.assert_allclose(drop.backward(g), g * (y != 0) / 0.6)


def test_dropout2d_eval_identity_and_extremes(rng):
    x = rng.standard_normal((2, 3, 4, 5))
    assert Dropout2d(0.5, rng=rng).eval()(x) is x
    np.testing.assert_array_equal(Dropout2d(1.0, rng=rng)(x), 0)
    np.testing.assert_array_equal(Dropout2d(0.0, rng=rng)(x), x)


def test_dropout2d_is_reproducible_with_a_generator():
    x = np.ones((4, 6, 2, 3))
    a = Dropout2d(0.5, rng=np.random.default_rng(3))(x)
    b = Dropout2d(0.5, rng=np.random.default_rng(3))(x)
    np.testing.assert_array_equal(a, b)


def test_dropout2d_gradcheck_with_a_fixed_mask(rng):
    drop = Dropout2d(0.5, rng=rng)
    x = rng.standard_normal((2, 3, 4, 5))
    drop(x)
    mask, _ = drop._saved()

    def f(x):
        return x * mask, lambda g: (drop.backward(g),)

    assert gradcheck(f, x)


def test_dropout2d_errors():
    with pytest.raises(ValueError, match=r"Dropout2d: p must be in \[0, 1\], got 1.5"):
        Dropout2d(1.5)
    with pytest.raises(ValueError, match=r"Dropout2d: expected a 4-D input \(N, C, H, W\)"):
        Dropout2d(0.5)(np.zeros((2, 3, 4)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(rng, dtype):
    for layer, shape in ((AdaptiveAvgPool2d((2, 3)), (2, 3, 5, 7)),
                         (AdaptiveAvgPool1d(3), (2, 3, 7)), (Dropout2d(0.5, rng=rng),
                                                             (2, 3, 5, 7))):
        y = layer(rng.standard_normal(shape).astype(dtype))
        assert y.dtype == dtype and layer.backward(np.ones_like(y)).dtype == dtype


def test_an_integer_output_gradient_gives_a_floating_input_gradient():
    layer = AdaptiveAvgPool1d(3)
    layer(np.zeros((1, 1, 4), np.float32))
    grad_x = layer.backward(np.ones((1, 1, 3), np.int64))
    np.testing.assert_array_equal(grad_x, [[[0.5, 1.0, 1.0, 0.5]]])
