"""Buffers: listed, saved, loaded and cast with the parameters; never seen by optimizers."""

import numpy as np
import pytest

from convnp import (
    BatchNorm2d,
    Concat,
    Conv2d,
    Flatten,
    Identity,
    Linear,
    ReLU,
    Residual,
    Sequential,
)
from convnp.checkpoint import load_checkpoint, save_checkpoint
from convnp.data import DataLoader
from convnp.losses import CrossEntropyLoss
from convnp.optim import SGD, Adam
from convnp.train import Trainer


def bn_net(seed: int) -> Sequential:
    rng = np.random.default_rng(seed)
    return Sequential(
        Conv2d(1, 3, 3, padding=1, rng=rng), BatchNorm2d(3), ReLU(),
        Residual(Sequential(Conv2d(3, 3, 3, padding=1, bias=False, rng=rng), BatchNorm2d(3))),
        Flatten(), Linear(3 * 6 * 7, 3, rng=rng))


def toy_data(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    y = np.arange(n) % 3
    x = rng.standard_normal((n, 1, 6, 7)).astype(np.float32)
    x[:, 0, :2] += y[:, None, None]
    return x, y


def test_named_buffers_use_pytorch_keys():
    names = [name for name, _ in bn_net(0).named_buffers()]
    assert names == ["1.running_mean", "1.running_var", "1.num_batches_tracked",
                     "3.body.1.running_mean", "3.body.1.running_var",
                     "3.body.1.num_batches_tracked"]
    assert len(bn_net(0).buffers()) == 6


def test_state_dict_holds_parameters_and_buffers_and_round_trips():
    net = bn_net(0)
    x, _ = toy_data()
    net(x)
    state = net.state_dict()
    assert "1.weight" in state and "1.running_var" in state
    assert state["1.num_batches_tracked"].dtype == np.int64
    state["1.running_mean"] += 1  # a copy: the model is unchanged
    assert not np.array_equal(net.state_dict()["1.running_mean"], state["1.running_mean"])
    other = bn_net(1)
    other.load_state_dict(state)
    np.testing.assert_array_equal(other[1].running_mean, state["1.running_mean"])
    assert int(other[1].num_batches_tracked) == 1


def test_load_state_dict_checks_buffers():
    state = bn_net(0).state_dict()
    del state["1.running_var"]
    with pytest.raises(KeyError, match=r"missing keys \['1.running_var'\]"):
        bn_net(0).load_state_dict(state)
    state = bn_net(0).state_dict()
    state["1.num_batches_tracked"] = np.zeros((), np.float32)
    with pytest.raises(ValueError, match="'1.num_batches_tracked' expected dtype int64"):
        bn_net(0).load_state_dict(state)


@pytest.mark.parametrize("optimizer", [SGD, Adam])
def test_optimizers_never_see_buffers(optimizer):
    net = bn_net(0)
    assert len(net.parameters()) == 9  # conv w, b; bn w, b; conv w; bn w, b; linear w, b
    opt = optimizer(net.parameters(), lr=0.1)
    x, y = toy_data()
    Trainer(net, CrossEntropyLoss(), opt, verbose=0).fit(
        DataLoader(x, y, batch_size=10, rng=np.random.default_rng(0)), epochs=1)
    assert int(net[1].num_batches_tracked) == 4
    buffer_ids = {id(b) for b in net.buffers()}
    assert not buffer_ids & {id(p.data) for p in net.parameters()}


def test_to_casts_float_buffers_only():
    net = bn_net(0).to(np.float64)
    assert net[1].running_mean.dtype == np.float64
    assert net[1].num_batches_tracked.dtype == np.int64
    net(toy_data()[0].astype(np.float64))


def make_run(seed: int = 0):
    model = bn_net(seed)
    optimizer = SGD(model.parameters(), lr=0.05, momentum=0.9)
    x, y = toy_data()
    loader = DataLoader(x, y, batch_size=8, rng=np.random.default_rng(seed + 1))
    return model, optimizer, loader, Trainer(model, CrossEntropyLoss(), optimizer, verbose=0)


def test_checkpoint_resume_with_batch_norm_is_bit_for_bit(tmp_path):
    model, _, loader, trainer = make_run()
    trainer.fit(loader, epochs=3)
    uninterrupted = model.state_dict()

    model, optimizer, loader, trainer = make_run()
    history = trainer.fit(loader, epochs=2)
    save_checkpoint(tmp_path / "ckpt.npz", model, optimizer, history, loader=loader)
    model, optimizer, loader, trainer = make_run(seed=7)
    trainer.history = load_checkpoint(tmp_path / "ckpt.npz", model, optimizer, loader=loader)
    assert int(model[1].num_batches_tracked) == 10
    trainer.fit(loader, epochs=1)
    assert set(model.state_dict()) == set(uninterrupted)
    for k, v in uninterrupted.items():
        np.testing.assert_array_equal(model.state_dict()[k], v, err_msg=k)


def test_checkpoint_carries_the_buffers_inside_concat_branches(tmp_path):
    def concat_net(seed: int) -> Sequential:
        rng = np.random.default_rng(seed)
        return Sequential(Conv2d(1, 3, 3, padding=1, rng=rng),
                          Concat(Identity(), Sequential(BatchNorm2d(3), ReLU())),
                          Flatten(), Linear(6 * 6 * 7, 3, rng=rng))

    model = concat_net(0)
    optimizer = SGD(model.parameters(), lr=0.05)
    x, y = toy_data()
    history = Trainer(model, CrossEntropyLoss(), optimizer, verbose=0).fit(
        DataLoader(x, y, batch_size=8, rng=np.random.default_rng(1)), epochs=1)
    save_checkpoint(tmp_path / "ckpt.npz", model, optimizer, history)
    fresh = concat_net(3)
    load_checkpoint(tmp_path / "ckpt.npz", fresh, SGD(fresh.parameters(), lr=0.05))
    assert "1.1.0.running_var" in fresh.state_dict()
    assert int(fresh[1][1][0].num_batches_tracked) == 5
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[k], v, err_msg=k)


@pytest.mark.parametrize("value, error, got", [
    (np.zeros(4, np.float32), ValueError, "float32 of shape \\(4,\\)"),
    (np.zeros(3), ValueError, "float64 of shape \\(3,\\)"),
    ([0.0, 0.0, 0.0], TypeError, "list")])
def test_a_buffer_is_replaced_only_by_an_array_of_its_shape_and_dtype(value, error, got):
    bn = BatchNorm2d(3)
    with pytest.raises(error, match=f"BatchNorm2d: running_mean must stay an array of "
                                         f"shape \\(3,\\) and dtype float32, got {got}"):
        bn.running_mean = value
    bn.running_mean = np.ones(3, np.float32)  # the same shape and dtype: fine
    assert bn.to(np.float64).running_mean.dtype == np.float64  # to() changes the dtype


def test_a_0d_buffer_may_be_reassigned_from_arithmetic():
    bn = BatchNorm2d(3)
    bn.num_batches_tracked = bn.num_batches_tracked + 1  # NumPy gives a scalar here
    assert isinstance(bn.num_batches_tracked, np.ndarray) and bn.num_batches_tracked == 1

