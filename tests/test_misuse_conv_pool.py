"""Misuse of the convolution, transposed-convolution and pooling layers (issue #11).

Constructor arguments of the wrong type raise TypeError and out of range ValueError,
naming the class and the argument; empty batches run forward and backward; a dilated
max-pool window that lies wholly in the padding gives PyTorch's -inf.
"""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from convnp import (
    AvgPool1d,
    AvgPool2d,
    Conv1d,
    Conv2d,
    ConvTranspose1d,
    ConvTranspose2d,
    MaxPool1d,
    MaxPool2d,
)

CONVS = [Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d]
POOLS = [MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d]


@pytest.mark.parametrize("Layer", CONVS)
@pytest.mark.parametrize("args, kwargs, error, message", [
    ((2.0, 4, 3), {}, TypeError, "in_channels must be an int, got float 2.0"),
    ((None, 4, 3), {}, TypeError, "in_channels must be an int, got NoneType None"),
    ((2, True, 3), {}, TypeError, "out_channels must be an int, got bool True"),
    ((2, 4, 3), {"groups": True}, TypeError, "groups must be an int, got bool True"),
    ((2, 4, 3), {"groups": 2.0}, TypeError, "groups must be an int, got float 2.0"),
    ((2, 4, 3), {"bias": "yes"}, TypeError, "bias must be a bool, got str 'yes'"),
    ((2, 4, 3), {"dtype": np.int32}, TypeError, "dtype must be a floating dtype"),
    ((2, 4, 3), {"dtype": bool}, TypeError, "dtype must be a floating dtype"),
    ((2, 4, 3), {"rng": 0}, TypeError, "rng must be a np.random.Generator or None"),
    ((2, 4, 3.0), {}, TypeError, "kernel_size must be an int or"),
    ((2, 4, 3), {"stride": None}, TypeError, "stride must be an int or"),
    ((2, 4, 3), {"dilation": "2"}, TypeError, "dilation must be an int or"),
    ((0, 4, 3), {}, ValueError, "in_channels must be >= 1, got 0"),
    ((2, 4, 3), {"groups": 0}, ValueError, "groups must be >= 1, got 0"),
    ((2, 4, 0), {}, ValueError, "kernel_size must be >= 1"),
])
def test_conv_constructor_arguments(Layer, args, kwargs, error, message):
    with pytest.raises(error, match=f"{Layer.__name__}: {message}"):
        Layer(*args, **kwargs)


@pytest.mark.parametrize("Layer", [Conv1d, Conv2d])
def test_conv_padding_mode_and_algorithm_types(Layer):
    with pytest.raises(TypeError, match=f"{Layer.__name__}: padding_mode must be one of"):
        Layer(2, 4, 3, padding_mode=None)
    with pytest.raises(TypeError, match=f"{Layer.__name__}: padding must be an int or"):
        Layer(2, 4, 3, padding=1.5)


@pytest.mark.parametrize("Layer", POOLS)
@pytest.mark.parametrize("args, kwargs, error, message", [
    ((2.5,), {}, TypeError, "kernel_size must be an int or"),
    ((True,), {}, TypeError, "kernel_size must be an int or"),
    ((2,), {"stride": 1.0}, TypeError, "stride must be an int or"),
    ((2,), {"padding": None}, TypeError, "padding must be an int or"),
    ((2,), {"ceil_mode": 1}, TypeError, "ceil_mode must be a bool, got int 1"),
    ((0,), {}, ValueError, "kernel_size must be >= 1"),
    ((2,), {"stride": 0}, ValueError, "stride must be >= 1"),
    ((2,), {"padding": 2}, ValueError, "padding must be between 0 and half the kernel size"),
])
def test_pool_constructor_arguments(Layer, args, kwargs, error, message):
    with pytest.raises(error, match=f"{Layer.__name__}: {message}"):
        Layer(*args, **kwargs)


@pytest.mark.parametrize("Layer", [AvgPool1d, AvgPool2d])
def test_avg_pool_count_include_pad_must_be_a_bool(Layer):
    with pytest.raises(TypeError, match=f"{Layer.__name__}: count_include_pad must be a bool"):
        Layer(2, count_include_pad="no")


bad_ints = st.one_of(st.floats(allow_nan=True), st.booleans(), st.none(), st.text(max_size=2),
                     st.lists(st.floats(), min_size=2, max_size=2).map(tuple))


@given(st.sampled_from(CONVS), st.sampled_from(["in_channels", "out_channels", "groups"]),
       bad_ints)
def test_any_non_int_channel_or_group_count_is_a_type_error(Layer, name, value):
    args = {"in_channels": 2, "out_channels": 4, "kernel_size": 3, name: value}
    with pytest.raises(TypeError, match=f"{Layer.__name__}: {name} must be an int"):
        Layer(**args)


@given(st.sampled_from(CONVS + POOLS), st.sampled_from(["kernel_size", "stride", "dilation"]),
       bad_ints)
def test_any_non_int_window_argument_is_a_type_error(Layer, name, value):
    assume(not (Layer in POOLS and name == "stride" and value is None))  # None: the kernel size
    if name == "dilation" and Layer in (AvgPool1d, AvgPool2d):
        name = "padding"
    args = {"kernel_size": 2, name: value}
    if Layer in CONVS:
        args |= {"in_channels": 2, "out_channels": 4}
    with pytest.raises(TypeError, match=f"{Layer.__name__}: {name} must be an int or"):
        Layer(**args)


@pytest.mark.parametrize("layer", [
    Conv2d(2, 3, 3, padding=1), Conv2d(2, 3, 3, algorithm="tensordot"), Conv1d(2, 3, 3),
    Conv1d(2, 3, 3, padding=1, padding_mode="reflect", algorithm="tensordot"),
    ConvTranspose2d(2, 3, 3, stride=2), ConvTranspose1d(2, 4, 3, groups=2),
    MaxPool2d(2), AvgPool2d(2, padding=1), MaxPool1d(3, stride=1), AvgPool1d(2),
], ids=repr)
def test_an_empty_batch_runs_forward_and_backward(layer):
    x = np.zeros((0, 2, 5, 6) if "2d" in type(layer).__name__ else (0, 2, 5), np.float32)
    y = layer(x)
    assert y.shape[0] == 0
    assert layer.backward(np.zeros_like(y)).shape == x.shape


@pytest.mark.parametrize("Pool, shape", [(MaxPool1d, (1, 1, 1)), (MaxPool2d, (1, 1, 1, 1))])
def test_a_window_wholly_in_the_padding_gives_minus_inf_and_no_gradient(Pool, shape):
    """Kernel 2, padding 1, dilation 2 on one pixel: both taps are padding (PyTorch: -inf)."""
    pool = Pool(2, stride=1, padding=1, dilation=2)
    y = pool(np.full(shape, 3.0))
    assert np.all(y == -np.inf)
    assert np.all(pool.backward(np.ones_like(y)) == 0)


def test_minus_inf_window_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.array([[[3.0]]])
    xt = torch.from_numpy(x).requires_grad_(True)
    yt = torch.nn.MaxPool1d(2, stride=1, padding=1, dilation=2)(xt)
    yt.sum().backward()
    pool = MaxPool1d(2, stride=1, padding=1, dilation=2)
    y = pool(x)
    np.testing.assert_array_equal(y, yt.detach().numpy())
    np.testing.assert_array_equal(pool.backward(np.ones_like(y)), xt.grad.numpy())
