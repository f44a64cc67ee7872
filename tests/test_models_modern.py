"""The modern-CNN ladder: shapes, the homework's ResBlock, smoke training, torch round trips."""

import numpy as np
import pytest

from convnp import Residual, gradcheck, summary
from convnp.data import load_mnist_sample
from convnp.losses import CrossEntropyLoss
from convnp.models import (
    LADDER,
    ConvBlock,
    ResBlock,
    densenet,
    ladder_model,
    lenet5,
    nin,
    resnet,
    vgg,
)
from convnp.optim import SGD

MODELS = {
    "bn-lenet": lambda rng, **kw: lenet5("batchnorm", rng=rng, **kw),
    "nin": lambda rng, **kw: nin(rng=rng, **kw),
    "vgg": lambda rng, **kw: vgg(rng=rng, **kw),
    "resnet": lambda rng, **kw: resnet(rng=rng, **kw),
    "densenet": lambda rng, **kw: densenet(rng=rng, **kw),
}


@pytest.mark.parametrize("name", MODELS)
def test_model_maps_images_to_ten_logits(name, rng):
    net = MODELS[name](rng)
    assert net(np.zeros((3, 1, 28, 28), np.float32)).shape == (3, 10)


@pytest.mark.parametrize("name", MODELS)
def test_smoke_training_on_the_bundled_sample(name):
    """Six SGD steps on 16 sample images lower the loss on those images; nothing is NaN."""
    rng = np.random.default_rng(0)
    images, labels = load_mnist_sample("test")
    x, y = (images[:16, None] / np.float32(255)).astype(np.float32), labels[:16]
    net = MODELS[name](rng)
    loss_fn = CrossEntropyLoss()
    optimizer = SGD(net.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(6):
        losses.append(float(loss_fn(net(x), y)))
        optimizer.zero_grad()
        net.backward(loss_fn.backward(), input_grad=False)
        optimizer.step()
    assert np.isfinite(losses).all()
    assert min(losses[1:]) < losses[0], losses
    assert net.eval()(x).shape == (16, 10)


# d2l's BNLeNet (section 8.5, "Concise Implementation"), with the sizes its lazy layers
# infer from a 1x28x28 input: every layer's kind and output shape.
D2L_BN_LENET = [
    ("Conv2d", (6, 24, 24)), ("BatchNorm2d", (6, 24, 24)), ("Sigmoid", (6, 24, 24)),
    ("AvgPool2d", (6, 12, 12)),
    ("Conv2d", (16, 8, 8)), ("BatchNorm2d", (16, 8, 8)), ("Sigmoid", (16, 8, 8)),
    ("AvgPool2d", (16, 4, 4)), ("Flatten", (256,)),
    ("Linear", (120,)), ("BatchNorm1d", (120,)), ("Sigmoid", (120,)),
    ("Linear", (84,)), ("BatchNorm1d", (84,)), ("Sigmoid", (84,)),
    ("Linear", (10,)),
]


def test_bn_lenet_is_d2l_bnlenet_layer_for_layer(rng):
    net = lenet5("batchnorm", rng=rng)
    table = summary(net, (2, 1, 28, 28))
    assert [(row.layer, row.output_shape[1:]) for row in table.rows] == D2L_BN_LENET
    # conv 6*25+6, 16*6*25+16; linear 256*120+120, 120*84+84, 84*10+10; BN 2 per channel
    assert table.total_params == 156 + 2416 + 30840 + 10164 + 850 + 2 * (6 + 16 + 120 + 84)
    assert net[0].padding == (0, 0)


def test_bn_lenet_runs_as_d2l_bnlenet_written_in_torch(rng):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    d2l = nn.Sequential(  # d2l's code, with the sizes its lazy layers infer
        nn.Conv2d(1, 6, kernel_size=5), nn.BatchNorm2d(6),
        nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.BatchNorm2d(16),
        nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(), nn.Linear(256, 120), nn.BatchNorm1d(120),
        nn.Sigmoid(), nn.Linear(120, 84), nn.BatchNorm1d(84),
        nn.Sigmoid(), nn.Linear(84, 10))
    net = lenet5("batchnorm", rng=rng)
    d2l.load_state_dict({k: torch.from_numpy(v) for k, v in net.state_dict().items()})
    x = rng.standard_normal((4, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(net(x), d2l(torch.from_numpy(x)).detach().numpy(), rtol=1e-4,
                               atol=1e-5)


def test_ladder_model_names(rng):
    assert LADDER == ("lenet", "bn-lenet", "nin", "vgg", "resnet", "densenet")
    assert repr(ladder_model("lenet", rng=rng)) == repr(lenet5())
    assert repr(ladder_model("resnet", rng=rng)) == repr(resnet())
    with pytest.raises(ValueError, match="ladder_model: name must be one of"):
        ladder_model("alexnet")


# --------------------------------------------------------------------------- ResBlock
@pytest.mark.parametrize("args, identity", [
    ((4, 4, 1, 1, 0), True), ((4, 4, 3, 1, 1), False), ((4, 6, 1, 1, 0), False),
    ((4, 4, 1, 2, 0), False), ((4, 4, 1, 1, 1), False), ((4, 4, 3, 1, 0), False),
])
def test_resblock_shortcut_follows_the_homework_test(rng, args, identity):
    """ConvBlock if stride != 1 or in != out or filter_size != 1 or padding != 0."""
    block = ResBlock(*args, rng=rng, dtype=np.float64)
    residual = block[0]
    assert isinstance(residual, Residual)
    assert (residual.shortcut is None) == identity
    x = rng.standard_normal((2, 4, 5, 7))
    y = block(x)
    conv = ConvBlock(*args, rng=rng, dtype=np.float64)
    assert y.shape == conv(x).shape
    assert (y >= 0).all()  # the final ReLU


def test_resblock_defaults_are_the_homeworks(rng):
    block = ResBlock(2, 2, 3, rng=rng)  # stride 3, padding 1
    assert block(np.zeros((2, 2, 7, 10), np.float32)).shape == (2, 2, 3, 4)


@pytest.mark.parametrize("args", [(2, 2, 1, 1, 0), (2, 3, 3, 2, 1)])
def test_resblock_gradcheck(rng, args):
    block = ResBlock(*args, rng=rng, dtype=np.float64)
    assert gradcheck(block, rng.standard_normal((3, 2, 4, 5)))


# --------------------------------------------------------------------------- torch
def test_resnet_parameter_count_matches_torch(rng):
    torch = pytest.importorskip("torch")
    from convnp import interop

    net = resnet(rng=rng)
    table = summary(net, (1, 1, 28, 28))
    tnet = interop.to_torch(net)
    assert table.total_params == sum(p.numel() for p in tnet.parameters()) == 701178
    assert table.rows[-1].output_shape == (1, 10)
    assert isinstance(tnet(torch.zeros(2, 1, 28, 28)), torch.Tensor)


@pytest.mark.parametrize("name", [*MODELS, "resblock"])
def test_state_dict_round_trip_through_torch(name, rng):
    pytest.importorskip("torch")
    from convnp import interop

    if name == "resblock":
        net, shape = ResBlock(1, 4, 3, 2, 1, rng=rng), (4, 1, 9, 11)
    else:
        net, shape = MODELS[name](rng), (4, 1, 28, 28)
    x = rng.random(shape).astype(np.float32)
    net(x)  # one training forward, so the running statistics are not the initial ones
    tnet = interop.to_torch(net)
    state = {k: v.detach().numpy().copy() for k, v in tnet.state_dict().items()}
    assert list(state) == list(net.state_dict())  # the same keys, in the same order
    other = (ResBlock(1, 4, 3, 2, 1, rng=np.random.default_rng(9)) if name == "resblock"
             else MODELS[name](np.random.default_rng(9)))
    other.load_state_dict(state)
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[k], v, err_msg=k)
    y = net.eval()(x)
    np.testing.assert_array_equal(other.eval()(x), y)
    np.testing.assert_allclose(tnet.eval()(interop_tensor(x)).detach().numpy(), y, rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_array_equal(interop.from_torch(tnet).eval()(x), y)


@pytest.mark.parametrize("name, container", [("resnet", "TorchResidual"),
                                             ("densenet", "TorchConcat")])
def test_converted_model_survives_torch_save_and_load(name, container, rng):
    torch = pytest.importorskip("torch")
    import io

    from convnp import interop

    tnet = interop.to_torch(MODELS[name](rng)).eval()
    buffer = io.BytesIO()
    torch.save(tnet, buffer)  # pickles TorchResidual / TorchConcat by their module path
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    x = interop_tensor(rng.random((2, 1, 28, 28)).astype(np.float32))
    assert getattr(interop, container) in {type(m) for m in loaded.modules()}
    torch.testing.assert_close(loaded(x), tnet(x), rtol=0, atol=0)


def interop_tensor(x):
    import torch

    return torch.from_numpy(x)
