"""The new layers and containers against PyTorch: forward, every gradient, running statistics.

torch is only a test oracle here; every test skips without it.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convnp import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Concat,
    Conv2d,
    Dropout2d,
    Flatten,
    GroupNorm,
    Identity,
    LayerNorm,
    Linear,
    MaxPool2d,
    ReLU,
    Residual,
    Sequential,
    interop,
)

torch = pytest.importorskip("torch")
nn = torch.nn

TOL = {np.float32: dict(rtol=2e-4, atol=2e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}


def check_step(net, tnet, x, rng, dtype):
    """One forward/backward: output, input gradient and every parameter gradient agree."""
    tol = TOL[dtype]
    net.zero_grad()
    y = net(x)
    g = rng.standard_normal(y.shape).astype(dtype)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    tnet.zero_grad()
    y_t = tnet(xt)
    y_t.backward(torch.from_numpy(g))
    np.testing.assert_allclose(y, y_t.detach().numpy(), **tol)
    np.testing.assert_allclose(net.backward(g), xt.grad.numpy(), **tol)
    torch_grads = dict(tnet.named_parameters())
    assert [k for k, _ in net.named_parameters()] == list(torch_grads)
    for name, p in net.named_parameters():
        np.testing.assert_allclose(p.grad, torch_grads[name].grad.numpy(), **tol, err_msg=name)


def check_buffers(net, tnet, dtype):
    torch_buffers = dict(tnet.named_buffers())
    assert [k for k, _ in net.named_buffers()] == list(torch_buffers)
    for name, b in net.named_buffers():
        np.testing.assert_allclose(b, torch_buffers[name].numpy(), **TOL[dtype], err_msg=name)
        assert b.dtype == torch_buffers[name].numpy().dtype


def train_and_eval_against_torch(net, shape, rng, dtype, steps=4):
    """Several training steps (statistics move), then eval with the running statistics."""
    tnet = interop.to_torch(net)
    for step in range(steps):
        x = (rng.standard_normal(shape) * (step + 1) + step).astype(dtype)
        check_step(net, tnet, x, rng, dtype)
        check_buffers(net, tnet, dtype)
    net.eval()
    tnet.eval()
    check_step(net, tnet, rng.standard_normal(shape).astype(dtype), rng, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm2d_matches_torch_in_both_modes(rng, dtype, momentum, affine):
    bn = BatchNorm2d(3, momentum=momentum, affine=affine, dtype=dtype)
    if affine:
        bn.weight.data[...] = rng.standard_normal(3)
        bn.bias.data[...] = rng.standard_normal(3)
    train_and_eval_against_torch(Sequential(bn), (4, 3, 5, 7), rng, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 7)])
def test_batch_norm1d_matches_torch_in_both_modes(rng, dtype, shape):
    train_and_eval_against_torch(Sequential(BatchNorm1d(3, eps=1e-3, dtype=dtype)), shape,
                                 rng, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_without_running_stats_matches_torch(rng, dtype):
    net = Sequential(BatchNorm2d(3, track_running_stats=False, dtype=dtype))
    train_and_eval_against_torch(net, (4, 3, 5, 7), rng, dtype)


def test_batch_norm_without_running_stats_has_none_attributes_as_torch():
    bn, t = BatchNorm1d(3, track_running_stats=False), nn.BatchNorm1d(3, track_running_stats=False)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        assert getattr(bn, name) is None and getattr(t, name) is None
    assert list(bn.state_dict()) == list(t.state_dict()) == ["weight", "bias"]
    assert bn.buffers() == []


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", [
    lambda d: BatchNorm2d(3, bias=False, dtype=d),
    lambda d: BatchNorm2d(3, momentum=None, track_running_stats=False, bias=False, dtype=d),
    lambda d: GroupNorm(3, 3, bias=False, dtype=d),
])
def test_norm_without_bias_matches_torch(rng, dtype, make):
    norm = make(dtype)
    norm.weight.data[...] = rng.standard_normal(3)
    assert norm.bias is None and "bias=False" in repr(norm)
    net = Sequential(norm)
    tnet = interop.to_torch(net)
    assert tnet[0].bias is None and list(tnet.state_dict()) == list(net.state_dict())
    train_and_eval_against_torch(net, (4, 3, 5, 7), rng, dtype)
    back = interop.from_torch(tnet)
    assert repr(back) == repr(net)


@pytest.mark.parametrize("shape", [(5, 6), (5, 6, 7)])
@pytest.mark.parametrize("groups", [1, 2, 6])
def test_group_norm_on_2d_and_3d_input_matches_torch(rng, shape, groups):
    norm = GroupNorm(groups, 6, dtype=np.float64)
    for p in norm.parameters():
        p.data[...] = rng.standard_normal(p.shape)
    train_and_eval_against_torch(Sequential(norm), shape, rng, np.float64, steps=1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layer", [
    lambda d: LayerNorm(7, dtype=d), lambda d: LayerNorm((5, 7), bias=False, dtype=d),
    lambda d: LayerNorm((3, 5, 7), elementwise_affine=False, dtype=d),
    lambda d: GroupNorm(1, 6, dtype=d), lambda d: GroupNorm(3, 6, dtype=d),
    lambda d: GroupNorm(6, 6, affine=False, dtype=d),
])
def test_layer_and_group_norm_match_torch(rng, dtype, layer):
    norm = layer(dtype)
    for p in norm.parameters():
        p.data[...] = rng.standard_normal(p.shape)
    shape = (2, 3, 5, 7) if isinstance(norm, LayerNorm) else (2, 6, 5, 7)
    train_and_eval_against_torch(Sequential(norm), shape, rng, dtype, steps=1)


@given(h=st.integers(1, 9), w=st.integers(1, 9), out_h=st.integers(1, 6),
       out_w=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_adaptive_avg_pool2d_matches_torch(h, w, out_h, out_w, seed):
    rng = np.random.default_rng(seed)
    net = Sequential(AdaptiveAvgPool2d((out_h, out_w)))
    x = rng.standard_normal((2, 3, h, w))
    check_step(net, interop.to_torch(net), x, rng, np.float64)


@pytest.mark.parametrize("out", [1, 2, 3, 5, 7, 10])
def test_adaptive_avg_pool1d_matches_torch(rng, out):
    net = Sequential(AdaptiveAvgPool1d(out))
    x = rng.standard_normal((2, 3, 7))
    check_step(net, interop.to_torch(net), x, rng, np.float64)


@pytest.mark.parametrize("make, torch_make, shape", [
    (lambda: AdaptiveAvgPool1d((3,)), lambda: nn.AdaptiveAvgPool1d((3,)), (2, 3, 7)),
    (lambda: AdaptiveAvgPool1d([4]), lambda: nn.AdaptiveAvgPool1d([4]), (2, 3, 7)),
    (lambda: AdaptiveAvgPool2d([2, 3]), lambda: nn.AdaptiveAvgPool2d([2, 3]), (2, 3, 5, 7)),
    (lambda: AdaptiveAvgPool2d([None, 3]), lambda: nn.AdaptiveAvgPool2d([None, 3]),
     (2, 3, 5, 7)),
])
def test_adaptive_avg_pool_takes_the_sizes_torch_takes(rng, make, torch_make, shape):
    net, tnet = Sequential(make()), nn.Sequential(torch_make())
    check_step(net, tnet, rng.standard_normal(shape), rng, np.float64)
    check_step(interop.from_torch(tnet), tnet, rng.standard_normal(shape), rng, np.float64)


def block_net(rng, dtype):
    f = {"rng": rng, "dtype": dtype}
    return Sequential(
        Conv2d(1, 4, 3, padding=1, **f), BatchNorm2d(4, dtype=dtype), ReLU(),
        Residual(Sequential(Conv2d(4, 4, 3, padding=1, bias=False, **f),
                            BatchNorm2d(4, dtype=dtype), ReLU(),
                            Conv2d(4, 4, 3, padding=1, bias=False, **f),
                            BatchNorm2d(4, dtype=dtype))),
        Residual(Sequential(Conv2d(4, 6, 3, stride=2, padding=1, **f),
                            GroupNorm(2, 6, dtype=dtype)),
                 Conv2d(4, 6, 1, stride=2, **f)),
        Concat(Identity(), Sequential(BatchNorm2d(6, dtype=dtype), ReLU(),
                                      Conv2d(6, 3, 3, padding=1, **f)),
               MaxPool2d(3, stride=1, padding=1)),
        AdaptiveAvgPool2d(1), Flatten(), Linear(15, 5, **f))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_residual_and_concat_network_matches_torch_in_both_modes(rng, dtype):
    train_and_eval_against_torch(block_net(rng, dtype), (3, 1, 6, 9), rng, dtype)


def test_to_torch_and_back_keeps_structure_weights_and_buffers(rng):
    net = block_net(rng, np.float32)
    net(rng.standard_normal((4, 1, 6, 9)).astype(np.float32))  # move the running stats
    tnet = interop.to_torch(net)
    assert type(tnet[3]).__name__ == "TorchResidual" and type(tnet[5]).__name__ == "TorchConcat"
    assert set(tnet.state_dict()) == set(net.state_dict())
    back = interop.from_torch(tnet)
    assert repr(back) == repr(net)
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[k], v, err_msg=k)
    x = rng.standard_normal((2, 1, 6, 9)).astype(np.float32)
    np.testing.assert_array_equal(back.eval()(x), net.eval()(x))


def test_torch_state_dict_loads_into_convnp(rng):
    torch.manual_seed(0)
    tnet = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2))
    tnet(torch.randn(5, 1, 6, 8))  # one training step moves the statistics
    f = {"rng": rng}
    net = Sequential(Conv2d(1, 3, 3, **f), BatchNorm2d(3), ReLU(), AdaptiveAvgPool2d(1),
                     Flatten(), Linear(3, 2, **f)).eval()
    assert list(net.state_dict()) == list(tnet.state_dict())  # PyTorch's order too
    net.load_state_dict(tnet.state_dict(keep_vars=True))  # tensors that require grad
    assert int(net[1].num_batches_tracked) == 1
    for name, value in tnet.state_dict().items():
        np.testing.assert_array_equal(net.state_dict()[name], value.numpy(), err_msg=name)
    x = rng.standard_normal((2, 1, 6, 8)).astype(np.float32)
    np.testing.assert_allclose(net(x), tnet.eval()(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)


def test_dropout2d_converts_both_ways(rng):
    net = interop.from_torch(nn.Sequential(nn.Dropout2d(0.3)))
    assert isinstance(net[0], Dropout2d) and net[0].p == 0.3
    assert isinstance(interop.to_torch(net)[0], nn.Dropout2d)


def test_modes_carry_over_into_blocks(rng):
    net = Sequential(Residual(BatchNorm2d(2), Dropout2d(0.5, rng=rng)))
    net[0].shortcut.eval()
    tnet = interop.to_torch(net)
    assert tnet[0].body.training and not tnet[0].shortcut.training
    back = interop.from_torch(tnet)
    assert back[0].body.training and not back[0].shortcut.training
