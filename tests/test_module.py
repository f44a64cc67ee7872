"""The Parameter / Module / Sequential contract every layer relies on."""

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
    Module,
    MSELoss,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    gradcheck,
)
from convnp.models.lenet import lenet5
from convnp.optim import SGD


def every_layer(rng):
    """``(layer, input)`` for every layer type, float64 and non-square."""
    x4 = rng.standard_normal((2, 3, 5, 7))
    x3 = rng.standard_normal((2, 3, 9))
    f64 = {"rng": rng, "dtype": np.float64}
    return [
        (Conv2d(3, 4, (2, 3), **f64), x4), (Conv1d(3, 2, 3, **f64), x3),
        (MaxPool2d(2), x4), (MaxPool1d(2), x3), (AvgPool2d(2), x4), (AvgPool1d(3), x3),
        (Linear(7, 3, **f64), x4), (Flatten(), x4), (ReLU(), x4), (LeakyReLU(0.1), x4),
        (Sigmoid(), x4), (Tanh(), x4), (GELU(), x4), (Softmax(1), x4), (LogSoftmax(-1), x4),
        (Identity(), x4), (Dropout(0.5, rng=rng), x4),
        (Sequential(Conv2d(3, 2, 3, padding=1, **f64), ReLU(), Flatten()), x4),
    ]


LAYER_NAMES = ["Conv2d", "Conv1d", "MaxPool2d", "MaxPool1d", "AvgPool2d", "AvgPool1d",
               "Linear", "Flatten", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "Softmax",
               "LogSoftmax", "Identity", "Dropout", "Sequential"]


@pytest.fixture(params=range(len(LAYER_NAMES)), ids=LAYER_NAMES)
def layer_and_input(request, rng):
    return every_layer(rng)[request.param]


class TwoBranch(Module):
    """A hand-written module: parameters and children are found by attribute order."""

    def __init__(self, rng):
        super().__init__()
        self.scale = Parameter(np.ones(3))
        self.features = Sequential(Conv2d(1, 2, 3, rng=rng), ReLU(), Conv2d(2, 2, 1, rng=rng,
                                                                            bias=False))
        self.head = Linear(4, 2, rng=rng)


# --------------------------------------------------------------------------- Parameter
def test_parameter_keeps_data_and_zero_grad():
    data = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    p = Parameter(data)
    assert p.data is data  # no copy, no cast
    assert p.grad.shape == (2, 3) and p.grad.dtype == np.float32 and not p.grad.any()
    assert p.shape == (2, 3) and p.dtype == np.float32 and p.requires_grad
    p.grad += 5
    p.zero_grad()
    assert not p.grad.any()
    assert not Parameter(data, requires_grad=False).requires_grad
    assert repr(p) == "Parameter(shape=(2, 3), dtype=float32)"


# --------------------------------------------------------------------------- names, modes
def test_named_parameters_use_dotted_pytorch_names(rng):
    net = Sequential(Conv2d(1, 2, 3, rng=rng), ReLU(), Conv2d(2, 2, 3, bias=False, rng=rng),
                     Flatten(), Sequential(Linear(8, 4, rng=rng), Linear(4, 2, rng=rng)))
    assert [n for n, _ in net.named_parameters()] == [
        "0.weight", "0.bias", "2.weight", "4.0.weight", "4.0.bias", "4.1.weight", "4.1.bias"]
    assert len(net.parameters()) == 7
    assert [n for n, _ in TwoBranch(rng).named_parameters()] == [
        "scale", "features.0.weight", "features.0.bias", "features.2.weight", "head.weight",
        "head.bias"]
    assert list(lenet5(rng=rng).state_dict()) == [
        f"{i}.{kind}" for i in (0, 3, 7, 9, 11) for kind in ("weight", "bias")]


