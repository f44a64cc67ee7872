"""Misused flags of the example scripts stop in argparse, naming the flag, before training."""

from pathlib import Path

import numpy as np
import pytest
from example_scripts import load_example

from convnp.models import LADDER, ladder_model

SCRIPTS = ("train_fashion", "train_lenet", "scanning_mlp_mnist")
# (flag, value, expected message) for the numeric flags that all three scripts share.
SHARED = [
    ("--epochs", "0", "--epochs must be >= 1, got 0"),
    ("--batch-size", "0", "--batch-size must be >= 1, got 0"),
    ("--lr", "-0.1", "--lr must be a finite number >= 0, got -0.1"),
    ("--lr", "nan", "--lr must be a finite number >= 0, got nan"),
    ("--lr", "inf", "--lr must be a finite number >= 0, got inf"),
    ("--weight-decay", "-1", "--weight-decay must be a finite number >= 0, got -1.0"),
    ("--weight-decay", "inf", "--weight-decay must be a finite number >= 0, got inf"),
    ("--seed", "-1", "--seed must be >= 0, got -1"),
    ("--verbose", "-1", "--verbose must be >= 0, got -1"),
    ("--data-dir", "", "--data-dir '' is not a folder"),
]
OWN = {
    "train_fashion": [
        ("--momentum", "-1", "--momentum must be a finite number >= 0, got -1.0"),
        ("--momentum", "nan", "--momentum must be a finite number >= 0, got nan"),
        ("--label-smoothing", "nan", "--label-smoothing must be in [0, 1], got nan"),
        ("--label-smoothing", "inf", "--label-smoothing must be in [0, 1], got inf"),
        ("--limit", "-5", "--limit must be >= 1, got -5"),
    ],
    "train_lenet": [
        ("--momentum", "-1", "--momentum must be a finite number >= 0, got -1.0"),
        ("--momentum", "inf", "--momentum must be a finite number >= 0, got inf"),
    ],
    "scanning_mlp_mnist": [
        ("--scan-images", "0", "--scan-images must be >= 1, got 0"),
        ("--hidden", "96,x", "--hidden must be comma-separated integers >= 1, got '96,x'"),
        ("--hidden", "", "--hidden must be comma-separated integers >= 1, got ''"),
        ("--hidden", "8,0", "--hidden must be comma-separated integers >= 1, got '8,0'"),
        ("--dist-channels", "4,4", "--dist-channels must be 3 comma-separated integers >= 1"),
        ("--dist-channels", "4,-4,4", "--dist-channels must be 3 comma-separated integers"),
    ],
}
CASES = [(script, *case) for script in SCRIPTS for case in SHARED + OWN[script]]


def expect_error(module, argv, capsys) -> str:
    """Run ``module.parse_args(argv)``; check it stops as argparse does; return stderr."""
    with pytest.raises(SystemExit) as stop:
        module.parse_args(argv)
    assert stop.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("script, flag, value, message", CASES)
def test_a_bad_number_names_its_flag(script, flag, value, message, capsys):
    assert message in expect_error(load_example(script), [f"{flag}={value}"], capsys)


def test_adam_flags_are_checked_too(capsys):
    module = load_example("train_lenet")
    err = expect_error(module, ["--optimizer", "adam", "--weight-decay", "-1"], capsys)
    assert "--weight-decay must be a finite number >= 0, got -1.0" in err
    err = expect_error(module, ["--optimizer", "adam", "--lr=nan"], capsys)
    assert "--lr must be a finite number >= 0, got nan" in err


@pytest.mark.parametrize("script", SCRIPTS)
def test_valid_flags_still_parse(script, tmp_path):
    args = load_example(script).parse_args(
        ["--epochs", "1", "--batch-size", "1", "--lr", "0", "--weight-decay", "0", "--seed",
         "0", "--verbose", "0", "--data-dir", str(tmp_path)])
    assert (args.epochs, args.batch_size, args.lr, args.seed) == (1, 1, 0.0, 0)
    assert args.data_dir == str(tmp_path)


def test_scanning_sizes_become_tuples():
    module = load_example("scanning_mlp_mnist")
    args = module.parse_args([])
    assert (args.hidden, args.dist_channels) == ((96, 64, 32), (48, 64, 96))
    args = module.parse_args(["--hidden", "16", "--dist-channels", "3,4,5"])
    assert (args.hidden, args.dist_channels) == ((16,), (3, 4, 5))


# ------------------------------------------------------------------ --save and --plot
WRITERS = [("train_fashion", "--save"), ("train_fashion", "--plot"),
           ("train_lenet", "--save"), ("train_lenet", "--plot")]


