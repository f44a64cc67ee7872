"""Linear, Flatten, the activations and Dropout: forward by definition, gradients, stability."""

import math
import warnings

import numpy as np
import pytest
from reference import gelu_ref, linear_ref, log_softmax_ref, softmax_ref

from convnp import (
    GELU,
    Dropout,
    Dropout2d,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    gradcheck,
)
from convnp.functional.activation import relu_backward, sigmoid


def away_from_zero(rng, shape):
    """Random values with |x| >= 0.1, so finite differences never straddle a kink at 0."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < 0.1, np.sign(x + 1e-12) * 0.1 + x, x)


# --------------------------------------------------------------------------- Linear
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 5), (5,)])
def test_linear_forward_matches_reference(shape, bias, rng):
    lin = Linear(5, 3, bias=bias, rng=rng, dtype=np.float64)
    x = rng.standard_normal(shape)
    y = lin(x)
    assert y.shape == shape[:-1] + (3,)
    expected = linear_ref(x, lin.weight.data, lin.bias.data if bias else None)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bias, shape", [(True, (4, 5)), (False, (4, 5)), (True, (2, 3, 5))])
def test_linear_gradcheck(bias, shape, rng):
    lin = Linear(5, 3, bias=bias, rng=rng, dtype=np.float64)
    assert gradcheck(lin, rng.standard_normal(shape))


def test_linear_init_and_shapes(rng):
    lin = Linear(400, 120, rng=rng)
    assert lin.weight.shape == (120, 400) and lin.bias.shape == (120,)
    bound = 1 / math.sqrt(400)
    for p in (lin.weight.data, lin.bias.data):
        assert 0.8 * bound < np.abs(p).max() <= bound


# --------------------------------------------------------------------------- Flatten
@pytest.mark.parametrize("start, end, out_shape", [
    (1, -1, (2, 60)), (0, -1, (120,)), (1, 2, (2, 12, 5)), (2, 3, (2, 3, 20)),
    (-3, -2, (2, 12, 5)), (0, 0, (2, 3, 4, 5)),
])
def test_flatten_forward_and_gradcheck(start, end, out_shape, rng):
    x = rng.standard_normal((2, 3, 4, 5))
    flat = Flatten(start, end)
    y = flat(x)
    assert y.shape == out_shape
    np.testing.assert_array_equal(y.ravel(), x.ravel())  # row-major order kept
    assert gradcheck(flat, x)


# --------------------------------------------------------------------------- activations
def sigmoid_def(x):
    return np.vectorize(lambda v: 1 / (1 + math.exp(-v)))(x)


ELEMENTWISE = [  # (a factory for a fresh layer, the definition it must match)
    pytest.param(ReLU, lambda x: np.where(x > 0, x, 0.0), id="ReLU"),
    pytest.param(LeakyReLU, lambda x: np.where(x > 0, x, 0.01 * x), id="LeakyReLU"),
    pytest.param(lambda: LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x),
                 id="LeakyReLU(0.2)"),
    pytest.param(Sigmoid, sigmoid_def, id="Sigmoid"),
    pytest.param(Tanh, np.vectorize(math.tanh), id="Tanh"),
    pytest.param(GELU, gelu_ref, id="GELU"),
    pytest.param(lambda: GELU("tanh"), lambda x: gelu_ref(x, "tanh"), id="GELU(tanh)"),
    pytest.param(Identity, lambda x: x, id="Identity"),
]


@pytest.mark.parametrize("make, definition", ELEMENTWISE)
def test_elementwise_forward_matches_definition(make, definition, rng):
    x = 3 * rng.standard_normal((2, 3, 4, 5))
    np.testing.assert_allclose(make()(x), definition(x), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("make, definition", ELEMENTWISE)
def test_elementwise_gradcheck(make, definition, rng):
    assert gradcheck(make(), away_from_zero(rng, (2, 3, 4)))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_and_log_softmax_forward_and_gradcheck(dim, rng):
    x = 2 * rng.standard_normal((2, 3, 4))
    np.testing.assert_allclose(Softmax(dim)(x), softmax_ref(x, dim), rtol=1e-12)
    np.testing.assert_allclose(LogSoftmax(dim)(x), log_softmax_ref(x, dim), rtol=1e-12,
                               atol=1e-14)
    np.testing.assert_allclose(Softmax(dim)(x).sum(axis=dim), 1, rtol=1e-12)
    assert gradcheck(Softmax(dim), x)
    assert gradcheck(LogSoftmax(dim), x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_has_no_overflow_for_large_inputs(dtype):
    x = np.array([-1000.0, -100.0, 0.0, 100.0, 1000.0], dtype=dtype)
    sig = Sigmoid()
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        y = sig(x)
        grad = sig.backward(np.ones_like(x))
    assert y.dtype == dtype
    np.testing.assert_allclose(y, [0, 0, 0.5, 1, 1], atol=1e-30)
    assert np.isfinite(grad).all()


def test_functional_sigmoid_takes_what_np_exp_takes_and_keeps_the_memory_order():
    ints = sigmoid(np.array([0, 2, -3]))
    assert ints.dtype == np.float64
    np.testing.assert_allclose(ints, 1 / (1 + np.exp(-np.array([0.0, 2.0, -3.0]))), rtol=1e-15)
    np.testing.assert_allclose(sigmoid([0.0, 1.0]), [0.5, 1 / (1 + np.exp(-1.0))], rtol=1e-15)
    batch_last = np.random.default_rng(0).standard_normal((3, 5, 4, 2)).transpose(3, 0, 1, 2)
    y = sigmoid(batch_last)
    assert y.strides == batch_last.strides
    np.testing.assert_allclose(y, 1 / (1 + np.exp(-batch_last)), rtol=1e-15)


def test_softmax_family_and_gelu_are_stable_for_huge_inputs():
    x = np.array([[1e4, 0.0, -1e4]])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        s = Softmax(1)(x)
        log_s = LogSoftmax(1)(x)
        gelu = GELU()(x)
    np.testing.assert_allclose(s, [[1, 0, 0]], atol=1e-300)
    np.testing.assert_allclose(log_s, [[0, -1e4, -2e4]])
    np.testing.assert_allclose(gelu, [[1e4, 0, 0]], atol=1e-300)


# --------------------------------------------------------------------------- Dropout
def test_dropout_eval_is_identity_and_gradchecks(rng):
    drop = Dropout(0.5, rng=rng).eval()
    x = rng.standard_normal((3, 4, 5))
    np.testing.assert_array_equal(drop(x), x)
    assert gradcheck(drop, x)


@pytest.mark.parametrize("p", [0.0, 0.3, 0.8, 1.0])
def test_dropout_train_gradcheck_with_fixed_mask(p, rng):
    def dropped(x):  # a fresh generator with the same seed: the same mask on every call
        drop = Dropout(p, rng=np.random.default_rng(11))
        return drop(x), lambda g: (drop.backward(g),)

    assert gradcheck(dropped, rng.standard_normal((4, 6)))


@pytest.mark.parametrize("p", [0.25, 0.5, 0.9])
def test_dropout_backward_uses_the_forward_mask(p, rng):
    drop = Dropout(p, rng=rng)
    x = 1 + rng.random((8, 3, 5))  # no zeros, so the mask is y / x
    for _ in range(2):  # the second forward draws a new mask; backward must use it
        y = drop(x)
    mask = y / x
    scale = 1 / (1 - p)
    assert np.all(np.isclose(mask, 0) | np.isclose(mask, scale))
    g = rng.standard_normal(x.shape)
    np.testing.assert_allclose(drop.backward(g), g * mask, rtol=1e-12)


def test_dropout_drops_about_p_and_is_reproducible():
    x = np.ones((200, 500))
    y = Dropout(0.3, rng=np.random.default_rng(4))(x)
    kept = (y != 0).mean()
    assert abs(kept - 0.7) < 4 * math.sqrt(0.7 * 0.3 / x.size)
    np.testing.assert_allclose(y.mean(), 1, atol=0.01)  # inverted dropout keeps the mean
    np.testing.assert_array_equal(y, Dropout(0.3, rng=np.random.default_rng(4))(x))


def test_dropout_p_zero_and_one_in_training(rng):
    x = rng.standard_normal((3, 4))
    np.testing.assert_array_equal(Dropout(0.0, rng=rng)(x), x)
    drop = Dropout(1.0, rng=rng)
    np.testing.assert_array_equal(drop(x), np.zeros_like(x))
    np.testing.assert_array_equal(drop.backward(np.ones_like(x)), np.zeros_like(x))


def test_relu_backward_is_the_mask_product_even_for_non_finite_gradients():
    y = np.array([[0.0, 2.0, 0.0], [3.0, 0.0, 1.0]])
    grad = np.array([[7.0, -4.0, np.inf], [np.nan, -0.5, 2.5]])
    with np.errstate(invalid="ignore"):
        got = relu_backward(grad, y)
    # Finite gradients pass where y > 0 and are 0 elsewhere; inf * 0 is NaN (torch: 0).
    np.testing.assert_array_equal(got, [[0.0, -4.0, np.nan], [np.nan, 0.0, 2.5]])


@pytest.mark.parametrize("make, x_shape", [
    (lambda inplace: ReLU(inplace), (3, 4)),
    (lambda inplace: LeakyReLU(0.2, inplace), (3, 4)),
    (lambda inplace: Dropout(0.4, inplace, rng=np.random.default_rng(1)), (3, 4)),
    (lambda inplace: Dropout2d(0.4, inplace, rng=np.random.default_rng(1)), (2, 5, 3, 4)),
])
def test_inplace_is_accepted_and_never_overwrites_the_input(make, x_shape, rng):
    x = rng.standard_normal(x_shape)
    before = x.copy()
    layer, plain = make(True), make(False)
    y = layer(x)
    np.testing.assert_array_equal(x, before)  # PyTorch would overwrite x; convnp does not
    np.testing.assert_array_equal(y, plain(x))
    grad = rng.standard_normal(x_shape)
    np.testing.assert_array_equal(layer.backward(grad), plain.backward(grad))
    assert "inplace=True" in repr(layer) and "inplace" not in repr(plain)
    with pytest.raises(TypeError, match="inplace must be a bool, got int 1"):
        make(1)
