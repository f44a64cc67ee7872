"""The main example runs end to end: on the bundled sample, and falling back to it offline."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from convnp.checkpoint import load_checkpoint
from convnp.models import lenet5

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "train_lenet.py"


def load_example():
    spec = importlib.util.spec_from_file_location("train_lenet", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_lenet_on_the_sample_saves_a_checkpoint(tmp_path, capsys):
    path = tmp_path / "lenet.npz"
    accuracy = load_example().main(["--sample", "--epochs", "1", "--verbose", "0",
                                    "--save", str(path)])
    out = capsys.readouterr().out
    assert accuracy > 0.8
    assert f"final test accuracy {accuracy:.2%}" in out and "total time" in out
    history = load_checkpoint(path, lenet5(rng=np.random.default_rng(1)))
    assert len(history) == 1 and history.val_acc[0] == accuracy


def test_train_lenet_falls_back_to_the_sample_when_mnist_is_absent(tmp_path, capsys,
                                                                     monkeypatch):
    monkeypatch.setenv("CONVNP_DATA", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    accuracy = load_example().main(["--data-dir", str(tmp_path), "--no-download", "--epochs",
                                    "1", "--verbose", "0"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Full mnist not available (") and "bundled MNIST sample" in lines[0]
    assert "on bundled MNIST sample: 5000 training, 1000 test images" in lines[1]
    assert accuracy > 0.8


def test_classic_variant_defaults_to_the_d2l_recipe():
    args = load_example().parse_args(["--variant", "classic", "--lr", "0.5"])
    assert (args.batch_size, args.lr, args.momentum, args.schedule, args.normalize) == (
        256, 0.5, 0.0, "none", False)


def test_adam_gets_its_own_learning_rate_and_rejects_momentum(capsys):
    example = load_example()
    assert example.parse_args(["--optimizer", "adam"]).lr == 1e-3
    with pytest.raises(SystemExit):
        example.parse_args(["--optimizer", "adam", "--momentum", "0.5"])
    assert "--momentum applies to --optimizer sgd only" in capsys.readouterr().err


def test_a_missing_output_folder_is_reported_before_training(tmp_path, capsys):
    with pytest.raises(SystemExit):
        load_example().parse_args(["--save", str(tmp_path / "nowhere" / "lenet.npz")])
    assert "nowhere does not exist" in capsys.readouterr().err