@pytest.mark.parametrize("script, flag", WRITERS)
def test_an_output_path_that_is_a_folder_is_refused(script, flag, tmp_path, capsys):
    err = expect_error(load_example(script), [flag, str(tmp_path)], capsys)
    assert f"{flag} {tmp_path}: is a folder" in err


@pytest.mark.parametrize("script, flag", WRITERS)
def test_an_empty_output_path_is_refused(script, flag, capsys):
    err = expect_error(load_example(script), [f"{flag}="], capsys)
    assert f"{flag} must be a file path, got an empty string" in err


@pytest.mark.parametrize("folder", ["/proc", "/sys"])
@pytest.mark.parametrize("script, flag", WRITERS)
def test_an_output_folder_that_cannot_be_written_is_refused(script, flag, folder, capsys):
    if not Path(folder).is_dir():
        pytest.skip(f"no {folder} here")
    err = expect_error(load_example(script), [flag, f"{folder}/x.npz"], capsys)
    assert f"{flag} {folder}/x.npz: cannot write a file in the folder {folder}" in err


@pytest.mark.parametrize("script, flag", WRITERS)
def test_a_writable_output_path_passes_and_leaves_nothing_behind(script, flag, tmp_path):
    args = load_example(script).parse_args([flag, str(tmp_path / "out.npz")])
    assert getattr(args, flag[2:]) == str(tmp_path / "out.npz")
    assert list(tmp_path.iterdir()) == []  # the write test removed its file


# ------------------------------------------------------------------ --data-dir
NO_DOWNLOAD = {"train_fashion": ["--no-download"], "train_lenet": ["--no-download"],
               "scanning_mlp_mnist": []}  # the scanning script never downloads


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_missing_data_dir_without_downloads_is_refused_even_with_convnp_data_set(
        script, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CONVNP_DATA", str(tmp_path))
    missing = tmp_path / "missing"
    err = expect_error(load_example(script), ["--data-dir", str(missing), *NO_DOWNLOAD[script]],
                       capsys)
    assert f"--data-dir '{missing}' does not exist, and without downloading nothing" in err


@pytest.mark.parametrize("script", ["train_fashion", "train_lenet"])
def test_a_new_data_dir_is_where_a_download_goes(script, tmp_path):
    # README: the files are downloaded into the first place searched, --data-dir
    args = load_example(script).parse_args(["--data-dir", str(tmp_path / "new")])
    assert args.data_dir == str(tmp_path / "new")


def test_a_data_dir_that_is_a_file_is_refused(tmp_path, capsys):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"")
    err = expect_error(load_example("train_fashion"), ["--data-dir", str(path)], capsys)
    assert f"--data-dir '{path}' is not a folder" in err


# ------------------------------------------------------------------ 1-image BatchNorm batches
def test_needs_two_images_lists_the_models_that_fail_on_a_one_image_batch():
    failing = set()
    for name in LADDER:
        model = ladder_model(name, rng=np.random.default_rng(0))
        try:
            model(np.zeros((1, 1, 28, 28), np.float32))
        except ValueError:
            failing.add(name)
    assert failing == load_example("train_fashion").NEEDS_TWO_IMAGES == {"bn-lenet"}


@pytest.mark.parametrize("flags, message", [
    (["--limit", "65"], "65 training images in batches of 64 leave a last batch of 1 image"),
    (["--limit", "9", "--batch-size", "4"], "9 training images in batches of 4 leave a last "
                                            "batch of 1 image"),
    (["--limit", "64", "--batch-size", "1"], "--batch-size 1 gives batches of 1 image"),
])
def test_bn_lenet_stops_before_training_on_a_one_image_batch(flags, message, capsys,
                                                             monkeypatch):
    module = load_example("train_fashion")
    monkeypatch.setattr(module, "ladder_model", lambda *a, **k: pytest.fail("model built"))
    with pytest.raises(SystemExit) as stop:
        module.main(["--model", "bn-lenet", "--sample", "--epochs", "1", "--verbose", "0",
                     *flags])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert f"--model bn-lenet: {message}" in err
    assert "BatchNorm1d" in err and "change --batch-size or --limit" in err


def test_a_last_batch_of_one_is_fine_without_batchnorm1d(capsys):
    load_example("train_fashion").main(["--model", "lenet", "--sample", "--limit", "65",
                                        "--epochs", "1", "--verbose", "0"])
    assert "final test accuracy" in capsys.readouterr().out
