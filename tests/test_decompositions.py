"""The CMU 11-785 decompositions: strided operations = stride-1 operations plus resampling.

Each test builds both sides from convnp layers with the same weights, on random shapes
(H != W, sizes not divisible by the factor), and checks that the outputs and every
gradient agree. See docs/decompositions.md for the why.
"""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from convnp.layers import (
    AvgPool1d,
    AvgPool2d,
    Conv1d,
    Conv2d,
    ConvTranspose1d,
    ConvTranspose2d,
    Downsample1d,
    Downsample2d,
    MaxPool1d,
    MaxPool2d,
    Sequential,
    Upsample1d,
    Upsample2d,
    homework_conv_transpose1d,
    homework_conv_transpose2d,
)

seeds = st.integers(0, 2**32 - 1)
pairs = st.tuples


def out_len(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def assert_same_forward_backward(rng, fast, slow, x, params=()):
    """Same output and input gradient; ``params`` pairs up parameters that must agree."""
    y_fast, y_slow = fast(x), slow(x)
    np.testing.assert_allclose(y_fast, y_slow, rtol=1e-10, atol=1e-10)
    g = rng.standard_normal(y_fast.shape)
    np.testing.assert_allclose(fast.backward(g), slow.backward(g), rtol=1e-10, atol=1e-10)
    for p_fast, p_slow in params:
        np.testing.assert_allclose(p_fast.grad, p_slow.grad, rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------- strided conv
@given(seed=seeds, G=st.integers(1, 2), k=pairs(st.integers(1, 3), st.integers(1, 3)),
       s=pairs(st.integers(1, 3), st.integers(1, 3)), p=pairs(st.integers(0, 2), st.integers(0, 2)),
       d=pairs(st.integers(1, 2), st.integers(1, 2)),
       size=pairs(st.integers(1, 9), st.integers(1, 9)),
       mode=st.sampled_from(["zeros", "replicate", "circular"]))
def test_strided_conv2d_is_conv_then_downsample(seed, G, k, s, p, d, size, mode):
    assume(all(out_len(n, kk, 1, pp, dd) >= 1 for n, kk, pp, dd in zip(size, k, p, d)))
    assume(mode == "zeros" or min(size) >= max(p))
    rng = np.random.default_rng(seed)
    args = dict(in_channels=2 * G, out_channels=G, kernel_size=k, padding=p, dilation=d,
                groups=G, padding_mode=mode, rng=rng, dtype=np.float64)
    strided = Conv2d(**args, stride=s)
    chain = Sequential(Conv2d(**args), Downsample2d(s))
    chain.load_state_dict({"0.weight": strided.weight.data, "0.bias": strided.bias.data})
    x = rng.standard_normal((2, 2 * G, *size))
    assert_same_forward_backward(rng, strided, chain, x,
                                 [(strided.weight, chain[0].weight), (strided.bias, chain[0].bias)])


@given(seed=seeds, k=st.integers(1, 4), s=st.integers(1, 4), p=st.integers(0, 2),
       d=st.integers(1, 2), n=st.integers(1, 13))
def test_strided_conv1d_is_conv_then_downsample(seed, k, s, p, d, n):
    assume(out_len(n, k, 1, p, d) >= 1)
    rng = np.random.default_rng(seed)
    strided = Conv1d(3, 2, k, stride=s, padding=p, dilation=d, rng=rng, dtype=np.float64)
    chain = Sequential(Conv1d(3, 2, k, padding=p, dilation=d, dtype=np.float64), Downsample1d(s))
    chain.load_state_dict({"0.weight": strided.weight.data, "0.bias": strided.bias.data})
    assert_same_forward_backward(rng, strided, chain, rng.standard_normal((2, 3, n)),
                                 [(strided.weight, chain[0].weight), (strided.bias, chain[0].bias)])


# --------------------------------------------------------------------------- strided pooling
@given(seed=seeds, k=pairs(st.integers(1, 3), st.integers(1, 3)),
       s=pairs(st.integers(1, 3), st.integers(1, 3)), d=pairs(st.integers(1, 2), st.integers(1, 2)),
       size=pairs(st.integers(1, 9), st.integers(1, 9)), padded=st.booleans())
def test_strided_maxpool2d_is_maxpool_then_downsample(seed, k, s, d, size, padded):
    p = tuple(kk // 2 for kk in k) if padded else (0, 0)
    assume(all(out_len(n, kk, 1, pp, dd) >= 1 for n, kk, pp, dd in zip(size, k, p, d)))
    rng = np.random.default_rng(seed)
    strided = MaxPool2d(k, stride=s, padding=p, dilation=d)
    chain = Sequential(MaxPool2d(k, stride=1, padding=p, dilation=d), Downsample2d(s))
    assert_same_forward_backward(rng, strided, chain, rng.standard_normal((2, 3, *size)))


@given(seed=seeds, k=pairs(st.integers(1, 3), st.integers(1, 3)),
       s=pairs(st.integers(1, 3), st.integers(1, 3)),
       size=pairs(st.integers(1, 9), st.integers(1, 9)), padded=st.booleans(),
       count_include_pad=st.booleans())
def test_strided_avgpool2d_is_avgpool_then_downsample(seed, k, s, size, padded,
                                                      count_include_pad):
    p = tuple(kk // 2 for kk in k) if padded else (0, 0)
    assume(all(out_len(n, kk, 1, pp, 1) >= 1 for n, kk, pp in zip(size, k, p)))
    rng = np.random.default_rng(seed)
    strided = AvgPool2d(k, stride=s, padding=p, count_include_pad=count_include_pad)
    chain = Sequential(AvgPool2d(k, stride=1, padding=p, count_include_pad=count_include_pad),
                       Downsample2d(s))
    assert_same_forward_backward(rng, strided, chain, rng.standard_normal((2, 3, *size)))


@pytest.mark.parametrize("pool", [MaxPool1d, AvgPool1d])
@pytest.mark.parametrize("k, s, n", [(2, 2, 7), (3, 2, 10), (3, 3, 11), (1, 4, 6)])
def test_strided_pool1d_is_pool_then_downsample(rng, pool, k, s, n):
    strided = pool(k, stride=s)
    chain = Sequential(pool(k, stride=1), Downsample1d(s))
    assert_same_forward_backward(rng, strided, chain, rng.standard_normal((2, 3, n)))


# --------------------------------------------------------------------------- transposed conv
def flip_and_swap(weight, groups):
    """ConvTranspose weight (C_in, C_out/G, kH, kW) -> Conv weight (C_out, C_in/G, kH, kW).

    Within each group the in/out channel axes swap places and the kernel turns 180 degrees.
    """
    C_in, C_out_g = weight.shape[:2]
    k = weight.shape[2:]
    w = weight.reshape(groups, C_in // groups, C_out_g, *k).swapaxes(1, 2)
    w = w.reshape(groups * C_out_g, C_in // groups, *k)
    return w[(..., *[slice(None, None, -1)] * len(k))].copy()


def conv_transpose_by_upsampling(rng, layer, x):
    """``layer``'s output and input gradient, computed as Upsample(s) -> zeros -> Conv(stride 1).

    Upsample inserts s-1 zeros; output_padding adds that many zeros at the end; the
    convolution uses the flipped, channel-swapped weight and padding d(k-1) - p.
    """
    n = layer.n_dims
    up = (Upsample1d if n == 1 else Upsample2d)(layer.stride)
    conv_cls = Conv1d if n == 1 else Conv2d
    pad = [d * (k - 1) - p for k, d, p in zip(layer.kernel_size, layer.dilation, layer.padding)]
    conv = conv_cls(layer.in_channels, layer.out_channels, layer.kernel_size, padding=pad,
                    dilation=layer.dilation, groups=layer.groups, bias=layer.bias is not None,
                    dtype=np.float64)
    conv.weight.data[...] = flip_and_swap(layer.weight.data, layer.groups)
    if layer.bias is not None:
        conv.bias.data[...] = layer.bias.data
    u = up(x)
    extra = [(0, 0), (0, 0)] + [(0, op) for op in layer.output_padding]
    y = conv(np.pad(u, extra))
    g = rng.standard_normal(y.shape)
    grad_u = conv.backward(g)[(..., *[slice(0, m) for m in u.shape[2:]])]
    return y, g, up.backward(grad_u), conv


@given(seed=seeds, G=st.integers(1, 2), k=pairs(st.integers(1, 3), st.integers(1, 3)),
       s=pairs(st.integers(1, 3), st.integers(1, 3)), d=pairs(st.integers(1, 2), st.integers(1, 2)),
       p=pairs(st.integers(0, 2), st.integers(0, 2)), op_seed=pairs(st.integers(0, 2),
                                                                     st.integers(0, 2)),
       size=pairs(st.integers(1, 6), st.integers(1, 6)), bias=st.booleans())
def test_conv_transpose2d_is_upsample_then_conv(seed, G, k, s, d, p, op_seed, size, bias):
    assume(all(pp <= dd * (kk - 1) for kk, dd, pp in zip(k, d, p)))
    op = tuple(o % max(ss, dd) for o, ss, dd in zip(op_seed, s, d))
    assume(all((n - 1) * ss - 2 * pp + dd * (kk - 1) + o + 1 >= 1
               for n, kk, ss, pp, dd, o in zip(size, k, s, p, d, op)))
    rng = np.random.default_rng(seed)
    layer = ConvTranspose2d(2 * G, G, k, stride=s, padding=p, output_padding=op, groups=G,
                            bias=bias, dilation=d, rng=rng, dtype=np.float64)
    x = rng.standard_normal((2, 2 * G, *size))
    y = layer(x)
    y_chain, g, grad_x_chain, conv = conv_transpose_by_upsampling(rng, layer, x)
    np.testing.assert_allclose(y, y_chain, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(layer.backward(g), grad_x_chain, rtol=1e-10, atol=1e-10)
    # The weight gradients agree too, once flipped and swapped the same way.
    np.testing.assert_allclose(flip_and_swap(layer.weight.grad, G), conv.weight.grad,
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("s, p, op, d", [(2, 0, 0, 1), (3, 1, 2, 1), (2, 2, 1, 2), (1, 1, 1, 2)])
def test_conv_transpose1d_is_upsample_then_conv(rng, s, p, op, d):
    layer = ConvTranspose1d(2, 3, 3, stride=s, padding=p, output_padding=op, dilation=d,
                            rng=rng, dtype=np.float64)
    x = rng.standard_normal((2, 2, 5))
    y = layer(x)
    y_chain, g, grad_x_chain, _ = conv_transpose_by_upsampling(rng, layer, x)
    np.testing.assert_allclose(y, y_chain, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(layer.backward(g), grad_x_chain, rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------- homework variant
@pytest.mark.parametrize("kernel, factor, size", [(3, 2, (5, 6)), ((2, 3), (3, 2), (4, 5)),
                                                  ((3, 1), 2, (3, 7)), (2, 1, (4, 3))])
def test_homework_conv_transpose2d_is_pytorch_cropped(rng, kernel, factor, size):
    """Homework = PyTorch's ConvTranspose2d (flipped, swapped weight) minus k-1 on each side."""
    hw = homework_conv_transpose2d(3, 2, kernel, factor, rng=rng, dtype=np.float64)
    kH, kW = hw[1].kernel_size
    s = hw[0].upsampling_factor
    torch_style = ConvTranspose2d(3, 2, (kH, kW), stride=s, rng=rng, dtype=np.float64)
    torch_style.weight.data[...] = flip_and_swap(hw[1].weight.data, 1)
    torch_style.bias.data[...] = hw[1].bias.data
    x = rng.standard_normal((2, 3, *size))
    y_hw, y_torch = hw(x), torch_style(x)
    # Shapes: homework k(H-1) + 2 - kH, PyTorch (H-1)k + kH: 2(kH-1) rows more.
    assert y_hw.shape[2:] == tuple(ss * (n - 1) + 2 - kk for n, ss, kk in zip(size, s, (kH, kW)))
    assert y_torch.shape[2] - y_hw.shape[2] == 2 * (kH - 1)
    assert y_torch.shape[3] - y_hw.shape[3] == 2 * (kW - 1)
    # Values: the homework output is PyTorch's with kH-1 rows / kW-1 columns cut off each side.
    cropped = y_torch[:, :, kH - 1:y_torch.shape[2] - (kH - 1), kW - 1:y_torch.shape[3] - (kW - 1)]
    np.testing.assert_allclose(y_hw, cropped, rtol=1e-10, atol=1e-10)
    # Equivalently: PyTorch's layer with padding = kernel_size - 1 (crops exactly that much).
    padded = ConvTranspose2d(3, 2, (kH, kW), stride=s, padding=(kH - 1, kW - 1), dtype=np.float64)
    padded.load_state_dict(torch_style.state_dict())
    np.testing.assert_allclose(y_hw, padded(x), rtol=1e-10, atol=1e-10)


def test_homework_conv_transpose1d_is_pytorch_cropped(rng):
    hw = homework_conv_transpose1d(2, 3, 4, 3, rng=rng, dtype=np.float64)
    layer = ConvTranspose1d(2, 3, 4, stride=3, padding=3, dtype=np.float64)
    layer.weight.data[...] = flip_and_swap(hw[1].weight.data, 1)
    layer.bias.data[...] = hw[1].bias.data
    x = rng.standard_normal((2, 2, 6))
    np.testing.assert_allclose(hw(x), layer(x), rtol=1e-10, atol=1e-10)
    assert hw(x).shape == (2, 3, 3 * 5 + 2 - 4)


def test_homework_conv_transpose2d_against_torch(rng):
    torch = pytest.importorskip("torch")
    hw = homework_conv_transpose2d(3, 2, (3, 2), 2, rng=rng, dtype=np.float64)
    x = rng.standard_normal((1, 3, 4, 5))
    w_torch = torch.from_numpy(flip_and_swap(hw[1].weight.data, 1))
    y = torch.nn.functional.conv_transpose2d(torch.from_numpy(x), w_torch,
                                             torch.from_numpy(hw[1].bias.data), stride=2)
    np.testing.assert_allclose(hw(x), y.numpy()[:, :, 2:-2, 1:-1], rtol=1e-10, atol=1e-10)