def test_zero_grad_clears_every_parameter(rng):
    net = Sequential(Conv2d(1, 2, 3, rng=rng), ReLU(), Flatten(), Linear(2 * 3 * 5, 3, rng=rng))
    y = net(rng.standard_normal((2, 1, 5, 7)).astype(np.float32))
    net.backward(np.ones_like(y))
    assert all(p.grad.any() for p in net.parameters())
    net.zero_grad()
    assert not any(p.grad.any() for p in net.parameters())


def test_train_eval_recurse_and_return_self(rng):
    inner = Sequential(Dropout(0.5, rng=rng), ReLU())
    net = Sequential(Linear(4, 4, rng=rng), inner, Dropout(0.5, rng=rng))
    model = TwoBranch(rng)
    assert net.eval() is net and model.eval() is model
    assert not any(m.training for m in [*net.modules(), *model.modules()])
    x = np.ones((3, 4), np.float32)
    np.testing.assert_array_equal(inner(x), x)  # dropout off in eval mode
    assert net.train() is net
    assert all(m.training for m in net.modules())
    assert len(list(net.modules())) == 6


def test_apply_visits_children_before_parents_as_pytorch(rng):
    net = lenet5(rng=rng)
    net.append(Sequential(ReLU(), Dropout(0.5, rng=rng)))
    order = []
    assert net.apply(lambda m: order.append(m)) is net
    assert len(order) == len(list(net.modules()))
    assert order[-1] is net and order[-2] is net[-1] and order[-3] is net[-1][1]
    pytest.importorskip("torch")
    from convnp import interop

    torch_order = []
    interop.to_torch(net).apply(lambda m: torch_order.append(type(m).__name__))
    assert [type(m).__name__ for m in order] == torch_order


def test_requires_grad_freezes_every_parameter(rng):
    net = lenet5(rng=rng)
    assert net.requires_grad_(False) is net
    assert not any(p.requires_grad for p in net.parameters())
    before = [p.data.copy() for p in net.parameters()]
    x = rng.standard_normal((2, 1, 28, 28)).astype(np.float32)
    net.backward(np.ones_like(net(x)))
    SGD(net.parameters(), lr=0.1).step()
    assert all(np.array_equal(p.data, b) for p, b in zip(net.parameters(), before))
    assert all(p.requires_grad for p in net[:2].requires_grad_().parameters())
    with pytest.raises(TypeError, match=r"Sequential.requires_grad_: requires_grad must be "
                                        r"a bool, got int 0"):
        net.requires_grad_(0)


def test_requires_cache_false_keeps_no_cache(rng):
    conv = Conv2d(1, 2, 3, rng=rng)
    x = np.ones((1, 1, 4, 6), np.float32)
    conv(x)
    assert conv.requires_cache(False) is conv
    conv(x)
    with pytest.raises(RuntimeError, match="Conv2d.backward was called before forward"):
        conv.backward(np.ones((1, 2, 2, 4), np.float32))
    conv.requires_cache(True)
    conv(x)
    assert conv.backward(np.ones((1, 2, 2, 4), np.float32)).shape == x.shape


