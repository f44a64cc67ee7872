"""Trainer, History, progress output, checkpoints and exact resume."""

import io
import os
import time

import numpy as np
import pytest

from convnp.checkpoint import load_checkpoint, save_checkpoint
from convnp.data import DataLoader, load_mnist_sample
from convnp.layers import Conv2d, Dropout, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential
from convnp.losses import CrossEntropyLoss
from convnp.models import lenet5
from convnp.optim import SGD, StepLR
from convnp.train import History, Trainer


def small_net(seed: int) -> Sequential:
    rng = np.random.default_rng(seed)
    return Sequential(Conv2d(1, 3, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2), Flatten(),
                      Linear(3 * 4 * 5, 3, rng=rng))


def toy_data(n: int = 48) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(123)
    y = np.arange(n) % 3
    x = rng.standard_normal((n, 1, 8, 10)).astype(np.float32) * 0.5
    x[:, 0, :, :3] += y[:, None, None]  # a learnable signal: class shifts the left columns
    return x, y


def make_run(seed: int = 0):
    model = small_net(seed)
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.5)
    x, y = toy_data()
    loader = DataLoader(x, y, batch_size=10, rng=np.random.default_rng(seed + 1))
    trainer = Trainer(model, CrossEntropyLoss(), optimizer, scheduler, verbose=0)
    return model, optimizer, scheduler, loader, trainer


def test_fit_records_every_field_per_epoch():
    model, _, _, loader, trainer = make_run()
    x, y = toy_data()
    history = trainer.fit(loader, epochs=3, val_data=(x, y))
    assert len(history) == 3
    for name in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds",
                 "images_per_sec"):
        assert len(getattr(history, name)) == 3
    assert history.lr == pytest.approx([0.1, 0.05, 0.025])
    assert history.train_loss[-1] < history.train_loss[0]
    assert all(v > 0 for v in history.images_per_sec)
    assert trainer.evaluate(x, y) == pytest.approx((history.val_loss[-1], history.val_acc[-1]))


def test_fit_without_validation_records_nan():
    _, _, _, loader, trainer = make_run()
    history = trainer.fit(loader, epochs=1)
    assert np.isnan(history.val_loss[0]) and np.isnan(history.val_acc[0])


def test_evaluate_runs_in_eval_mode_caches_nothing_and_restores_modes():
    model, _, _, _, trainer = make_run()
    x, y = toy_data()
    model.train()
    seen_modes = []
    first = model[0]
    original_forward = first.forward

    def spy(inp):
        seen_modes.append((first.training, first.cache_enabled))
        return original_forward(inp)

    first.forward = spy
    loss, acc = trainer.evaluate(x, y, batch_size=16)
    assert seen_modes == [(False, False)] * 3
    assert all(m._cache is None for m in model.modules())
    assert all(m.training and m.cache_enabled for m in model.modules())
    assert 0 <= acc <= 1 and loss > 0
    assert trainer.predict(x, batch_size=7).shape == (48, 3)


def test_nan_loss_stops_with_epoch_and_batch_and_keeps_weights():
    model, optimizer, _, loader, trainer = make_run()
    before = model.state_dict()

    class NaNAfterTwo(CrossEntropyLoss):
        calls = 0

        def forward(self, logits, target):
            self.calls += 1
            loss = super().forward(logits, target)
            return float("nan") if self.calls == 3 else loss

    trainer.loss_fn = NaNAfterTwo()
    snapshot = {}

    def remember():
        snapshot.update(model.state_dict())

    original_step = optimizer.step

    def step():
        original_step()
        remember()

    optimizer.step = step
    with pytest.raises(FloatingPointError, match="epoch 1, batch 3"):
        trainer.fit(loader, epochs=1)
    after = model.state_dict()
    assert any(not np.array_equal(before[k], after[k]) for k in before)  # two steps were taken
    for k in after:
        np.testing.assert_array_equal(after[k], snapshot[k])  # the third was not


