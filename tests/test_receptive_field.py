"""Tests of convnp.receptive_field: the table, and the field measured by backpropagation.

The empirical check: backpropagate a one-hot gradient from one output pixel to the
input. With positive weights and positive inputs (no ReLU dead zones, no cancellation)
the gradient is nonzero exactly on the pixels that output depends on.
"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convnp import receptive_field
from convnp.layers import (
    AdaptiveAvgPool2d,
    AvgPool2d,
    Conv1d,
    Conv2d,
    Dropout,
    Flatten,
    Identity,
    Linear,
    MaxPool2d,
    Module,
    ReLU,
    Sequential,
)
from convnp.models.lenet import lenet5

SEVEN = [(1, 1), (2, 0), (1, 0), (2, 1), (1, 1), (2, 0), (1, 0)]  # (stride, padding)
SEVEN_ROWS = [  # n_in, r_in, j_in, s, p, n_out, r_out, j_out
    (32, 1, 1, 1, 1, 32, 3, 1),
    (32, 3, 1, 2, 0, 15, 5, 2),
    (15, 5, 2, 1, 0, 13, 9, 2),
    (13, 9, 2, 2, 1, 7, 13, 4),
    (7, 13, 4, 1, 1, 7, 21, 4),
    (7, 21, 4, 2, 0, 3, 29, 8),
    (3, 29, 8, 1, 0, 1, 45, 8),
]


def seven_convs(c=1):
    return Sequential(*[Conv2d(c, c, 3, stride=s, padding=p, dtype=np.float64)
                        for s, p in SEVEN])


def positive(net):
    """Make every weight positive and every bias zero, in float64; eval mode (no dropout)."""
    net.to(np.float64).eval()
    rng = np.random.default_rng(0)
    for name, p in net.named_parameters():
        p.data[...] = rng.uniform(0.5, 1.5, p.shape) if name.endswith("weight") else 0.0
    return net


def gradient_support(net, input_shape, position):
    """Rows and columns (half-open ranges) where d y[0, 0, position] / d x is nonzero, and
    the number of nonzero pixels."""
    x = np.random.default_rng(1).uniform(0.5, 1.5, input_shape)
    y = net(x)
    grad = np.zeros_like(y)
    grad[(0, 0, *position)] = 1.0
    support = net.backward(grad)[0].sum(axis=0) != 0
    rows, cols = np.nonzero(support)
    return ((rows.min(), rows.max() + 1), (cols.min(), cols.max() + 1)), int(support.sum())


def test_seven_convolutions_table():
    table = receptive_field(seven_convs(), 32)
    got = [(r.n_in, r.r_in, r.j_in, r.s, r.p, r.n_out, r.r_out, r.j_out) for r in table.rows]
    assert got == [tuple((v, v) for v in row) for row in SEVEN_ROWS]
    assert all(r.k == (3, 3) and r.d == (1, 1) for r in table.rows)
    assert table.r == (45, 45) and table.j == (8, 8) and table.n == (1, 1)
    lines = str(table).splitlines()
    assert lines[0].split() == ["layer", "n_in", "r_in", "j_in", "k", "s", "p", "d", "n_out",
                                "r_out", "j_out", "first"]
    for line, (n_in, r_in, j_in, s, p, n_out, r_out, j_out) in zip(lines[1:], SEVEN_ROWS):
        assert line.split()[2:12] == [str(v) for v in (n_in, r_in, j_in, 3, s, p, 1, n_out,
                                                       r_out, j_out)]
    assert lines[-1] == "receptive field 45 x 45, jump 8 x 8"


def test_seven_convolutions_field_measured_by_backprop():
    net = positive(seven_convs())
    # 64 x 80 input: output pixel (2, 3) sees rows -7 + 2*8 = 9 .. 53, columns 17 .. 61.
    table = receptive_field(net, (64, 80))
    assert table.region((2, 3)) == ((9, 54), (17, 62))
    box, count = gradient_support(net, (1, 1, 64, 80), (2, 3))
    assert box == ((9, 54), (17, 62)) and count == 45 * 45
    # on the 32-pixel input the 45-pixel field hangs over the padding: clipped to the image
    table = receptive_field(net, 32)
    assert table.region((0, 0)) == ((0, 32), (0, 32))
    assert gradient_support(net, (1, 1, 32, 32), (0, 0)) == (((0, 32), (0, 32)), 32 * 32)


def test_dilated_stack_fills_its_field():
    net = positive(Sequential(Conv2d(1, 1, 3), Conv2d(1, 1, 3, dilation=2),
                              Conv2d(1, 1, 3, dilation=4)))
    table = receptive_field(net, (24, 30))
    assert [r.r_out for r in table.rows] == [(3, 3), (7, 7), (15, 15)]
    assert [r.n_out for r in table.rows] == [(22, 28), (18, 24), (10, 16)]
    box, count = gradient_support(net, (1, 1, 24, 30), (4, 9))
    assert box == table.region((4, 9)) == ((4, 19), (9, 24))
    assert count == 15 * 15  # dilations 1, 2, 4 leave no holes


def test_single_dilated_kernel_spans_its_field_with_holes():
    net = positive(Sequential(Conv2d(1, 1, 3, dilation=(2, 3))))
    table = receptive_field(net, (9, 11))
    assert table.r == (5, 7)
    box, count = gradient_support(net, (1, 1, 9, 11), (1, 2))
    assert box == table.region((1, 2)) == ((1, 6), (2, 9))
    assert count == 9  # r is the span; a lone dilated kernel touches only k x k pixels


def test_non_square_everything_with_pooling_and_pass_through_layers():
    net = positive(Sequential(
        Conv2d(2, 3, (3, 5), stride=(2, 1), padding=(1, 2)), ReLU(), Dropout(0.5), Identity(),
        AvgPool2d((2, 3), stride=(1, 2)), Conv2d(3, 1, (1, 3), dilation=(1, 2)),
    ))
    table = receptive_field(net, (13, 21))
    assert [r.layer for r in table.rows] == ["Conv2d", "AvgPool2d", "Conv2d"]
    assert [r.name for r in table.rows] == ["0", "4", "5"]
    ref = top_down_field([((3, 5), (2, 1), (1, 2), (1, 1)), ((2, 3), (1, 2), (0, 0), (1, 1)),
                          ((1, 3), (1, 1), (0, 0), (1, 2))], (2, 3))
    assert table.region((2, 3)) == tuple(ref) == ((3, 8), (4, 19))
    assert table.r == (5, 15) and table.j == (2, 2)
    assert table.n == net(np.zeros((1, 2, 13, 21)))[0, 0].shape == (6, 6)
    assert gradient_support(net, (1, 2, 13, 21), (2, 3)) == (((3, 8), (4, 19)), 5 * 15)
    # output (0, 0): the field starts at (-1, -2), in the padding, and is clipped
    assert gradient_support(net, (1, 2, 13, 21), (0, 0)) == (((0, 4), (0, 13)), 4 * 13)
    assert table.region((0, 0)) == ((0, 4), (0, 13))
    assert "(13, 21)" in str(table) and "receptive field 5 x 15, jump 2 x 2" in str(table)


def test_the_table_stops_at_flatten():
    table = receptive_field(lenet5("modern", rng=np.random.default_rng(0)), 28)
    assert [r.layer for r in table.rows] == ["Conv2d", "MaxPool2d", "Conv2d", "MaxPool2d"]
    assert [r.r_out[0] for r in table.rows] == [5, 6, 14, 16]
    assert [r.j_out[0] for r in table.rows] == [1, 2, 2, 4]
    assert table.n == (5, 5)
    only_linear = receptive_field(Sequential(Flatten(), Linear(4, 2)), (2, 2))
    assert only_linear.rows == [] and only_linear.r == (1, 1)


def test_one_dimensional_model_and_same_padding():
    net = Sequential(Conv1d(2, 4, 5, padding="same"), ReLU(), Conv1d(4, 4, 4, padding="same",
                                                                     dilation=3))
    table = receptive_field(net, 40)
    assert [(r.n_out, r.r_out, r.p, r.first) for r in table.rows] == [
        ((40,), (5,), (2,), (-2,)), ((40,), (14,), (4,), (-6,))]
    assert str(table).splitlines()[-1] == "receptive field 14, jump 1"


def test_ceil_mode_pooling():
    table = receptive_field(Sequential(MaxPool2d(2, ceil_mode=True)), (5, 6))
    assert table.n == (3, 3)


class Crop(Module):
    """A layer convnp's receptive_field knows nothing about: it changes the grid."""

    def forward(self, x):
        return x[:, :, 1:, 1:]


