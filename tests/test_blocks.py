"""Residual and Concat: gradients add where a value fans out."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convnp import (
    AvgPool2d,
    BatchNorm2d,
    Concat,
    Conv2d,
    Dropout,
    Flatten,
    Identity,
    Linear,
    MaxPool2d,
    ReLU,
    Residual,
    Sequential,
    Tanh,
    gradcheck,
)

F64 = {"dtype": np.float64}


def conv_body(rng, c_in=2, c_out=2, stride=1):
    return Sequential(Conv2d(c_in, c_out, 3, stride=stride, padding=1, rng=rng, **F64),
                      BatchNorm2d(c_out, **F64), Tanh(),
                      Conv2d(c_out, c_out, (1, 3), padding=(0, 1), rng=rng, **F64))


def test_residual_forward_is_the_sum(rng):
    body = conv_body(rng)
    block = Residual(body)
    x = rng.standard_normal((2, 2, 5, 7))
    y = block(x)
    np.testing.assert_allclose(y, body(x) + x)


@pytest.mark.parametrize("shortcut", [None, "conv"])
def test_residual_gradcheck_of_the_whole_block(rng, shortcut):
    if shortcut is None:
        block = Residual(conv_body(rng))
    else:
        block = Residual(conv_body(rng, 2, 3, stride=2),
                         Conv2d(2, 3, 1, stride=2, rng=rng, **F64))
    assert gradcheck(block, rng.standard_normal((2, 2, 5, 7)))


def test_residual_input_gradient_is_the_sum_of_both_paths(rng):
    body, shortcut = conv_body(rng, 2, 3), Conv2d(2, 3, 1, rng=rng, **F64)
    block = Residual(body, shortcut)
    x, g = rng.standard_normal((2, 2, 5, 7)), rng.standard_normal((2, 3, 5, 7))
    grad = block(x) is not None and block.backward(g)
    body(x)
    shortcut(x)
    np.testing.assert_allclose(grad, body.backward(g) + shortcut.backward(g), rtol=1e-12)


@pytest.mark.parametrize("n_branches", [1, 2, 3, 4])
def test_concat_gradcheck_every_branch_count(rng, n_branches):
    makers = [lambda: Identity(),
              lambda: Conv2d(2, 3, 3, padding=1, rng=rng, **F64),
              lambda: Sequential(MaxPool2d(3, stride=1, padding=1),
                                 Conv2d(2, 1, 1, rng=rng, **F64)),
              lambda: Sequential(AvgPool2d(3, stride=1, padding=1), Tanh())]
    block = Concat(*[make() for make in makers[:n_branches]])
    x = rng.standard_normal((2, 2, 4, 6))
    y = block(x)
    assert y.shape == (2, [2, 5, 6, 8][n_branches - 1], 4, 6)
    assert gradcheck(block, x)


@pytest.mark.parametrize("dim", [2, -1])
def test_concat_along_other_axes(rng, dim):
    block = Concat(Identity(), Tanh(), dim=dim)
    x = rng.standard_normal((2, 3, 4, 5))
    np.testing.assert_allclose(block(x), np.concatenate([x, np.tanh(x)], axis=dim))
    assert gradcheck(block, x)


def test_densenet_style_nesting_gradcheck(rng):
    """Concat inside Residual inside Sequential, trained as one network."""
    net = Sequential(
        Conv2d(1, 2, 3, padding=1, rng=rng, **F64),
        Concat(Identity(), Sequential(BatchNorm2d(2, **F64), ReLU(),
                                      Conv2d(2, 2, 3, padding=1, rng=rng, **F64))),
        Residual(Sequential(Conv2d(4, 4, 3, padding=1, rng=rng, **F64), Tanh())),
        Flatten(), Linear(4 * 3 * 5, 2, rng=rng, **F64))
    assert gradcheck(net, rng.standard_normal((3, 1, 3, 5)))


def test_input_grad_false_skips_the_input_gradient_but_not_the_parameters(rng):
    block = Residual(conv_body(rng), Conv2d(2, 2, 1, rng=rng, **F64))
    net = Sequential(block, Flatten())
    x, g = rng.standard_normal((2, 2, 5, 7)), rng.standard_normal((2, 70))
    net(x)
    net.backward(g)
    full = [p.grad.copy() for p in net.parameters()]
    net.zero_grad()
    net(x)
    assert net.backward(g, input_grad=False) is None
    for a, b in zip(full, [p.grad for p in net.parameters()]):
        np.testing.assert_allclose(a, b)
    concat = Concat(Identity(), Conv2d(2, 1, 1, rng=rng, **F64))
    concat(x)
    assert concat.backward(rng.standard_normal((2, 3, 5, 7)), input_grad=False) is None


def test_names_modes_and_state_dict(rng):
    net = Sequential(Residual(conv_body(rng), Conv2d(2, 2, 1, rng=rng, **F64)),
                     Concat(Identity(), Dropout(0.5, rng=rng)))
    names = [name for name, _ in net.named_parameters()]
    assert names[:2] == ["0.body.0.weight", "0.body.0.bias"] and "0.shortcut.weight" in names
    assert "0.body.1.running_mean" in net.state_dict()
    net.eval()
    assert not any(m.training for m in net.modules())
    x = rng.standard_normal((2, 2, 5, 7))
    np.testing.assert_allclose(net[1](x), np.concatenate([x, x], axis=1))
    net.train()
    assert all(m.training for m in net.modules())
    assert "(body): Sequential(" in repr(net)


@given(c=st.integers(1, 3), h=st.integers(1, 5), w=st.integers(1, 5),
       k=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_concat_backward_is_the_adjoint_of_the_forward(c, h, w, k, seed):
    """Concat of linear branches is linear: <concat(x), g> = <x, concat.backward(g)>."""
    rng = np.random.default_rng(seed)
    branches = [Conv2d(c, i + 1, 1, bias=False, rng=rng, **F64) for i in range(k)]
    block = Concat(*branches)
    x = rng.standard_normal((2, c, h, w))
    y = block(x)
    g = rng.standard_normal(y.shape)
    np.testing.assert_allclose(np.sum(y * g), np.sum(x * block.backward(g)), rtol=1e-9)


def test_errors_name_the_container(rng):
    conv = Conv2d(2, 2, 1, rng=rng)
    with pytest.raises(ValueError, match="Residual: this Conv2d instance appears in two"):
        Residual(conv, conv)
    with pytest.raises(ValueError, match="Concat: this Conv2d instance appears in two"):
        Concat(conv, Sequential(conv))
    with pytest.raises(ValueError, match="Concat: expected at least one branch"):
        Concat()
    with pytest.raises(TypeError, match="Residual: body must be a Module"):
        Residual(np.zeros(3))
    with pytest.raises(ValueError, match=r"Residual: the body's output \(1, 3, 4, 5\) and the "
                                         r"input \(1, 2, 4, 5\) differ"):
        Residual(Conv2d(2, 3, 1, rng=rng))(np.zeros((1, 2, 4, 5), np.float32))
    with pytest.raises(ValueError, match=r"Concat: branch 1 returned shape \(1, 2, 3, 4\)"):
        Concat(Identity(), MaxPool2d(2, stride=1))(np.zeros((1, 2, 4, 5), np.float32))
    with pytest.raises(RuntimeError, match="Residual.backward was called before forward"):
        Residual(Identity()).backward(np.zeros(3))


# --------------------------------------------------------------------------- teaching tools
def empirical_field(net, shape, position):
    """The input rows and columns that reach output pixel ``position`` (in any channel)."""
    x = np.random.default_rng(0).standard_normal(shape)
    y = net(x)
    g = np.zeros(y.shape)
    g[(0, slice(None), *position)] = 1
    support = np.nonzero(np.abs(net.backward(g)[0]).sum(axis=0))
    return tuple((int(s.min()), int(s.max()) + 1) for s in support)


def branchy_net(rng):
    return Sequential(
        Conv2d(1, 2, 3, padding=1, rng=rng, **F64),
        Residual(Sequential(Conv2d(2, 2, 3, padding=1, rng=rng, **F64), Tanh(),
                            Conv2d(2, 2, 3, padding=1, rng=rng, **F64))),
        Concat(Conv2d(2, 1, 1, rng=rng, **F64), Conv2d(2, 1, (5, 3), padding=(2, 1), rng=rng,
                                                       **F64)),
        AvgPool2d(2))


def test_receptive_field_takes_the_largest_branch_and_matches_the_gradient(rng):
    from convnp import receptive_field

    net = branchy_net(rng)
    rf = receptive_field(net, (12, 14))
    assert [row.name for row in rf.rows] == ["0", "1.body.0", "1.body.2", "2.0", "2.1", "3"]
    assert rf.r == (12, 10)  # 1 + 2 + 2 + 2 (+4 or +2 from the (5, 3) branch) + 1
    assert rf.region((2, 3)) == empirical_field(net, (1, 1, 12, 14), (2, 3))


def test_receptive_field_errors_name_the_container(rng):
    from convnp import receptive_field

    odd = Concat(Identity(), Conv2d(1, 1, 1, stride=2, rng=rng))  # on a 1x1 input both fit
    with pytest.raises(ValueError, match="the branches of Concat '0' have different jumps"):
        receptive_field(Sequential(odd), 1)
    ends = Residual(Sequential(Flatten()))
    with pytest.raises(ValueError, match=r"layer '0.body.0' \(Flatten\) ends the grid inside "
                                         r"the branch of Residual '0'"):
        receptive_field(Sequential(ends), 9)


def test_summary_counts_the_parameters_inside_blocks(rng):
    from convnp import summary

    net = branchy_net(rng)
    table = summary(net, (1, 1, 12, 14))
    assert [r.layer for r in table.rows] == ["Conv2d", "Residual", "Concat", "AvgPool2d"]
    assert table.total_params == 20 + 2 * 38 + 3 + 31
    assert table.rows[2].output_shape == (1, 2, 12, 14)


def test_gradcheck_leaves_running_statistics_and_grads_as_they_were(rng):
    net = Residual(conv_body(rng))
    x = rng.standard_normal((2, 2, 4, 5))
    net(x)
    net.backward(np.ones((2, 2, 4, 5)))  # some accumulated gradients
    before = {k: v.copy() for k, v in net.state_dict().items()}
    grads = [p.grad.copy() for p in net.parameters()]
    assert gradcheck(net, x)  # hundreds of forward passes in training mode
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)
    assert all(np.array_equal(p.grad, g) for p, g in zip(net.parameters(), grads))


def test_gradcheck_refuses_a_random_module_with_the_reason(rng):
    net = Sequential(Linear(3, 4, rng=rng, **F64), Dropout(0.5, rng=rng))
    with pytest.raises(ValueError, match=r"two forward passes .* different outputs.*\.eval\(\)"):
        gradcheck(net, rng.standard_normal((2, 3)))
    assert gradcheck(net.eval(), rng.standard_normal((2, 3)))


@pytest.mark.parametrize("kwargs, error, message", [
    ({"eps": 0}, ValueError, r"gradcheck: eps must be > 0, got 0.0"),
    ({"atol": "x"}, TypeError, r"gradcheck: atol must be a number, got str 'x'"),
    ({"rtol": -1}, ValueError, r"gradcheck: rtol must be >= 0"),
    ({"directional": 1}, TypeError, r"gradcheck: directional must be a bool"),
    ({"rng": 0}, TypeError, r"gradcheck: rng must be a np.random.Generator"),
])
def test_gradcheck_checks_its_options(kwargs, error, message, rng):
    with pytest.raises(error, match=message):
        gradcheck(Linear(3, 2, rng=rng, **F64), rng.standard_normal((2, 3)), **kwargs)
