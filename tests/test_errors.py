"""Bad input raises a ValueError that names the layer, the expected and the actual value."""

import numpy as np
import pytest

from convnp import (
    GELU,
    AvgPool1d,
    AvgPool2d,
    BatchNorm2d,
    Conv1d,
    Conv2d,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool1d,
    MaxPool2d,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)

f32 = np.float32


# --------------------------------------------------------------------------- forward inputs
@pytest.mark.parametrize("layer, shape, message", [
    (lambda: Conv2d(3, 4, 3), (2, 3, 5),
     r"Conv2d: expected a 4-D input \(N, C, H, W\), got shape \(2, 3, 5\)"),
    (lambda: Conv1d(3, 4, 3), (2, 3, 5, 6),
     r"Conv1d: expected a 3-D input \(N, C, L\), got shape \(2, 3, 5, 6\)"),
    (lambda: MaxPool2d(2), (3, 4, 5),
     r"MaxPool2d: expected a 4-D input \(N, C, H, W\), got shape \(3, 4, 5\)"),
    (lambda: AvgPool2d(2), (1, 2, 3, 4, 5),
     r"AvgPool2d: expected a 4-D input \(N, C, H, W\), got shape \(1, 2, 3, 4, 5\)"),
    (lambda: MaxPool1d(2), (2, 3), r"MaxPool1d: expected a 3-D input \(N, C, L\), got shape "
                                   r"\(2, 3\)"),
    (lambda: AvgPool1d(2), (2, 3, 4, 5), r"AvgPool1d: expected a 3-D input \(N, C, L\), got "
                                         r"shape \(2, 3, 4, 5\)"),
    (lambda: Linear(4, 2), (3, 5), r"Linear: expected input of shape \(\*, 4\), got \(3, 5\)"),
    (lambda: Linear(4, 2), (), r"Linear: expected input of shape \(\*, 4\), got \(\)"),
])
def test_wrong_ndim_or_feature_count(layer, shape, message):
    with pytest.raises(ValueError, match=message):
        layer()(np.zeros(shape, f32))


@pytest.mark.parametrize("layer, shape, hint", [
    (lambda: Conv2d(1, 6, 5), (1, 28, 32), r"x\[None\] has shape \(1, 1, 28, 32\)"),
    (lambda: MaxPool1d(2), (3, 8), r"x\[None\] has shape \(1, 3, 8\)"),
    (lambda: BatchNorm2d(3), (3, 5, 4), r"x\[None\] has shape \(1, 3, 5, 4\)"),
])
def test_one_example_without_batch_axis_gets_a_hint(layer, shape, hint):
    with pytest.raises(ValueError, match=hint):
        layer()(np.zeros(shape, f32))
    with pytest.raises(ValueError) as too_many:  # no hint when an axis is too many
        layer()(np.zeros((1, 1, *shape), f32))
    assert "x[None]" not in str(too_many.value)


@pytest.mark.parametrize("layer, shape, message", [
    (lambda: Conv2d(3, 4, 3), (2, 4, 5, 6),
     r"Conv2d: expected 3 input channels \(x.shape\[1\]\), got input of shape \(2, 4, 5, 6\)"),
    (lambda: Conv1d(2, 4, 3, groups=2), (2, 1, 7),
     r"Conv1d: expected 2 input channels \(x.shape\[1\]\), got input of shape \(2, 1, 7\)"),
])
def test_wrong_channel_count(layer, shape, message):
    with pytest.raises(ValueError, match=message):
        layer()(np.zeros(shape, f32))


@pytest.mark.parametrize("layer, shape, message", [
    (lambda: Conv2d(1, 1, (3, 5)), (1, 1, 6, 4),
     r"Conv2d: kernel of effective size 5 is larger than the padded input \(4 \+ 0 padding\), "
     r"input shape \(1, 1, 6, 4\)"),
    (lambda: Conv2d(1, 1, 3, padding=(0, 1), dilation=(1, 3)), (1, 1, 6, 4),
     r"Conv2d: kernel of effective size 7 is larger than the padded input \(4 \+ 2 padding\)"),
    (lambda: Conv1d(1, 1, 3, dilation=3), (1, 1, 6),
     r"Conv1d: kernel of effective size 7 is larger than the padded input \(6 \+ 0 padding\), "
     r"input shape \(1, 1, 6\)"),
    (lambda: MaxPool2d((3, 2)), (1, 1, 2, 5),
     r"MaxPool2d: kernel of effective size 3 is larger than the padded input \(2 \+ 0 "
     r"padding\), input shape \(1, 1, 2, 5\)"),
    (lambda: AvgPool1d(5, padding=1), (1, 1, 2),
     r"AvgPool1d: kernel of effective size 5 is larger than the padded input \(2 \+ 2 "
     r"padding\)"),
])
def test_kernel_larger_than_padded_input(layer, shape, message):
    with pytest.raises(ValueError, match=message):
        layer()(np.zeros(shape, f32))


