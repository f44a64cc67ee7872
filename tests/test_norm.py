"""BatchNorm1d/2d, LayerNorm, GroupNorm: loop references, gradchecks, running statistics."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from convnp import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm, gradcheck
from convnp.functional.norm import batch_norm_eval_forward, batch_norm_forward

F64 = {"dtype": np.float64}


# --------------------------------------------------------------------------- references
def ref_batch_norm(x, weight, bias, eps):
    """Per channel, a plain loop: mean and biased variance of every value of that channel."""
    y = np.empty_like(x)
    for c in range(x.shape[1]):
        values = x[:, c].ravel()
        mean = sum(values) / len(values)
        var = sum((v - mean) ** 2 for v in values) / len(values)
        y[:, c] = (x[:, c] - mean) / np.sqrt(var + eps) * weight[c] + bias[c]
    return y


def ref_group_norm(x, groups, weight, bias, eps):
    """Per sample and per group of channels, a plain loop."""
    y = np.empty_like(x)
    per = x.shape[1] // groups
    for n in range(x.shape[0]):
        for g in range(groups):
            block = x[n, g * per:(g + 1) * per]
            values = block.ravel()
            mean = sum(values) / len(values)
            var = sum((v - mean) ** 2 for v in values) / len(values)
            y[n, g * per:(g + 1) * per] = (block - mean) / np.sqrt(var + eps)
    return y * weight.reshape(1, -1, *[1] * (x.ndim - 2)) + bias.reshape(
        1, -1, *[1] * (x.ndim - 2))


def ref_layer_norm(x, n_dims, weight, bias, eps):
    """Per sample (every leading index), a plain loop over the flattened trailing block."""
    lead = x.shape[:x.ndim - n_dims]
    y = np.empty_like(x)
    for index in np.ndindex(*lead):
        values = x[index].ravel()
        mean = sum(values) / len(values)
        var = sum((v - mean) ** 2 for v in values) / len(values)
        y[index] = (x[index] - mean) / np.sqrt(var + eps) * weight + bias
    return y


def random_affine(layer, rng):
    for p in layer.parameters():
        p.data[...] = rng.standard_normal(p.shape)
    return layer


# --------------------------------------------------------------------------- forward
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 7), (3, 3, 4, 6)])
def test_batch_norm_matches_loop_reference(rng, shape):
    layer = (BatchNorm2d if len(shape) == 4 else BatchNorm1d)(3, eps=1e-3, **F64)
    random_affine(layer, rng)
    x = rng.standard_normal(shape) * 3 + 1
    expected = ref_batch_norm(x, layer.weight.data, layer.bias.data, 1e-3)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-10, atol=1e-12)


def stored_batch_last(a):
    """The same values, stored (C, H, W, N) in memory, as a convolution leaves them."""
    return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)


@pytest.mark.parametrize("x_last, grad_last", [(True, False), (False, True), (True, True)])
def test_batch_norm_gives_the_same_numbers_in_either_memory_order(rng, x_last, grad_last):
    """Channel rows are a view of a batch-last array and a copy of an NCHW one."""
    x, grad_y = rng.standard_normal((4, 3, 5, 6)) * 3 + 1, rng.standard_normal((4, 3, 5, 6))
    plain, other = BatchNorm2d(3, **F64), BatchNorm2d(3, **F64)
    random_affine(plain, rng)
    other.load_state_dict(plain.state_dict())
    y = other(stored_batch_last(x) if x_last else x)
    np.testing.assert_allclose(y, plain(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        other.backward(stored_batch_last(grad_y) if grad_last else grad_y),
        plain.backward(grad_y), rtol=1e-12, atol=1e-12)
    for a, b in zip(other.parameters(), plain.parameters()):
        np.testing.assert_allclose(a.grad, b.grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("groups", [1, 2, 3, 6])
def test_group_norm_matches_loop_reference(rng, groups):
    layer = random_affine(GroupNorm(groups, 6, **F64), rng)
    x = rng.standard_normal((2, 6, 3, 5))
    expected = ref_group_norm(x, groups, layer.weight.data, layer.bias.data, 1e-5)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("normalized_shape", [5, (4, 5), (3, 4, 5)])
def test_layer_norm_matches_loop_reference(rng, normalized_shape):
    layer = random_affine(LayerNorm(normalized_shape, **F64), rng)
    x = rng.standard_normal((2, 3, 4, 5))
    n = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    expected = ref_layer_norm(x, n, layer.weight.data, layer.bias.data, 1e-5)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-10, atol=1e-12)


def test_eval_uses_running_statistics(rng):
    bn = random_affine(BatchNorm2d(2, **F64), rng)
    bn.running_mean[...] = [1.0, -2.0]
    bn.running_var[...] = [4.0, 0.25]
    x = rng.standard_normal((3, 2, 4, 5))
    y = bn.eval()(x)
    w, b = bn.weight.data[None, :, None, None], bn.bias.data[None, :, None, None]
    mean = np.array([1.0, -2.0])[None, :, None, None]
    var = np.array([4.0, 0.25])[None, :, None, None]
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-5) * w + b, rtol=1e-12)
    assert int(bn.num_batches_tracked) == 0  # eval does not count


def test_without_running_stats_batch_statistics_in_both_modes(rng):
    bn = BatchNorm2d(2, track_running_stats=False, **F64)
    assert list(bn.named_buffers()) == []
    x = rng.standard_normal((3, 2, 4, 5))
    np.testing.assert_allclose(bn.eval()(x), bn.train()(x))


# --------------------------------------------------------------------------- running stats
def test_running_statistics_follow_pytorch_formula(rng):
    bn = BatchNorm1d(3, momentum=0.3, **F64)
    mean, var = np.zeros(3), np.ones(3)
    for step in range(4):
        x = rng.standard_normal((6, 3, 5)) * (step + 1) + step
        bn(x)
        values = x.transpose(1, 0, 2).reshape(3, -1)
        mean = 0.7 * mean + 0.3 * values.mean(axis=1)
        var = 0.7 * var + 0.3 * values.var(axis=1, ddof=1)  # unbiased, as PyTorch
    np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, var, rtol=1e-12)
    assert bn.num_batches_tracked.dtype == np.int64 and int(bn.num_batches_tracked) == 4


def test_momentum_none_is_the_cumulative_average(rng):
    bn = BatchNorm2d(2, momentum=None, **F64)
    batches = [rng.standard_normal((3, 2, 4, 5)) + i for i in range(5)]
    for x in batches:
        bn(x)
    means = [x.mean(axis=(0, 2, 3)) for x in batches]
    variances = [x.transpose(1, 0, 2, 3).reshape(2, -1).var(axis=1, ddof=1) for x in batches]
    np.testing.assert_allclose(bn.running_mean, np.mean(means, axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, np.mean(variances, axis=0), rtol=1e-12)


def test_reset_running_stats():
    bn = BatchNorm1d(2, **F64)
    bn(np.array([[1.0, 2.0], [3.0, 7.0]]))
    bn.reset_running_stats()
    np.testing.assert_array_equal(bn.running_mean, 0)
    np.testing.assert_array_equal(bn.running_var, 1)
    assert int(bn.num_batches_tracked) == 0


# --------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 7), (3, 3, 4, 6)])
def test_batch_norm_gradcheck_training(rng, affine, momentum, shape):
    layer = (BatchNorm2d if len(shape) == 4 else BatchNorm1d)(3, momentum=momentum,
                                                             affine=affine, **F64)
    if affine:
        random_affine(layer, rng)
    assert gradcheck(layer, rng.standard_normal(shape) * 2 + 0.5)


@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_gradcheck_eval(rng, affine):
    layer = BatchNorm2d(3, affine=affine, **F64)
    layer.running_mean[...] = rng.standard_normal(3)
    layer.running_var[...] = rng.uniform(0.5, 2, 3)
    if affine:
        random_affine(layer, rng)
    assert gradcheck(layer.eval(), rng.standard_normal((2, 3, 4, 5)))


def test_batch_norm_gradcheck_without_running_stats(rng):
    layer = random_affine(BatchNorm2d(2, track_running_stats=False, **F64), rng).eval()
    assert gradcheck(layer, rng.standard_normal((2, 2, 3, 5)))


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck_without_bias(rng, training):
    layer = BatchNorm2d(3, bias=False, **F64)
    layer.weight.data[...] = rng.standard_normal(3)
    assert layer.bias is None and [name for name, _ in layer.named_parameters()] == ["weight"]
    assert gradcheck(layer.train(training), rng.standard_normal((2, 3, 4, 5)))


@pytest.mark.parametrize("groups", [1, 2, 4])
@pytest.mark.parametrize("affine, bias", [(True, True), (True, False), (False, True)])
def test_group_norm_gradcheck(rng, groups, affine, bias):
    layer = GroupNorm(groups, 4, affine=affine, bias=bias, **F64)
    for p in layer.parameters():
        p.data[...] = rng.standard_normal(p.shape)
    assert gradcheck(layer, rng.standard_normal((2, 4, 3, 5)))
    assert gradcheck(layer, rng.standard_normal((2, 4, 7)))
    assert gradcheck(layer, rng.standard_normal((3, 4)))


@pytest.mark.parametrize("options", [{}, {"elementwise_affine": False}, {"bias": False}])
@pytest.mark.parametrize("normalized_shape", [5, (4, 5)])
def test_layer_norm_gradcheck(rng, options, normalized_shape):
    layer = random_affine(LayerNorm(normalized_shape, **options, **F64), rng)
    assert gradcheck(layer, rng.standard_normal((2, 3, 4, 5)))


def test_backward_adds_into_grad(rng):
    layer = random_affine(BatchNorm2d(2, **F64), rng)
    x, g = rng.standard_normal((3, 2, 4, 5)), rng.standard_normal((3, 2, 4, 5))
    layer(x)
    layer.backward(g)
    once = layer.weight.grad.copy()
    layer(x)
    layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, 2 * once)


def test_input_grad_false_still_fills_parameter_grads(rng):
    layer = random_affine(BatchNorm2d(2, **F64), rng)
    x, g = rng.standard_normal((3, 2, 4, 5)), rng.standard_normal((3, 2, 4, 5))
    layer(x)
    assert layer.backward(g, input_grad=False) is None
    np.testing.assert_allclose(layer.bias.grad, g.sum(axis=(0, 2, 3)))


# --------------------------------------------------------------------------- properties
@given(n=st.integers(2, 4), c=st.integers(1, 3), h=st.integers(1, 4), w=st.integers(1, 5),
       seed=st.integers(0, 2**16))
def test_batch_norm_output_is_standardised_per_channel(n, c, h, w, seed):
    x = np.random.default_rng(seed).standard_normal((n, c, h, w)) * 5 + 3
    assume(x.transpose(1, 0, 2, 3).reshape(c, -1).std(axis=1).min() > 1e-2)
    y = BatchNorm2d(c, eps=1e-12, **F64)(x)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-9)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, rtol=1e-6)


@given(n=st.integers(1, 3), c=st.integers(1, 4), h=st.integers(1, 4), w=st.integers(2, 5),
       seed=st.integers(0, 2**16))
def test_group_norm_with_one_group_is_layer_norm_over_chw(n, c, h, w, seed):
    x = np.random.default_rng(seed).standard_normal((n, c, h, w))
    np.testing.assert_allclose(GroupNorm(1, c, **F64)(x), LayerNorm((c, h, w), **F64)(x),
                               atol=1e-10)


@given(n=st.integers(2, 4), c=st.integers(1, 3), h=st.integers(1, 4), w=st.integers(1, 5),
       seed=st.integers(0, 2**16))
def test_batch_norm_input_gradient_is_orthogonal_to_shift_and_scale(n, c, h, w, seed):
    """Shifting or scaling a channel of x leaves x_hat unchanged, so dL/dx is orthogonal
    to both directions (per channel): sum(grad_x) = 0 and sum(grad_x * x) = 0."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w))
    assume(x.transpose(1, 0, 2, 3).reshape(c, -1).std(axis=1).min() > 1e-2)
    layer = BatchNorm2d(c, eps=1e-12, affine=False, **F64)  # eps breaks scale invariance
    layer(x)
    grad_x = layer.backward(rng.standard_normal(x.shape))
    np.testing.assert_allclose(grad_x.sum(axis=(0, 2, 3)), 0, atol=1e-9)
    np.testing.assert_allclose((grad_x * x).sum(axis=(0, 2, 3)), 0, atol=1e-8)


