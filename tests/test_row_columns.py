"""Convolution by row columns (``functional/row_columns.py``, trick 7) equals im2col and
the loops of ``convnp.naive``."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from reference import conv2d_ref, out_size_ref

import convnp.functional.conv as conv_module
import convnp.functional.row_columns as row_columns_module
from convnp import Conv2d, gradcheck
from convnp.functional._fast import transposition_is_cheaper
from convnp.functional.columns import im2col
from convnp.functional.conv import RowsCache, conv2d_backward, conv2d_forward
from convnp.functional.row_columns import (
    GRAD_X_ROWS_MAX_CHANNELS,
    ROWS_MIN_WIDTH,
    conv2d_by_rows,
    conv2d_grad_x_by_rows,
    grad_x_rows_are_cheaper,
    kernel_row_bands,
    row_columns,
    row_grad_weight,
    row_windows,
    rows_are_cheaper,
)
from convnp.naive import conv2d_backward_naive

seeds = st.integers(0, 2**32 - 1)


@st.composite
def rows_case(draw):
    """A configuration the row columns serve: any stride, padding and dilation in W;
    stride and dilation 1 in H; H != W allowed."""
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 7)),
             draw(st.integers(1, 11)))
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (1, draw(st.integers(1, 3)))
    p = (draw(st.integers(0, 3)), draw(st.integers(0, 4)))
    d = (1, draw(st.integers(1, 3)))
    out = tuple(out_size_ref(n, *args) for n, *args in zip(shape[2:], k, s, p, d))
    assume(min(out) >= 1)
    return shape, k, s, p, d, out


@given(rows_case(), seeds)
def test_each_window_holds_im2col_columns_of_one_output_row(case, seed):
    """``windows[h]`` is im2col's (c, i, j) columns of output row h, reordered (i, j, c)."""
    shape, k, s, p, d, (H_out, W_out) = case
    x = np.random.default_rng(seed).standard_normal(shape)
    windows = row_windows(row_columns(x, k, s, p, d), k[0], s[0], H_out)
    cols = im2col(x, k, s, p, d)  # (C, kH, kW, N, H_out, W_out)
    N, C = shape[:2]
    for h in range(H_out):
        expected = cols[:, :, :, :, h].transpose(1, 2, 0, 4, 3).reshape(-1, W_out * N)
        np.testing.assert_array_equal(windows[h], expected)


def test_windows_are_read_only_views_that_overlap():
    rows = row_columns(np.random.default_rng(0).standard_normal((2, 3, 6, 5)), (3, 2),
                       padding=(1, 0))
    windows = row_windows(rows, 3, 1, 6)
    assert np.shares_memory(windows, rows) and not windows.flags.writeable
    block = 2 * 3  # kW*C rows per kernel row i: row h+1's first two are row h's last two
    np.testing.assert_array_equal(windows[1][:2 * block], windows[0][block:])


@pytest.mark.parametrize("order", [(0, 1, 2, 3), (1, 2, 3, 0), (2, 1, 3, 0)])
def test_row_columns_read_any_memory_order(order):
    """Inputs arrive as (N, C, H, W) views of arrays stored in other orders."""
    x = np.random.default_rng(0).standard_normal((3, 2, 5, 7))
    stored = np.ascontiguousarray(x.transpose(order)).transpose(np.argsort(order))
    np.testing.assert_array_equal(row_columns(stored, (3, 2), (1, 2), (1, 1)),
                                  row_columns(x, (3, 2), (1, 2), (1, 1)))


@given(rows_case(), st.integers(1, 3), seeds)
def test_conv_by_rows_and_its_grad_weight_match_the_loop_reference(case, C_out, seed):
    shape, k, s, p, d, (H_out, W_out) = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    weight = rng.standard_normal((C_out, shape[1], *k))
    y, windows = conv2d_by_rows(x, weight, s, p, d)
    np.testing.assert_allclose(y.transpose(3, 0, 1, 2), conv2d_ref(x, weight, None, s, p, d),
                               rtol=1e-10, atol=1e-10)
    grad_y = rng.standard_normal((shape[0], C_out, H_out, W_out))
    expected = conv2d_backward_naive(grad_y, x, weight, None, s, p, d, 1)[1]
    grad_y_rows = grad_y.transpose(1, 2, 3, 0).reshape(C_out, H_out, W_out * shape[0])
    grad_w = row_grad_weight(grad_y_rows, windows, weight.shape, shape[2], s[0], p[0])
    np.testing.assert_allclose(grad_w, expected, rtol=1e-10, atol=1e-10)


