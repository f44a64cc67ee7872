"""Three ways to convolve, one answer: naive loops, np.tensordot and im2col.

For every option (stride, padding, padding modes, dilation, groups, bias) on non-square
inputs, in float64: the forward outputs and all three gradients of ``convnp.naive``,
``algorithm='tensordot'`` and ``algorithm='im2col'`` agree to 1e-10, and the tensordot
layers match PyTorch.
"""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from reference import out_size_ref

from convnp import Conv1d, Conv2d, naive
from convnp.functional import (
    ALGORITHMS,
    conv1d_backward,
    conv1d_forward,
    conv2d_backward,
    conv2d_forward,
)

TOL = {"rtol": 1e-10, "atol": 1e-10}


@st.composite
def conv2d_case(draw):
    """Random functional conv2d arguments; H and W drawn independently."""
    G = draw(st.integers(1, 3))
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    N, H, W = draw(st.integers(1, 2)), draw(st.integers(1, 9)), draw(st.integers(1, 9))
    out = [out_size_ref(n, *args) for n, *args in zip((H, W), k, s, p, d)]
    assume(min(out) >= 1)
    C_in, C_out = G * draw(st.integers(1, 2)), G * draw(st.integers(1, 2))
    return (N, C_in, H, W), (C_out, C_in // G, *k), s, p, d, G, draw(st.booleans())


@given(conv2d_case(), st.integers(0, 2**32 - 1))
def test_conv2d_three_algorithms_agree(case, seed):
    x_shape, w_shape, s, p, d, G, has_bias = case
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0]) if has_bias else None
    y_ref = naive.conv2d_forward_naive(x, w, b, s, p, d, G)
    g = rng.standard_normal(y_ref.shape)
    grads_ref = naive.conv2d_backward_naive(g, x, w, b, s, p, d, G)
    for algorithm in ALGORITHMS:
        y, cache = conv2d_forward(x, w, b, s, p, d, G, algorithm)
        np.testing.assert_allclose(y, y_ref, **TOL)
        for got, want in zip(conv2d_backward(g, cache), grads_ref):
            if want is None:
                assert got is None
            else:
                np.testing.assert_allclose(got, want, **TOL)


@given(st.integers(1, 3), st.integers(1, 12), st.integers(1, 4), st.integers(1, 3),
       st.integers(0, 3), st.integers(1, 3), st.booleans(), st.integers(0, 2**32 - 1))
def test_conv1d_three_algorithms_agree(G, L, k, s, p, d, has_bias, seed):
    assume(out_size_ref(L, k, s, p, d) >= 1)
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((2, 2 * G, L)), rng.standard_normal((G, 2, k))
    b = rng.standard_normal(G) if has_bias else None
    y_ref = naive.conv1d_forward_naive(x, w, b, s, p, d, G)
    g = rng.standard_normal(y_ref.shape)
    grads_ref = naive.conv1d_backward_naive(g, x, w, b, s, p, d, G)
    for algorithm in ALGORITHMS:
        y, cache = conv1d_forward(x, w, b, s, p, d, G, algorithm)
        np.testing.assert_allclose(y, y_ref, **TOL)
        for got, want in zip(conv1d_backward(g, cache), grads_ref):
            if want is not None:
                np.testing.assert_allclose(got, want, **TOL)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [(1, 2), "same"])
def test_layer_algorithms_agree_with_padding_modes(mode, padding, rng):
    x = rng.standard_normal((2, 4, 5, 7))
    g = None
    results = []
    for algorithm in ALGORITHMS:
        conv = Conv2d(4, 6, (2, 3), padding=padding, padding_mode=mode, groups=2,
                      dilation=(2, 1), algorithm=algorithm, rng=np.random.default_rng(1),
                      dtype=np.float64)
        y = conv(x)
        g = rng.standard_normal(y.shape) if g is None else g
        grad_x = conv.backward(g)
        results.append((y, grad_x, conv.weight.grad, conv.bias.grad))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, **TOL)


def test_input_grad_false_skips_grad_x_for_tensordot(rng):
    conv = Conv1d(2, 3, 3, algorithm="tensordot", rng=rng, dtype=np.float64)
    y = conv(rng.standard_normal((2, 2, 9)))
    assert conv.backward(np.ones_like(y), input_grad=False) is None
    assert np.abs(conv.weight.grad).sum() > 0


def test_unknown_algorithm_is_refused(rng):
    with pytest.raises(ValueError, match="Conv2d: algorithm must be one of 'im2col', "
                                         "'tensordot', got 'fft'"):
        Conv2d(1, 1, 3, algorithm="fft")
    with pytest.raises(TypeError, match="Conv1d: algorithm must be one of"):
        Conv1d(1, 1, 3, algorithm=None)
    with pytest.raises(ValueError, match="conv2d_forward: algorithm must be one of"):
        conv2d_forward(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2)), None, algorithm="loops")


def test_repr_shows_a_non_default_algorithm():
    assert repr(Conv2d(1, 2, 3, algorithm="tensordot")) == (
        "Conv2d(1, 2, kernel_size=(3, 3), algorithm='tensordot')")
    assert "algorithm" not in repr(Conv2d(1, 2, 3))


TORCH_CASES = [
    {"stride": (2, 1), "padding": (1, 2), "dilation": (1, 2)},
    {"padding": "same", "padding_mode": "reflect", "kernel_size": (2, 3)},
    {"groups": 2, "padding": 1, "padding_mode": "circular"},
    {"stride": 3, "bias": False, "padding_mode": "replicate", "padding": (2, 1)},
]


@pytest.mark.parametrize("options", TORCH_CASES, ids=str)
def test_tensordot_layers_match_torch(options, rng):
    torch = pytest.importorskip("torch")
    cfg = {"in_channels": 4, "out_channels": 6, "kernel_size": 3, **options}
    ours = Conv2d(**cfg, algorithm="tensordot", rng=rng, dtype=np.float64)
    theirs = torch.nn.Conv2d(**cfg).double()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((2, 4, 7, 10))
    xt = torch.from_numpy(x).requires_grad_(True)
    yt = theirs(xt)
    y = ours(x)
    np.testing.assert_allclose(y, yt.detach().numpy(), **TOL)
    g = rng.standard_normal(y.shape)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(ours.backward(g), xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), **TOL)
    if ours.bias is not None:
        np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), **TOL)


def test_tensordot_conv1d_matches_torch(rng):
    torch = pytest.importorskip("torch")
    ours = Conv1d(4, 2, 4, stride=2, padding=3, dilation=2, groups=2, algorithm="tensordot",
                  rng=rng, dtype=np.float64)
    theirs = torch.nn.Conv1d(4, 2, 4, stride=2, padding=3, dilation=2, groups=2).double()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((3, 4, 13))
    xt = torch.from_numpy(x).requires_grad_(True)
    yt = theirs(xt)
    np.testing.assert_allclose(ours(x), yt.detach().numpy(), **TOL)
    g = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(ours.backward(g), xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), **TOL)
