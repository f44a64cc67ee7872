"""ConvTranspose1d / ConvTranspose2d: loop reference, gradients, adjointness, init, errors."""

import math
import re

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from convnp import ConvTranspose1d, ConvTranspose2d, gradcheck, naive
from convnp.functional import (
    conv2d_forward,
    conv_transpose1d_backward,
    conv_transpose1d_forward,
    conv_transpose2d_backward,
    conv_transpose2d_forward,
)

seeds = st.integers(0, 2**32 - 1)


# --------------------------------------------------------------------------- reference
# The loop definitions live in convnp.naive, which shares no code with the kernels.
conv_transpose2d_ref = naive.conv_transpose2d_forward_naive


def conv2d_loop(x, w, stride, padding, dilation, groups):
    """Plain cross-correlation, for the adjoint test's other side."""
    return naive.conv2d_forward_naive(x, w, None, stride, padding, dilation, groups)


def test_reference_on_a_hand_computed_case():
    """Stride 2 puts the two kernel copies 2 apart: they overlap in one position."""
    x = np.array([[[[1.0, 2.0]]]])
    w = np.array([[[[1.0, 10.0, 100.0]]]])
    expected = [[[[1.0, 10.0, 102.0, 20.0, 200.0]]]]
    np.testing.assert_allclose(conv_transpose2d_ref(x, w, stride=(1, 2)), expected)
    np.testing.assert_allclose(conv_transpose2d_ref(x, w, stride=(1, 2), padding=(0, 1)),
                               [[[[10.0, 102.0, 20.0]]]])


# --------------------------------------------------------------------------- configurations
CONFIGS = [  # stride, padding, output_padding, groups, dilation, bias
    dict(),
    dict(stride=2),
    dict(stride=(2, 3), padding=(1, 0)),
    dict(stride=(3, 2), padding=1, output_padding=(2, 1)),
    dict(padding=(0, 2), dilation=(2, 3)),
    dict(stride=1, dilation=2, output_padding=1),            # output_padding >= stride
    dict(stride=(1, 2), dilation=(3, 1), output_padding=(2, 1), padding=(1, 1)),
    dict(groups=2),
    dict(groups=2, stride=2, padding=1, output_padding=1, dilation=(1, 2)),
    dict(bias=False, stride=(2, 1)),
]


def make_2d(rng, cfg, dtype=np.float64, cin=4, cout=6, k=(2, 3)):
    layer = ConvTranspose2d(cin, cout, k, **cfg, rng=rng, dtype=dtype)
    if layer.bias is not None:
        layer.bias.data[...] = rng.standard_normal(cout)
    return layer


@pytest.mark.parametrize("cfg", CONFIGS)
def test_conv_transpose2d_forward_matches_loop_reference(rng, cfg):
    layer = make_2d(rng, cfg)
    x = rng.standard_normal((2, 4, 3, 5))
    y = layer(x)
    expected = conv_transpose2d_ref(x, layer.weight.data, None if layer.bias is None else
                                    layer.bias.data, layer.stride, layer.padding,
                                    layer.output_padding, layer.groups, layer.dilation)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cfg", CONFIGS)
def test_conv_transpose2d_gradcheck(rng, cfg):
    layer = make_2d(rng, cfg, cin=2, cout=4, k=(2, 3))
    assert gradcheck(layer, rng.standard_normal((2, 2, 3, 2)))


CONFIGS_1D = [dict(), dict(stride=3, padding=1, output_padding=2), dict(dilation=2, padding=2),
              dict(stride=1, dilation=3, output_padding=2), dict(groups=2, stride=2, bias=False)]


