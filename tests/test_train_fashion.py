"""examples/train_fashion.py runs end to end on a slice of the bundled sample."""

import numpy as np
import pytest
from example_scripts import load_example

from convnp.checkpoint import load_checkpoint
from convnp.models import lenet5


def train_fashion():
    return load_example("train_fashion")


def test_bn_lenet_on_a_slice_of_the_sample_saves_a_checkpoint(tmp_path, capsys):
    path = tmp_path / "bn.npz"
    accuracy = train_fashion().main(["--model", "bn-lenet", "--sample", "--limit", "640",
                                     "--epochs", "1", "--verbose", "0", "--save", str(path)])
    out = capsys.readouterr().out
    assert out.startswith("bn-lenet (44,878 parameters) on bundled MNIST sample: 640 training")
    assert f"final test accuracy {accuracy:.2%}" in out
    model = lenet5("batchnorm", rng=np.random.default_rng(1))
    history = load_checkpoint(path, model)
    assert len(history) == 1 and history.val_acc[0] == accuracy
    assert int(model[1].num_batches_tracked) == 10  # 640 images, batch 64: the buffers came too


@pytest.mark.parametrize("flags, flipped, recipe", [
    ([], 0, "momentum 0.9, label smoothing 0.1"),  # MNIST digits are never flipped
    (["--flip", "--shift", "2"], 2, "momentum 0.9, random flips, shifts up to 2 px, label "
                                    "smoothing 0.1"),
])
def test_resnet_augments_its_training_batches(capsys, monkeypatch, flags, flipped, recipe):
    module = train_fashion()
    calls = []
    augment = module.Augment.__call__
    monkeypatch.setattr(module.Augment, "__call__",
                        lambda self, x, rng: calls.append(self) or augment(self, x, rng))
    module.main(["--model", "resnet", "--sample", "--limit", "128", "--epochs", "1",
                 "--verbose", "0", *flags])
    assert capsys.readouterr().out.splitlines()[0].endswith(recipe)
    assert len(calls) == (1 if flipped else 0)  # 128 images, batch 128
    assert all((a.flip, a.max_shift) == (True, 2) for a in calls)


def test_one_cycle_steps_after_every_batch_up_to_the_peak_lr(tmp_path, capsys):
    path = tmp_path / "lenet.npz"
    train_fashion().main(["--model", "lenet", "--schedule", "one-cycle", "--lr", "0.05",
                          "--sample", "--limit", "640", "--epochs", "2", "--verbose", "0",
                          "--save", str(path)])
    assert "SGD one-cycle lr up to 0.05 momentum 0.9" in capsys.readouterr().out
    history = load_checkpoint(path, lenet5("modern", rng=np.random.default_rng(1)))
    # 10 batches per epoch, 20 in all: up from 0.05/25 over steps 0..5 (0.3*20 - 1), then
    # a cosine down to 0.05/25/1e4 at step 19; epoch 2 starts at step 10.
    low, peak = 0.05 / 25 / 1e4, 0.05
    at_10 = low + (peak - low) * (1 + np.cos(np.pi * (10 - 5) / (19 - 5))) / 2
    np.testing.assert_allclose(history.lr, [0.05 / 25, at_10], rtol=1e-12)


def test_falls_back_to_the_sample_when_fashion_mnist_is_absent(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CONVNP_DATA", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    train_fashion().main(["--model", "lenet", "--data-dir", str(tmp_path), "--no-download",
                          "--limit", "128", "--epochs", "1", "--verbose", "0"])
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("Full fashion-mnist not available (")
    assert first.endswith("training on the bundled MNIST sample instead.")


def test_arguments(capsys):
    module = train_fashion()
    args = module.parse_args(["--model", "densenet"])
    assert (args.lr, args.batch_size, args.epochs) == (module.LEARNING_RATES["densenet"], 128, 10)
    assert set(module.LEARNING_RATES) == set(module.BATCH_SIZES) == set(module.LADDER)
    assert module.parse_args(["--model", "lenet", "--batch-size", "32"]).batch_size == 32
    resnet = module.parse_args(["--model", "resnet"])
    assert (resnet.flip, resnet.shift, resnet.label_smoothing) == (None, 0, 0.1)
    assert (resnet.schedule, resnet.lr) == ("one-cycle", 0.2)
    assert module.FLIPPED == module.ONE_CYCLE == {"resnet"}  # flip None: decided by the data
    assert module.parse_args(["--model", "resnet", "--schedule", "cosine"]).schedule == "cosine"
    assert args.schedule == "cosine"
    vgg = module.parse_args(["--model", "vgg", "--flip", "--shift", "2"])
    assert (vgg.flip, vgg.shift, vgg.label_smoothing) == (True, 2, 0.0)
    assert module.parse_args(["--model", "resnet", "--no-flip"]).flip is False
    with pytest.raises(SystemExit):
        module.parse_args(["--model", "alexnet"])
    with pytest.raises(SystemExit):
        module.parse_args(["--limit", "0"])
    assert "--limit must be >= 1" in capsys.readouterr().err
    for flag, value, message in (("--shift", "-1", "--shift must be in [0, 27]"),
                                 ("--shift", "28", "--shift must be in [0, 27]"),
                                 ("--label-smoothing", "1.5", "--label-smoothing must be in")):
        with pytest.raises(SystemExit):
            module.parse_args([flag, value])
        assert message in capsys.readouterr().err