def test_progress_is_silent_off_a_terminal_and_prints_one_line_per_epoch():
    _, _, _, loader, trainer = make_run()
    stream = io.StringIO()
    trainer.verbose, trainer.stream = 1, stream
    trainer.fit(loader, epochs=2)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("epoch   1 |") and "img/s" in lines[1]
    assert "\r" not in stream.getvalue()


def test_progress_bar_draws_on_a_terminal_without_tqdm(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name == "tqdm":
            raise ImportError("no tqdm")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    _, _, _, loader, trainer = make_run()
    stream = Terminal()
    trainer.verbose, trainer.stream = 1, stream
    trainer.fit(loader, epochs=1)
    text = stream.getvalue()
    assert "\repoch 1/1 5/5 loss" in text and "left" in text and "epoch   1 |" in text


def test_verbose_zero_prints_nothing(capsys):
    _, _, _, loader, trainer = make_run()
    trainer.fit(loader, epochs=1)
    assert capsys.readouterr() == ("", "")


def test_history_state_dict_round_trip():
    h = History()
    h.append(train_loss=1, train_acc=0.5, val_loss=np.nan, val_acc=np.nan, lr=0.1, seconds=1,
             images_per_sec=10)
    back = History.from_state_dict(h.state_dict())
    assert back.train_loss == [1.0] and np.isnan(back.val_acc[0]) and len(back) == 1


def test_checkpoint_round_trip(tmp_path):
    model, optimizer, scheduler, loader, trainer = make_run()
    history = trainer.fit(loader, epochs=1)
    path = tmp_path / "run.npz"
    save_checkpoint(path, model, optimizer, history, scheduler=scheduler, loader=loader)
    assert os.listdir(tmp_path) == ["run.npz"]
    model2, optimizer2, scheduler2, loader2, _ = make_run(seed=5)
    restored = load_checkpoint(path, model2, optimizer2, scheduler=scheduler2, loader=loader2)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(model2.state_dict()[k], v)
    assert optimizer2.lr == optimizer.lr and restored.train_loss == history.train_loss


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    model = small_net(0)
    path = tmp_path / "run.npz"
    save_checkpoint(path, model)
    good = path.read_bytes()

    def broken_savez(file, **arrays):
        file.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, small_net(1))
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["run.npz"]


def test_checkpoint_that_does_not_match_the_model_is_a_clear_error(tmp_path):
    path = tmp_path / "run.npz"
    save_checkpoint(path, small_net(0))
    rng = np.random.default_rng(0)
    other = Sequential(Conv2d(1, 4, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2), Flatten(),
                       Linear(4 * 4 * 5, 3, rng=rng))
    with pytest.raises(ValueError, match=r"run.npz does not match the model.*'0.weight'"):
        load_checkpoint(path, other)
    with pytest.raises(ValueError, match="holds no optimizer state"):
        load_checkpoint(path, small_net(0), SGD(small_net(0).parameters(), lr=0.1))
    (tmp_path / "foreign.npz").write_bytes(b"")
    np.savez(tmp_path / "foreign.npz", weights=np.zeros(3))
    with pytest.raises(ValueError, match="not a convnp checkpoint"):
        load_checkpoint(tmp_path / "foreign.npz", small_net(0))


def test_resume_from_checkpoint_is_bit_for_bit(tmp_path):
    model, _, _, loader, trainer = make_run()
    trainer.fit(loader, epochs=3)
    uninterrupted = model.state_dict()

    model, optimizer, scheduler, loader, trainer = make_run()
    history = trainer.fit(loader, epochs=2)
    save_checkpoint(tmp_path / "ckpt.npz", model, optimizer, history, scheduler=scheduler,
                    loader=loader)

    model, optimizer, scheduler, loader, trainer = make_run(seed=99)  # different init on purpose
    trainer.history = load_checkpoint(tmp_path / "ckpt.npz", model, optimizer,
                                      scheduler=scheduler, loader=loader)
    trainer.fit(loader, epochs=1)
    assert len(trainer.history) == 3
    for k, v in uninterrupted.items():
        np.testing.assert_array_equal(model.state_dict()[k], v)


