"""Conv1d / Conv2d: output shapes, forward against the loop reference, gradients, padding modes.

Every forward and gradient test runs for both algorithms ('im2col' and 'tensordot').
"""

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from reference import conv1d_ref, conv2d_ref, out_size_ref, pad_ref, same_pads_ref

from convnp import Conv1d, Conv2d, gradcheck
from convnp.functional import ALGORITHMS, conv_output_size, pad, pad_backward

MODES = ("zeros", "reflect", "replicate", "circular")
seeds = st.integers(0, 2**32 - 1)
algorithms = st.sampled_from(ALGORITHMS)


def out_sizes(shape, cfg):
    """The reference output size along each spatial axis of ``shape`` for a conv config."""
    def per_axis(v):
        return (v,) * (len(shape) - 2) if isinstance(v, int) else v

    return [out_size_ref(n, k, s, p, d) for n, k, s, p, d in zip(
        shape[2:], *(per_axis(cfg.get(a, default)) for a, default in
                     (("kernel_size", 1), ("stride", 1), ("padding", 0), ("dilation", 1))))]


@st.composite
def conv2d_config(draw, max_size=9):
    """Random Conv2d arguments and an input shape; H and W are drawn independently."""
    G = draw(st.integers(1, 3))
    cfg = {
        "in_channels": G * draw(st.integers(1, 2)), "out_channels": G * draw(st.integers(1, 2)),
        "kernel_size": (draw(st.integers(1, 4)), draw(st.integers(1, 4))),
        "stride": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        "padding": (draw(st.integers(0, 2)), draw(st.integers(0, 2))),
        "dilation": (draw(st.integers(1, 2)), draw(st.integers(1, 2))),
        "groups": G, "bias": draw(st.booleans()),
    }
    shape = (draw(st.integers(1, 2)), cfg["in_channels"], draw(st.integers(1, max_size)),
             draw(st.integers(1, max_size)))
    assume(min(out_sizes(shape, cfg)) >= 1)
    return cfg, shape


@st.composite
def conv1d_config(draw):
    G = draw(st.integers(1, 3))
    cfg = {
        "in_channels": G * draw(st.integers(1, 2)), "out_channels": G * draw(st.integers(1, 2)),
        "kernel_size": draw(st.integers(1, 5)), "stride": draw(st.integers(1, 3)),
        "padding": draw(st.integers(0, 3)), "dilation": draw(st.integers(1, 3)),
        "groups": G, "bias": draw(st.booleans()),
    }
    shape = (draw(st.integers(1, 2)), cfg["in_channels"], draw(st.integers(1, 14)))
    assume(min(out_sizes(shape, cfg)) >= 1)
    return cfg, shape


def conv_ref_of(layer, x):
    """The loop reference's output for ``layer`` on ``x``: pad as the layer says, then convolve.

    The padding is worked out from the layer's arguments by ``same_pads_ref`` for 'same'
    and directly otherwise, and applied by ``pad_ref``; the convolution itself is unpadded.
    """
    n = len(layer.kernel_size)
    if layer.padding == "same":
        pads = same_pads_ref(layer.kernel_size, layer.dilation)
    else:
        pads = [(p, p) for p in ((0,) * n if layer.padding == "valid" else layer.padding)]
    x = pad_ref(x, pads, layer.padding_mode)
    bias = None if layer.bias is None else layer.bias.data
    if n == 2:
        return conv2d_ref(x, layer.weight.data, bias, layer.stride, 0, layer.dilation,
                          layer.groups)
    return conv1d_ref(x, layer.weight.data, bias, layer.stride[0], 0, layer.dilation[0],
                      layer.groups)