# --------------------------------------------------------------------------- errors
def test_errors_name_the_layer_and_the_values():
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected input of shape \(N, C, H, W\)"):
        BatchNorm2d(3)(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected input of shape \(N, C\) or"):
        BatchNorm1d(3)(np.zeros((2, 3, 4, 5), np.float32))
    with pytest.raises(ValueError, match="BatchNorm2d: expected 3 input channels"):
        BatchNorm2d(3)(np.zeros((2, 4, 5, 6), np.float32))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        BatchNorm1d(3)(np.zeros((1, 3), np.float32))
    with pytest.raises(ValueError, match=r"GroupNorm: num_channels \(6\) must be a positive "
                                         r"multiple of num_groups \(4\)"):
        GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"LayerNorm: expected input of shape \(\*, 4, 5\)"):
        LayerNorm((4, 5))(np.zeros((2, 5, 4), np.float32))
    with pytest.raises(ValueError, match="BatchNorm2d: momentum must be in"):
        BatchNorm2d(3, momentum=1.5)
    with pytest.raises(ValueError, match="dtype"):
        BatchNorm2d(3)(np.zeros((2, 3, 4, 5)))
    with pytest.raises(RuntimeError, match="LayerNorm.backward was called before forward"):
        LayerNorm(3).backward(np.zeros((1, 3), np.float32))
    with pytest.raises(ValueError, match=r"GroupNorm: expected input of shape \(N, C, \*\), "
                                         r"got shape \(4,\)"):
        GroupNorm(2, 4)(np.zeros(4, np.float32))
    with pytest.raises(TypeError, match="BatchNorm2d: bias must be a bool"):
        BatchNorm2d(3, bias=None)


