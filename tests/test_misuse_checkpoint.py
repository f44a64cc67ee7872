"""Misuse, classes 5 and 6: all-or-nothing checkpoints, data files, labels and epochs.

A malformed checkpoint field raises a ValueError naming the file and the field, and
leaves the model, optimizer, scheduler, loader and every layer generator exactly as
they were (compared bit for bit).
"""

import json
import struct

import numpy as np
import pytest

from convnp.checkpoint import load_checkpoint, save_checkpoint
from convnp.data import DataLoader
from convnp.data.idx import decode_idx, read_idx
from convnp.layers import Dropout, Flatten, Linear, ReLU, Sequential
from convnp.losses import CrossEntropyLoss
from convnp.optim import SGD, Adam, StepLR
from convnp.train import History, Trainer


def make_run(seed, optimizer=SGD):
    rng = np.random.default_rng(seed)
    model = Sequential(Flatten(), Linear(4, 3, rng=rng), ReLU(), Dropout(0.3, rng=rng),
                       Linear(3, 2, rng=rng))
    kwargs = dict(lr=0.1, momentum=0.9) if optimizer is SGD else dict(lr=0.01)
    opt = optimizer(model.parameters(), **kwargs)
    sched = StepLR(opt, 2, gamma=0.5)
    x = rng.random((12, 2, 2)).astype(np.float32)
    loader = DataLoader(x, np.arange(12) % 2, 4, rng=rng)
    trainer = Trainer(model, CrossEntropyLoss(), opt, sched, verbose=0)
    return model, opt, sched, loader, trainer


def snapshot(model, opt, sched, loader):
    """Everything a load could change, as comparable plain values."""
    arrays = {f"model.{k}": v for k, v in model.state_dict().items()}
    arrays |= {f"optimizer.{k}": v for k, v in opt.state_dict().items()}
    arrays |= {f"scheduler.{k}": v for k, v in sched.state_dict().items()}
    generators = [json.dumps(loader.rng.bit_generator.state)]
    generators += [json.dumps(m.rng.bit_generator.state) for m in model.modules()
                   if isinstance(m, Dropout)]
    return arrays, generators, opt.lr, sched.get_last_lr()


def assert_same(before, after):
    arrays, generators, lr, last_lr = before
    assert after[0].keys() == arrays.keys()
    for key, value in arrays.items():
        assert after[0][key].dtype == value.dtype, key
        np.testing.assert_array_equal(after[0][key], value, err_msg=key)
    assert after[1:] == (generators, lr, last_lr)


@pytest.fixture
def saved(tmp_path):
    model, opt, sched, loader, trainer = make_run(0)
    history = trainer.fit(loader, epochs=2)
    path = tmp_path / "run.npz"
    save_checkpoint(path, model, opt, history, scheduler=sched, loader=loader)
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def bad_generator_state():
    return np.array(json.dumps(np.random.MT19937(0).state, default=np.ndarray.tolist))


