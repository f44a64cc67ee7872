"""PyTorch interop: from_torch / to_torch, and ConvTranspose / nearest Upsample against torch.

torch is only a test oracle here; every test skips without it.
"""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from convnp import interop
from convnp.layers import (
    Conv2d,
    ConvTranspose1d,
    ConvTranspose2d,
    Downsample1d,
    Linear,
    ReLU,
    Sequential,
    Upsample,
    Upsample2d,
)
from convnp.models.lenet import lenet5

torch = pytest.importorskip("torch")
nn = torch.nn

seeds = st.integers(0, 2**32 - 1)
TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}


def torch_forward_backward(model, x, g):
    """Output, input gradient and {name: gradient} of a torch model for upstream gradient g."""
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    model.zero_grad()
    y = model(xt)
    y.backward(torch.from_numpy(g))
    grads = {k: p.grad.numpy() for k, p in model.named_parameters()}
    return y.detach().numpy(), xt.grad.numpy(), grads


def assert_matches_torch(net, tnet, x, rng, dtype):
    """Same output, input gradient and parameter gradients as the torch model."""
    tol = TOL[dtype]
    y = net(x)
    g = rng.standard_normal(y.shape).astype(dtype)
    y_t, gx_t, grads_t = torch_forward_backward(tnet, x, g)
    np.testing.assert_allclose(y, y_t, **tol)
    net.zero_grad()
    np.testing.assert_allclose(net.backward(g), gx_t, **tol)
    names = [k for k, _ in net.named_parameters()]
    assert names == list(grads_t)
    for name, p in net.named_parameters():
        np.testing.assert_allclose(p.grad, grads_t[name], **tol, err_msg=name)


# --------------------------------------------------------------------------- ConvTranspose
@st.composite
def conv_transpose_config(draw, n_dims):
    G = draw(st.integers(1, 2))

    def ints(lo, hi):
        return tuple(draw(st.integers(lo, hi)) for _ in range(n_dims))

    stride, dilation = ints(1, 3), ints(1, 2)
    cfg = dict(in_channels=G * draw(st.integers(1, 3)), out_channels=G * draw(st.integers(1, 3)),
               kernel_size=ints(1, 4), stride=stride, padding=ints(0, 2),
               output_padding=tuple(draw(st.integers(0, max(s, d) - 1))
                                    for s, d in zip(stride, dilation)),
               groups=G, bias=draw(st.booleans()), dilation=dilation)
    size = ints(1, 6)
    out = [(n - 1) * s - 2 * p + d * (k - 1) + op + 1 for n, k, s, p, op, d in zip(
        size, cfg["kernel_size"], stride, cfg["padding"], cfg["output_padding"], dilation)]
    assume(min(out) >= 1)
    return cfg, size


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(seed=seeds, cfg_size=conv_transpose_config(2))
def test_conv_transpose2d_matches_torch(dtype, seed, cfg_size):
    cfg, size = cfg_size
    rng = np.random.default_rng(seed)
    tnet = nn.Sequential(nn.ConvTranspose2d(**cfg, dtype=getattr(torch, np.dtype(dtype).name)))
    net = interop.from_torch(tnet)
    assert type(net[0]) is ConvTranspose2d and net[0].dtype == dtype
    x = rng.standard_normal((2, cfg["in_channels"], *size)).astype(dtype)
    assert_matches_torch(net, tnet, x, rng, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(seed=seeds, cfg_size=conv_transpose_config(1))
def test_conv_transpose1d_matches_torch(dtype, seed, cfg_size):
    cfg, size = cfg_size
    rng = np.random.default_rng(seed)
    tnet = nn.Sequential(nn.ConvTranspose1d(**cfg, dtype=getattr(torch, np.dtype(dtype).name)))
    net = interop.from_torch(tnet)
    assert type(net[0]) is ConvTranspose1d
    x = rng.standard_normal((2, cfg["in_channels"], *size)).astype(dtype)
    assert_matches_torch(net, tnet, x, rng, dtype)


def test_conv_transpose_default_init_bound_matches_torch():
    """Same fan_in as torch: the largest |weight| of both sits just under the same bound."""
    torch.manual_seed(0)
    t = nn.ConvTranspose2d(48, 4, (2, 3), groups=2)
    c = ConvTranspose2d(48, 4, (2, 3), groups=2, rng=np.random.default_rng(0))
    for a, b in ((t.weight, c.weight.data), (t.bias, c.bias.data)):
        bound = float(a.detach().abs().max())
        assert 0.8 * bound < float(np.abs(b).max()) < 1.2 * bound


# --------------------------------------------------------------------------- nearest Upsample
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale, shape", [(2, (2, 3, 5)), (3, (1, 2, 4)), ((2,), (2, 1, 3)),
                                          (2, (2, 3, 4, 5)), ((2, 3), (1, 2, 3, 4)),
                                          ((1, 4), (2, 1, 5, 2)), (3, (1, 1, 2, 3))])
