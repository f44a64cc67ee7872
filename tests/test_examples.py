"""The examples run: train_lenet end to end (bundled sample, offline fallback), and the
scanning-MLP example's models, scan check and training step."""

import numpy as np
import pytest
from example_scripts import load_example

from convnp.checkpoint import load_checkpoint
from convnp.gradcheck import gradcheck
from convnp.models import lenet5


def train_lenet():
    return load_example("train_lenet")


def test_train_lenet_on_the_sample_saves_a_checkpoint(tmp_path, capsys):
    path = tmp_path / "lenet.npz"
    accuracy = train_lenet().main(["--sample", "--epochs", "1", "--verbose", "0",
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
    accuracy = train_lenet().main(["--data-dir", str(tmp_path), "--no-download", "--epochs",
                                   "1", "--verbose", "0"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Full mnist not available (") and "bundled MNIST sample" in lines[0]
    assert "on bundled MNIST sample: 5000 training, 1000 test images" in lines[1]
    assert accuracy > 0.8


def test_classic_variant_defaults_to_the_d2l_recipe():
    args = train_lenet().parse_args(["--variant", "classic", "--lr", "0.5"])
    assert (args.batch_size, args.lr, args.momentum, args.schedule, args.normalize) == (
        256, 0.5, 0.0, "none", False)


def test_adam_gets_its_own_learning_rate_and_rejects_momentum(capsys):
    example = train_lenet()
    assert example.parse_args(["--optimizer", "adam"]).lr == 1e-3
    with pytest.raises(SystemExit):
        example.parse_args(["--optimizer", "adam", "--momentum", "0.5"])
    assert "--momentum applies to --optimizer sgd only" in capsys.readouterr().err


def test_a_missing_output_folder_is_reported_before_training(tmp_path, capsys):
    with pytest.raises(SystemExit):
        train_lenet().parse_args(["--save", str(tmp_path / "nowhere" / "lenet.npz")])
    assert "nowhere does not exist" in capsys.readouterr().err


# ------------------------------------------------------------------ scanning_mlp_mnist.py
@pytest.fixture(scope="module")
def scanning_example():
    return load_example("scanning_mlp_mnist")


def test_example_models_scan_eight_rows_every_four(scanning_example, rng):
    simple = scanning_example.build_simple((6, 5), rng=rng, dtype=np.float64)
    dist = scanning_example.build_distributed((3, 4, 5), rng=rng, dtype=np.float64)
    x = rng.random((1, 1, 28, 28))
    for model in (simple, dist):
        features = model[:-1]  # up to Flatten: (N, 5 channels * 6 windows), channel-major
        base = features(x).reshape(5, 6)
        for row in range(28):
            bumped = x.copy()
            bumped[0, 0, row] += 1.0
            changed = np.any(features(bumped).reshape(5, 6) != base, axis=0)
            windows = [p for p in range(6) if 4 * p <= row < 4 * p + 8]
            assert np.flatnonzero(changed).tolist() == windows
        assert model(x).shape == (1, 10)
    assert gradcheck(dist, x, directional=True, rng=rng)


def test_example_scan_check_and_training_step(scanning_example, rng):
    images, labels = scanning_example.load_data(None, sample=True)[2:4]
    model = scanning_example.build_simple((16, 8), rng=rng)
    check = scanning_example.scan_check(model, images[:200], repeats=1)
    assert check["max_abs_diff"] <= 1e-5 and check["max_abs_diff_logits"] <= 1e-5
    assert check["cnn_seconds"] > 0 and check["scan_seconds"] > 0
    args = scanning_example.parse_args(["--epochs", "1", "--batch-size", "50", "--verbose", "0"])
    data = (images[:300], labels[:300], images[300:400], labels[300:400])
    result = scanning_example.train(model, data, args, seed=0)
    assert 0 <= result["accuracy"] <= 1 and result["seconds_per_epoch"] > 0
    assert (scanning_example.count_parameters(model)
            == 28 * 8 * 16 + 16 + 16 * 8 + 8 + 6 * 8 * 10 + 10)