MALFORMED = [
    ("format_version", lambda a: a.update(format_version=np.array([1, 2])), "format_version"),
    ("version as text", lambda a: a.update(format_version=np.array("one")), "format_version"),
    ("version 2", lambda a: a.update(format_version=np.array(2)), "format_version"),
    ("no version", lambda a: a.pop("format_version"), "format_version"),
    ("lr nan", lambda a: a.update({"optimizer.lr": np.array(np.nan)}),
     r"optimizer.*lr must be a finite number, got nan"),
    ("lr text", lambda a: a.update({"optimizer.lr": np.array("0.1")}), r"optimizer.*lr must be"),
    ("nesterov", lambda a: a.update({"optimizer.nesterov": np.array(2)}), r"optimizer.*nesterov"),
    ("no optimizer", lambda a: [a.pop(k) for k in list(a) if k.startswith("optimizer.")],
     r"holds no optimizer state \(field 'optimizer"),
    ("momentum dtype", lambda a: a.update({"optimizer.state.0.momentum_buffer":
                                           a["optimizer.state.0.momentum_buffer"].astype(float)}),
     r"optimizer.*'state.0.momentum_buffer' expected .*float32"),
    ("step_size 0", lambda a: a.update({"scheduler.step_size": np.array(0)}),
     r"scheduler.*step_size must be >= 1"),
    ("last_epoch", lambda a: a.update({"scheduler.last_epoch": np.array(-1)}),
     r"scheduler.*last_epoch must be >= 0"),
    ("weights", lambda a: a.update({"model.4.weight": np.zeros((2, 4), np.float32)}),
     r"does not match the model .*'4.weight'"),
    ("history", lambda a: a.pop("history.val_acc"), r"field 'history' is incomplete.*val_acc"),
    ("history lengths", lambda a: a.update({"history.lr": np.zeros(5)}),
     r"field 'history' has lists of different lengths"),
    ("history text", lambda a: a.update({"history.lr": np.array(["a", "b"])}),
     r"field 'history.lr' must be a 1-D array of numbers"),
    ("dropout json", lambda a: a.update({"rng.3": np.array("{not json")}),
     r"field 'rng.3' is not a valid random-generator state"),
    ("dropout number", lambda a: a.update({"rng.3": np.array(7)}), r"field 'rng.3' is not a"),
    ("dropout kind", lambda a: a.update({"rng.3": bad_generator_state()}),
     r"field 'rng.3' .*'MT19937'"),
    ("no dropout", lambda a: a.pop("rng.3"), r"no random-generator state for field 'rng.3'"),
    ("loader json", lambda a: a.update({"loader.rng_state": np.array("[]")}),
     r"field 'loader.rng_state' is not a valid random-generator state"),
    ("no loader", lambda a: a.pop("loader.rng_state"), r"field 'loader.rng_state'"),
]


@pytest.mark.parametrize("case, corrupt, message", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_checkpoint_changes_nothing(tmp_path, saved, case, corrupt, message):
    arrays = dict(saved)
    corrupt(arrays)
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    model, opt, sched, loader, _ = make_run(1)
    before = snapshot(model, opt, sched, loader)
    with pytest.raises(ValueError, match=rf"load_checkpoint: .*bad.npz.*{message}"):
        load_checkpoint(path, model, opt, scheduler=sched, loader=loader)
    assert_same(before, snapshot(model, opt, sched, loader))
    # and the untouched objects still load the good checkpoint
    np.savez(path, **saved)
    assert len(load_checkpoint(path, model, opt, scheduler=sched, loader=loader)) == 2


def test_adam_state_into_sgd_changes_nothing(tmp_path):
    model, opt, sched, loader, trainer = make_run(0, optimizer=Adam)
    trainer.fit(loader, epochs=1)
    save_checkpoint(tmp_path / "adam.npz", model, opt, trainer.history, scheduler=sched,
                    loader=loader)
    model, opt, sched, loader, _ = make_run(1)
    before = snapshot(model, opt, sched, loader)
    with pytest.raises(ValueError, match=r"adam.npz does not match the optimizer \(field "
                                         r"'optimizer'\): SGD.load_state_dict: the state was "
                                         r"saved by Adam"):
        load_checkpoint(tmp_path / "adam.npz", model, opt, scheduler=sched, loader=loader)
    assert_same(before, snapshot(model, opt, sched, loader))


# --------------------------------------------------------------------------- data files
def idx_header(code, dims):
    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)


@pytest.mark.parametrize("code, dims", [(0x08, (65536, 65536, 65536, 65536)),
                                        (0x0E, (2**31, 2**31)),
                                        (0x0C, (2**32 - 1,) * 3)])
def test_idx_dimensions_that_overflow_are_named(tmp_path, code, dims):
    path = tmp_path / "huge-idx.bin"
    path.write_bytes(idx_header(code, dims))
    with pytest.raises(ValueError, match=rf"read_idx: .*huge-idx.bin: header dimensions "
                                         rf"\({dims[0]}, .* more than any array can hold"):
        read_idx(path)