@pytest.mark.parametrize("Conv, mode, padding, message", [
    (Conv2d, "reflect", 4, r"Conv2d: reflect padding 4 must be smaller than the input size 4"),
    (Conv1d, "circular", 7, r"Conv1d: circular padding 7 must not exceed the input size 6"),
])
def test_padding_too_large_for_mode(Conv, mode, padding, message):
    x = np.zeros((1, 1, 4, 6) if Conv is Conv2d else (1, 1, 6), f32)
    with pytest.raises(ValueError, match=message):
        Conv(1, 1, 3, padding=padding, padding_mode=mode)(x)


def test_same_padding_too_large_for_reflect():
    with pytest.raises(ValueError, match=r"Conv1d: reflect padding 4 must be smaller than the "
                                         r"input size 3"):
        Conv1d(1, 1, 9, padding="same", padding_mode="reflect")(np.zeros((1, 1, 3), f32))


def test_dtype_mismatch_is_an_error_not_a_cast():
    with pytest.raises(ValueError, match="Conv2d: input dtype float64 does not match the "
                                         "layer's dtype float32"):
        Conv2d(1, 1, 3)(np.zeros((1, 1, 4, 5)))
    with pytest.raises(ValueError, match="Linear: input dtype float32 does not match the "
                                         "layer's dtype float64"):
        Linear(3, 2, dtype=np.float64)(np.zeros((2, 3), f32))


# --------------------------------------------------------------------------- constructor args
@pytest.mark.parametrize("make, message", [
    (lambda: Conv2d(3, 4, 3, groups=2),
     r"Conv2d: in_channels \(3\) and out_channels \(4\) must both be divisible by groups "
     r"\(2\)"),
    (lambda: Conv1d(4, 6, 3, groups=4),
     r"Conv1d: in_channels \(4\) and out_channels \(6\) must both be divisible by groups "
     r"\(4\)"),
    (lambda: Conv2d(2, 2, 3, groups=0), r"Conv2d: groups must be >= 1, got 0"),
    (lambda: Conv2d(2, 2, 3, padding_mode="mirror"),
     r"Conv2d: padding_mode must be one of \('zeros', 'reflect', 'replicate', 'circular'\), "
     r"got 'mirror'"),
    (lambda: Conv1d(2, 2, 3, padding_mode="zero"), r"Conv1d: padding_mode .*got 'zero'"),
    (lambda: Conv2d(2, 2, 3, stride=(1, 2), padding="same"),
     r"Conv2d: padding='same' needs stride 1, got stride \(1, 2\)"),
    (lambda: Conv1d(2, 2, 3, stride=2, padding="same"),
     r"Conv1d: padding='same' needs stride 1, got stride \(2,\)"),
    (lambda: Conv2d(2, 2, 3, padding="full"),
     r"Conv2d: padding must be 'valid', 'same', an int or 2 ints, got 'full'"),
    (lambda: Conv2d(2, 2, (3, 3, 3)), r"Conv2d: kernel_size must be an int or 2 ints, got "
                                      r"\(3, 3, 3\)"),
    (lambda: Conv2d(2, 2, 3, stride=0), r"Conv2d: stride must be >= 1, got \(0, 0\)"),
    (lambda: Conv1d(2, 2, 3, padding=-1), r"Conv1d: padding must be >= 0, got \(-1,\)"),
    (lambda: Conv2d(2, 2, 3, dilation=(1, 0)), r"Conv2d: dilation must be >= 1, got \(1, 0\)"),
    (lambda: MaxPool2d(2, padding=2),
     r"MaxPool2d: padding must be between 0 and half the kernel size \(1\), got "
     r"padding=\(2, 2\)"),
    (lambda: AvgPool1d(3, padding=2), r"AvgPool1d: padding must be between 0 and half .*\(1\), "
                                      r"got padding=\(2,\)"),
    (lambda: MaxPool1d(2, stride=0), r"MaxPool1d: stride must be >= 1, got \(0,\)"),
    (lambda: AvgPool2d((2, 2, 2)), r"AvgPool2d: kernel_size must be an int or 2 ints, got "
                                   r"\(2, 2, 2\)"),
    (lambda: Linear(0, 3), r"Linear: in_features must be >= 1, got 0"),
    (lambda: GELU("erf"), r"GELU: approximate must be one of 'none', 'tanh', got 'erf'"),
    (lambda: Dropout(1.5), r"Dropout: p must be in \[0, 1\], got 1.5"),
    (lambda: Dropout(-0.1), r"Dropout: p must be in \[0, 1\], got -0.1"),
])
def test_bad_constructor_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_flatten_start_after_end():
    with pytest.raises(ValueError, match=r"Flatten: start_dim 2 comes after end_dim 1 for an "
                                         r"input of shape \(2, 3, 4, 5\)"):
        Flatten(2, 1)(np.zeros((2, 3, 4, 5)))