@given(st.integers(1, 9), st.integers(1, 4), st.integers(1, 3), st.integers(0, 5),
       st.integers(1, 6))
def test_kernel_row_bands_hold_each_output_row_with_the_kernel_rows_inside_the_input(
        H, kH, sH, pH, row_size):
    """Checked row by row against the definition: kernel row i of output row h reads input
    row h*sH + i - pH, which must lie in 0..H-1."""
    H_out = (H + 2 * pH - kH) // sH + 1
    assume(H_out >= 1)
    bands = kernel_row_bands(H, H_out, kH, sH, pH, row_size)
    covered = [h for out_rows, _ in bands for h in range(H_out)[out_rows]]
    assert covered == list(range(H_out))
    for out_rows, k in bands:
        for h in range(H_out)[out_rows]:
            inside = [i for i in range(kH) if 0 <= h * sH + i - pH < H]
            kernel_rows = range(kH * row_size)[k]
            assert list(kernel_rows) == [i * row_size + j for i in inside
                                         for j in range(row_size)]
    for (_, a), (_, b) in zip(bands, bands[1:]):
        assert a != b  # neighbouring bands differ, or they would be one


@given(rows_case(), st.integers(1, 3), seeds)
def test_products_never_read_the_rows_of_padding(case, C_out, seed):
    """With NaN in the padding rows of ``rows`` instead of zeros, y and grad_W come out
    the same: the border rows' products leave those rows out."""
    shape, k, s, p, d, (H_out, W_out) = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    weight = rng.standard_normal((C_out, shape[1], *k))
    y, windows = conv2d_by_rows(x, weight, s, p, d)
    grad_y = rng.standard_normal((C_out, H_out, W_out * shape[0]))
    grad_w = row_grad_weight(grad_y, windows, weight.shape, shape[2], s[0], p[0])

    def poisoned(*args):
        rows = row_columns(*args)
        rows[:p[0]] = np.nan
        rows[p[0] + shape[2]:] = np.nan
        return rows

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(row_columns_module, "row_columns", poisoned)
        y_nan, windows_nan = conv2d_by_rows(x, weight, s, p, d)
    assert np.isnan(windows_nan).any() == (p[0] > 0)
    np.testing.assert_array_equal(y_nan, y)
    np.testing.assert_array_equal(
        row_grad_weight(grad_y, windows_nan, weight.shape, shape[2], s[0], p[0]), grad_w)


@given(rows_case(), st.integers(1, 3), st.booleans(), seeds)
def test_conv2d_through_rows_matches_the_loop_reference(case, C_out, bias, seed):
    """``conv2d_forward``/``backward`` with the rule on for every size: forward, every
    gradient (dL/dx by correlation also by rows, where it applies) and ``input_grad=False``."""
    shape, k, s, p, d, out = case
    assume(k[0] > 1 and not transposition_is_cheaper(shape, (1, C_out, *out), k, s, p, d))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    weight = rng.standard_normal((C_out, shape[1], *k))
    b = rng.standard_normal(C_out) if bias else None
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(row_columns_module, "ROWS_MIN_WIDTH", 1)
        y, cache = conv2d_forward(x, weight, b, s, p, d)
        grad_y = rng.standard_normal(y.shape)
        grads = conv2d_backward(grad_y, cache)
        grad_x, grad_w, _ = conv2d_backward(grad_y, cache, input_grad=False)
    assert isinstance(cache, RowsCache)
    np.testing.assert_allclose(y, conv2d_ref(x, weight, b, s, p, d), rtol=1e-10, atol=1e-10)
    expected = conv2d_backward_naive(grad_y, x, weight, b, s, p, d, 1)
    assert (grads[2] is None) == (b is None)
    for got, want in zip(grads, expected):
        if want is not None:
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    assert grad_x is None
    np.testing.assert_allclose(grad_w, expected[1], rtol=1e-10, atol=1e-10)


def test_conv2d_layer_by_rows_passes_gradcheck(monkeypatch):
    """A Conv2d layer whose forward takes trick 7 (padding, stride and dilation in W, a
    bias, H != W), and one whose dL/dx also goes by rows (padding 1 of a 3x3 kernel),
    checked against finite differences."""
    monkeypatch.setattr(row_columns_module, "ROWS_MIN_WIDTH", 1)
    rng = np.random.default_rng(0)
    for conv in (Conv2d(2, 3, (3, 2), stride=(1, 2), padding=(1, 2), dilation=(1, 2),
                        rng=rng, dtype=np.float64),
                 Conv2d(3, 3, 3, padding=1, rng=rng, dtype=np.float64)):
        x = rng.standard_normal((2, conv.in_channels, 4, 7))
        conv(x)
        assert isinstance(conv._saved()[0], RowsCache)
        assert gradcheck(conv, x)


