"""Misuse, class 4: arrays changed between forward and backward, NaN/inf, stale caches.

Inside ``convnp.detect_anomaly()`` a layer whose cached input or output was changed in
place raises at backward, naming the layer and the array; NaN and inf raise at the
first layer that receives or produces them. Outside it nothing is checked or copied.
A forward that raises leaves no cache behind, so a following backward raises.
"""

import threading

import numpy as np
import pytest

import convnp
from convnp import anomaly
from convnp.layers import (
    GELU,
    Conv2d,
    Dropout,
    Flatten,
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
    Upsample,
)
from convnp.losses import CrossEntropyLoss, MSELoss

F64 = np.float64

# layers whose backward reads their forward INPUT (issue #11's list, plus MaxPool1d)
KEEP_INPUT = [(lambda: Linear(3, 2, dtype=F64), (2, 3)), (lambda: LeakyReLU(0.1), (2, 3)),
              (lambda: GELU(), (2, 3)), (lambda: GELU("tanh"), (2, 3)),
              (lambda: MaxPool2d(2), (1, 2, 4, 6)), (lambda: MaxPool1d(2), (1, 2, 6))]
# layers whose backward reads their forward OUTPUT
KEEP_OUTPUT = [(lambda: ReLU(), (2, 3)), (lambda: Sigmoid(), (2, 3)), (lambda: Tanh(), (2, 3)),
               (lambda: Softmax(dim=1), (2, 3)), (lambda: LogSoftmax(dim=1), (2, 3)),
               (lambda: MaxPool2d(2), (1, 2, 4, 6))]


@pytest.mark.parametrize("make, shape", KEEP_INPUT)
def test_input_changed_in_place_is_named(make, shape, rng):
    layer = make()
    with convnp.detect_anomaly():
        x = rng.standard_normal(shape)
        y = layer(x)
        x *= 10
        with pytest.raises(RuntimeError, match=rf"{type(layer).__name__}.backward: its input "
                                               r"\(cache.*, shape \(.*\) was modified in place "
                                               "between forward and backward"):
            layer.backward(np.ones_like(y))


@pytest.mark.parametrize("make, shape", KEEP_OUTPUT)
def test_output_changed_in_place_is_named(make, shape, rng):
    layer = make()
    with convnp.detect_anomaly():
        y = layer(rng.standard_normal(shape))
        y -= 5
        with pytest.raises(RuntimeError, match=rf"{type(layer).__name__}.backward: its output "
                                               r"\(cache.*\) was modified in place"):
            layer.backward(np.ones_like(y))


@pytest.mark.parametrize("make, shape", KEEP_INPUT + KEEP_OUTPUT)
def test_unchanged_arrays_give_the_same_gradient_as_without_the_mode(make, shape, rng):
    x, g = rng.standard_normal(shape), None
    plain = make()
    y = plain(x)
    g = rng.standard_normal(y.shape)
    expected = plain.backward(g)
    checked = make()
    for name, p in plain.named_parameters():
        dict(checked.named_parameters())[name].data[...] = p.data
    with convnp.detect_anomaly():
        checked(x)
        np.testing.assert_array_equal(checked.backward(g), expected)


def test_without_the_mode_nothing_is_copied_or_checked(rng):
    relu = ReLU()
    y = relu(rng.standard_normal((2, 3)))
    assert relu._cache is y  # the cache itself, no copy kept
    y -= 5
    relu.backward(np.ones_like(y))  # the documented silent case: no error outside the mode


def test_a_loss_cache_is_checked_too():
    mse = MSELoss()
    with convnp.detect_anomaly():
        pred = np.array([1.0, 2.0])
        mse(pred, np.zeros(2))
        pred += 1
        with pytest.raises(RuntimeError, match=r"MSELoss.backward: its input \(cache\[0\].*"
                                               "modified in place"):
            mse.backward()


def test_a_change_inside_a_network_names_the_first_layer_backward_reaches(rng):
    net = Sequential(Linear(4, 3, dtype=F64), ReLU(), Linear(3, 2, dtype=F64))
    with convnp.detect_anomaly():
        out = net(rng.standard_normal((5, 4)))
        net[1]._saved()[...] = 0  # ReLU's output is also the last Linear's input
        with pytest.raises(RuntimeError, match=r"^Linear.backward: its input"):
            net.backward(np.ones_like(out))


