"""im2col / col2im: the column layout matches its definition, and col2im is im2col's adjoint."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from reference import out_size_ref, pad_ref

from convnp.functional import col2im, col2im1d, im2col, im2col1d

small = st.integers(1, 3)


@st.composite
def im2col_config(draw):
    """A (N, C, H, W) shape with H and W drawn independently, and a kernel configuration."""
    shape = (draw(st.integers(1, 2)), draw(small), draw(st.integers(1, 8)),
             draw(st.integers(1, 8)))
    k, s = (draw(small), draw(small)), (draw(small), draw(small))
    p, d = (draw(st.integers(0, 2)), draw(st.integers(0, 2))), (draw(st.integers(1, 2)),
                                                                  draw(st.integers(1, 2)))
    out = tuple(out_size_ref(n, *args) for n, *args in zip(shape[2:], k, s, p, d))
    assume(min(out) >= 1)
    return shape, k, s, p, d, out


def cols_by_definition(x, k, s, p, d, out):
    """``cols[c, i, j, n, h, w] = x_padded[n, c, h*sH + i*dH, w*sW + j*dW]``, entry by entry."""
    xp = pad_ref(x, [(p[0], p[0]), (p[1], p[1])])
    N, C = x.shape[:2]
    cols = np.zeros((C, k[0], k[1], N, *out))
    for c, i, j, n, h, w in np.ndindex(cols.shape):
        cols[c, i, j, n, h, w] = xp[n, c, h * s[0] + i * d[0], w * s[1] + j * d[1]]
    return cols


@given(im2col_config(), st.integers(0, 2**32 - 1))
def test_im2col_matches_definition(config, seed):
    shape, k, s, p, d, out = config
    x = np.random.default_rng(seed).standard_normal(shape)
    cols = im2col(x, k, s, p, d)
    assert cols.shape == (shape[1], *k, shape[0], *out)
    np.testing.assert_array_equal(cols, cols_by_definition(x, k, s, p, d, out))


@given(im2col_config(), st.integers(0, 2**32 - 1))
def test_col2im_is_adjoint_of_im2col(config, seed):
    shape, k, s, p, d, out = config
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    c = rng.standard_normal((shape[1], *k, shape[0], *out))
    folded = col2im(c, shape, k, s, p, d)
    assert folded.shape == shape
    np.testing.assert_allclose(np.vdot(im2col(x, k, s, p, d), c), np.vdot(x, folded),
                               rtol=1e-10, atol=1e-10)


@given(st.integers(1, 2), small, st.integers(1, 12), small, small, st.integers(0, 2),
       st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_col2im1d_is_adjoint_of_im2col1d(N, C, L, k, s, p, d, seed):
    L_out = out_size_ref(L, k, s, p, d)
    assume(L_out >= 1)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, L))
    cols = im2col1d(x, k, s, p, d)
    assert cols.shape == (C, k, N, L_out)
    xp = pad_ref(x, [(p, p)])
    for c, i, n, t in np.ndindex(cols.shape):
        assert cols[c, i, n, t] == xp[n, c, t * s + i * d]
    c = rng.standard_normal(cols.shape)
    folded = col2im1d(c, x.shape, k, s, p, d)
    assert folded.shape == x.shape
    np.testing.assert_allclose(np.vdot(cols, c), np.vdot(x, folded), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("stride, padding, dilation", [
    ((1, 1), (0, 0), (1, 1)), ((2, 1), (1, 0), (1, 1)), ((1, 2), (0, 2), (2, 1)),
])
def test_col2im_of_ones_counts_covering_windows(stride, padding, dilation):
    shape, k = (1, 1, 4, 7), (2, 3)  # H != W, non-square kernel
    out = tuple(out_size_ref(n, *a) for n, *a in zip(shape[2:], k, stride, padding, dilation))
    counts = np.zeros((shape[2] + 2 * padding[0], shape[3] + 2 * padding[1]))
    for h, w, i, j in np.ndindex(*out, *k):
        counts[h * stride[0] + i * dilation[0], w * stride[1] + j * dilation[1]] += 1
    expected = counts[padding[0]:padding[0] + shape[2], padding[1]:padding[1] + shape[3]]
    folded = col2im(np.ones((1, *k, 1, *out)), shape, k, stride, padding, dilation)
    np.testing.assert_array_equal(folded[0, 0], expected)


def test_im2col_keeps_dtype():
    x = np.ones((1, 2, 3, 5), dtype=np.float32)
    cols = im2col(x, (2, 2), padding=(1, 0))
    assert cols.dtype == np.float32
    assert col2im(cols, x.shape, (2, 2), padding=(1, 0)).dtype == np.float32