def test_layer_norm_rejects_too_few_axes():
    with pytest.raises(ValueError, match=r"LayerNorm: expected input of shape \(\*, 2, 3, 4\)"):
        LayerNorm((2, 3, 4))(np.zeros((3, 4), np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make, shape", [
    (lambda d: BatchNorm2d(3, dtype=d), (4, 3, 5, 6)),
    (lambda d: BatchNorm2d(3, dtype=d).eval(), (4, 3, 5, 6)),
    (lambda d: BatchNorm1d(3, momentum=None, dtype=d), (4, 3, 7)),
    (lambda d: LayerNorm((5, 6), dtype=d), (4, 3, 5, 6)),
    (lambda d: GroupNorm(3, 6, dtype=d), (2, 6, 5, 4)),
])
def test_dtype_is_kept_end_to_end(rng, dtype, make, shape):
    """float32 stays float32 in the output, the input gradient, every grad and buffer."""
    layer = make(dtype)
    x = rng.standard_normal(shape).astype(dtype)
    y = layer(x)
    assert y.dtype == dtype
    assert layer.backward(np.ones_like(y)).dtype == dtype
    assert all(p.grad.dtype == dtype for p in layer.parameters())
    assert all(b.dtype == dtype for name, b in layer.named_buffers()
               if name != "num_batches_tracked")


def test_functional_batch_norm_of_integers_still_adds_eps():
    """eps is cast to the statistics' float dtype, not to an integer input's (where it was 0)."""
    y, _, var, _ = batch_norm_forward(np.array([[3], [3]]), None, None, 1e-5)
    assert var.dtype == np.float64
    np.testing.assert_array_equal(y, 0)  # 0 / sqrt(0 + eps), not 0 / 0
    y, _ = batch_norm_eval_forward(np.array([[4]]), np.array([2.0]), np.array([0.0]), None,
                                   None, 0.25)
    np.testing.assert_array_equal(y, [[4.0]])  # (4 - 2) / sqrt(0 + 0.25)