@pytest.mark.parametrize("model, size, message", [
    (Sequential(Conv2d(1, 1, 3), Crop()), 8, r"layer '1' \(Crop\) turned a grid of size"),
    (Sequential(Conv2d(1, 1, 3)), (8, 8, 8), "receptive_field: input_size must be an int or 2"),
    (Sequential(Conv2d(1, 1, 3)), 0, "input_size must be positive"),
    (Sequential(Conv2d(1, 1, 3)), 2, "Conv2d: kernel of effective size 3"),
])
def test_errors(model, size, message):
    with pytest.raises(ValueError, match=message):
        receptive_field(model, size)


def test_region_checks_the_position():
    table = receptive_field(seven_convs(), 32)
    with pytest.raises(ValueError, match=r"position \(1, 0\) is outside the output grid"):
        table.region((1, 0))


def top_down_field(layers, position):
    """Map one output pixel back through the layers, last to first: an independent reference.

    A window layer's output i reads its input i*s - p .. i*s - p + d(k-1); a range of
    outputs [lo, hi] reads [lo*s - p, hi*s - p + d(k-1)]. Returns half-open ranges.
    """
    spans = []
    for axis, pos in enumerate(position):
        lo = hi = pos
        for k, s, p, d in reversed(layers):
            lo, hi = lo * s[axis] - p[axis], hi * s[axis] - p[axis] + d[axis] * (k[axis] - 1)
        spans.append((lo, hi + 1))
    return spans