def test_idx_dimensions_that_fit_int64_but_not_the_file_are_a_truncation():
    with pytest.raises(ValueError, match=r"truncated payload: shape \(4294967295, 2147483648\) "
                                         r"of uint8 needs 9223372034707292160 bytes"):
        decode_idx(idx_header(0x08, (2**32 - 1, 2**31)), "f")


def test_dataloader_keeps_float_labels_so_the_loss_can_refuse_them():
    x = np.zeros((3, 2, 2), np.float32)
    (_, yb), = DataLoader(x, np.array([0.7, 1.7, 2.7]), 3, shuffle=False)
    np.testing.assert_array_equal(yb, [0.7, 1.7, 2.7])
    with pytest.raises(TypeError, match="CrossEntropyLoss: class-index targets must be integers"):
        CrossEntropyLoss()(np.zeros((3, 3)), yb)
    (_, yb), = DataLoader(x, np.array([2, 0, 1], np.uint8), 3, shuffle=False)
    assert yb.dtype == np.int64


@pytest.mark.parametrize("epochs, error, message", [
    (-1, ValueError, r"Trainer.fit: epochs must be >= 1, got -1"),
    (0, ValueError, r"Trainer.fit: epochs must be >= 1, got 0"),
    (2.5, TypeError, r"Trainer.fit: epochs must be an int, got float 2\.5"),
    ("2", TypeError, r"Trainer.fit: epochs must be an int, got str '2'"),
    (True, TypeError, r"Trainer.fit: epochs must be an int, got bool True"),
    (None, TypeError, r"Trainer.fit: epochs must be an int, got NoneType"),
])
def test_fit_needs_a_positive_int_of_epochs(epochs, error, message):
    model, _, _, loader, trainer = make_run(0)
    before = model.state_dict()
    with pytest.raises(error, match=message):
        trainer.fit(loader, epochs)
    assert len(trainer.history) == 0
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_fit_and_evaluate_check_their_other_arguments():
    _, _, _, loader, trainer = make_run(0)
    with pytest.raises(TypeError, match="Trainer.fit: train_loader must be a DataLoader"):
        trainer.fit(np.zeros((4, 2, 2)), 1)
    with pytest.raises(TypeError, match=r"Trainer.fit: val_data must be None or a pair \(x, y\)"):
        trainer.fit(loader, 1, val_data=np.zeros(3))
    with pytest.raises(ValueError, match="Trainer.evaluate: batch_size must be >= 1, got 0"):
        trainer.evaluate(np.zeros((2, 2, 2), np.float32), np.zeros(2, np.int64), batch_size=0)
    with pytest.raises(TypeError, match="Trainer.predict: batch_size must be an int"):
        trainer.predict(np.zeros((2, 2, 2), np.float32), batch_size=None)


@pytest.mark.parametrize("call, message", [
    (lambda p, m: save_checkpoint(m, p), r"save_checkpoint: path must be a str or os.PathLike, "
                                         r"got Sequential \(the arguments are \(path, model\)\)"),
    (lambda p, m: load_checkpoint(m, p), r"load_checkpoint: path must be a str .* got Sequential"),
    (lambda p, m: save_checkpoint(p, None), r"save_checkpoint: model must be a convnp Module, "
                                            r"got NoneType"),
    (lambda p, m: load_checkpoint(p, m.state_dict()), r"load_checkpoint: model must be a convnp "
                                                      r"Module, got dict"),
    (lambda p, m: save_checkpoint(p, m, {"lr": 0.1}), r"save_checkpoint: optimizer must be a "
                                                      r"convnp Optimizer, got dict"),
])
def test_arguments_of_the_wrong_kind_are_named(tmp_path, call, message):
    model = Sequential(Linear(2, 2, rng=np.random.default_rng(0)))
    with pytest.raises(TypeError, match=message):
        call(str(tmp_path / "ckpt.npz"), model)