@pytest.mark.parametrize("cfg", CONFIGS_1D)
def test_conv_transpose1d_forward_and_gradcheck(rng, cfg):
    layer = ConvTranspose1d(2, 4, 3, **cfg, rng=rng, dtype=np.float64)
    x = rng.standard_normal((2, 2, 5))
    y = layer(x)
    expected = conv_transpose2d_ref(
        x[:, :, None], layer.weight.data[:, :, None], None if layer.bias is None else
        layer.bias.data, (1, *layer.stride), (0, *layer.padding), (0, *layer.output_padding),
        layer.groups, (1, *layer.dilation))[:, :, 0]
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    assert gradcheck(layer, x)


def test_functional_1d_matches_2d(rng):
    x, w, b = rng.standard_normal((2, 4, 5)), rng.standard_normal((4, 3, 3)), np.ones(6)
    y, cache = conv_transpose1d_forward(x, w, b, 2, 1, 1, 2, 1)
    y2, cache2 = conv_transpose2d_forward(x[:, :, None], w[:, :, None], b, (1, 2), (0, 1),
                                          (0, 1), 2, (1, 1))
    np.testing.assert_allclose(y, y2[:, :, 0])
    g = rng.standard_normal(y.shape)
    for a, b2 in zip(conv_transpose1d_backward(g, cache),
                     conv_transpose2d_backward(g[:, :, None], cache2)):
        np.testing.assert_allclose(a, b2.reshape(a.shape))


# --------------------------------------------------------------------------- backward = conv
@pytest.mark.parametrize("cfg", [dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2)),
                                 dict(groups=2, dilation=(2, 1))])
def test_input_gradient_is_a_convolution_with_the_same_weight(rng, cfg):
    """The backward of a transposed convolution is the convolution forward."""
    layer = make_2d(rng, cfg)
    x = rng.standard_normal((2, 4, 3, 4))
    g = rng.standard_normal(layer(x).shape)
    conv, _ = conv2d_forward(g, layer.weight.data, None, layer.stride, layer.padding,
                             layer.dilation, layer.groups)
    np.testing.assert_allclose(layer.backward(g), conv[:, :, :3, :4], rtol=1e-12, atol=1e-12)


def test_input_grad_false_skips_dx_and_accumulates(rng):
    layer = make_2d(rng, dict(stride=2, padding=1))
    x = rng.standard_normal((2, 4, 3, 4))
    g = rng.standard_normal(layer(x).shape)
    layer.backward(g)
    w_grad, b_grad = layer.weight.grad.copy(), layer.bias.grad.copy()
    assert layer.backward(g, input_grad=False) is None
    np.testing.assert_allclose(layer.weight.grad, 2 * w_grad)
    np.testing.assert_allclose(layer.bias.grad, 2 * b_grad)
    np.testing.assert_allclose(b_grad, g.sum(axis=(0, 2, 3)))


# --------------------------------------------------------------------------- adjoint property
@st.composite
def conv_setup(draw):
    G = draw(st.integers(1, 2))
    cfg = dict(
        cin=G * draw(st.integers(1, 2)), cout=G * draw(st.integers(1, 2)), groups=G,
        kernel=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        stride=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        padding=(draw(st.integers(0, 2)), draw(st.integers(0, 2))),
        dilation=(draw(st.integers(1, 2)), draw(st.integers(1, 2))),
        size=(draw(st.integers(1, 7)), draw(st.integers(1, 7))),
    )
    return cfg


