"""Upsample1d/2d, Downsample1d/2d (CMU zero insertion / decimation) and nearest Upsample.

Forward and backward against element-by-element loop references, gradchecks for every
factor, the adjoint property <up(x), y> = <x, down(y)>, and the error messages.
"""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convnp import gradcheck
from convnp.functional import (
    downsample_backward,
    downsample_forward,
    upsample_nearest_backward,
    upsample_nearest_forward,
    upsample_zeros_backward,
    upsample_zeros_forward,
)
from convnp.layers import Downsample1d, Downsample2d, Upsample, Upsample1d, Upsample2d

seeds = st.integers(0, 2**32 - 1)


# --------------------------------------------------------------------------- references
def upsample_zeros_ref(x, kH, kW):
    """(N, C, H, W) -> (N, C, kH(H-1)+1, kW(W-1)+1): x[i, j] lands at (kH*i, kW*j)."""
    N, C, H, W = x.shape
    y = np.zeros((N, C, kH * (H - 1) + 1, kW * (W - 1) + 1))
    for n in range(N):
        for c in range(C):
            for i in range(H):
                for j in range(W):
                    y[n, c, kH * i, kW * j] = x[n, c, i, j]
    return y


def downsample_ref(x, kH, kW):
    """(N, C, H, W) -> (N, C, ceil(H/kH), ceil(W/kW)): y[i, j] = x[kH*i, kW*j]."""
    N, C, H, W = x.shape
    Ho, Wo = -(-H // kH), -(-W // kW)
    y = np.zeros((N, C, Ho, Wo))
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    y[n, c, i, j] = x[n, c, kH * i, kW * j]
    return y


def downsample_backward_ref(g, kH, kW, H, W):
    """Gradient of downsample: g[i, j] goes back to (kH*i, kW*j) of an (H, W) zero array."""
    N, C, Ho, Wo = g.shape
    grad = np.zeros((N, C, H, W))
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    grad[n, c, kH * i, kW * j] += g[n, c, i, j]
    return grad


def nearest_ref(x, kH, kW):
    """(N, C, H, W) -> (N, C, kH*H, kW*W): y[i, j] = x[i // kH, j // kW]."""
    N, C, H, W = x.shape
    y = np.zeros((N, C, kH * H, kW * W))
    for n in range(N):
        for c in range(C):
            for i in range(kH * H):
                for j in range(kW * W):
                    y[n, c, i, j] = x[n, c, i // kH, j // kW]
    return y


def nearest_backward_ref(g, kH, kW):
    """Gradient of nearest upsampling: every output gradient adds into its source pixel."""
    N, C, Ho, Wo = g.shape
    grad = np.zeros((N, C, Ho // kH, Wo // kW))
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    grad[n, c, i // kH, j // kW] += g[n, c, i, j]
    return grad


# --------------------------------------------------------------------------- forward/backward
@pytest.mark.parametrize("k", [(1, 1), (2, 2), (3, 2), (1, 4)])
def test_upsample2d_matches_loop_reference(rng, k):
    x = rng.standard_normal((2, 3, 4, 5))
    layer = Upsample2d(k)
    y = layer(x)
    np.testing.assert_allclose(y, upsample_zeros_ref(x, *k))
    g = rng.standard_normal(y.shape)
    # Upsample's backward is the forward of Downsample with the same factor.
    np.testing.assert_allclose(layer.backward(g), downsample_ref(g, *k))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_upsample1d_matches_loop_reference(rng, k):
    x = rng.standard_normal((2, 3, 7))
    layer = Upsample1d(k)
    y = layer(x)
    np.testing.assert_allclose(y, upsample_zeros_ref(x[:, :, None, :], 1, k)[:, :, 0])
    g = rng.standard_normal(y.shape)
    np.testing.assert_allclose(layer.backward(g), downsample_ref(g[:, :, None], 1, k)[:, :, 0])


@pytest.mark.parametrize("shape, k", [((2, 3, 7, 5), (2, 2)), ((1, 2, 6, 9), (3, 2)),
                                      ((2, 1, 5, 4), (4, 3)), ((1, 2, 3, 8), (1, 3))])
def test_downsample2d_matches_loop_reference(rng, shape, k):
    x = rng.standard_normal(shape)
    layer = Downsample2d(k)
    y = layer(x)
    np.testing.assert_allclose(y, downsample_ref(x, *k))
    g = rng.standard_normal(y.shape)
    np.testing.assert_allclose(layer.backward(g), downsample_backward_ref(g, *k, *shape[2:]))


@pytest.mark.parametrize("length, k", [(7, 2), (8, 2), (10, 3), (2, 5), (5, 1)])
def test_downsample1d_matches_loop_reference(rng, length, k):
    x = rng.standard_normal((2, 3, length))
    layer = Downsample1d(k)
    y = layer(x)
    np.testing.assert_allclose(y, downsample_ref(x[:, :, None], 1, k)[:, :, 0])
    g = rng.standard_normal(y.shape)
    grad = layer.backward(g)
    assert grad.shape == x.shape
    expected = downsample_backward_ref(g[:, :, None], 1, k, 1, length)[:, :, 0]
    np.testing.assert_allclose(grad, expected)


@pytest.mark.parametrize("k", [2, (2, 3), (1, 2), (3, 1)])
def test_nearest_upsample2d_matches_loop_reference(rng, k):
    x = rng.standard_normal((2, 3, 3, 4))
    kH, kW = (k, k) if isinstance(k, int) else k
    layer = Upsample(scale_factor=k)
    y = layer(x)
    np.testing.assert_allclose(y, nearest_ref(x, kH, kW))
    g = rng.standard_normal(y.shape)
    np.testing.assert_allclose(layer.backward(g), nearest_backward_ref(g, kH, kW))


@pytest.mark.parametrize("k", [1, 3, (2,)])
def test_nearest_upsample1d_matches_loop_reference(rng, k):
    x = rng.standard_normal((2, 3, 5))
    kk = k if isinstance(k, int) else k[0]
    layer = Upsample(k)
    y = layer(x)
    np.testing.assert_allclose(y, nearest_ref(x[:, :, None], 1, kk)[:, :, 0])
    g = rng.standard_normal(y.shape)
    expected = nearest_backward_ref(g[:, :, None], 1, kk)[:, :, 0]
    np.testing.assert_allclose(layer.backward(g), expected)


def test_outputs_keep_dtype_and_are_writable(rng):
    x = rng.standard_normal((1, 2, 3, 4)).astype(np.float32)
    for layer in (Upsample2d(2), Downsample2d(2), Upsample(2), Upsample(1)):
        y = layer(x)
        assert y.dtype == np.float32
        y[...] = 0  # a fresh array, not a read-only broadcast view or a view of x
        assert np.any(x != 0)
        assert layer.backward(np.ones_like(y)).dtype == np.float32


def test_functional_kernels_agree_with_layers(rng):
    x = rng.standard_normal((2, 2, 5, 7))
    np.testing.assert_allclose(upsample_zeros_forward(x, (2, 3)), Upsample2d((2, 3))(x))
    np.testing.assert_allclose(downsample_forward(x, (2, 3)), Downsample2d((2, 3))(x))
    np.testing.assert_allclose(upsample_nearest_forward(x, (2, 3)), Upsample((2, 3))(x))
    g = rng.standard_normal((2, 2, 9, 19))
    np.testing.assert_allclose(upsample_zeros_backward(g, (2, 3)), downsample_ref(g, 2, 3))
    np.testing.assert_allclose(upsample_nearest_backward(g[:, :, :8, :18], (2, 3)),
                               nearest_backward_ref(g[:, :, :8, :18], 2, 3))
    np.testing.assert_allclose(downsample_backward(g[:, :, :3, :3], (2, 3), (5, 7)),
                               downsample_backward_ref(g[:, :, :3, :3], 2, 3, 5, 7))


# --------------------------------------------------------------------------- gradcheck
@pytest.mark.parametrize("layer, shape", [
    (Upsample1d(1), (2, 2, 4)), (Upsample1d(3), (2, 2, 4)),
    (Upsample2d(2), (1, 2, 3, 4)), (Upsample2d((3, 1)), (2, 1, 3, 2)),
    (Downsample1d(2), (2, 2, 7)), (Downsample1d(3), (1, 2, 9)), (Downsample1d(4), (1, 1, 3)),
    (Downsample2d(2), (1, 2, 5, 6)), (Downsample2d((3, 2)), (2, 1, 7, 5)),
    (Upsample(2), (2, 2, 3)), (Upsample((3,)), (1, 2, 3)),
    (Upsample(2), (1, 2, 3, 2)), (Upsample((1, 3)), (2, 1, 2, 3)), (Upsample((2, 3)), (1, 1, 3, 2)),
])
def test_gradcheck(rng, layer, shape):
    assert gradcheck(layer, rng.standard_normal(shape))


# --------------------------------------------------------------------------- adjoint property
@given(seed=seeds, n_dims=st.integers(1, 2), k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       size=st.tuples(st.integers(1, 6), st.integers(1, 6)))
def test_upsample_and_downsample_are_adjoint(seed, n_dims, k, size):
    """<up(x), y> = <x, down(y)>: zero insertion and decimation are each other's transpose."""
    rng = np.random.default_rng(seed)
    up, down = (Upsample1d(k[0]), Downsample1d(k[0])) if n_dims == 1 else (
        Upsample2d(k), Downsample2d(k))
    x = rng.standard_normal((2, 3, *size[:n_dims]))
    ux = up(x)
    y = rng.standard_normal(ux.shape)
    dy = down(y)
    assert dy.shape == x.shape
    np.testing.assert_allclose(np.sum(ux * y), np.sum(x * dy), rtol=1e-12, atol=1e-12)


@given(seed=seeds, k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       size=st.tuples(st.integers(1, 9), st.integers(1, 9)))
def test_downsample_backward_any_size(seed, k, size):
    """Downsample's backward restores the stored input size, divisible by k or not."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, 2, *size))
    layer = Downsample2d(k)
    y = layer(x)
    g = rng.standard_normal(y.shape)
    np.testing.assert_allclose(layer.backward(g), downsample_backward_ref(g, *k, *size))


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("cls", [Upsample1d, Upsample2d, Downsample1d, Downsample2d, Upsample])
@pytest.mark.parametrize("bad", [0, -2])
def test_factor_below_one_is_rejected(cls, bad):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: .* must be >= 1, got {bad}"):
        cls(bad)


@pytest.mark.parametrize("cls", [Upsample1d, Upsample2d, Downsample1d, Downsample2d, Upsample])
@pytest.mark.parametrize("bad, error", [(1.5, ValueError), ("2", TypeError), (True, TypeError),
                                        (None, TypeError)])
def test_non_integer_factor_is_rejected(cls, bad, error):
    with pytest.raises(error, match=rf"{cls.__name__}: .*integer.*got .*{bad!r}"):
        cls(bad)


def test_pair_factor_rejected_for_1d_and_triple_for_2d():
    with pytest.raises(ValueError, match=r"Upsample1d: upsampling_factor .* got \(2, 2\)"):
        Upsample1d((2, 2))
    with pytest.raises(ValueError, match=r"Downsample2d: downsampling_factor .* got \(2, 2, 2\)"):
        Downsample2d((2, 2, 2))
    with pytest.raises(ValueError, match=r"Upsample: scale_factor .* got \(2, 2, 2\)"):
        Upsample((2, 2, 2))


def test_whole_float_factor_accepted_like_torch():
    assert Upsample(scale_factor=2.0).scale_factor == 2
    assert Upsample(scale_factor=(1.0, 3.0)).scale_factor == (1, 3)


@pytest.mark.parametrize("cls", [Downsample1d, Downsample2d])
def test_downsample_backward_with_wrong_gradient_shape(rng, cls):
    layer = cls(2)
    shape = (1, 2, 5) if cls is Downsample1d else (1, 2, 5, 6)
    y = layer(rng.standard_normal(shape))
    bad = np.zeros(y.shape[:-1] + (y.shape[-1] + 1,))
    with pytest.raises(ValueError, match=rf"{cls.__name__}.backward: expected a gradient of "
                                         rf"the output's shape {re.escape(str(y.shape))}"):
        layer.backward(bad)


def test_downsample_backward_kernel_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"downsample_backward: expected .* \(3,\).*got shape "
                                         r"\(1, 1, 2\)"):
        downsample_backward(np.zeros((1, 1, 2)), (2,), (6,))


def test_upsample_backward_with_wrong_gradient_shape(rng):
    for layer in (Upsample1d(2), Upsample(2)):
        layer(rng.standard_normal((1, 2, 4)))
        with pytest.raises(ValueError, match=rf"{type(layer).__name__}.backward: expected"):
            layer.backward(np.zeros((1, 2, 4)))


def test_wrong_ndim_is_rejected(rng):
    with pytest.raises(ValueError, match=r"Upsample1d: expected a 3-D input .* got shape "
                                         r"\(1, 2, 3, 4\)"):
        Upsample1d(2)(rng.standard_normal((1, 2, 3, 4)))
    with pytest.raises(ValueError, match=r"Downsample2d: expected a 4-D input .* got shape "
                                         r"\(1, 2, 3\)"):
        Downsample2d(2)(rng.standard_normal((1, 2, 3)))
    with pytest.raises(ValueError, match=r"Upsample: expected a 3-D .* or 4-D .* got "
                                         r"\(1, 2, 3, 4, 5\)"):
        Upsample(2)(rng.standard_normal((1, 2, 3, 4, 5)))
    with pytest.raises(ValueError, match=r"Upsample: scale_factor \(2, 2\) has 2 entries but "
                                         r"the input of shape \(1, 2, 3\) has 1 spatial axes"):
        Upsample((2, 2))(rng.standard_normal((1, 2, 3)))


@pytest.mark.parametrize("mode", ["bilinear", "linear", "bicubic"])
def test_only_nearest_mode(mode):
    with pytest.raises(ValueError, match=rf"Upsample: only mode='nearest' .* got mode='{mode}'"):
        Upsample(2, mode=mode)


def test_backward_before_forward():
    for layer in (Upsample1d(2), Downsample2d(2), Upsample(2)):
        with pytest.raises(RuntimeError, match="backward was called before forward"):
            layer.backward(np.zeros((1, 1, 3)))


def test_repr():
    assert repr(Upsample1d(2)) == "Upsample1d(upsampling_factor=(2,))"
    assert repr(Downsample2d((2, 3))) == "Downsample2d(downsampling_factor=(2, 3))"
    assert repr(Upsample(scale_factor=2)) == "Upsample(scale_factor=2, mode='nearest')"