@pytest.mark.parametrize("content", [b"hello, not a checkpoint", bytes(range(256)) * 3])
def test_a_file_that_is_not_an_npz_gets_no_advice_to_unpickle_it(tmp_path, content):
    path = tmp_path / "junk.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"junk.npz is not a readable convnp .npz checkpoint "
                                         r"\(it is not an .npz archive\)") as e:
        load_checkpoint(path, Sequential(Linear(2, 2)))
    assert "pickle" not in str(e.value)


@pytest.mark.parametrize("place, message", [
    (lambda m, o, s, d: ((m, o, s), {}),
     r"history must be a convnp History, got StepLR \(pass it as scheduler=\.\.\.\)"),
    (lambda m, o, s, d: ((m, s), {}),
     r"optimizer must be a convnp Optimizer, got StepLR \(pass it as scheduler=\.\.\.\)"),
    (lambda m, o, s, d: ((m, d), {}),
     r"optimizer must be a convnp Optimizer, got DataLoader \(pass it as loader=\.\.\.\)"),
    (lambda m, o, s, d: ((m, m), {}), r"optimizer must be a convnp Optimizer, got Sequential"),
    (lambda m, o, s, d: ((m, o), {"scheduler": o}),
     r"scheduler must be a convnp LRScheduler, got SGD \(pass it as optimizer=\.\.\.\)"),
    (lambda m, o, s, d: ((m, o), {"loader": s}), r"loader must be a convnp DataLoader, got StepLR"),
])
def test_a_part_in_the_wrong_slot_is_refused_before_the_old_checkpoint_is_replaced(
        tmp_path, place, message):
    model, opt, sched, loader, _ = make_run(0)
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, model, opt, scheduler=sched)
    good = path.read_bytes()
    args, kwargs = place(model, opt, sched, loader)
    with pytest.raises(TypeError, match="save_checkpoint: " + message):
        save_checkpoint(path, *args, **kwargs)
    assert path.read_bytes() == good


def test_load_checkpoint_names_a_part_in_the_wrong_slot(tmp_path):
    model, opt, sched, _, _ = make_run(0)
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, model, opt, scheduler=sched)
    with pytest.raises(TypeError, match=r"load_checkpoint: optimizer must be a convnp Optimizer, "
                                        r"got StepLR \(pass it as scheduler=\.\.\.\)"):
        load_checkpoint(path, model, sched)


@pytest.mark.parametrize("batch, error, message", [
    (lambda x, y: (x, list(y)), TypeError, r"x and y must be NumPy arrays, got ndarray and list"),
    (lambda x, y: (x[0], y[0]), TypeError, r"got ndarray and int64 \(a NumPy scalar y: one "
                                           r"sample rather than a batch\?\)"),
    (lambda x, y: (x, y, None), TypeError, r"must be a pair \(x, y\), got tuple of 3 items"),
    (lambda x, y: x, TypeError, r"must be a pair \(x, y\), got ndarray"),
    (lambda x, y: (x[:0], y[:0]), ValueError, r"at least 1; got shapes \(0, 2, 2\) and \(0,\)"),
    (lambda x, y: (x, y[:2]), ValueError, r"at least 1; got shapes \(4, 2, 2\) and \(2,\)"),
])
def test_a_malformed_batch_is_refused_before_the_step(batch, error, message):
    model, _, _, _, trainer = make_run(0)
    before = model.state_dict()
    x, y = np.ones((4, 2, 2), np.float32), np.array([0, 1, 1, 0])
    with pytest.raises(error, match=r"Trainer.fit: batch 1 of train_loader.*" + message):
        trainer.fit([batch(x, y)], 1)
    assert len(trainer.history) == 0
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_trainer_history_must_be_a_history(tmp_path):
    model, opt, _, _, trainer = make_run(0)
    save_checkpoint(tmp_path / "ckpt.npz", model, opt)
    restored = load_checkpoint(tmp_path / "ckpt.npz", model, opt)
    assert restored is None
    with pytest.raises(TypeError, match=r"Trainer: history must be a History, got NoneType "
                                        r"\(load_checkpoint returns None for a checkpoint "
                                        r"saved without a history"):
        trainer.history = restored
    assert isinstance(trainer.history, History) and len(trainer.history) == 0