def test_nearest_upsample_matches_torch(rng, dtype, scale, shape):
    torch_scale = tuple(float(s) for s in scale) if isinstance(scale, tuple) else float(scale)
    tnet = nn.Sequential(nn.Upsample(scale_factor=torch_scale, mode="nearest"))
    net = interop.from_torch(tnet)
    assert type(net[0]) is Upsample
    assert_matches_torch(net, tnet, rng.standard_normal(shape).astype(dtype), rng, dtype)


def test_upsampling_nearest2d_is_converted(rng):
    tnet = nn.Sequential(nn.UpsamplingNearest2d(scale_factor=3))
    x = rng.standard_normal((1, 2, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(interop.from_torch(tnet)(x), tnet(torch.from_numpy(x)).numpy())


# --------------------------------------------------------------------------- whole models
def torch_net_2d(dtype):
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding="same", padding_mode="reflect", dtype=dtype),
        nn.LeakyReLU(0.2),
        nn.MaxPool2d(2, ceil_mode=True),
        nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1, groups=2, dtype=dtype),
        nn.GELU(approximate="tanh"),
        nn.AvgPool2d((2, 3), stride=(2, 1), padding=1, count_include_pad=False),
        nn.Upsample(scale_factor=(1.0, 2.0)),
        nn.Conv2d(4, 3, (2, 3), stride=(2, 1), padding=(1, 0), dilation=(1, 2),
                  padding_mode="circular", dtype=dtype),
        nn.Sequential(nn.Tanh(), nn.Identity()),
        nn.Flatten(),
        nn.Dropout(0.3),
        nn.Linear(3 * 4 * 16, 7, dtype=dtype),
        nn.Sigmoid(),
        nn.Linear(7, 5, bias=False, dtype=dtype),
        nn.ReLU(),
        nn.LogSoftmax(dim=1),
    ).eval()