# --------------------------------------------------------------------------- state dict
def test_state_dict_is_a_copy_and_round_trips(rng):
    a, b = lenet5(rng=np.random.default_rng(1)), lenet5(rng=np.random.default_rng(2))
    state = a.state_dict()
    state["0.weight"][...] = 0
    assert a[0].weight.data.any()  # the returned arrays are copies
    b.load_state_dict(a.state_dict())
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(pa.data, pb.data, err_msg=name)
    x = rng.random((2, 1, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(a(x), b(x))


def test_load_state_dict_missing_and_unexpected_keys(rng):
    net = Sequential(Linear(3, 2, rng=rng), ReLU(), Linear(2, 1, rng=rng))
    state = net.state_dict()
    del state["2.bias"]
    with pytest.raises(KeyError, match=r"missing keys \['2.bias'\], unexpected keys \[\]"):
        net.load_state_dict(state)
    state = {**net.state_dict(), "3.weight": np.zeros(2, np.float32)}
    with pytest.raises(KeyError, match=r"missing keys \[\], unexpected keys \['3.weight'\]"):
        net.load_state_dict(state)
    new = {"0.weight": np.full((2, 3), 7, np.float32), "extra": np.zeros(1)}
    net.load_state_dict(new, strict=False)  # non-strict: load what matches, ignore the rest
    np.testing.assert_array_equal(net[0].weight.data, 7)


def test_load_state_dict_shape_and_dtype_errors_load_nothing(rng):
    net = Sequential(Linear(3, 2, rng=rng), Linear(2, 1, rng=rng))
    before = net.state_dict()
    bad_shape = {**before, "0.weight": np.ones((3, 2), np.float32), "1.weight": before[
        "1.weight"] + 1}
    with pytest.raises(ValueError, match=r"Sequential.load_state_dict: '0.weight' expected "
                                         r"shape \(2, 3\), got \(3, 2\)"):
        net.load_state_dict(bad_shape)
    bad_dtype = {**before, "1.bias": np.zeros(1, np.float64), "0.bias": before["0.bias"] + 1}
    with pytest.raises(ValueError, match="'1.bias' expected dtype float32, got float64"):
        net.load_state_dict(bad_dtype)
    with pytest.raises(ValueError, match="expected shape"):
        net.load_state_dict({"0.bias": np.zeros(5, np.float32)}, strict=False)
    for name, value in net.state_dict().items():  # nothing was half-loaded
        np.testing.assert_array_equal(value, before[name], err_msg=name)


# --------------------------------------------------------------------------- repr
def test_repr_shows_non_default_arguments(rng):
    assert repr(Conv2d(3, 8, 3, rng=rng)) == "Conv2d(3, 8, kernel_size=(3, 3))"
    r = repr(Conv2d(4, 8, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2,
                    bias=False, padding_mode="reflect", rng=rng, dtype=np.float64))
    for part in ("Conv2d(4, 8, kernel_size=(3, 5)", "stride=(2, 1)", "padding=(1, 2)",
                 "dilation=(1, 2)", "groups=2", "padding_mode='reflect'", "bias=False",
                 "dtype=float64"):
        assert part in r
    assert "padding='same'" in repr(Conv1d(2, 2, 4, padding="same", rng=rng))
    assert repr(Linear(4, 2, bias=False, rng=rng)) == "Linear(in_features=4, out_features=2, " \
                                                      "bias=False)"
    assert repr(MaxPool2d(2)) == "MaxPool2d(kernel_size=(2, 2))"
    r = repr(MaxPool2d(3, stride=(1, 2), padding=1, dilation=2, ceil_mode=True))
    for part in ("stride=(1, 2)", "padding=(1, 1)", "dilation=(2, 2)", "ceil_mode=True"):
        assert part in r
    assert "count_include_pad=False" in repr(AvgPool1d(3, padding=1, count_include_pad=False))
    assert repr(LeakyReLU()) == "LeakyReLU()" and "negative_slope=0.2" in repr(LeakyReLU(0.2))
    assert "approximate='tanh'" in repr(GELU("tanh"))
    assert repr(Dropout(0.3)) == "Dropout(p=0.3)" and repr(Softmax(0)) == "Softmax(dim=0)"
    assert repr(Flatten()) == "Flatten()" and "start_dim=2" in repr(Flatten(2))
    net = Sequential(Conv2d(1, 2, 3, rng=rng), Sequential(ReLU()))
    assert repr(net) == ("Sequential(\n  (0): Conv2d(1, 2, kernel_size=(3, 3))\n"
                         "  (1): Sequential(\n    (0): ReLU()\n  )\n)")
    assert repr(CrossEntropyLoss(label_smoothing=0.1)) == (
        "CrossEntropyLoss(reduction='mean', label_smoothing=0.1)")


# --------------------------------------------------------------------------- caching
def test_backward_before_forward_raises(layer_and_input):
    layer, x = layer_and_input
    # Sequential runs backward from its last layer, so that one reports it
    name = type(layer).__name__ if not isinstance(layer, Sequential) else "Flatten"
    with pytest.raises(RuntimeError, match=f"{name}.backward was called before forward"):
        layer.backward(np.ones(3))


@pytest.mark.parametrize("Loss", [CrossEntropyLoss, MSELoss])
def test_loss_backward_before_forward_raises(Loss):
    with pytest.raises(RuntimeError, match=f"{Loss.__name__}.backward was called before"):
        Loss().backward()


def test_cache_is_overwritten_not_grown(layer_and_input, rng):
    layer, x = layer_and_input
    layer.eval()  # Dropout: the same output for both calls
    other = x[:1, :, 1:] + 1  # a different (smaller) input
    y = layer(x)
    g = rng.standard_normal(y.shape)
    attributes = set(vars(layer))
    layer.zero_grad()
    expected = layer.backward(g)
    expected_grads = [p.grad.copy() for p in layer.parameters()]
    for _ in range(3):
        layer(other)
    layer(x)
    assert set(vars(layer)) == attributes  # no new attributes, no growing list of caches
    layer.zero_grad()
    np.testing.assert_array_equal(layer.backward(g), expected)
    for p, grad in zip(layer.parameters(), expected_grads):
        np.testing.assert_array_equal(p.grad, grad)


@pytest.mark.parametrize("index", [LAYER_NAMES.index(n) for n in
                                   ("Conv2d", "Conv1d", "Linear", "Sequential")])
def test_parameter_grads_accumulate(index, rng):
    layer, x = every_layer(rng)[index]
    assert layer.parameters()
    y = layer(x)
    g = rng.standard_normal(y.shape)
    layer.zero_grad()
    layer.backward(g)
    once = [p.grad.copy() for p in layer.parameters()]
    layer.backward(g)
    for p, grad in zip(layer.parameters(), once):
        np.testing.assert_allclose(p.grad, 2 * grad, rtol=1e-12)


@pytest.mark.parametrize("make, shape", [
    (lambda rng: Conv2d(2, 3, (2, 3), rng=rng, dtype=np.float64), (2, 2, 5, 7)),
    (lambda rng: Conv1d(2, 3, 3, padding=1, padding_mode="circular", rng=rng,
                        dtype=np.float64), (2, 2, 6)),
    (lambda rng: Linear(7, 3, rng=rng, dtype=np.float64), (2, 5, 7)),
    (lambda rng: Sequential(Conv2d(2, 3, 3, rng=rng, dtype=np.float64), ReLU(), Flatten(),
                            Linear(15, 2, rng=rng, dtype=np.float64)), (2, 2, 3, 7)),
    (lambda rng: Sequential(Flatten(), Linear(42, 2, rng=rng, dtype=np.float64)), (2, 2, 3, 7)),
])
def test_backward_without_input_grad(make, shape, rng):
    layer = make(rng)
    x = rng.standard_normal(shape)
    g = rng.standard_normal(layer(x).shape)
    layer.zero_grad()
    assert layer.backward(g).shape == shape
    full = [p.grad.copy() for p in layer.parameters()]
    layer.zero_grad()
    assert layer.backward(g, input_grad=False) is None
    for p, grad in zip(layer.parameters(), full):
        np.testing.assert_array_equal(p.grad, grad)


# --------------------------------------------------------------------------- Sequential
def test_sequential_container_protocol(rng):
    layers = [Linear(4, 3, rng=rng), ReLU(), Linear(3, 2, rng=rng)]
    net = Sequential(*layers)
    assert len(net) == 3 and list(net) == layers
    assert net[0] is layers[0] and net[-1] is layers[2]
    head = net[1:]
    assert isinstance(head, Sequential) and list(head) == layers[1:]
    x = rng.standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_array_equal(net(x), head(layers[0](x)))
    tanh = Tanh()
    assert net.append(tanh) is net and len(net) == 4 and net[3] is tanh
    assert [n for n, _ in net.named_children()] == ["0", "1", "2", "3"]
    with pytest.raises(TypeError, match="Sequential: expected a Module, got str"):
        net.append("relu")


def test_sequential_rejects_the_same_instance_twice(rng):
    relu = ReLU()
    with pytest.raises(ValueError, match="Sequential: this ReLU instance is already in the"):
        Sequential(relu, Linear(2, 2, rng=rng), relu)
    net = Sequential(Sequential(relu))
    with pytest.raises(ValueError, match="ReLU instance is already"):
        net.append(relu)


def test_sequential_gradcheck_lenet_like_non_square(rng):
    net = Sequential(
        Conv2d(1, 2, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
        Conv2d(2, 3, (2, 3), rng=rng), Tanh(), AvgPool2d((1, 2)),
        Flatten(), Linear(3 * 3 * 1, 4, rng=rng), Sigmoid(), Linear(4, 3, rng=rng),
    ).to(np.float64)
    x = rng.standard_normal((2, 1, 8, 10))
    assert net(x).shape == (2, 3)
    assert gradcheck(net, x)


def test_sequential_gradcheck_lenet5_directional(rng):
    net = lenet5(rng=rng, dtype=np.float64)
    assert gradcheck(net, rng.standard_normal((2, 1, 28, 28)), directional=True,
                     rng=np.random.default_rng(3))
    classic = lenet5("classic", rng=rng, dtype=np.float64)
    assert gradcheck(classic, rng.standard_normal((2, 1, 28, 28)), directional=True)


def test_module_base_class_requires_forward_and_backward():
    with pytest.raises(NotImplementedError, match="Module.forward"):
        Module()(np.ones(2))
    with pytest.raises(NotImplementedError, match="Module.backward"):
        Module().backward(np.ones(2))


def test_to_casts_parameters_and_grads(rng):
    net = Sequential(Conv2d(1, 2, 3, rng=rng), Flatten(), Linear(2 * 2 * 4, 2, rng=rng))
    x = np.ones((1, 1, 4, 6), np.float32)
    net(x)
    assert net.to(np.float64) is net
    for p in net.parameters():
        assert p.data.dtype == np.float64 and p.grad.dtype == np.float64
    assert net[0]._cache is None  # the float32 cache is dropped
    assert net(x.astype(np.float64)).dtype == np.float64


def test_a_parameter_is_replaced_only_by_a_parameter_of_its_shape_and_dtype(rng):
    layer = Linear(3, 2, rng=rng)
    with pytest.raises(TypeError, match=r"Linear: weight is a Parameter; assign a Parameter or "
                                        r"None, or set its values with weight.data\[...\] ="):
        layer.weight = np.ones((2, 3), np.float32)  # would silently stop being learned
    with pytest.raises(ValueError, match=r"Linear: a new bias must have the old one's shape "
                                         r"\(2,\) and dtype float32"):
        layer.bias = Parameter(np.full(1, 5.0, np.float32))  # would broadcast silently
    with pytest.raises(ValueError, match=r"dtype float32, .* got \(2, 3\) float64"):
        layer.weight = Parameter(np.ones((2, 3)))
    assert list(layer.state_dict()) == ["weight", "bias"]  # nothing changed
    layer.weight = Parameter(np.ones((2, 3), np.float32))  # the same shape and dtype: fine
    layer.bias = None  # no bias, as in PyTorch
    assert list(layer.state_dict()) == ["weight"]
    np.testing.assert_array_equal(layer(np.ones((1, 3), np.float32)), [[3.0, 3.0]])


def test_requires_grad_is_checked_on_assignment():
    p = Parameter(np.zeros(2))
    with pytest.raises(TypeError, match="Parameter: requires_grad must be a bool, got str 'no'"):
        p.requires_grad = "no"
    assert p.requires_grad is True


def test_load_state_dict_returns_the_skipped_keys_as_pytorch(rng):
    layer = Linear(3, 2, rng=rng)
    result = layer.load_state_dict({"wieght": np.zeros((2, 3), np.float32)}, strict=False)
    assert result.missing_keys == ["weight", "bias"] and result.unexpected_keys == ["wieght"]
    assert layer.load_state_dict(layer.state_dict()) == ([], [])
