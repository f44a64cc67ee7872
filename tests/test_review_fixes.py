"""Regression tests for the review findings: each test failed before its fix."""

import numpy as np
import pytest

from convnp import (
    AvgPool1d,
    AvgPool2d,
    Conv2d,
    ConvTranspose2d,
    CrossEntropyLoss,
    Dropout,
    Flatten,
    Linear,
    LogSoftmax,
    MaxPool1d,
    MaxPool2d,
    MSELoss,
    ReLU,
    Sequential,
    Softmax,
    gradcheck,
)
from convnp.functional.conv import conv2d_forward
from convnp.functional.shapes import ntuple
from convnp.layers.module import Module, inspection_mode


# ----------------------------------------------------------------- 0: named_modules
def test_named_modules_dotted_names_and_prefix(rng):
    inner = Sequential(Conv2d(1, 2, 3, rng=rng), ReLU())
    net = Sequential(inner, Flatten(), Sequential(Sequential(ReLU())))
    pairs = list(net.named_modules())
    assert [name for name, _ in pairs] == ["", "0", "0.0", "0.1", "1", "2", "2.0", "2.0.0"]
    assert pairs[0][1] is net and pairs[1][1] is inner and pairs[2][1] is inner[0]
    assert [m for _, m in pairs] == list(net.modules())
    assert [name for name, _ in inner.named_modules("0")] == ["0", "0.0", "0.1"]


def test_inspection_mode_lives_in_module_and_is_reexported():
    from convnp.summary import inspection_mode as reexported

    assert reexported is inspection_mode
    net = Sequential(Dropout(0.5))
    with inspection_mode(net):
        assert (net.training, net[0].cache_enabled) == (False, False)
    assert (net.training, net[0].cache_enabled) == (True, True)


# ----------------------------------------------------------------- 1: gradcheck
def test_gradcheck_rejects_bare_array_gradient(rng):
    x = rng.standard_normal((2, 3))

    def f(x):
        return 2 * x, lambda g: 2 * g

    with pytest.raises(TypeError, match="gradcheck: backward must return a tuple with one "
                                        "gradient per input"):
        gradcheck(f, x)


def test_gradcheck_rejects_missing_gradients(rng):
    x, w = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))

    def f(x, w):
        return x * w, lambda g: (g * w,)  # forgot dL/dw

    with pytest.raises(ValueError, match="backward returned 1 gradients for 2 inputs"):
        gradcheck(f, x, w)


@pytest.mark.parametrize("f, inputs, message", [
    (ReLU, (np.ones(3),), r"f must be a Module or a function returning \(y, backward\), got the "
                          r"class ReLU; pass an instance"),
    (np.ones(3), (np.ones(3),), r"f must be a Module or a function .* got ndarray"),
    (lambda a: np.maximum(a, 0), (np.ones(3),), r"a function f must return a pair "
                                                 r"\(y, backward\).* got ndarray"),
    (CrossEntropyLoss(), (np.ones((2, 3)), np.array([0, 1])),
     r"a function f must return a pair .* got float"),
    (lambda a: (a, lambda g: (g,)), (3.0,), r"input 0 must be a NumPy array, got float"),
    (lambda a: (a, lambda g: (g,)), ([1.0, 2.0],), r"input 0 must be a NumPy array, got list"),
])
def test_gradcheck_names_what_it_was_given(f, inputs, message):
    with pytest.raises(TypeError, match="gradcheck: " + message):
        gradcheck(f, *inputs)


def test_gradcheck_takes_read_only_and_broadcast_inputs_and_leaves_them_alone(rng):
    x = rng.standard_normal((2, 3))
    x.flags.writeable = False
    wide = np.broadcast_to(rng.standard_normal((1, 3)), (2, 3))
    before = x.copy(), wide.copy()

    def f(a, b):
        return a * b, lambda g: (g * b, g * a)

    assert gradcheck(f, x, wide)
    assert gradcheck(Linear(3, 2, rng=rng, dtype=np.float64), x, directional=True)
    np.testing.assert_array_equal(x, before[0])
    np.testing.assert_array_equal(wide, before[1])


