"""Misuse, classes 2 and 3: input dtypes, parameter assignment, empty and degenerate inputs.

The policy (README, "The layer contract"): every layer and loss takes floating arrays;
integer, bool and complex inputs raise a TypeError naming the layer and the dtype.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convnp import Parameter, gradcheck
from convnp.layers import (
    GELU,
    AvgPool1d,
    Conv2d,
    Downsample1d,
    Downsample2d,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool2d,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    Upsample,
    Upsample1d,
    Upsample2d,
)
from convnp.losses import CrossEntropyLoss, MSELoss
from convnp.optim import SGD
from convnp.train import Trainer

LAYERS = [
    (lambda: ReLU(), (2, 3)), (lambda: LeakyReLU(0.1), (2, 3)), (lambda: Sigmoid(), (2, 3)),
    (lambda: Tanh(), (2, 3)), (lambda: GELU(), (2, 3)), (lambda: Softmax(dim=1), (2, 3)),
    (lambda: LogSoftmax(dim=1), (2, 3)), (lambda: Identity(), (2, 3)),
    (lambda: Dropout(0.5), (2, 3)), (lambda: Flatten(), (2, 3, 4)),
    (lambda: Linear(3, 2, dtype=np.float64), (2, 3)), (lambda: Upsample1d(2), (1, 2, 3)),
    (lambda: Upsample2d(2), (1, 1, 2, 3)), (lambda: Downsample1d(2), (1, 2, 5)),
    (lambda: Downsample2d(2), (1, 1, 3, 5)), (lambda: Upsample(scale_factor=2), (1, 1, 2, 3)),
    # conv and pool layers reach the same check through check_input
    (lambda: AvgPool1d(2), (1, 1, 4)), (lambda: MaxPool2d(2, padding=1), (1, 1, 4, 6)),
    (lambda: Conv2d(1, 1, 3, dtype=np.float64), (1, 1, 4, 5)),
]
BAD_DTYPES = [np.int64, np.int8, np.uint8, bool, np.complex64, np.complex128]


@pytest.mark.parametrize("make, shape", LAYERS)
@pytest.mark.parametrize("dtype", BAD_DTYPES)
def test_every_layer_refuses_non_float_input(make, shape, dtype):
    layer = make()
    name = type(layer).__name__
    with pytest.raises(TypeError, match=rf"{name}: input must be a floating array .*got dtype "
                                        rf"{np.dtype(dtype)}"):
        layer(np.ones(shape, dtype))


@pytest.mark.parametrize("make, shape", LAYERS)
def test_every_layer_still_takes_float32_and_float64(make, shape, rng):
    for dtype in (np.float32, np.float64):
        layer = make().to(dtype) if make().parameters() else make()
        y = layer(rng.standard_normal(shape).astype(dtype))
        assert y.dtype == dtype


@pytest.mark.parametrize("dtype", [np.int64, bool, np.complex128])
def test_losses_refuse_non_float_predictions(dtype):
    with pytest.raises(TypeError, match=rf"CrossEntropyLoss: logits must be a floating .*"
                                        rf"{np.dtype(dtype)}"):
        CrossEntropyLoss()(np.ones((2, 3), dtype), np.array([0, 1]))
    with pytest.raises(TypeError, match=rf"MSELoss: pred must be a floating .*{np.dtype(dtype)}"):
        MSELoss()(np.ones(3, dtype), np.ones(3))


def test_loss_targets():
    logits = np.zeros((2, 3))
    with pytest.raises(TypeError, match="CrossEntropyLoss: class-index targets must be integers"):
        CrossEntropyLoss()(logits, np.array([True, False]))
    with pytest.raises(TypeError, match="CrossEntropyLoss: probability target must be a floating"):
        CrossEntropyLoss()(logits, np.ones((2, 3), np.int64))
    with pytest.raises(TypeError, match="MSELoss: target must be a floating or integer array, "
                                        "got dtype complex128"):
        MSELoss()(np.zeros(2), np.zeros(2, complex))
    # an integer MSE target is promoted (as in PyTorch) and the gradient is right, not 0
    mse = MSELoss()
    assert mse(np.array([1.0, 2.0], np.float32), np.array([0, 0])) == 2.5
    np.testing.assert_array_equal(mse.backward(), np.array([1.0, 2.0], np.float32))
    assert mse.backward().dtype == np.float32


# --------------------------------------------------------------------------- Parameter.data
@pytest.mark.parametrize("value, message", [
    (np.zeros((3, 2), np.float32), r"data of shape \(3, 2\) to a parameter of shape \(2, 3\)"),
    (np.zeros((2, 3), np.float64), r"data of dtype float64 to a parameter of dtype float32"),
    (np.zeros((2, 3), np.int32), r"data of dtype int32 to a parameter of dtype float32"),
    (np.zeros(6, np.float32), r"data of shape \(6,\) to a parameter of shape \(2, 3\)"),
])
def test_parameter_data_assignment_is_checked(value, message):
    layer = Linear(3, 2)
    before = layer.weight.data
    with pytest.raises(ValueError, match=f"Parameter: cannot assign {message}"):
        layer.weight.data = value
    with pytest.raises(ValueError, match="Parameter: cannot assign grad"):
        layer.weight.grad = value
    assert layer.weight.data is before


def test_parameter_data_or_grad_set_to_none_is_refused_with_what_to_do_instead():
    layer = Linear(3, 2)
    layer.weight.grad += 1
    with pytest.raises(TypeError, match=r"Parameter: grad is always an array of shape \(2, 3\), "
                                        r"got None; to clear it \(PyTorch's p.grad = None\) "
                                        r"call p.zero_grad\(\)"):
        layer.weight.grad = None
    with pytest.raises(TypeError, match=r"Parameter: data is always an array of shape \(2, 3\), "
                                        r"got None$"):
        layer.weight.data = None
    np.testing.assert_array_equal(layer.weight.grad, np.ones((2, 3), np.float32))


def test_a_read_only_array_is_refused_as_parameter_data_or_grad():
    frozen = np.zeros((2, 3), np.float32)
    frozen.flags.writeable = False
    message = (r"Parameter: {} must be a writable array \(it is updated in place\), got a "
               r"read-only one .* pass a copy, np.array\(value\)")
    layer = Linear(3, 2)
    for what in ("data", "grad"):
        with pytest.raises(ValueError, match=message.format(what)):
            setattr(layer.weight, what, frozen)
    with pytest.raises(ValueError, match=message.format("data")):
        Parameter(np.broadcast_to(np.float32(1), (2, 3)))
    layer.weight.data = np.array(frozen)
    SGD(layer.parameters(), lr=0.1).step()


def test_parameter_assignment_of_the_right_array_and_module_to_still_work(rng):
    layer = Linear(3, 2, rng=rng)
    new = np.ones((2, 3), np.float32)
    layer.weight.data = new
    assert layer.weight.data is new
    layer.to(np.float64)
    assert layer.weight.dtype == layer.weight.grad.dtype == layer.bias.dtype == np.float64
    assert layer(np.ones((1, 3))).dtype == np.float64


# --------------------------------------------------------------------------- empty inputs
@pytest.mark.parametrize("layer, shape, out", [
    (Upsample1d(3), (2, 1, 0), (2, 1, 0)), (Upsample2d(2), (1, 1, 0, 3), (1, 1, 0, 5)),
    (Upsample2d((2, 3)), (1, 2, 2, 0), (1, 2, 3, 0)), (Upsample1d(2), (0, 1, 4), (0, 1, 7)),
    (Downsample1d(2), (1, 1, 0), (1, 1, 0)),
])
def test_resampling_an_empty_axis_gives_an_empty_axis(layer, shape, out):
    y = layer(np.zeros(shape))
    assert y.shape == out
    assert layer.backward(np.zeros(out)).shape == shape


@pytest.mark.parametrize("loss, pred, target", [
    (CrossEntropyLoss(), np.zeros((0, 3)), np.zeros(0, np.int64)),
    (CrossEntropyLoss(label_smoothing=0.1), np.zeros((0, 3)), np.zeros((0, 3))),
    (MSELoss(), np.zeros((0, 2)), np.zeros((0, 2))),
])
def test_losses_with_no_samples_give_nan_and_an_empty_gradient(loss, pred, target):
    assert math.isnan(loss(pred, target))
    grad = loss.backward()
    assert grad.shape == pred.shape and grad.dtype == pred.dtype
    loss.reduction = "sum"
    assert loss(pred, target) == 0.0 and loss.backward().shape == pred.shape


def test_cross_entropy_backward_refuses_a_wrong_grad():
    ce = CrossEntropyLoss()
    ce(np.zeros((2, 3)), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"CrossEntropyLoss.backward: with reduction='mean' .*"
                                         r"grad must be a scalar, got shape \(3,\)"):
        ce.backward(np.ones(3))
    with pytest.raises(TypeError, match="CrossEntropyLoss.backward: grad must be a real number"):
        ce.backward("1")
    ce = CrossEntropyLoss(reduction="none")
    ce(np.zeros((2, 3)), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"reduction='none' grad must be a scalar or have the "
                                         r"losses' shape \(2,\), got \(2, 3\)"):
        ce.backward(np.ones((2, 3)))


# the values PyTorch 2.13 gives (checked against torch in the test below when installed)
NEG_INF = [(0.0, 1.3132616875182228, [-0.7311, 0.0, 0.7311]),
           (0.1, math.inf, [-0.6644, -0.0333, 0.6977]),
           (1.0, math.inf, [-0.0644, -0.3333, 0.3977])]


@pytest.mark.parametrize("smoothing, loss, grad", NEG_INF)
def test_a_minus_inf_logit_masks_a_class_as_in_pytorch(smoothing, loss, grad):
    ce = CrossEntropyLoss(label_smoothing=smoothing)
    assert ce([[0.0, -math.inf, 1.0]], [0]) == pytest.approx(loss)
    np.testing.assert_allclose(ce.backward()[0], grad, atol=1e-4)
    probs = CrossEntropyLoss(label_smoothing=smoothing)
    assert probs([[0.0, -math.inf, 1.0]], np.array([[1.0, 0, 0]])) == pytest.approx(loss)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 1.0])
def test_minus_inf_logits_match_torch(smoothing):
    torch = pytest.importorskip("torch")
    logits = torch.tensor([[0.0, -math.inf, 1.0], [2.0, 0.5, -math.inf]], requires_grad=True)
    target = torch.tensor([0, 1])
    expected = torch.nn.functional.cross_entropy(logits, target, label_smoothing=smoothing)
    expected.backward()
    ce = CrossEntropyLoss(label_smoothing=smoothing)
    ours = ce(logits.detach().numpy().astype(np.float64), target.numpy())
    assert ours == pytest.approx(expected.item())
    np.testing.assert_allclose(ce.backward(), logits.grad.numpy(), atol=1e-6)


@given(st.integers(1, 4), st.integers(2, 5), st.data())
def test_masked_classes_do_not_change_the_loss_or_its_gradient(n, c, data):
    """Masking a non-target class with -inf equals dropping that class (a property)."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    logits = rng.standard_normal((n, c + 1))
    target = rng.integers(0, c, n)
    logits[:, c] = -math.inf
    ce, ref = CrossEntropyLoss(), CrossEntropyLoss()
    assert ce(logits, target) == pytest.approx(ref(logits[:, :c], target))
    grad = ce.backward()
    np.testing.assert_allclose(grad[:, :c], ref.backward())
    assert (grad[:, c] == 0).all()


def test_cross_entropy_gradcheck_still_holds_with_smoothing(rng):
    logits = rng.standard_normal((3, 4))
    target = np.array([0, 3, 1])
    ce = CrossEntropyLoss(label_smoothing=0.2, reduction="none")

    def f(z):
        return ce(z, target), lambda g: (ce.backward(g),)
    assert gradcheck(f, logits)


def test_predict_on_zero_samples_gives_an_empty_batch_of_logits():
    model = Sequential(Flatten(), Linear(4, 3))
    trainer = Trainer(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), verbose=0)
    out = trainer.predict(np.zeros((0, 2, 2), np.uint8))
    assert out.shape == (0, 3) and out.dtype == np.float32