def test_flatten_dim_out_of_range():
    with pytest.raises(ValueError, match=r"Flatten: .*4.*\(2, 3, 4, 5\)"):
        Flatten(start_dim=4)(np.zeros((2, 3, 4, 5)))


# --------------------------------------------------------------------------- backward shapes
def rng_layers():
    rng = np.random.default_rng(0)
    return [
        (Conv2d(2, 3, (2, 3), rng=rng), (2, 2, 4, 6)), (Conv1d(2, 3, 3, rng=rng), (2, 2, 7)),
        (MaxPool2d(2), (1, 2, 4, 6)), (MaxPool1d(2), (1, 2, 6)), (AvgPool2d((1, 2)),
                                                                 (1, 2, 4, 6)),
        (AvgPool1d(3), (1, 2, 6)), (Linear(6, 4, rng=rng), (3, 6)), (Flatten(), (2, 3, 4)),
        (ReLU(), (2, 3)), (LeakyReLU(), (2, 3)), (Sigmoid(), (2, 3)), (Tanh(), (2, 3)),
        (GELU(), (2, 3)), (Softmax(1), (2, 3)), (LogSoftmax(0), (2, 3)), (Identity(), (2, 3)),
        (Dropout(0.5, rng=rng), (2, 3)), (Dropout(0.5, rng=rng).eval(), (2, 3)),
    ]


@pytest.mark.parametrize("index", range(len(rng_layers())),
                         ids=[repr(layer).split("(")[0] for layer, _ in rng_layers()])
def test_backward_rejects_gradient_of_wrong_shape(index):
    layer, shape = rng_layers()[index]
    y = layer(np.ones(shape, f32))
    wrong = y.shape[:-1] + (y.shape[-1] + 1,)
    name = type(layer).__name__
    expected = str(y.shape).replace("(", r"\(").replace(")", r"\)")
    got = str(wrong).replace("(", r"\(").replace(")", r"\)")
    with pytest.raises(ValueError, match=f"{name}.backward: expected a gradient of the "
                                         f"output's shape {expected}, got {got}"):
        layer.backward(np.ones(wrong, f32))


@pytest.mark.parametrize("grad, got", [
    (0.7, r"got float: the loss value itself, not its gradient\? pass loss_fn.backward\(\)"),
    (np.float32(0.7), r"got float32: the loss value itself"),
    ([[1.0, 2.0]], r"got list$"),
    (None, r"got NoneType$"),
])
def test_backward_rejects_a_gradient_that_is_not_an_array(grad, got):
    net = Sequential(Linear(3, 2, rng=np.random.default_rng(0)), ReLU())
    net(np.ones((1, 3), f32))
    with pytest.raises(TypeError, match=r"ReLU.backward: expected a NumPy array dL/dy of the "
                                        r"output's shape \(1, 2\), " + got):
        net.backward(grad)


def test_pool_padding_limited_to_half_the_kernel_as_in_pytorch():
    with pytest.raises(ValueError, match=r"MaxPool2d: padding must be between 0 and half the "
                                         r"kernel size \(1\), got padding=\(2, 2\)"):
        MaxPool2d(3, padding=2, dilation=2)
    with pytest.raises(ValueError, match=r"AvgPool1d: .*half the kernel size \(1\).*\(2,\)"):
        AvgPool1d(2, padding=2)


def test_softmax_dim_out_of_range_names_the_layer():
    with pytest.raises(ValueError, match=r"LogSoftmax: dim 3 is out of range for an input of "
                                         r"shape \(2, 5\)"):
        LogSoftmax(dim=3)(np.zeros((2, 5)))


def test_a_wrong_image_size_reaching_linear_gets_a_hint():
    from convnp.models.lenet import lenet5

    with pytest.raises(ValueError, match=r"Linear: expected input of shape \(\*, 400\), got "
                                         r"\(2, 576\); after a Flatten, this means the images"):
        lenet5(rng=np.random.default_rng(0))(np.zeros((2, 1, 32, 32), f32))  # 28x28 expected
