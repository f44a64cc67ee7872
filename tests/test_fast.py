"""The speed variants in ``functional/_fast.py`` equal the plain versions they replace."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from reference import conv2d_ref, out_size_ref

import convnp.functional._blas as _blas
import convnp.functional._ufunc_buffers as _ufunc_buffers
from convnp import Conv2d, gradcheck
from convnp.functional._blas import SMALL_PRODUCT_FLOPS, matmul, one_blas_thread
from convnp.functional._fast import (
    PIECE_FLOOR,
    SMALL_KERNEL_MNK,
    batch_last_col2im,
    batch_last_im2col,
    conv2d_grad_x_by_correlation,
    correlation_is_cheaper,
    fast_forward,
    fast_grad_weight,
    flipped_kernel,
    pieces,
    transposition_is_cheaper,
)
from convnp.functional._ufunc_buffers import small_ufunc_buffers
from convnp.functional.columns import col2im, im2col
from convnp.functional.conv import conv2d_backward
from convnp.functional.conv_transpose import ConvTransposeCache, conv2d_by_transposition
from convnp.naive import conv2d_backward_naive

seeds = st.integers(0, 2**32 - 1)


@st.composite
def columns_case(draw):
    """A shape and kernel config, with strides 1 and 2 and H != W."""
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 9)),
             draw(st.integers(1, 20)))
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 2)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    out = tuple(out_size_ref(n, *args) for n, *args in zip(shape[2:], k, s, p, d))
    assume(min(out) >= 1)
    return shape, k, s, p, d, out


@given(columns_case(), seeds)
def test_batch_last_im2col_and_col2im_equal_the_plain_ones(case, seed):
    """The same columns with the batch axis moved last, and the same fold of them."""
    shape, k, s, p, d, out = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    np.testing.assert_array_equal(batch_last_im2col(x, k, s, p, d),
                                  np.moveaxis(im2col(x, k, s, p, d), 3, 5))
    cols = rng.standard_normal((shape[1], *k, *out, shape[0]))
    np.testing.assert_allclose(batch_last_col2im(cols, shape, k, s, p, d),
                               col2im(np.moveaxis(cols, 5, 3), shape, k, s, p, d),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("order", [(0, 1, 2, 3), (1, 0, 2, 3), (1, 2, 3, 0)])
def test_batch_last_im2col_reads_any_memory_order(order):
    """Inputs arrive as (N, C, H, W) views of arrays stored in other orders."""
    x = np.random.default_rng(0).standard_normal((3, 2, 5, 7))
    stored = np.ascontiguousarray(x.transpose(order)).transpose(np.argsort(order))
    np.testing.assert_array_equal(batch_last_im2col(stored, (3, 2), (1, 2), (1, 0)),
                                  np.moveaxis(im2col(x, (3, 2), (1, 2), (1, 0)), 3, 5))


@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 2), st.integers(1, 2),
       st.integers(0, 3), st.integers(0, 3), st.integers(1, 2), seeds)
def test_grad_x_by_correlation_equals_col2im(kH, kW, dH, dW, pH, pW, G, seed):
    assume(pH <= dH * (kH - 1) and pW <= dW * (kW - 1))
    rng = np.random.default_rng(seed)
    x_shape = (2, 2 * G, 6, 9)
    out = [out_size_ref(n, k, 1, p, d) for n, k, p, d in zip((6, 9), (kH, kW), (pH, pW),
                                                              (dH, dW))]
    assume(min(out) >= 1)
    weight = rng.standard_normal((3 * G, 2, kH, kW))
    grad_y = rng.standard_normal((2, 3 * G, *out))
    gy = grad_y.transpose(1, 0, 2, 3).reshape(G, 3, -1)
    grad_cols = np.matmul(weight.reshape(G, 3, -1).transpose(0, 2, 1), gy)
    expected = col2im(grad_cols.reshape(2 * G, kH, kW, 2, *out), x_shape, (kH, kW), (1, 1),
                      (pH, pW), (dH, dW))
    got = conv2d_grad_x_by_correlation(grad_y, weight, (pH, pW), (dH, dW), G)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


def test_correlation_rule_needs_stride_1_and_small_padding():
    assert correlation_is_cheaper((8, 64, 16, 16), (8, 64, 16, 16), (3, 3), (1, 1), (1, 1),
                                  (1, 1))
    assert not correlation_is_cheaper((8, 64, 16, 16), (8, 64, 8, 8), (3, 3), (2, 2), (1, 1),
                                      (1, 1))
    assert not correlation_is_cheaper((64, 6, 14, 14), (64, 16, 10, 10), (5, 5), (1, 1),
                                      (0, 0), (1, 1))


@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 2), st.integers(1, 2),
       st.integers(0, 3), st.integers(0, 3), st.integers(1, 2), st.booleans(), seeds)
def test_convolution_by_transposition_matches_the_loop_reference(kH, kW, dH, dW, pH, pW, G,
                                                                 bias, seed):
    """Trick 6 for any stride-1 layer it applies to: forward and every gradient match the
    loops of ``convnp.naive``."""
    assume(pH <= dH * (kH - 1) and pW <= dW * (kW - 1))
    out = [out_size_ref(n, k, 1, p, d) for n, k, p, d in zip((6, 9), (kH, kW), (pH, pW),
                                                              (dH, dW))]
    assume(min(out) >= 1)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 6 * G, 6, 9))
    weight = rng.standard_normal((2 * G, 6, kH, kW))
    b = rng.standard_normal(2 * G) if bias else None
    args = ((pH, pW), (dH, dW), G)
    y, cache = conv2d_by_transposition(x, weight, b, *args)
    np.testing.assert_allclose(y, conv2d_ref(x, weight, b, 1, args[0], args[1], G),
                               rtol=1e-10, atol=1e-10)
    grad_y = rng.standard_normal(y.shape)
    expected = conv2d_backward_naive(grad_y, x, weight, b, 1, *args)
    grads = conv2d_backward(grad_y, cache)
    assert (grads[2] is None) == (b is None)
    for got, want in zip(grads, expected):
        if want is not None:
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    grad_x, grad_w, _ = conv2d_backward(grad_y, cache, input_grad=False)
    assert grad_x is None
    np.testing.assert_allclose(grad_w, expected[1], rtol=1e-10, atol=1e-10)


def test_conv2d_layer_by_transposition_passes_gradcheck():
    """A Conv2d layer whose forward takes trick 6 (6 -> 2 channels, groups, dilation,
    H != W), checked against finite differences."""
    rng = np.random.default_rng(0)
    conv = Conv2d(6, 2, (2, 3), padding=(1, 0), dilation=(2, 1), groups=2, rng=rng,
                  dtype=np.float64)
    x = rng.standard_normal((2, 6, 4, 5))
    conv(x)
    assert isinstance(conv._saved()[0], ConvTransposeCache)
    assert gradcheck(conv, x)


@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3),
       st.integers(1, 3), seeds)
def test_flipped_kernel_swaps_channels_within_groups_and_undoes_itself(G, C_out_g, C_in_g,
                                                                        kH, kW, seed):
    weight = np.random.default_rng(seed).standard_normal((G * C_out_g, C_in_g, kH, kW))
    flipped = flipped_kernel(weight, G)
    assert flipped.shape == (G * C_in_g, C_out_g, kH, kW)
    for g, o, c, i, j in np.ndindex(G, C_out_g, C_in_g, kH, kW):
        assert flipped[g * C_in_g + c, o, i, j] == weight[g * C_out_g + o, c, kH - 1 - i,
                                                          kW - 1 - j]
    np.testing.assert_array_equal(flipped_kernel(flipped, G), weight)


def test_transposition_rule_takes_layers_that_narrow_the_channels():
    densenet_layer = ((64, 64, 7, 7), (64, 16, 7, 7), (3, 3), (1, 1), (1, 1), (1, 1))
    assert transposition_is_cheaper(*densenet_layer)
    assert not transposition_is_cheaper((64, 16, 14, 14), (64, 16, 14, 14), (3, 3), (1, 1),
                                        (1, 1), (1, 1))  # as many channels out as in
    assert not transposition_is_cheaper((8, 64, 16, 16), (8, 16, 8, 8), (3, 3), (2, 2),
                                        (1, 1), (1, 1))  # stride 2
    assert not transposition_is_cheaper((8, 64, 16, 16), (8, 16, 20, 20), (3, 3), (1, 1),
                                        (3, 3), (1, 1))  # padding > d(k-1)
    assert not transposition_is_cheaper((8, 96, 7, 7), (8, 48, 7, 7), (1, 1), (1, 1),
                                        (0, 0), (1, 1))  # 1x1: nothing to fold


@given(st.integers(1, 3), st.integers(1, 5), st.integers(1, 6), st.integers(1, 30), seeds)
def test_fast_grad_weight_is_grad_y_times_cols_transposed(G, P, K, M, seed):
    rng = np.random.default_rng(seed)
    gy, cols = rng.standard_normal((G, P, M)), rng.standard_normal((G, K, M))
    np.testing.assert_allclose(fast_grad_weight(gy, cols), gy @ cols.transpose(0, 2, 1),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("G, P, K, M", [(1, 6, 25, 50176), (2, 3, 9, 40000), (1, 16, 9, 20000)])
def test_products_in_pieces_equal_one_product(G, P, K, M):
    """LeNet's first layer (a 6 x 25 weight, 64*28*28 positions) and others whose weight
    is tiny enough for pieces, including a last piece that is shorter: the forward
    product is assembled, and grad_W summed, piece by piece."""
    parts = pieces(P * K, M)
    assert parts is not None and len(parts) > 1
    assert parts[0].start == 0 and parts[-1].stop == M
    assert all(a.stop == b.start for a, b in zip(parts, parts[1:]))
    assert PIECE_FLOOR <= parts[0].stop and P * K * parts[0].stop <= SMALL_KERNEL_MNK
    assert parts[-1].stop - parts[-1].start < parts[0].stop
    rng = np.random.default_rng(0)
    gy, cols = rng.standard_normal((G, P, M)), rng.standard_normal((G, K, M))
    np.testing.assert_allclose(fast_grad_weight(gy, cols), gy @ cols.transpose(0, 2, 1),
                               rtol=1e-12, atol=1e-9)
    w = rng.standard_normal((G, P, K))
    np.testing.assert_allclose(fast_forward(w, cols), w @ cols, rtol=1e-12, atol=1e-12)


@given(st.integers(1, 3), st.integers(1, 5), st.integers(1, 6), st.integers(1, 30), seeds)
def test_fast_forward_is_weight_times_cols(G, P, K, M, seed):
    rng = np.random.default_rng(seed)
    w, cols = rng.standard_normal((G, P, K)), rng.standard_normal((G, K, M))
    np.testing.assert_allclose(fast_forward(w, cols), w @ cols, rtol=1e-12, atol=1e-12)


def test_no_pieces_for_a_large_weight_or_few_positions():
    assert pieces(16 * 150, 10**6) is None  # LeNet's second layer: pieces would be short
    assert pieces(6 * 25, 6000) is None  # one piece holds them all


@pytest.mark.parametrize("shapes", [((2, 3, 4), (2, 4, 5)), ((300, 400), (400, 500))])
def test_matmul_equals_np_matmul_and_restores_the_thread_count(shapes, monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    monkeypatch.setattr(_blas, "others_busy", lambda: True)  # so the small one drops to 1
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    before = [lib["num_threads"] for lib in threadpoolctl.threadpool_info()
              if lib["user_api"] == "blas"]
    np.testing.assert_array_equal(matmul(a, b), np.matmul(a, b))
    out = np.empty((*shapes[0][:-1], shapes[1][-1]))[..., ::-1]  # a strided out= works too
    assert matmul(a, b, out=out) is out
    np.testing.assert_array_equal(out, np.matmul(a, b))
    after = [lib["num_threads"] for lib in threadpoolctl.threadpool_info()
             if lib["user_api"] == "blas"]
    assert after == before


def test_one_blas_thread_sets_every_blas_library_to_one_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with one_blas_thread():
        seen = [lib["num_threads"] for lib in threadpoolctl.threadpool_info()
                if lib["user_api"] == "blas"]
    assert seen and set(seen) == {1}
    assert 2 * 64 * 400 * 120 < SMALL_PRODUCT_FLOPS < 2 * 64 * 576 * 32 * 32 * 32  # LeNet, large


def test_small_ufunc_buffers_apply_inside_and_restore_the_size_even_on_error():
    before = np.getbufsize()
    with small_ufunc_buffers():
        assert np.getbufsize() == _ufunc_buffers.UFUNC_BUFFER != before
    assert np.getbufsize() == before
    with pytest.raises(ValueError), small_ufunc_buffers():
        np.ones(2) + np.ones(3)  # noqa: B018 (raises)
    assert np.getbufsize() == before
