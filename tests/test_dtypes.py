"""float32 by default, float64 on request, and the dtype kept end to end: no silent casts."""

import numpy as np
import pytest

from convnp import (
    GELU,
    AvgPool1d,
    AvgPool2d,
    Conv1d,
    Conv2d,
    CrossEntropyLoss,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool1d,
    MaxPool2d,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from convnp.models.lenet import lenet5

DTYPES = [np.float32, np.float64]

# (factory(dtype, rng), input shape); the shapes are non-square
LAYERS = {
    "Conv2d": (lambda dt, rng: Conv2d(2, 3, (2, 3), padding=1, rng=rng, dtype=dt), (2, 2, 5, 7)),
    "Conv2d-reflect-same": (lambda dt, rng: Conv2d(2, 4, (2, 3), padding="same", groups=2,
                                                   padding_mode="reflect", rng=rng, dtype=dt),
                            (2, 2, 5, 7)),
    "Conv1d": (lambda dt, rng: Conv1d(2, 3, 3, stride=2, rng=rng, dtype=dt), (2, 2, 9)),
    "Conv1d-circular": (lambda dt, rng: Conv1d(2, 2, 3, padding=1, padding_mode="circular",
                                               bias=False, rng=rng, dtype=dt), (2, 2, 9)),
    "MaxPool2d": (lambda dt, rng: MaxPool2d(3, 2, 1, dilation=(1, 2)), (2, 2, 5, 7)),
    "MaxPool1d": (lambda dt, rng: MaxPool1d(2, ceil_mode=True), (2, 2, 9)),
    "AvgPool2d": (lambda dt, rng: AvgPool2d(2, 1, 1, count_include_pad=False), (2, 2, 5, 7)),
    "AvgPool1d": (lambda dt, rng: AvgPool1d(3, 2, 1, ceil_mode=True), (2, 2, 9)),
    "Linear": (lambda dt, rng: Linear(7, 3, rng=rng, dtype=dt), (2, 5, 7)),
    "Flatten": (lambda dt, rng: Flatten(), (2, 2, 5, 7)),
    "ReLU": (lambda dt, rng: ReLU(), (2, 5, 7)),
    "LeakyReLU": (lambda dt, rng: LeakyReLU(0.2), (2, 5, 7)),
    "Sigmoid": (lambda dt, rng: Sigmoid(), (2, 5, 7)),
    "Tanh": (lambda dt, rng: Tanh(), (2, 5, 7)),
    "GELU": (lambda dt, rng: GELU(), (2, 5, 7)),
    "GELU-tanh": (lambda dt, rng: GELU("tanh"), (2, 5, 7)),
    "Softmax": (lambda dt, rng: Softmax(1), (2, 5, 7)),
    "LogSoftmax": (lambda dt, rng: LogSoftmax(-1), (2, 5, 7)),
    "Identity": (lambda dt, rng: Identity(), (2, 5, 7)),
    "Dropout-train": (lambda dt, rng: Dropout(0.3, rng=rng), (2, 5, 7)),
    "Dropout-eval": (lambda dt, rng: Dropout(0.3, rng=rng).eval(), (2, 5, 7)),
    "Sequential": (lambda dt, rng: Sequential(Conv2d(1, 2, 3, rng=rng, dtype=dt), ReLU(),
                                              MaxPool2d(2), Flatten(),
                                              Linear(2 * 3 * 4, 3, rng=rng, dtype=dt)),
                   (2, 1, 8, 10)),
}


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_dtype_preserved_through_forward_and_backward(name, dtype, rng):
    make, shape = LAYERS[name]
    layer = make(dtype, rng)
    x = rng.standard_normal(shape).astype(dtype)
    y = layer(x)
    assert y.dtype == dtype
    layer.zero_grad()
    grad_x = layer.backward(np.ones_like(y))
    assert grad_x.dtype == dtype and grad_x.shape == x.shape
    for pname, p in layer.named_parameters():
        assert p.data.dtype == dtype, pname
        assert p.grad.dtype == dtype, pname


@pytest.mark.parametrize("name", [n for n in LAYERS if n.startswith(("Conv", "Linear", "Seq"))])
def test_float64_by_to_matches_float64_by_constructor(name, rng):
    make, shape = LAYERS[name]
    built = make(np.float64, np.random.default_rng(5))
    cast = make(np.float32, np.random.default_rng(5)).to(np.float64)
    for (pname, a), (_, b) in zip(built.named_parameters(), cast.named_parameters()):
        assert b.data.dtype == np.float64 and b.grad.dtype == np.float64, pname
        np.testing.assert_allclose(a.data, b.data, rtol=1e-6, err_msg=pname)  # float32 init
    x = rng.standard_normal(shape)
    y = cast(x)
    assert y.dtype == np.float64
    assert cast.backward(np.ones_like(y)).dtype == np.float64


def test_float32_is_the_default(rng):
    for layer in (Conv2d(1, 2, 3, rng=rng), Conv1d(1, 2, 3, rng=rng), Linear(3, 2, rng=rng),
                  lenet5(rng=rng)):
        for name, p in layer.named_parameters():
            assert p.data.dtype == np.float32 and p.grad.dtype == np.float32, name


@pytest.mark.parametrize("make, shape", [
    (lambda dt: Conv2d(1, 2, 3, dtype=dt), (1, 1, 4, 6)),
    (lambda dt: Conv1d(1, 2, 3, dtype=dt), (1, 1, 6)),
    (lambda dt: Linear(6, 2, dtype=dt), (3, 6)),
    (lambda dt: lenet5(dtype=dt), (1, 1, 28, 28)),
])
@pytest.mark.parametrize("layer_dtype, input_dtype", [(np.float32, np.float64),
                                                      (np.float64, np.float32)])
def test_mismatched_input_dtype_is_a_value_error(make, shape, layer_dtype, input_dtype):
    with pytest.raises(ValueError, match=rf"input dtype {np.dtype(input_dtype)} does not match "
                                         rf"the layer's dtype {np.dtype(layer_dtype)}"):
        make(layer_dtype)(np.zeros(shape, input_dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_loss_gradients_keep_the_prediction_dtype(dtype, rng):
    logits = rng.standard_normal((4, 3)).astype(dtype)
    for target in (np.array([0, 2, 1, 1]), np.full((4, 3), 1 / 3, dtype)):
        ce = CrossEntropyLoss(label_smoothing=0.1)
        ce(logits, target)
        assert ce.backward().dtype == dtype
    none = CrossEntropyLoss(reduction="none")
    assert none(logits, np.array([0, 2, 1, 1])).dtype == dtype
    mse = MSELoss()
    mse(logits, np.zeros_like(logits))
    assert mse.backward().dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_parameter_grads_keep_dtype_without_input_grad(dtype, rng):
    net = lenet5(rng=rng, dtype=dtype)
    y = net(rng.random((2, 1, 28, 28)).astype(dtype))
    assert y.dtype == dtype
    assert net.backward(np.ones_like(y), input_grad=False) is None
    assert all(p.grad.dtype == dtype and p.grad.any() for p in net.parameters())