def test_rows_rule_needs_stride_and_dilation_1_in_h_one_group_and_wide_rows():
    wide, narrow = (64, 16, 14, 14), (8, 16, 14, 14)
    assert 8 * 14 < ROWS_MIN_WIDTH <= 64 * 7
    assert rows_are_cheaper(wide, (64, 16, 14, 14), (3, 3), (1, 1), (1, 1), 1)
    assert rows_are_cheaper(wide, (64, 16, 7, 7), (3, 3), (1, 2), (1, 2), 1)  # W is free
    assert not rows_are_cheaper(narrow, (8, 16, 14, 14), (3, 3), (1, 1), (1, 1), 1)
    assert not rows_are_cheaper(wide, (64, 16, 7, 7), (3, 3), (2, 2), (1, 1), 1)
    assert not rows_are_cheaper(wide, (64, 16, 12, 14), (3, 3), (1, 1), (2, 1), 1)
    assert not rows_are_cheaper(wide, (64, 16, 14, 14), (3, 3), (1, 1), (1, 1), 2)
    assert not rows_are_cheaper(wide, (64, 16, 14, 14), (1, 3), (1, 1), (1, 1), 1)


@given(rows_case(), st.integers(1, 3), seeds)
def test_grad_x_by_rows_matches_the_loop_reference(case, C_out, seed):
    """col2im by rows, for any stride, padding and dilation in W and any padding in H
    (including more than kH-1, where whole rows of grad_y lie outside every window)."""
    shape, k, s, p, d, (H_out, W_out) = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    weight = rng.standard_normal((C_out, shape[1], *k))
    grad_y = rng.standard_normal((shape[0], C_out, H_out, W_out))
    grad_x = conv2d_grad_x_by_rows(grad_y.transpose(1, 2, 3, 0), weight, shape, s, p, d)
    expected = conv2d_backward_naive(grad_y, x, weight, None, s, p, d, 1)[0]
    np.testing.assert_allclose(grad_x, expected, rtol=1e-10, atol=1e-10)


def test_first_layer_grad_x_goes_by_rows_and_passes_gradcheck(monkeypatch):
    """A LeNet-like first layer (1 channel in, H != W, stride 2 in W) takes the row path
    for dL/dx inside ``conv2d_backward``, and the layer passes a float64 gradcheck."""
    monkeypatch.setattr(row_columns_module, "ROWS_MIN_WIDTH", 1)
    calls = []

    def spy(*args):
        calls.append(args[2])
        return conv2d_grad_x_by_rows(*args)

    monkeypatch.setattr(conv_module, "conv2d_grad_x_by_rows", spy)
    rng = np.random.default_rng(0)
    conv = Conv2d(1, 3, (3, 2), stride=(1, 2), padding=(2, 1), rng=rng, dtype=np.float64)
    x = rng.standard_normal((2, 1, 5, 7))
    assert gradcheck(conv, x)
    assert calls and calls[0] == x.shape


def test_grad_x_rows_rule_is_for_few_channels_on_the_rows_conditions():
    lenet_first, max_in, max_out = (64, 1, 28, 28), *GRAD_X_ROWS_MAX_CHANNELS
    assert grad_x_rows_are_cheaper(lenet_first, (64, 6, 28, 28), (5, 5), (1, 1), (1, 1), 1)
    assert grad_x_rows_are_cheaper((64, 3, 28, 28), (64, max_out, 28, 28), (3, 3), (1, 1),
                                   (1, 1), 1)
    assert not grad_x_rows_are_cheaper(lenet_first, (64, max_out + 1, 28, 28), (5, 5),
                                       (1, 1), (1, 1), 1)
    assert not grad_x_rows_are_cheaper((64, max_in + 1, 14, 14), (64, 16, 10, 10), (5, 5),
                                       (1, 1), (1, 1), 1)  # LeNet's second layer
    assert not grad_x_rows_are_cheaper(lenet_first, (64, 6, 14, 14), (5, 5), (2, 2),
                                       (1, 1), 1)
    assert not grad_x_rows_are_cheaper((2, 1, 28, 28), (2, 6, 28, 28), (5, 5), (1, 1),
                                       (1, 1), 1)  # rows of 56 positions