# --------------------------------------------------------------------------- NaN and inf
def test_nan_in_the_input_names_the_network():
    with convnp.detect_anomaly():
        with pytest.raises(RuntimeError, match=r"Sequential.forward: its input contains nan"):
            Sequential(ReLU())(np.array([[np.nan, 1.0]]))


def test_inf_produced_by_a_layer_names_that_layer_and_the_forward_pass():
    layer = Linear(2, 2, dtype=F64)
    layer.weight.data[0, 0] = np.inf
    net = Sequential(ReLU(), layer, Sigmoid())
    with convnp.detect_anomaly():
        with pytest.raises(RuntimeError, match=r"^Linear.forward: its output contains inf"):
            net(np.ones((1, 2)))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_in_a_gradient_names_the_layer_and_the_backward_pass(bad):
    net = Sequential(Linear(2, 2, dtype=F64), Tanh())
    with convnp.detect_anomaly():
        net(np.ones((1, 2)))
        with pytest.raises(RuntimeError, match=r"^Sequential.backward: the gradient it received "
                                               rf"\(grad_y\) contains {bad}"):
            net.backward(np.array([[bad, 1.0]]))


def test_inf_produced_in_backward_names_the_layer():
    net = Sequential(Linear(2, 2, dtype=F64), Tanh())
    with convnp.detect_anomaly():
        net(np.ones((1, 2)))
        net[0].weight.data[1, 1] = np.inf  # after forward: only backward sees it
        with pytest.raises(RuntimeError, match=r"^Linear.backward: the input gradient it "
                                               "returned contains inf"):
            net.backward(np.ones((1, 2)))


def test_nan_in_a_parameter_gradient_is_named():
    layer = Linear(2, 1, dtype=F64)
    layer.weight.grad[0, 0] = np.nan  # left over from an earlier step
    with convnp.detect_anomaly():
        layer(np.ones((1, 2)))
        with pytest.raises(RuntimeError, match=r"Linear.backward: weight.grad contains nan"):
            layer.backward(np.ones((1, 1)))


def test_a_nan_loss_is_named():
    with convnp.detect_anomaly():
        with pytest.raises(RuntimeError, match=r"MSELoss.forward: the loss contains inf"):
            MSELoss()(np.array([np.inf]), np.array([0.0]))


def test_check_nan_false_checks_only_the_caches():
    with convnp.detect_anomaly(check_nan=False):
        relu = ReLU()
        y = relu(np.array([np.nan, 1.0]))
        relu.backward(np.ones(2))
        y[1] = 3
        with pytest.raises(RuntimeError, match="ReLU.backward: its output"):
            relu.backward(np.ones(2))


# --------------------------------------------------------------------------- the mode itself
def test_mode_as_decorator_nests_and_restores():
    seen = []

    @convnp.detect_anomaly()
    def inner():
        seen.append(convnp.is_anomaly_enabled())

    assert not convnp.is_anomaly_enabled()
    inner()
    manager = convnp.detect_anomaly()
    with manager:
        with manager:  # the same instance re-entered
            inner()
        assert convnp.is_anomaly_enabled()
    assert seen == [True, True] and not convnp.is_anomaly_enabled()
    with pytest.raises(ValueError):
        with convnp.detect_anomaly():
            raise ValueError("leaving by an exception")
    assert not convnp.is_anomaly_enabled()
    with pytest.raises(TypeError, match="detect_anomaly: check_nan must be a bool"):
        convnp.detect_anomaly(check_nan=1)


