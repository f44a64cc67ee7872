"""Max and average pooling: shapes, forward against the references, ties, padding, gradients."""

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from reference import (
    avgpool1d_ref,
    avgpool2d_ref,
    maxpool1d_ref,
    maxpool2d_backward_ref,
    maxpool2d_ref,
)

from convnp import AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d, gradcheck
from convnp.functional import pool_output_size
from convnp.functional.pool import avg_pool2d_forward, max_pool2d_forward

seeds = st.integers(0, 2**32 - 1)


def inline_pool_out(n, k, s, p, d, ceil_mode):
    """``floor`` (or ``ceil``) of ``(n + 2p - d(k-1) - 1)/s``, plus 1; with ceil_mode the
    last window must start before the right padding."""
    span = (n + 2 * p - d * (k - 1) - 1) / s
    out = (math.ceil(span) if ceil_mode else math.floor(span)) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


@st.composite
def pool2d_config(draw, is_max):
    """Random pooling arguments (padding at most half the kernel, as PyTorch requires)."""
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    cfg = {"kernel_size": k, "stride": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
           "padding": (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2))),
           "ceil_mode": draw(st.booleans())}
    if is_max:
        cfg["dilation"] = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    else:
        cfg["count_include_pad"] = draw(st.booleans())
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 8)),
             draw(st.integers(1, 8)))
    d = cfg.get("dilation", (1, 1))
    out = [inline_pool_out(n, k_, s, p, d_, cfg["ceil_mode"]) for n, k_, s, p, d_ in
           zip(shape[2:], k, cfg["stride"], cfg["padding"], d)]
    # with ceil_mode a window may be longer than the padded input (the part inside counts)
    assume(min(out) >= 1 and (cfg["ceil_mode"] or all(
        n + 2 * p >= d_ * (k_ - 1) + 1 for n, k_, p, d_ in zip(shape[2:], k, cfg["padding"], d))))
    return cfg, shape, tuple(out)


@given(pool2d_config(is_max=True), seeds)
def test_maxpool2d_shape_and_forward_match_reference(config, seed):
    cfg, shape, out = config
    pool = MaxPool2d(**cfg)
    x = np.random.default_rng(seed).standard_normal(shape)
    y = pool(x)
    assert y.shape == shape[:2] + out
    assert out == tuple(pool_output_size(n, k, s, p, d, cfg["ceil_mode"]) for n, k, s, p, d in
                        zip(shape[2:], cfg["kernel_size"], cfg["stride"], cfg["padding"],
                            cfg["dilation"]))
    np.testing.assert_array_equal(y, maxpool2d_ref(x, **cfg))


@given(pool2d_config(is_max=False), seeds)
def test_avgpool2d_shape_and_forward_match_reference(config, seed):
    cfg, shape, out = config
    pool = AvgPool2d(**cfg)
    x = np.random.default_rng(seed).standard_normal(shape)
    y = pool(x)
    assert y.shape == shape[:2] + out
    np.testing.assert_allclose(y, avgpool2d_ref(x, **cfg), rtol=1e-12, atol=1e-12)


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
       st.booleans(), st.booleans(), st.integers(1, 12), seeds)