# --------------------------------------------------------------------------- shapes, forward
@given(conv2d_config(), algorithms, seeds)
def test_conv2d_shape_and_forward_match_reference(config, algorithm, seed):
    cfg, shape = config
    rng = np.random.default_rng(seed)
    conv = Conv2d(**cfg, algorithm=algorithm, rng=rng, dtype=np.float64)
    x = rng.standard_normal(shape)
    y = conv(x)
    expected = out_sizes(shape, cfg)
    assert [conv_output_size(n, k, s, p, d) for n, k, s, p, d in zip(
        shape[2:], cfg["kernel_size"], cfg["stride"], cfg["padding"], cfg["dilation"])
    ] == expected
    assert y.shape == (shape[0], cfg["out_channels"], *expected)
    np.testing.assert_allclose(y, conv_ref_of(conv, x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cfg, shape", [
    ({"kernel_size": (2, 3), "stride": (1, 2), "padding": (0, 1)}, (2, 2, 5, 8)),
    ({"kernel_size": (3, 1), "stride": (2, 1), "dilation": (1, 2)}, (1, 2, 9, 4)),
    ({"kernel_size": 3, "padding": (2, 0), "dilation": (2, 1), "groups": 2}, (2, 2, 3, 7)),
    ({"kernel_size": (1, 4), "stride": 3, "bias": False}, (1, 2, 7, 11)),
])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_conv2d_forward_non_square_cases(cfg, shape, algorithm, rng):
    assert shape[2] != shape[3]
    conv = Conv2d(2, 4, **cfg, algorithm=algorithm, rng=rng, dtype=np.float64)
    x = rng.standard_normal(shape)
    y = conv(x)
    assert list(y.shape[2:]) == out_sizes(shape, cfg)
    np.testing.assert_allclose(y, conv_ref_of(conv, x), rtol=1e-10, atol=1e-12)


@given(conv1d_config(), algorithms, seeds)
def test_conv1d_shape_and_forward_match_reference(config, algorithm, seed):
    cfg, shape = config
    rng = np.random.default_rng(seed)
    conv = Conv1d(**cfg, algorithm=algorithm, rng=rng, dtype=np.float64)
    x = rng.standard_normal(shape)
    y = conv(x)
    n_out, = out_sizes(shape, cfg)
    assert conv_output_size(shape[2], cfg["kernel_size"], cfg["stride"], cfg["padding"],
                            cfg["dilation"]) == n_out
    assert y.shape == (shape[0], cfg["out_channels"], n_out)
    np.testing.assert_allclose(y, conv_ref_of(conv, x), rtol=1e-10, atol=1e-12)


@st.composite
def padded_conv2d_config(draw):
    """A Conv2d with a padding mode, its padding legal for that mode (reflect: p < n)."""
    mode = draw(st.sampled_from(MODES))
    H, W = draw(st.integers(2, 7)), draw(st.integers(2, 7))
    limit = {"reflect": lambda n: n - 1, "circular": lambda n: n}.get(mode, lambda n: 3)
    padding = (draw(st.integers(0, min(3, limit(H)))), draw(st.integers(0, min(3, limit(W)))))
    cfg = {"kernel_size": (draw(st.integers(1, 4)), draw(st.integers(1, 4))),
           "stride": (draw(st.integers(1, 2)), draw(st.integers(1, 2))),
           "dilation": (draw(st.integers(1, 2)), draw(st.integers(1, 2))),
           "padding": padding, "padding_mode": mode, "bias": draw(st.booleans())}
    shape = (draw(st.integers(1, 2)), 2, H, W)
    assume(min(out_sizes(shape, cfg)) >= 1)
    return cfg, shape


@given(padded_conv2d_config(), algorithms, seeds)
def test_conv2d_padding_modes_match_reference(config, algorithm, seed):
    cfg, shape = config
    rng = np.random.default_rng(seed)
    conv = Conv2d(2, 3, **cfg, algorithm=algorithm, rng=rng, dtype=np.float64)
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(conv(x), conv_ref_of(conv, x), rtol=1e-10, atol=1e-12)


@given(st.sampled_from(MODES), st.integers(2, 9), st.integers(1, 4), st.integers(0, 3),
       st.integers(1, 3), algorithms, seeds)
def test_conv1d_padding_modes_match_reference(mode, L, k, p, d, algorithm, seed):
    assume(p < L if mode == "reflect" else p <= L)
    assume(out_size_ref(L, k, 1, p, d) >= 1)
    rng = np.random.default_rng(seed)
    conv = Conv1d(2, 2, k, padding=p, dilation=d, padding_mode=mode, algorithm=algorithm,
                  rng=rng, dtype=np.float64)
    x = rng.standard_normal((2, 2, L))
    np.testing.assert_allclose(conv(x), conv_ref_of(conv, x), rtol=1e-10, atol=1e-12)


@given(st.sampled_from(MODES), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3),
       st.integers(1, 2), st.integers(3, 8), st.integers(3, 8), seeds)