def test_gradcheck_perturbs_a_writable_input_in_place_so_a_layer_sharing_it_sees_it(rng):
    """Checking a layer's weight through the function form: f ignores its argument."""
    layer, x = Linear(3, 2, rng=rng, dtype=np.float64), rng.standard_normal((4, 3))

    def f(weight):
        def backward(g):
            layer.zero_grad()
            layer.backward(g)
            return (layer.weight.grad.copy(),)
        return layer(x), backward

    assert gradcheck(f, layer.weight.data)


# ----------------------------------------------------------------- 2: Sequential.append
def test_append_keeps_the_layers_own_mode():
    drop = Dropout(0.5).eval()
    net = Sequential(drop)
    assert net.training and not drop.training


def test_append_rejects_a_layer_reused_through_nesting(rng):
    relu = ReLU()
    block = Sequential(Linear(3, 3, rng=rng), relu)
    with pytest.raises(ValueError, match="Sequential: this ReLU instance is already in the "
                                         "network"):
        Sequential(block, Sequential(relu))
    with pytest.raises(ValueError, match="Sequential: this Sequential instance is already"):
        Sequential(block, block)


# ----------------------------------------------------------------- 3: backward(input_grad=False)
class _Spy(Module):
    """A parameter-free layer that records whether its backward ran."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x):
        return x

    def backward(self, grad_y):
        self.calls += 1
        return grad_y


def test_backward_without_input_grad_stops_at_first_layer_with_parameters(rng, monkeypatch):
    spy, linear = _Spy(), Linear(12, 2, rng=rng, dtype=np.float64)
    net = Sequential(spy, Flatten(), linear, ReLU())
    x = rng.standard_normal((2, 3, 4))
    net(x)
    seen = []
    original = linear.backward

    def record(grad, input_grad=True):
        seen.append(input_grad)
        return original(grad, input_grad)

    monkeypatch.setattr(linear, "backward", record)
    assert net.backward(np.ones((2, 2)), input_grad=False) is None
    assert seen == [False] and spy.calls == 0
    assert np.abs(linear.weight.grad).sum() > 0


def test_backward_without_input_grad_and_no_parameters_returns_none(rng):
    spy = _Spy()
    net = Sequential(spy, ReLU())
    net(rng.standard_normal((2, 3)))
    assert net.backward(np.ones((2, 3)), input_grad=False) is None
    assert spy.calls == 0


# ----------------------------------------------------------------- 4: dtype of grad_y
@pytest.mark.parametrize("make, shape", [
    (lambda rng: Conv2d(2, 3, 3, rng=rng), (1, 2, 5, 6)),
    (lambda rng: ConvTranspose2d(2, 3, 3, rng=rng), (1, 2, 5, 6)),
    (lambda rng: Linear(4, 3, rng=rng), (2, 4)),
])
def test_layers_with_parameters_reject_grad_of_another_dtype(make, shape, rng):
    layer = make(rng)
    y = layer(np.zeros(shape, np.float32))
    name = type(layer).__name__
    with pytest.raises(ValueError, match=f"{name}.backward: expected a gradient of dtype "
                                         "float32 .*got float64"):
        layer.backward(np.ones(y.shape, np.float64))


# ----------------------------------------------------------------- 5: keyword-only traps
def test_ceil_mode_is_keyword_only_in_maxpool():
    for Pool in (MaxPool1d, MaxPool2d):
        with pytest.raises(TypeError):
            Pool(2, 2, 0, 1, True)
        assert Pool(2, ceil_mode=True).ceil_mode
    assert AvgPool2d(2, 2, 0, True).ceil_mode  # positional in torch too
    assert AvgPool1d(2, 2, 0, True).ceil_mode


@pytest.mark.parametrize("Loss", [CrossEntropyLoss, MSELoss])
def test_loss_arguments_are_keyword_only(Loss):
    with pytest.raises(TypeError):
        Loss("sum")
    assert Loss(reduction="sum").reduction == "sum"
    with pytest.raises(TypeError):
        CrossEntropyLoss("mean", 0.1)


# ----------------------------------------------------------------- 6: class hierarchy
def test_1d_layers_are_not_2d_layers():
    assert not isinstance(MaxPool1d(2), MaxPool2d)
    assert not isinstance(AvgPool1d(2), AvgPool2d)
    assert not isinstance(LogSoftmax(1), Softmax)
    assert not isinstance(MaxPool2d(2), MaxPool1d)
    assert not isinstance(Softmax(1), LogSoftmax)


# ----------------------------------------------------------------- 7: clear errors
def test_flatten_handles_an_empty_batch():
    flat = Flatten()
    y = flat(np.zeros((0, 3, 4, 5)))
    assert y.shape == (0, 60)
    assert flat.backward(np.zeros((0, 60))).shape == (0, 3, 4, 5)


@pytest.mark.parametrize("layer", [Dropout(0.5), Flatten(), Linear(2, 3)],
                         ids=["Dropout", "Flatten", "Linear"])
def test_non_array_input_is_a_type_error(layer):
    name = type(layer).__name__
    with pytest.raises(TypeError, match=f"{name}: expected a numpy.ndarray input, got list"):
        layer([[1.0, 2.0]])


def test_linear_message_says_any_leading_axes():
    with pytest.raises(ValueError, match=r"Linear: expected input of shape \(\*, 2\), got "
                                         r"\(2, 3, 5\)"):
        Linear(2, 3)(np.zeros((2, 3, 5), np.float32))


@pytest.mark.parametrize("Loss, pred, target", [
    (CrossEntropyLoss, np.zeros((3, 4)), np.array([0, 1, 2])),
    (MSELoss, np.zeros((3, 4)), np.ones((3, 4))),
])
def test_loss_none_backward_rejects_wrong_shaped_grad(Loss, pred, target):
    crit = Loss(reduction="none")
    crit(pred, target)
    name = Loss.__name__
    with pytest.raises(ValueError, match=f"{name}.backward: with reduction='none' grad must"):
        crit.backward(np.ones(2))
    with pytest.raises(ValueError, match=f"{name}.backward"):
        crit.backward(np.ones((1, 4)))  # would broadcast silently


def test_conv2d_forward_checks_channels_and_empty_output(rng):
    x = rng.standard_normal((1, 4, 5, 6))
    with pytest.raises(ValueError, match=r"conv2d_forward: x has 4 channels .* expects 6"):
        conv2d_forward(x, rng.standard_normal((2, 3, 3, 3)), None, groups=2)
    with pytest.raises(ValueError, match=r"conv2d_forward: empty output \(H_out, W_out\) = "
                                         r"\(-1, 0\)"):
        conv2d_forward(x, rng.standard_normal((2, 4, 7, 7)), None, (1, 1), (0, 0), (1, 1))


# ----------------------------------------------------------------- 8: ntuple
@pytest.mark.parametrize("value", [3.0, (3.0, 3.0), (3, 3.0), (True, 2), "33", None, True])
def test_ntuple_rejects_non_integers(value):
    with pytest.raises(TypeError, match="Conv2d: kernel_size must be an int or 2 ints"):
        ntuple(value, 2, "kernel_size", "Conv2d")


@pytest.mark.parametrize("value", [(3,), (3, 3, 3), ()])
def test_ntuple_rejects_the_wrong_length(value):
    with pytest.raises(ValueError, match="Conv2d: kernel_size must be an int or 2 ints"):
        ntuple(value, 2, "kernel_size", "Conv2d")


def test_ntuple_accepts_numpy_integers():
    assert ntuple((np.int64(3), 5), 2, "kernel_size", "Conv2d") == (3, 5)
    assert ntuple(np.int32(2), 1, "stride", "Conv1d") == (2,)


# ----------------------------------------------------------------- 10: GELU keeps Phi(x)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_backward_does_not_recompute_phi(approximate, rng, monkeypatch):
    from convnp import GELU
    from convnp.layers import activation

    calls = []
    original = activation.gelu_phi
    monkeypatch.setattr(activation, "gelu_phi", lambda *args: calls.append(1) or original(*args))
    gelu = GELU(approximate).to(np.float64)
    x = rng.standard_normal((2, 3, 4))
    gelu(x)
    gelu.backward(np.ones(x.shape))
    assert len(calls) == 1
    assert gradcheck(GELU(approximate), x)
