"""Tests of convnp.summary: output shapes, parameter counts, memory, and leaving the model alone."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convnp import receptive_field, summary
from convnp.layers import (
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
)
from convnp.models.lenet import lenet5
from convnp.summary import format_bytes, inspection_mode, named_layers

LENET_SHAPES = [(1, 6, 28, 28), (1, 6, 28, 28), (1, 6, 14, 14), (1, 16, 10, 10),
                (1, 16, 10, 10), (1, 16, 5, 5), (1, 400), (1, 120), (1, 120), (1, 84),
                (1, 84), (1, 10)]


def conv_params(c_in, c_out, k):
    return c_out * (k * k * c_in + 1)


def test_classic_lenet_table():
    table = summary(lenet5("classic", rng=np.random.default_rng(0)), (1, 1, 28, 28))
    assert [row.output_shape for row in table.rows] == LENET_SHAPES
    assert [row.name for row in table.rows] == [str(i) for i in range(12)]
    assert [row.layer for row in table.rows] == [
        "Conv2d", "Sigmoid", "AvgPool2d", "Conv2d", "Sigmoid", "AvgPool2d", "Flatten",
        "Linear", "Sigmoid", "Linear", "Sigmoid", "Linear"]
    expected_params = [conv_params(1, 6, 5), 0, 0, conv_params(6, 16, 5), 0, 0, 0,
                       120 * 401, 0, 84 * 121, 0, 10 * 85]
    assert [row.n_params for row in table.rows] == expected_params
    assert table.total_params == sum(expected_params) == 61706
    assert table.trainable_params == 61706 and table.non_trainable_params == 0
    assert table.activation_bytes == 4 * sum(int(np.prod(s)) for s in LENET_SHAPES) == 60008
    text = str(table)
    assert "Total params: 61,706" in text
    assert "Trainable params: 61,706" in text
    assert "Non-trainable params: 0" in text
    assert "58.60 KB" in text
    positions = [text.index(str(shape), text.index(f"\n{i} (")) for i, shape in
                 enumerate(LENET_SHAPES)]
    assert positions == sorted(positions)


def test_float64_model_counts_eight_bytes_and_frozen_parameters():
    net = lenet5("modern", rng=np.random.default_rng(0), dtype=np.float64)
    net[0].weight.requires_grad = False
    net[0].bias.requires_grad = False
    table = summary(net, (2, 1, 28, 28))
    assert table.dtype == np.float64
    assert table.activation_bytes == 2 * 8 * sum(int(np.prod(s)) for s in LENET_SHAPES)
    assert table.non_trainable_params == 156
    assert table.trainable_params == 61706 - 156
    assert "Non-trainable params: 156" in str(table)


def test_nested_sequentials_get_dotted_names():
    rng = np.random.default_rng(0)
    block = Sequential(Conv2d(3, 4, 3, padding=1, rng=rng), ReLU())
    net = Sequential(block, Sequential(Sequential(MaxPool2d(2)), Flatten()),
                     Linear(4 * 3 * 5, 2, rng=rng))
    table = summary(net, (1, 3, 7, 10))
    assert [(r.name, r.output_shape) for r in table.rows] == [
        ("0.0", (1, 4, 7, 10)), ("0.1", (1, 4, 7, 10)), ("1.0.0", (1, 4, 3, 5)),
        ("1.1", (1, 60)), ("2", (1, 2))]
    assert [name for name, _ in named_layers(net)] == ["0.0", "0.1", "1.0.0", "1.1", "2"]
    assert table.total_params == conv_params(3, 4, 3) + 2 * 61


def test_a_bare_layer_is_one_row():
    table = summary(Conv2d(2, 3, (3, 5), rng=np.random.default_rng(0)), (4, 2, 9, 6))
    assert table.rows == [("", "Conv2d", (4, 3, 7, 2), 3 * (2 * 15 + 1))]


def test_summary_leaves_modes_caches_and_rngs_as_they_were():
    rng = np.random.default_rng(0)
    drop_rng = np.random.default_rng(5)
    net = Sequential(Conv2d(1, 2, 3, rng=rng), Dropout(0.5, rng=drop_rng), Flatten(),
                     Linear(2 * 4 * 6, 3, rng=rng))
    net[2].eval()  # a mixed state, to check it is restored module by module
    x = np.random.default_rng(1).standard_normal((2, 1, 6, 8)).astype(np.float32)
    y = net(x)
    state = drop_rng.bit_generator.state
    summary(net, (1, 1, 6, 8))
    assert drop_rng.bit_generator.state == state  # eval mode inside: no mask was drawn
    assert [m.training for m in net.modules()] == [True, True, True, False, True]
    assert all(m.cache_enabled for m in net.modules())
    net.backward(np.ones_like(y))  # the caches of the forward above are still there
    assert np.abs(net[0].weight.grad).sum() > 0


def test_state_is_restored_after_an_error():
    net = Sequential(Conv2d(3, 2, 3, rng=np.random.default_rng(0)), ReLU())
    with pytest.raises(ValueError, match=r"summary: zeros of input_shape \(1, 1, 8, 8\) and dtype "
                                         r"float32 do not pass layer '0': Conv2d: expected 3 "
                                         r"input channels"):
        summary(net, (1, 1, 8, 8))
    assert all(m.training and m.cache_enabled for m in net.modules())


def test_inspection_mode_restores_caching_off_models_too():
    net = Sequential(Conv2d(1, 1, 3, rng=np.random.default_rng(0))).eval()
    net.requires_cache(False)
    with inspection_mode(net):
        net(np.zeros((1, 1, 4, 4), np.float32))
    assert not net.training and not net.cache_enabled and not net[0].cache_enabled


@settings(max_examples=25, deadline=None)
@given(c_in=st.integers(1, 3), c_out=st.integers(1, 4), H=st.integers(5, 12),
       W=st.integers(5, 12), k=st.integers(1, 3), s=st.integers(1, 3), p=st.integers(0, 2))
def test_conv_rows_follow_the_output_size_formula(c_in, c_out, H, W, k, s, p):
    net = Sequential(Conv2d(c_in, c_out, k, stride=s, padding=p, rng=np.random.default_rng(0)),
                     ReLU())
    table = summary(net, (2, c_in, H, W))
    expected = (2, c_out, (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1)
    assert table.rows[0].output_shape == table.rows[1].output_shape == expected
    assert table.rows[0].n_params == conv_params(c_in, c_out, k)
    assert table.activation_bytes == 2 * 4 * int(np.prod(expected))


def test_format_bytes():
    assert format_bytes(0) == "0 B"
    assert format_bytes(1023) == "1023 B"
    assert format_bytes(1024) == "1.00 KB"
    assert format_bytes(5 * 2**20 + 2**19) == "5.50 MB"
    assert format_bytes(3 * 2**40) == "3072.00 GB"


@pytest.mark.parametrize("call, error, message", [
    (lambda net: summary(net, 28), TypeError, r"summary: input_shape must be the input's shape "
                                              r"with its batch axis, a tuple of ints, got int 28"),
    (lambda net: summary(net, (1, 1, -28, 28)), ValueError, r"input_shape\[2\] must be >= 1"),
    (lambda net: summary(net, (1, 1, 28, 28.5)), TypeError, r"input_shape\[3\] must be an int"),
    (lambda net: summary(net, np.zeros((5, 1, 28, 28))), TypeError,
     r"summary: input_shape must be .* got an array of shape \(5, 1, 28, 28\); for an array x "
     r"pass x.shape"),
    (lambda net: summary(net, (1, 28, 28)), ValueError,
     r"summary: zeros of input_shape \(1, 28, 28\) and dtype float32 do not pass layer '0': "
     r"Conv2d: expected a 4-D input"),
    (lambda net: summary(net, (1, 1, 28, 28), dtype=np.float64), ValueError,
     r"summary: zeros of input_shape \(1, 1, 28, 28\) and dtype float64 do not pass layer '0'"),
    (lambda net: summary(net, (1, 1, 28, 28), dtype="flaot32"), TypeError,
     r"summary: dtype must be a floating NumPy dtype"),
    (lambda net: summary(lambda x: x, (1, 2)), TypeError,
     r"summary: model must be a convnp Module, got function"),
    (lambda net: receptive_field("net", 28), TypeError,
     r"receptive_field: model must be a convnp Module, got str"),
])
def test_arguments_of_the_wrong_kind_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call(lenet5(rng=np.random.default_rng(0)))