def test_smoke_lenet_learns_the_bundled_sample():
    """Modern LeNet reaches >= 90% on the sample's test split within 60 s of CPU."""
    x_train, y_train = load_mnist_sample("train")
    x_test, y_test = load_mnist_sample("test")
    rng = np.random.default_rng(0)
    model = lenet5(rng=rng)
    trainer = Trainer(model, CrossEntropyLoss(),
                      SGD(model.parameters(), lr=0.05, momentum=0.9), verbose=0)
    start = time.process_time()
    trainer.fit(DataLoader(x_train, y_train, 64, rng=rng), epochs=3)
    _, accuracy = trainer.evaluate(x_test, y_test)
    cpu_seconds = time.process_time() - start
    assert accuracy >= 0.90, accuracy
    assert cpu_seconds < 60, cpu_seconds


@pytest.mark.parametrize("content", ["truncated", "junk", "npy"])
def test_a_file_that_is_not_a_checkpoint_is_a_clear_error(tmp_path, content):
    path = tmp_path / "bad.npz"
    if content == "truncated":
        save_checkpoint(path, small_net(0))
        path.write_bytes(path.read_bytes()[:100])
    elif content == "junk":
        path.write_bytes(b"this is not a checkpoint at all")
    else:
        with open(path, "wb") as f:
            np.save(f, np.zeros(3))
    with pytest.raises(ValueError, match=r"load_checkpoint: .*bad.npz is not a readable convnp "
                                         r"\.npz checkpoint"):
        load_checkpoint(path, small_net(0))


def test_trainer_rejects_an_empty_loader_and_empty_evaluation_data():
    _, _, _, _, trainer = make_run()
    x, y = toy_data()
    with pytest.raises(ValueError, match="Trainer.fit: train_loader yields no batches"):
        trainer.fit(DataLoader(x[:5], y[:5], batch_size=10, drop_last=True), epochs=1)
    with pytest.raises(ValueError, match=r"Trainer.evaluate: got no samples"):
        trainer.evaluate(x[:0], y[:0])


def test_trainer_needs_a_mean_reduced_loss():
    model = small_net(0)
    with pytest.raises(ValueError, match=r"reduction='mean'\), got reduction='sum'"):
        Trainer(model, CrossEntropyLoss(reduction="sum"), SGD(model.parameters(), lr=0.1))


def test_resume_is_exact_for_a_model_with_its_own_dropout_generator(tmp_path):
    def run():
        rng = np.random.default_rng(3)
        model = Sequential(Flatten(), Linear(80, 16, rng=rng), ReLU(),
                           Dropout(0.5, rng=np.random.default_rng(7)), Linear(16, 3, rng=rng))
        optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
        x, y = toy_data()
        loader = DataLoader(x, y, batch_size=10, rng=np.random.default_rng(1))
        return model, optimizer, loader, Trainer(model, CrossEntropyLoss(), optimizer, verbose=0)

    model, _, loader, trainer = run()
    trainer.fit(loader, epochs=2)
    uninterrupted = model.state_dict()
    model, optimizer, loader, trainer = run()
    trainer.fit(loader, epochs=1)
    save_checkpoint(tmp_path / "c.npz", model, optimizer, trainer.history, loader=loader)
    model, optimizer, loader, trainer = run()
    trainer.history = load_checkpoint(tmp_path / "c.npz", model, optimizer, loader=loader)
    trainer.fit(loader, epochs=1)
    for k, v in uninterrupted.items():
        np.testing.assert_array_equal(model.state_dict()[k], v)


def test_evaluate_keeps_the_cache_of_an_earlier_forward():
    model, _, _, _, trainer = make_run()
    x, y = toy_data()
    model(x)
    trainer.evaluate(x, y)
    model.backward(np.ones((48, 3), np.float32))  # still possible: the cache was put back