def test_conv2d_same_keeps_size_and_matches_reference(mode, kH, kW, dH, dW, H, W, seed):
    after = [t - t // 2 for t in (dH * (kH - 1), dW * (kW - 1))]  # the larger side
    assume(mode != "reflect" or (after[0] < H and after[1] < W))
    assume(mode != "circular" or (after[0] <= H and after[1] <= W))
    rng = np.random.default_rng(seed)
    conv = Conv2d(2, 3, (kH, kW), padding="same", dilation=(dH, dW), padding_mode=mode,
                  rng=rng, dtype=np.float64)
    x = rng.standard_normal((2, 2, H, W))
    y = conv(x)
    assert y.shape == (2, 3, H, W)
    np.testing.assert_allclose(y, conv_ref_of(conv, x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("k, d", [(2, 1), (4, 1), (3, 2), (2, 3)])
def test_conv1d_same_even_and_dilated_kernels(k, d, rng):
    conv = Conv1d(1, 2, k, padding="same", dilation=d, rng=rng, dtype=np.float64)
    x = rng.standard_normal((2, 1, 9))
    y = conv(x)
    assert y.shape == (2, 2, 9)
    (before, after), = same_pads_ref((k,), (d,))
    expected = conv1d_ref(pad_ref(x, [(before, after)]), conv.weight.data, conv.bias.data,
                          dilation=d)
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("Conv, shape", [(Conv2d, (2, 2, 6, 9)), (Conv1d, (2, 2, 9))])
def test_valid_is_zero_padding(Conv, shape, rng):
    valid = Conv(2, 3, 2, padding="valid", rng=np.random.default_rng(1), dtype=np.float64)
    zero = Conv(2, 3, 2, padding=0, rng=np.random.default_rng(1), dtype=np.float64)
    x = rng.standard_normal(shape)
    np.testing.assert_array_equal(valid(x), zero(x))
    np.testing.assert_allclose(valid(x), conv_ref_of(zero, x), rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- padding kernels
@given(st.sampled_from(MODES), st.integers(1, 6), st.integers(1, 6), st.integers(0, 3),
       st.integers(0, 3), st.integers(0, 3), st.integers(0, 3), seeds)
def test_pad_matches_reference_and_pad_backward_is_adjoint(mode, H, W, t, b, left, right,
                                                           seed):
    if mode == "reflect":
        assume(max(t, b) < H and max(left, right) < W)
    if mode == "circular":
        assume(max(t, b) <= H and max(left, right) <= W)
    pads = [(t, b), (left, right)]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 1, H, W))
    padded = pad(x, pads, mode)
    np.testing.assert_array_equal(padded, pad_ref(x, pads, mode))
    g = rng.standard_normal(padded.shape)
    grad = pad_backward(g, pads, mode)
    assert grad.shape == x.shape
    np.testing.assert_allclose(np.vdot(padded, g), np.vdot(x, grad), rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------- strided = subsampled
@given(conv2d_config(max_size=11), seeds)
def test_strided_conv2d_is_subsampled_stride1_conv(config, seed):
    """CMU 11-785's decomposition: stride s = stride-1 convolution, then keep every s-th."""
    cfg, shape = config
    rng = np.random.default_rng(seed)
    strided = Conv2d(**cfg, rng=np.random.default_rng(seed), dtype=np.float64)
    dense = Conv2d(**{**cfg, "stride": 1}, rng=np.random.default_rng(seed), dtype=np.float64)
    x = rng.standard_normal(shape)
    sH, sW = cfg["stride"]
    np.testing.assert_allclose(strided(x), dense(x)[..., ::sH, ::sW], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("L, k, s, p", [(10, 3, 3, 0), (11, 2, 4, 1), (7, 4, 2, 2), (9, 1, 5, 0)])
def test_strided_conv1d_is_subsampled_stride1_conv(L, k, s, p, rng):
    strided = Conv1d(2, 3, k, s, p, rng=np.random.default_rng(3), dtype=np.float64)
    dense = Conv1d(2, 3, k, 1, p, rng=np.random.default_rng(3), dtype=np.float64)
    x = rng.standard_normal((2, 2, L))
    np.testing.assert_allclose(strided(x), dense(x)[..., ::s], rtol=1e-12, atol=1e-12)


def test_subsampling_case_where_stride_does_not_divide(rng):
    x = rng.standard_normal((1, 1, 8, 11))  # (8-3) % 2 = 1 and (11-3) % 3 = 2
    strided = Conv2d(1, 2, 3, stride=(2, 3), rng=np.random.default_rng(0), dtype=np.float64)
    dense = Conv2d(1, 2, 3, rng=np.random.default_rng(0), dtype=np.float64)
    y = strided(x)
    assert y.shape == (1, 2, 3, 3)
    np.testing.assert_allclose(y, dense(x)[..., ::2, ::3], rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- gradients
CONV2D_OPTIONS = [
    {},
    {"stride": (2, 1)},
    {"stride": 2, "padding": 1},
    {"padding": (0, 2)},
    {"padding": "same"},
    {"kernel_size": (2, 4), "padding": "same", "dilation": (2, 1)},
    {"padding": "valid"},
    {"dilation": (2, 1), "padding": (1, 0)},
    {"groups": 2, "in_channels": 4},
    {"bias": False},
    {"padding": (1, 2), "padding_mode": "reflect"},
    {"padding": (2, 1), "padding_mode": "replicate", "stride": (1, 2)},
    {"padding": (1, 3), "padding_mode": "circular"},
    {"kernel_size": (2, 3), "padding": "same", "padding_mode": "reflect"},
]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("options", CONV2D_OPTIONS, ids=str)
def test_conv2d_gradcheck(options, algorithm, rng):
    cfg = {"in_channels": 2, "out_channels": 2, "kernel_size": (2, 3), **options}
    conv = Conv2d(**cfg, algorithm=algorithm, rng=rng, dtype=np.float64)
    x = rng.standard_normal((2, cfg["in_channels"], 4, 5))
    assert gradcheck(conv, x)


CONV1D_OPTIONS = [
    {}, {"stride": 2}, {"padding": 2}, {"padding": "same", "kernel_size": 4},
    {"padding": "valid"}, {"dilation": 2, "padding": 1}, {"groups": 2, "in_channels": 4},
    {"bias": False}, {"padding": 2, "padding_mode": "reflect"},
    {"padding": 3, "padding_mode": "replicate", "stride": 3},
    {"padding": 2, "padding_mode": "circular"},
]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("options", CONV1D_OPTIONS, ids=str)
def test_conv1d_gradcheck(options, algorithm, rng):
    cfg = {"in_channels": 2, "out_channels": 2, "kernel_size": 3, **options}
    conv = Conv1d(**cfg, algorithm=algorithm, rng=rng, dtype=np.float64)
    assert gradcheck(conv, rng.standard_normal((2, cfg["in_channels"], 7)))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_conv2d_gradcheck_directional_bigger(algorithm, rng):
    conv = Conv2d(3, 8, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=1,
                  algorithm=algorithm, rng=rng, dtype=np.float64)
    x = rng.standard_normal((4, 3, 17, 23))
    assert gradcheck(conv, x, directional=True, rng=np.random.default_rng(5))


def test_conv_gradcheck_after_to_float64(rng):
    conv = Conv2d(2, 3, (3, 2), padding=(1, 0), rng=rng).to(np.float64)
    assert conv.weight.data.dtype == np.float64
    assert gradcheck(conv, rng.standard_normal((1, 2, 3, 5)))


# --------------------------------------------------------------------------- parameters, init
def test_conv_parameter_shapes_and_normalised_args(rng):
    conv = Conv2d(4, 6, (3, 5), stride=2, padding=(1, 2), dilation=(2, 1), groups=2, rng=rng)
    assert conv.weight.shape == (6, 2, 3, 5) and conv.bias.shape == (6,)
    assert (conv.kernel_size, conv.stride, conv.padding, conv.dilation) == (
        (3, 5), (2, 2), (1, 2), (2, 1))
    c1 = Conv1d(3, 4, 5, rng=rng, bias=False)
    assert c1.weight.shape == (4, 3, 5) and c1.bias is None
    assert (c1.kernel_size, c1.stride, c1.padding, c1.dilation) == ((5,), (1,), (0,), (1,))


def test_conv_default_init_is_pytorchs_uniform(rng):
    conv = Conv2d(6, 16, (5, 3), groups=2, rng=rng)
    bound = 1 / math.sqrt(3 * 5 * 3)  # fan_in = C_in/G * kH * kW
    for p in (conv.weight.data, conv.bias.data):
        assert np.abs(p).max() <= bound
        assert np.abs(p).max() > 0.8 * bound  # spread over the whole range
    same = Conv2d(6, 16, (5, 3), groups=2, rng=np.random.default_rng(7))
    again = Conv2d(6, 16, (5, 3), groups=2, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(same.weight.data, again.weight.data)
    np.testing.assert_array_equal(same.bias.data, again.bias.data)