def test_pool1d_forward_matches_reference(k, s, d, p_raw, ceil_mode, include_pad, L, seed):
    p = p_raw % (k // 2 + 1)
    assume(inline_pool_out(L, k, s, p, d, ceil_mode) >= 1
           and (ceil_mode or L + 2 * p >= d * (k - 1) + 1))
    x = np.random.default_rng(seed).standard_normal((2, 3, L))
    y = MaxPool1d(k, s, p, d, ceil_mode=ceil_mode)(x)
    assert y.shape == (2, 3, inline_pool_out(L, k, s, p, d, ceil_mode))
    np.testing.assert_array_equal(y, maxpool1d_ref(x, k, s, p, d, ceil_mode))
    y = AvgPool1d(k, s, p, ceil_mode, include_pad)(x)
    assert y.shape == (2, 3, inline_pool_out(L, k, s, p, 1, ceil_mode))
    np.testing.assert_allclose(y, avgpool1d_ref(x, k, s, p, ceil_mode, include_pad),
                               rtol=1e-12, atol=1e-12)


def test_ceil_mode_pools_a_window_longer_than_the_input_as_pytorch():
    x = np.array([[[1.0, 2.0]]])
    assert MaxPool1d(3, 2, ceil_mode=True)(x).tolist() == [[[2.0]]]  # torch: [[[2.]]]
    assert AvgPool1d(3, 2, ceil_mode=True)(x).tolist() == [[[1.5]]]  # torch: [[[1.5]]]
    y = MaxPool2d((3, 4), 2, ceil_mode=True)(np.arange(6.0).reshape(1, 1, 2, 3))
    assert y.tolist() == [[[[5.0]]]]  # torch: [[[[5.]]]], and AvgPool2d 2.5
    assert AvgPool2d((3, 4), 2, ceil_mode=True)(np.arange(6.0).reshape(1, 1, 2, 3)).item() == 2.5
    with pytest.raises(ValueError, match="MaxPool1d: kernel of effective size 3 is larger"):
        MaxPool1d(3, 2)(x)
    with pytest.raises(ValueError, match=r"MaxPool1d: the output would be empty, size \(-3,\)"):
        MaxPool1d(5, 1, ceil_mode=True)(x[:, :, :1])


@pytest.mark.parametrize("cfg, shape", [
    ({"kernel_size": (2, 3), "stride": (2, 1), "padding": (1, 0)}, (1, 2, 5, 8)),
    ({"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, (2, 1, 6, 9)),
    ({"kernel_size": (3, 2), "stride": (1, 3), "ceil_mode": True}, (1, 1, 7, 4)),
])
def test_pool2d_non_square_cases(cfg, shape, rng):
    assert shape[2] != shape[3]
    x = rng.standard_normal(shape)
    np.testing.assert_array_equal(MaxPool2d(**cfg, dilation=(2, 1))(x),
                                  maxpool2d_ref(x, **cfg, dilation=(2, 1)))
    for include_pad in (True, False):
        np.testing.assert_allclose(AvgPool2d(**cfg, count_include_pad=include_pad)(x),
                                   avgpool2d_ref(x, **cfg, count_include_pad=include_pad),
                                   rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- max-pool ties
@given(pool2d_config(is_max=True), seeds)
def test_maxpool2d_backward_routes_to_first_maximum(config, seed):
    cfg, shape, _ = config
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 2, shape).astype(np.float64)  # four values: ties everywhere
    pool = MaxPool2d(**cfg)
    y = pool(x)
    assume(np.isfinite(y).all())  # a dilated window can miss the input entirely
    g = rng.standard_normal(y.shape)
    np.testing.assert_allclose(pool.backward(g), maxpool2d_backward_ref(x, g, **cfg),
                               rtol=1e-12, atol=1e-12)


def test_maxpool_tie_goes_to_first_in_row_major_order():
    pool = MaxPool2d(2)
    pool(np.array([[[[1.0, 3, 0, 0], [3, 1, 0, 0]]]]))  # second window: all equal
    np.testing.assert_array_equal(pool.backward(np.array([[[[5.0, 7]]]]))[0, 0],
                                  [[0, 5, 7, 0], [0, 0, 0, 0]])
    pool1 = MaxPool1d(2, stride=1)
    pool1(np.array([[[4.0, 4, 4]]]))
    np.testing.assert_array_equal(pool1.backward(np.array([[[1.0, 10]]])), [[[1, 10, 0]]])


@pytest.mark.parametrize("Pool, shape", [(MaxPool2d, (2, 3, 5, 7)), (MaxPool1d, (2, 3, 7))])
def test_maxpool_padding_never_wins(Pool, shape, rng):
    x = -1 - rng.random(shape)  # every input below the zero a careless pad would use
    pool = Pool(3, stride=2, padding=1)
    y = pool(x)
    assert (y < -1).all()
    ref = maxpool2d_ref(x, 3, 2, 1) if x.ndim == 4 else maxpool1d_ref(x, 3, 2, 1)
    np.testing.assert_array_equal(y, ref)
    g = rng.standard_normal(y.shape)
    grad = pool.backward(g)
    np.testing.assert_allclose(grad.sum(), g.sum(), rtol=1e-12)  # no gradient lost to padding


def test_avgpool_divisors_at_the_border():
    x = np.ones((1, 1, 2, 3))
    np.testing.assert_array_equal(AvgPool2d(2, 2, 1)(x)[0, 0], [[0.25, 0.5], [0.25, 0.5]])
    np.testing.assert_array_equal(AvgPool2d(2, 2, 1, count_include_pad=False)(x)[0, 0],
                                  np.ones((2, 2)))
    x1 = np.array([[[1.0, 2, 3, 4]]])
    np.testing.assert_array_equal(AvgPool1d(3, 2, 1, ceil_mode=True)(x1), [[[1, 3, 2]]])


def test_functional_pools_of_integers_avg_gives_float64_means_max_keeps_integers():
    x = np.arange(2 * 3 * 4 * 6).reshape(2, 3, 4, 6)
    y, _ = avg_pool2d_forward(x, (2, 2), (2, 2))
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, x.reshape(2, 3, 2, 2, 3, 2).mean(axis=(3, 5)))
    y, _ = max_pool2d_forward(x, (2, 2), (2, 2))
    assert y.dtype == x.dtype
    np.testing.assert_array_equal(y, x.reshape(2, 3, 2, 2, 3, 2).max(axis=(3, 5)))


# --------------------------------------------------------------------------- gradients
POOL2D_OPTIONS = [
    (MaxPool2d, {"kernel_size": 2}),
    (MaxPool2d, {"kernel_size": (2, 3), "stride": (1, 2)}),
    (MaxPool2d, {"kernel_size": 3, "stride": 2, "padding": (1, 0)}),
    (MaxPool2d, {"kernel_size": (2, 2), "stride": 1, "dilation": (2, 1)}),
    (MaxPool2d, {"kernel_size": 2, "ceil_mode": True}),
    (MaxPool2d, {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True}),
    (AvgPool2d, {"kernel_size": 2}),
    (AvgPool2d, {"kernel_size": (2, 3), "stride": (1, 2)}),
    (AvgPool2d, {"kernel_size": 3, "stride": 2, "padding": (0, 1)}),
    (AvgPool2d, {"kernel_size": 2, "ceil_mode": True}),
    (AvgPool2d, {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}),
    (AvgPool2d, {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                 "count_include_pad": False}),
]


@pytest.mark.parametrize("Pool, options", POOL2D_OPTIONS, ids=str)
def test_pool2d_gradcheck(Pool, options, rng):
    assert gradcheck(Pool(**options), rng.standard_normal((2, 2, 5, 7)))


@pytest.mark.parametrize("Pool, options", [
    (MaxPool2d, {"kernel_size": (3, 4), "stride": 2, "ceil_mode": True}),
    (AvgPool2d, {"kernel_size": (3, 4), "stride": 2, "ceil_mode": True}),
    (AvgPool2d, {"kernel_size": (3, 4), "stride": 2, "padding": (1, 0), "ceil_mode": True,
                 "count_include_pad": False}),
], ids=str)
def test_pool2d_gradcheck_window_longer_than_the_input(Pool, options, rng):
    assert gradcheck(Pool(**options), rng.standard_normal((2, 2, 2, 3)))  # 3x4 on 2x3


POOL1D_OPTIONS = [
    (MaxPool1d, {"kernel_size": 2}), (MaxPool1d, {"kernel_size": 3, "stride": 1}),
    (MaxPool1d, {"kernel_size": 3, "padding": 1, "dilation": 2}),
    (MaxPool1d, {"kernel_size": 2, "ceil_mode": True}),
    (AvgPool1d, {"kernel_size": 3, "stride": 2, "padding": 1}),
    (AvgPool1d, {"kernel_size": 2, "ceil_mode": True}),
    (AvgPool1d, {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}),
]


@pytest.mark.parametrize("Pool, options", POOL1D_OPTIONS, ids=str)
def test_pool1d_gradcheck(Pool, options, rng):
    assert gradcheck(Pool(**options), rng.standard_normal((2, 2, 9)))


def test_pool_default_stride_is_kernel_size():
    assert MaxPool2d((2, 3)).stride == (2, 3)
    assert AvgPool1d(4).stride == (4,)
    assert MaxPool2d(2, stride=(1, 2)).stride == (1, 2)