def test_accuracy_with_one_hot_targets_counts_the_argmax_class():
    model, optimizer, _, _, _ = make_run()
    trainer = Trainer(model, CrossEntropyLoss(), optimizer, verbose=0)
    x, y = toy_data(3)  # N == C = 3: comparing (N,) with (N, C) would broadcast to (3, 3)
    _, acc_index = trainer.evaluate(x, y)
    _, acc_one_hot = trainer.evaluate(x, np.eye(3)[y])
    assert acc_one_hot == acc_index


@pytest.mark.parametrize("make, error, message", [
    (lambda m, o: Trainer(m, CrossEntropyLoss, o), TypeError,
     r"Trainer: loss_fn must be a loss such as CrossEntropyLoss\(\) \(an instance\)"),
    (lambda m, o: Trainer(m, CrossEntropyLoss(), SGD(small_net(5).parameters(), lr=0.1)),
     ValueError, r"Trainer: optimizer holds none of the model's parameters"),
    (lambda m, o: Trainer(m, CrossEntropyLoss(), o, verbose=0).fit(toy_data(), 1), TypeError,
     r"train_loader must be a DataLoader .* got tuple; for arrays x, y use DataLoader"),
    (lambda m, o: Trainer(m, CrossEntropyLoss(), o, verbose=0).evaluate(toy_data()[0], None),
     TypeError, r"Trainer.evaluate: x and y must be arrays, got ndarray and NoneType"),
    (lambda m, o: Trainer(m, CrossEntropyLoss(), o, verbose=0).predict(toy_data()), TypeError,
     r"Trainer.predict: x must be an array of inputs, got tuple"),
    (lambda m, o: History().append(train_loss=1.0), ValueError,
     r"History.append: missing fields \['train_acc'"),
    (lambda m, o: History().append(**dict.fromkeys(History.__dataclass_fields__, "x")),
     TypeError, r"History.append: every value must be a number"),
])
def test_trainer_and_history_misuse_is_named(make, error, message):
    model, optimizer, *_ = make_run()
    with pytest.raises(error, match=message):
        make(model, optimizer)


def test_history_append_adds_nothing_when_it_refuses():
    history = History()
    with pytest.raises(ValueError):
        history.append(train_loss=1.0)
    assert len(history) == 0 and history.state_dict()["train_loss"].size == 0


def test_nan_loss_message_says_when_the_weights_are_already_broken():
    model, optimizer, _, loader, trainer = make_run()
    model[0].weight.data[0, 0, 0, 0] = np.nan  # as an earlier, too large step would leave it
    with pytest.raises(FloatingPointError, match="an earlier step already made some weights "
                                                 "NaN or infinite"):
        trainer.fit(loader, 1)


def test_fit_takes_a_list_of_batches():
    model, optimizer, _, loader, trainer = make_run()
    batches = list(loader)[:2]  # a list of (x, y) pairs has __len__ and __iter__
    assert len(trainer.fit(batches, 1)) == 1


def test_fit_trains_a_module_whose_backward_has_no_input_grad():
    """A student's own Module need not take ``input_grad``: dL/dx is computed and dropped."""

    class Net(Module):
        def __init__(self, layers: Sequential) -> None:
            super().__init__()
            self.layers = layers

        def forward(self, x: np.ndarray) -> np.ndarray:
            return self.layers(x)

        def backward(self, grad_y: np.ndarray) -> np.ndarray:
            return self.layers.backward(grad_y)

    x, y = toy_data()
    histories, weights = [], []
    for model in (Net(small_net(0)), small_net(0)):
        trainer = Trainer(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), verbose=0)
        histories.append(trainer.fit(DataLoader(x, y, 10, rng=np.random.default_rng(1)), 2))
        weights.append([p.data for p in model.parameters()])
    assert histories[0].train_loss == histories[1].train_loss
    for mine, reference in zip(*weights):
        np.testing.assert_array_equal(mine, reference)