@given(seed=seeds, cfg=conv_setup())
def test_conv_transpose_is_the_adjoint_of_conv(seed, cfg):
    """<conv(x), y> = <x, conv_transpose(y)> with the same weight."""
    rng = np.random.default_rng(seed)
    kH, kW = cfg["kernel"]
    s, p, d = cfg["stride"], cfg["padding"], cfg["dilation"]
    out = [(n + 2 * pp - dd * (k - 1) - 1) // ss + 1
           for n, k, ss, pp, dd in zip(cfg["size"], (kH, kW), s, p, d)]
    assume(min(out) >= 1)
    # output_padding recovers the input size that the floor in conv's formula lost.
    op = tuple((n + 2 * pp - dd * (k - 1) - 1) % ss
               for n, k, ss, pp, dd in zip(cfg["size"], (kH, kW), s, p, d))
    w = rng.standard_normal((cfg["cout"], cfg["cin"] // cfg["groups"], kH, kW))
    x = rng.standard_normal((2, cfg["cin"], *cfg["size"]))
    y = rng.standard_normal((2, cfg["cout"], *out))
    conv_x = conv2d_loop(x, w, s, p, d, cfg["groups"])
    convt_y, _ = conv_transpose2d_forward(y, w, None, s, p, op, cfg["groups"], d)
    assert conv_x.shape == y.shape and convt_y.shape == x.shape
    np.testing.assert_allclose(np.sum(conv_x * y), np.sum(x * convt_y), rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------- init, repr, dtype
def test_default_init_matches_pytorch_fan_in(rng):
    """PyTorch's fan_in for a (C_in, C_out/G, k) weight is C_out/G * prod(k), not C_in*..."""
    layer = ConvTranspose2d(64, 6, (2, 3), groups=2, rng=rng)
    bound = 1 / math.sqrt(6 // 2 * 2 * 3)
    w, b = layer.weight.data, layer.bias.data
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert np.abs(b).max() <= bound
    assert w.dtype == b.dtype == np.float32
    assert w.shape == (64, 3, 2, 3) and b.shape == (6,)


def test_same_rng_same_weights():
    a = ConvTranspose1d(3, 4, 5, rng=np.random.default_rng(7))
    b = ConvTranspose1d(3, 4, 5, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a.weight.data, b.weight.data)


def test_float32_forward_and_backward_keep_dtype(rng):
    layer = ConvTranspose2d(3, 2, 3, stride=2, rng=rng)
    y = layer(rng.standard_normal((1, 3, 4, 5)).astype(np.float32))
    assert y.dtype == np.float32 and y.shape == (1, 2, 9, 11)
    assert layer.backward(np.ones_like(y)).dtype == np.float32
    assert layer.weight.grad.dtype == np.float32


def test_repr_shows_non_defaults():
    assert repr(ConvTranspose2d(4, 2, 3)) == "ConvTranspose2d(4, 2, kernel_size=(3, 3))"
    assert repr(ConvTranspose1d(4, 2, 3, stride=2, padding=1, output_padding=1, groups=2,
                                bias=False, dilation=2, dtype=np.float64)) == (
        "ConvTranspose1d(4, 2, kernel_size=(3,), stride=(2,), padding=(1,), "
        "output_padding=(1,), groups=2, dilation=(2,), bias=False, dtype=float64)")


def test_state_dict_keys_and_shapes():
    layer = ConvTranspose2d(4, 6, (2, 3), groups=2)
    assert {k: v.shape for k, v in layer.state_dict().items()} == {
        "weight": (4, 3, 2, 3), "bias": (6,)}


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("kwargs, message", [
    (dict(stride=2, output_padding=2),
     "ConvTranspose2d: output_padding must be smaller than either stride or dilation .* "
     "output_padding=(2, 2), stride=(2, 2), dilation=(1, 1)"),
    (dict(stride=(2, 1), dilation=(1, 3), output_padding=(1, 3)),
     "ConvTranspose2d: output_padding must be smaller .* output_padding=(1, 3), stride=(2, 1), "
     "dilation=(1, 3)"),
    (dict(output_padding=1), "ConvTranspose2d: output_padding must be smaller"),
    (dict(groups=3), "ConvTranspose2d: in_channels (4) and out_channels (6) must both be "
                     "divisible by groups (3)"),
    (dict(kernel_size=0), "ConvTranspose2d: kernel_size must be >= 1, got (0, 0)"),
    (dict(stride=(1, 0)), "ConvTranspose2d: stride must be >= 1, got (1, 0)"),
    (dict(padding=-1), "ConvTranspose2d: padding must be >= 0, got (-1, -1)"),
])
def test_bad_arguments(kwargs, message):
    args = dict(in_channels=4, out_channels=6, kernel_size=3) | kwargs
    with pytest.raises(ValueError, match=re.escape(message).replace(r"\.\*", ".*")):
        ConvTranspose2d(**args)


@pytest.mark.parametrize("kwargs, message", [
    (dict(kernel_size=1.5), "ConvTranspose2d: kernel_size must be an int or 2 ints, got 1.5"),
    (dict(in_channels=4.0), "ConvTranspose2d: in_channels must be an int, got float 4.0"),
    (dict(groups=True), "ConvTranspose2d: groups must be an int, got bool True"),
    (dict(bias=1), "ConvTranspose2d: bias must be a bool, got int 1"),
    (dict(output_padding=(1.0, 0)), "ConvTranspose2d: output_padding must be an int or 2 ints"),
    (dict(padding="same"), "ConvTranspose2d: padding must be an int or 2 ints, got 'same'"),
    (dict(dtype=np.int32), "ConvTranspose2d: dtype must be a floating dtype"),
    (dict(rng=0), "ConvTranspose2d: rng must be a np.random.Generator or None, got int 0"),
])
def test_wrong_argument_types(kwargs, message):
    args = dict(in_channels=4, out_channels=6, kernel_size=3) | kwargs
    with pytest.raises(TypeError, match=re.escape(message)):
        ConvTranspose2d(**args)


def test_bad_output_padding_1d_names_layer():
    with pytest.raises(ValueError, match=r"ConvTranspose1d: output_padding must be smaller .* "
                                         r"output_padding=\(3,\), stride=\(3,\)"):
        ConvTranspose1d(2, 2, 3, stride=3, output_padding=3)


def test_bad_inputs(rng):
    layer = ConvTranspose2d(4, 6, 3, rng=rng)
    with pytest.raises(ValueError, match=r"ConvTranspose2d: expected a 4-D input .* got shape "
                                         r"\(2, 4, 5\)"):
        layer(np.zeros((2, 4, 5), np.float32))
    with pytest.raises(ValueError, match=r"ConvTranspose2d: expected 4 input channels .* got "
                                         r"input of shape \(2, 3, 5, 5\)"):
        layer(np.zeros((2, 3, 5, 5), np.float32))
    with pytest.raises(ValueError, match=r"ConvTranspose2d: input dtype float64 does not match "
                                         r"the layer's dtype float32"):
        layer(np.zeros((2, 4, 5, 5)))
    with pytest.raises(ValueError, match=r"ConvTranspose1d: expected a 3-D input"):
        ConvTranspose1d(4, 6, 3)(np.zeros((2, 4, 5, 5), np.float32))


def test_empty_output_is_rejected(rng):
    layer = ConvTranspose2d(1, 1, 2, padding=(2, 0), rng=rng)
    with pytest.raises(ValueError, match=r"ConvTranspose2d: output size \(-2, 3\) is empty for "
                                         r"input of shape \(1, 1, 1, 2\)"):
        layer(np.zeros((1, 1, 1, 2), np.float32))


def test_functional_rejects_bad_output_padding():
    with pytest.raises(ValueError, match="conv_transpose2d_forward: output_padding along W must "
                                         "be smaller than max.* = 2, got 2"):
        conv_transpose2d_forward(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2)), None, (1, 2),
                                 (0, 0), (0, 2))


def test_backward_checks_gradient_shape_and_order(rng):
    layer = ConvTranspose2d(2, 3, 3, rng=rng, dtype=np.float64)
    with pytest.raises(RuntimeError, match="ConvTranspose2d.backward was called before forward"):
        layer.backward(np.zeros((1, 3, 5, 5)))
    layer(np.zeros((1, 2, 3, 4)))
    with pytest.raises(ValueError, match=r"ConvTranspose2d.backward: expected a gradient of the "
                                         r"output's shape \(1, 3, 5, 6\), got \(1, 3, 5, 5\)"):
        layer.backward(np.zeros((1, 3, 5, 5)))