def test_mode_is_per_thread():
    seen = []
    with convnp.detect_anomaly():
        thread = threading.Thread(target=lambda: seen.append(anomaly.is_anomaly_enabled()))
        thread.start()
        thread.join()
    assert seen == [False]

    barrier = threading.Barrier(2)

    @convnp.detect_anomaly()
    def both_inside():
        barrier.wait(timeout=10)  # both threads are inside the same decorated function
        seen.append(anomaly.is_anomaly_enabled())
        barrier.wait(timeout=10)

    threads = [threading.Thread(target=both_inside) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [False, True, True] and not anomaly.is_anomaly_enabled()


def test_gradcheck_passes_inside_the_mode(rng):
    conv = Conv2d(2, 3, 3, padding=1, rng=rng, dtype=F64)
    with convnp.detect_anomaly():
        assert convnp.gradcheck(conv, rng.standard_normal((2, 2, 4, 5)))
        assert convnp.gradcheck(Sequential(Upsample(scale_factor=2), Tanh(), Flatten()),
                                rng.standard_normal((1, 2, 2, 3)))


# --------------------------------------------------------------------------- stale caches
def test_a_forward_that_raises_leaves_no_cache_behind():
    net = Sequential(ReLU(), Linear(2, 1, dtype=F64))
    net(np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"Linear: expected input of shape \(\*, 2\)"):
        net(np.ones((1, 3)))
    assert all(m._cache is None for m in net.modules())
    with pytest.raises(RuntimeError, match="Linear.backward was called before forward"):
        net.backward(np.ones((1, 1)))
    with pytest.raises(RuntimeError, match="backward was called before forward"):
        net.backward(np.ones((1, 1)), input_grad=False)


def test_a_nested_network_is_cleared_too():
    inner = Sequential(ReLU(), Dropout(0.5))
    net = Sequential(inner, Linear(2, 1, dtype=F64))
    net(np.ones((1, 2)))
    with pytest.raises(TypeError, match="ReLU: input must be a floating array"):
        net(np.ones((1, 2), np.int64))
    assert inner[0]._cache is None and inner[1]._cache is None


def test_a_loss_whose_forward_raises_forgets_the_last_batch():
    ce = CrossEntropyLoss()
    ce(np.zeros((2, 3)), np.array([0, 1]))
    with pytest.raises(ValueError, match="class indices must be in"):
        ce(np.zeros((2, 3)), np.array([0, 7]))
    with pytest.raises(RuntimeError, match="CrossEntropyLoss.backward was called before forward"):
        ce.backward()


def test_a_generator_or_async_function_cannot_be_decorated():
    def batches():
        yield 1

    async def step():
        return 1

    for func in (batches, step):
        with pytest.raises(TypeError, match=f"cannot decorate the generator or async function "
                                            f"'{func.__name__}'"):
            convnp.detect_anomaly()(func)  # its body would run with the checks off
    with pytest.raises(TypeError, match="detect_anomaly: can decorate a function, got int"):
        convnp.detect_anomaly()(3)


def test_a_second_backward_on_one_forward_is_refused_in_the_mode(rng):
    net = Sequential(ReLU(), Linear(3, 2, dtype=F64, rng=rng))
    x, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    with convnp.detect_anomaly(check_nan=False):
        net(x)
        net.backward(g)
        with pytest.raises(RuntimeError, match=r"Linear.backward: called again on the cache "
                                               r"of one forward, which would add its parameter "
                                               r"gradients twice \(detect_anomaly\)"):
            net.backward(g)
        net(x)
        net.backward(g)  # a new forward, a new cache
    net.backward(g)  # outside the mode nothing is checked: gradients accumulate


def test_layers_without_parameters_and_losses_may_be_asked_again_in_the_mode(rng):
    """Their second answer only repeats the first: a Jacobian taken row by row."""
    relu, loss = ReLU(), CrossEntropyLoss()
    with convnp.detect_anomaly():
        x = rng.standard_normal((2, 3))
        relu(x)
        columns = [relu.backward(np.tile(unit, (2, 1)))[0] for unit in np.eye(3)]
        np.testing.assert_array_equal(np.stack(columns), np.diag(x[0] > 0))
        loss(rng.standard_normal((2, 3)), np.array([0, 2]))
        np.testing.assert_array_equal(loss.backward(), loss.backward())


def test_a_backward_that_raised_can_be_retried_in_the_mode(rng):
    net = Sequential(Linear(3, 2, rng=rng), ReLU())
    with convnp.detect_anomaly():
        net(rng.standard_normal((4, 3)).astype(np.float32))
        with pytest.raises(ValueError, match="Linear.backward: expected a gradient of dtype"):
            net.backward(np.ones((4, 2)))  # float64: ReLU passes it, Linear refuses it
        assert net.backward(np.ones((4, 2), np.float32)).shape == (4, 3)


def test_a_layer_placed_twice_is_caught_in_the_mode(rng):
    """``append`` sees only its own container, so this reuse is not refused when built."""
    shared = Linear(3, 3, dtype=F64, rng=rng)
    net = Sequential(Sequential(shared), Sequential(ReLU()))
    net[1].append(shared)
    with convnp.detect_anomaly():
        net(rng.standard_normal((2, 3)))
        with pytest.raises(RuntimeError, match=r"Linear.backward: called again .* if this layer "
                                               r"instance sits in two places of the network"):
            net.backward(np.ones((2, 3)))