def torch_net_1d(dtype):
    return nn.Sequential(
        nn.Conv1d(3, 4, 3, stride=2, padding=2, padding_mode="replicate", dtype=dtype),
        nn.ReLU(),
        nn.MaxPool1d(3, stride=2, padding=1, dilation=1),
        nn.ConvTranspose1d(4, 2, 4, stride=3, dilation=2, dtype=dtype),
        nn.AvgPool1d(2),
        nn.Upsample(scale_factor=2),
        nn.Conv1d(2, 2, 3, padding="valid", bias=False, dtype=dtype),
        nn.Flatten(),
        nn.Softmax(dim=1),
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("build, shape", [(torch_net_2d, (2, 2, 9, 10)),
                                          (torch_net_1d, (2, 3, 13))])
def test_from_torch_matches_torch(rng, dtype, build, shape):
    tnet = build(getattr(torch, np.dtype(dtype).name))
    net = interop.from_torch(tnet)
    assert all(p.dtype == dtype for p in net.parameters())
    assert [k for k, _ in net.named_parameters()] == list(tnet.state_dict())
    assert_matches_torch(net, tnet, rng.standard_normal(shape).astype(dtype), rng, dtype)


@pytest.mark.parametrize("build, shape", [(torch_net_2d, (2, 2, 9, 10)),
                                          (torch_net_1d, (2, 3, 13))])
def test_round_trip_keeps_structure_weights_and_outputs(rng, build, shape):
    tnet = build(torch.float64)
    back = interop.to_torch(interop.from_torch(tnet))
    assert [type(m) for m in back.modules()] == [type(m) for m in tnet.modules()]
    for (k1, v1), (k2, v2) in zip(tnet.state_dict().items(), back.state_dict().items()):
        assert k1 == k2 and v1.dtype == v2.dtype
        np.testing.assert_array_equal(v1.numpy(), v2.numpy())
    x = torch.from_numpy(rng.standard_normal(shape))
    np.testing.assert_allclose(back(x).detach().numpy(), tnet(x).detach().numpy())


def test_convnp_model_to_torch_matches(rng):
    net = Sequential(Conv2d(1, 3, (3, 2), stride=(1, 2), padding=1, rng=rng), ReLU(),
                     Upsample(scale_factor=(2, 1)),
                     ConvTranspose2d(3, 2, 2, stride=2, dilation=(1, 2), bias=False, rng=rng))
    tnet = interop.to_torch(net)
    assert tnet[0].weight.dtype == torch.float32
    assert_matches_torch(net, tnet, rng.standard_normal((2, 1, 5, 6)).astype(np.float32), rng,
                         np.float32)


def test_weights_are_copied_not_shared(rng):
    net = Sequential(Linear(3, 2, rng=rng))
    tnet = interop.to_torch(net)
    net[0].weight.data[...] = 0
    assert float(tnet[0].weight.detach().abs().sum()) > 0
    back = interop.from_torch(tnet)
    with torch.no_grad():
        tnet[0].weight.zero_()
    assert np.abs(back[0].weight.data).sum() > 0


def test_modes_and_requires_grad_carry_over():
    tnet = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    tnet[1].eval()
    tnet[0].bias.requires_grad_(False)
    net = interop.from_torch(tnet)
    assert net.training and net[0].training and not net[1].training
    assert net[0].weight.requires_grad and not net[0].bias.requires_grad
    back = interop.to_torch(net.eval())
    assert not back.training and not back[0].training
    assert not back[0].bias.requires_grad


# --------------------------------------------------------------------------- LeNet
@pytest.mark.parametrize("variant", ["modern", "classic"])
def test_lenet_survives_to_torch_and_back(rng, variant):
    net = lenet5(variant, rng=rng)
    tnet = interop.to_torch(net)
    again = interop.from_torch(tnet)
    x = rng.random((8, 1, 28, 28)).astype(np.float32)
    y, y_t, y_again = net(x), tnet(torch.from_numpy(x)).detach().numpy(), again(x)
    np.testing.assert_allclose(y_t, y, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(y_again, y)
    assert repr(again) == repr(net)
    np.testing.assert_array_equal(y.argmax(1), y_t.argmax(1))


def test_torch_built_lenet_converts(rng):
    torch.manual_seed(0)
    tnet = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    net = interop.from_torch(tnet)
    assert repr(net) == repr(lenet5())
    lenet5().load_state_dict(net.state_dict())  # same keys and shapes as convnp's LeNet
    x = rng.random((16, 1, 28, 28)).astype(np.float32)
    y, y_t = net(x), tnet(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(y, y_t, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(y.argmax(1), y_t.argmax(1))


@given(seed=seeds)
def test_prediction_agrees_after_round_trip(seed):
    rng = np.random.default_rng(seed)
    net = lenet5(rng=rng)
    x = rng.standard_normal((1, 1, 28, 28)).astype(np.float32)
    round_trip = interop.from_torch(interop.to_torch(net))
    assert int(round_trip(x).argmax()) == int(net(x).argmax())


# --------------------------------------------------------------------------- errors
def test_unsupported_layer_is_named_with_its_index():
    tnet = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.InstanceNorm2d(2), nn.ELU())
    with pytest.raises(TypeError, match=r"from_torch: layer 2 \(InstanceNorm2d\) is not "
                                        r"supported"):
        interop.from_torch(tnet)
    nested = nn.Sequential(nn.ReLU(), nn.Sequential(nn.Identity(), nn.ELU()))
    with pytest.raises(TypeError, match=r"from_torch: layer 1\.1 \(ELU\) is not supported"):
        interop.from_torch(nested)


class MyConv(nn.Conv2d):
    """A subclass may change forward: it must not be silently treated as a Conv2d."""


@pytest.mark.parametrize("layer, message", [
    (nn.Upsample(scale_factor=2, mode="bilinear"),
     r"layer 0 \(Upsample\): mode='bilinear' is not supported \(only 'nearest'\)"),
    (nn.Upsample(size=(4, 4)), r"layer 0 \(Upsample\): size=\(4, 4\) is not supported"),
    (nn.Upsample(scale_factor=1.5), r"layer 0 \(Upsample\): Upsample: scale_factor must be an "
                                    r"integer .* got 1\.5"),
    (nn.MaxPool2d(2, return_indices=True), r"layer 0 \(MaxPool2d\): return_indices=True"),
    (nn.AvgPool2d(2, divisor_override=3), r"layer 0 \(AvgPool2d\): divisor_override=3"),
    (nn.Softmax(), r"layer 0 \(Softmax\): dim=None"),
    (nn.Linear(2, 2, dtype=torch.float16), r"layer 0 \(Linear\): weights of dtype torch\.float16"),
])
def test_unsupported_options_are_value_errors(layer, message):
    with pytest.raises(ValueError, match="from_torch: " + message):
        interop.from_torch(nn.Sequential(layer))


def test_subclass_and_non_sequential_are_rejected():
    with pytest.raises(TypeError, match=r"from_torch: layer 0 \(MyConv\) is not supported"):
        interop.from_torch(nn.Sequential(MyConv(1, 1, 1)))
    with pytest.raises(TypeError, match=r"from_torch: expected a torch.nn.Sequential, got Conv2d"):
        interop.from_torch(nn.Conv2d(1, 1, 1))
    with pytest.raises(TypeError, match=r"to_torch: expected a convnp Sequential, got Linear"):
        interop.to_torch(Linear(2, 2))
    with pytest.raises(TypeError, match=r"to_torch: expected a convnp Sequential, got torch's "
                                        r"Sequential \(convnp.interop.from_torch converts it\)"):
        interop.to_torch(nn.Sequential(nn.ReLU()))
    with pytest.raises(TypeError, match=r"Sequential: expected a Module, got torch's ReLU "
                                        r"\(convnp takes its own layers and NumPy arrays\)"):
        Sequential(ReLU(), nn.ReLU())
    with pytest.raises(TypeError, match=r"Sequential: expected a Module, got the torch class "
                                        r"ReLU \(convnp takes"):
        Sequential(nn.ReLU)


def test_to_torch_names_the_first_layer_without_equivalent():
    net = Sequential(ReLU(), Sequential(Upsample2d(2), Downsample1d(2)))
    with pytest.raises(TypeError, match=r"to_torch: layer 1\.0 \(Upsample2d\) has no PyTorch "
                                        r"equivalent"):
        interop.to_torch(net)


@pytest.mark.parametrize("make", [lambda: torch.nn.ReLU(inplace=True),
                                  lambda: torch.nn.LeakyReLU(0.2, inplace=True),
                                  lambda: torch.nn.Dropout(0.3, inplace=True),
                                  lambda: torch.nn.Dropout2d(0.3, inplace=True)])
def test_inplace_flag_survives_both_directions(make):
    tnet = torch.nn.Sequential(make())
    net = interop.from_torch(tnet)
    assert net[0].inplace is True
    back = interop.to_torch(net)
    assert type(back[0]) is type(tnet[0]) and back[0].inplace is True
    assert repr(back) == repr(tnet)



@pytest.mark.parametrize("build, message", [
    (lambda c: torch.nn.Sequential(c, torch.nn.ReLU(), c),
     r"layer 2 \(Conv2d\) is the same module as layer 0; convnp layers cannot share"),
    (lambda c: torch.nn.Sequential(interop.TorchResidual(c, c)),  # c(x) + c(x), not c(x) + x
     r"layer 0.shortcut \(Conv2d\) is the same module as layer 0.body"),
    (lambda c: torch.nn.Sequential(interop.TorchResidual(None)),
     r"from_torch: layer 0 \(TorchResidual\): its body is None"),
    (lambda c: torch.nn.Sequential(interop.TorchConcat()),
     r"from_torch: layer 0 \(TorchConcat\): it has no branches"),
])
def test_shared_or_empty_torch_modules_are_refused(build, message):
    with pytest.raises(ValueError, match=message):
        interop.from_torch(build(torch.nn.Conv2d(2, 2, 3, padding=1)))


def test_empty_torch_sequential_shortcut_is_an_identity(rng):
    tnet = torch.nn.Sequential(interop.TorchResidual(torch.nn.Conv2d(2, 2, 3, padding=1),
                                                     torch.nn.Sequential()))
    x = rng.standard_normal((1, 2, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(interop.from_torch(tnet)(x),
                               tnet(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_torch_weights_without_numpy_values_are_named():
    import torch.nn.utils.prune as prune

    meta = torch.nn.Linear(3, 2, device="meta")
    with pytest.raises(ValueError, match=r"layer 0 \(Linear\): its weight is on the 'meta'"):
        interop.from_torch(torch.nn.Sequential(meta))
    with pytest.raises(ValueError, match=r"Linear.load_state_dict: 'weight' cannot be read as "
                                         r"a NumPy array \(NotImplementedError"):
        Linear(3, 2).load_state_dict(meta.state_dict())
    bf16 = torch.nn.Linear(3, 2).to(torch.bfloat16).state_dict()
    with pytest.raises(ValueError, match=r"'weight' cannot be read as a NumPy array \(TypeError"):
        Linear(3, 2).load_state_dict(bf16)
    pruned = torch.nn.Linear(3, 2)
    prune.l1_unstructured(pruned, "weight", 0.5)
    with pytest.raises(ValueError, match=r"its weight is not a plain parameter \(pruned\?"):
        interop.from_torch(torch.nn.Sequential(pruned))