layer_strategy = st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(0, 2),
                           st.integers(1, 3))


@settings(max_examples=40, deadline=None)
@given(layers=st.lists(layer_strategy, min_size=1, max_size=4))
def test_bottom_up_table_agrees_with_top_down_mapping(layers):
    size = 60
    n = size
    for k, s, p, d in layers:
        assume(n + 2 * p >= d * (k - 1) + 1)
        n = (n + 2 * p - d * (k - 1) - 1) // s + 1
    net = Sequential(*[Conv2d(1, 1, k, stride=s, padding=p, dilation=d)
                       for k, s, p, d in layers])
    table = receptive_field(net, size)
    last = (table.n[0] - 1) // 2
    (lo, hi), _ = top_down_field([((k,) * 2, (s,) * 2, (p,) * 2, (d,) * 2)
                                  for k, s, p, d in layers], (last, 0))
    assert table.r[0] == hi - lo
    assert table.first[0] + last * table.j[0] == lo
    assert table.j[0] == int(np.prod([s for _, s, _, _ in layers]))
    assert table.n == net(np.zeros((1, 1, size, size), np.float32)).shape[2:] == (n, n)


@pytest.mark.parametrize("name", ["nin", "resnet", "densenet"])
def test_a_global_average_pool_ends_the_grid_like_flatten(name):
    from convnp.models import ladder_model

    net = ladder_model(name, rng=np.random.default_rng(0))
    pool = next(i for i, layer in enumerate(net) if isinstance(layer, AdaptiveAvgPool2d))
    with_flatten = Sequential(*net[:pool], Flatten())  # the same layers, then the end
    assert receptive_field(net, 28).rows == receptive_field(with_flatten, 28).rows


def test_an_adaptive_pool_to_more_than_one_pixel_is_still_refused():
    net = Sequential(Conv2d(1, 2, 3), AdaptiveAvgPool2d((2, 1)), Flatten())
    with pytest.raises(ValueError, match=r"layer '1' \(AdaptiveAvgPool2d\) turned a grid"):
        receptive_field(net, (7, 9))
