"""Tests for convnp.data.loader: DataLoader, normalize, one_hot, train_val_split."""

import numpy as np
import pytest

from convnp.data import (
    MNIST_MEAN,
    MNIST_STD,
    DataLoader,
    normalize,
    one_hot,
    train_val_split,
)


def digits(n: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), np.arange(n, dtype=np.uint8)


def epoch_labels(loader: DataLoader) -> np.ndarray:
    return np.concatenate([yb for _, yb in loader])


# --- DataLoader ---------------------------------------------------------------------------

def test_batches_shapes_dtypes_and_scaling():
    x, y = digits(10)
    loader = DataLoader(x, y, batch_size=4, shuffle=False)
    batches = list(loader)
    assert len(loader) == 3
    assert [xb.shape for xb, _ in batches] == [(4, 1, 28, 28), (4, 1, 28, 28), (2, 1, 28, 28)]
    for xb, yb in batches:
        assert xb.dtype == np.float32 and yb.dtype == np.int64
    np.testing.assert_allclose(batches[0][0][:, 0], x[:4] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(batches[2][1], [8, 9])


def test_drop_last():
    x, y = digits(10)
    loader = DataLoader(x, y, batch_size=4, shuffle=False, drop_last=True)
    assert len(loader) == 2
    np.testing.assert_array_equal(epoch_labels(loader), np.arange(8))


def test_exact_multiple_has_no_partial_batch():
    x, y = digits(8)
    for drop_last in (False, True):
        loader = DataLoader(x, y, batch_size=4, drop_last=drop_last)
        assert len(loader) == 2 and [len(yb) for _, yb in loader] == [4, 4]


def test_float_nchw_input_is_cast_not_scaled():
    x = np.random.default_rng(0).standard_normal((6, 3, 5, 5)) * 10
    y = np.zeros(6, dtype=np.int32)
    xb, yb = next(iter(DataLoader(x, y, batch_size=6, shuffle=False)))
    assert xb.shape == (6, 3, 5, 5) and xb.dtype == np.float32 and yb.dtype == np.int64
    np.testing.assert_allclose(xb, x.astype(np.float32))


def test_conversion_happens_per_batch():
    x, y = digits(10)
    loader = DataLoader(x, y, batch_size=4)
    assert loader.x.dtype == np.uint8  # the stored data is not converted up front


def test_each_epoch_is_a_fresh_permutation_of_all_samples():
    x, y = digits(50)
    loader = DataLoader(x, y, batch_size=8, rng=np.random.default_rng(3))
    first, second = epoch_labels(loader), epoch_labels(loader)
    np.testing.assert_array_equal(np.sort(first), np.arange(50))
    np.testing.assert_array_equal(np.sort(second), np.arange(50))
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, np.arange(50))


def test_images_stay_paired_with_labels():
    x, y = digits(30)
    for xb, yb in DataLoader(x, y, batch_size=7, rng=np.random.default_rng(1)):
        np.testing.assert_allclose(xb[:, 0], x[yb] / 255.0, rtol=1e-6)


def test_same_seed_same_batches_different_seed_different():
    x, y = digits(40)

    def run(seed):
        loader = DataLoader(x, y, batch_size=5, rng=np.random.default_rng(seed))
        return [epoch_labels(loader) for _ in range(3)]

    np.testing.assert_array_equal(run(7), run(7))
    assert not np.array_equal(run(7), run(8))


def test_global_random_state_untouched():
    x, y = digits(20)
    _, key_before, pos_before, *_ = np.random.get_state()
    list(DataLoader(x, y, batch_size=3, rng=np.random.default_rng(0)))
    list(DataLoader(x, y, batch_size=3))
    _, key_after, pos_after, *_ = np.random.get_state()
    np.testing.assert_array_equal(key_after, key_before)
    assert pos_after == pos_before


def test_state_dict_resume_matches_uninterrupted_run(tmp_path):
    x, y = digits(30)
    uninterrupted = DataLoader(x, y, batch_size=4, rng=np.random.default_rng(11))
    expected = [epoch_labels(uninterrupted) for _ in range(5)]

    first = DataLoader(x, y, batch_size=4, rng=np.random.default_rng(11))
    got = [epoch_labels(first) for _ in range(2)]
    np.savez(tmp_path / "ckpt.npz", **first.state_dict())

    resumed = DataLoader(x, y, batch_size=4, rng=np.random.default_rng(999))
    with np.load(tmp_path / "ckpt.npz", allow_pickle=False) as ckpt:
        resumed.load_state_dict(ckpt)
    got += [epoch_labels(resumed) for _ in range(3)]
    np.testing.assert_array_equal(got, expected)


def test_state_dict_works_for_array_state_bit_generators():
    x, y = digits(12)
    a = DataLoader(x, y, batch_size=5, rng=np.random.Generator(np.random.MT19937(1)))
    state = a.state_dict()
    b = DataLoader(x, y, batch_size=5, rng=np.random.Generator(np.random.MT19937(2)))
    b.load_state_dict(state)
    np.testing.assert_array_equal(epoch_labels(a), epoch_labels(b))


def test_load_state_dict_rejects_other_bit_generator_and_missing_key():
    x, y = digits(12)
    pcg = DataLoader(x, y, batch_size=5, rng=np.random.default_rng(0))
    mt = DataLoader(x, y, batch_size=5, rng=np.random.Generator(np.random.MT19937(0)))
    with pytest.raises(ValueError, match=r"DataLoader.load_state_dict.*'PCG64'.*'MT19937'"):
        mt.load_state_dict(pcg.state_dict())
    with pytest.raises(ValueError, match="rng_state"):
        pcg.load_state_dict({"other": np.array(1)})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x": np.zeros((5, 28, 28), np.uint8), "y": np.zeros(4)}, r"len\(x\)=5.*len\(y\)=4"),
        ({"batch_size": 0}, r"batch_size must be >= 1, got 0"),
        ({"x": np.zeros((5, 28), np.uint8)}, r"shape \(5, 28\)"),
    ],
)
def test_dataloader_validation(kwargs, message):
    args = {"x": np.zeros((5, 28, 28), np.uint8), "y": np.zeros(5), "batch_size": 2} | kwargs
    with pytest.raises(ValueError, match=f"DataLoader: .*{message}"):
        DataLoader(**args)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 2.5}, r"batch_size must be an int, got float 2\.5"),
        ({"x": np.zeros((5, 28, 28), np.int64)}, r"uint8.*int64"),
        ({"rng": 42}, r"rng must be a np.random.Generator"),
    ],
)
def test_dataloader_wrong_types(kwargs, message):
    args = {"x": np.zeros((5, 28, 28), np.uint8), "y": np.zeros(5), "batch_size": 2} | kwargs
    with pytest.raises(TypeError, match=f"DataLoader: .*{message}"):
        DataLoader(**args)


def test_empty_dataset_yields_nothing():
    loader = DataLoader(np.zeros((0, 4, 4), np.uint8), np.zeros(0), batch_size=3)
    assert len(loader) == 0 and list(loader) == []


# --- normalize, one_hot, train_val_split -------------------------------------------------

def test_normalize_uint8_is_scaled_first():
    x = np.array([0, 51, 255], dtype=np.uint8)
    out = normalize(x, MNIST_MEAN, MNIST_STD)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, (np.array([0, 0.2, 1.0]) - 0.1307) / 0.3081, rtol=1e-6)


def test_normalize_float_and_per_channel():
    x = np.ones((2, 3, 2, 2), dtype=np.float64)
    mean = np.array([0.0, 1.0, 2.0]).reshape(3, 1, 1)
    std = np.array([1.0, 2.0, 4.0]).reshape(3, 1, 1)
    out = normalize(x, mean, std)
    assert out.dtype == np.float32 and out.shape == x.shape
    np.testing.assert_allclose(out[0, :, 0, 0], [1.0, 0.0, -0.25])


def test_normalize_rejects_bad_std_and_dtype():
    with pytest.raises(ValueError, match="normalize: std must be > 0, got 0"):
        normalize(np.zeros(3), 0.0, 0.0)
    with pytest.raises(ValueError, match="normalize: x must be uint8.*int32"):
        normalize(np.zeros(3, np.int32), 0.0, 1.0)


def test_one_hot():
    out = one_hot(np.array([2, 0, 1, 2]), 3)
    assert out.dtype == np.float32 and out.shape == (4, 3)
    np.testing.assert_array_equal(out, np.eye(3, dtype=np.float32)[[2, 0, 1, 2]])


@pytest.mark.parametrize(
    ("labels", "num_classes", "message"),
    [
        (np.array([0, 3, 1]), 3, r"one_hot: labels must be in 0\.\.2, got 3 at index 1"),
        (np.array([0, -1]), 3, r"got -1 at index 1"),
        (np.array([0.0, 1.0]), 3, r"integer.*float64"),
        (np.array([[0, 1]]), 3, r"1-D.*\(1, 2\)"),
        (np.array([0]), 0, r"num_classes must be >= 1, got 0"),
    ],
)
def test_one_hot_errors(labels, num_classes, message):
    with pytest.raises(ValueError, match=message):
        one_hot(labels, num_classes)


def test_train_val_split_is_a_random_partition():
    x, y = digits(50)
    x_tr, y_tr, x_va, y_va = train_val_split(x, y, 0.2, rng=np.random.default_rng(0))
    assert len(x_tr) == len(y_tr) == 40 and len(x_va) == len(y_va) == 10
    np.testing.assert_array_equal(np.sort(np.concatenate([y_tr, y_va])), np.arange(50))
    np.testing.assert_array_equal(x_va, x[y_va])
    np.testing.assert_array_equal(x_tr, x[y_tr])
    assert not np.array_equal(y_va, np.arange(10))


def test_train_val_split_reproducible_with_seed():
    x, y = digits(50)
    a = train_val_split(x, y, rng=np.random.default_rng(5))
    b = train_val_split(x, y, rng=np.random.default_rng(5))
    c = train_val_split(x, y, rng=np.random.default_rng(6))
    np.testing.assert_array_equal(a[3], b[3])
    assert not np.array_equal(a[3], c[3])


@pytest.mark.parametrize(
    ("n_y", "fraction", "message"),
    [(9, 0.1, r"len\(x\)=10 and len\(y\)=9"), (10, 0.0, r"val_fraction must be in \(0, 1\)"),
     (10, 1.0, r"val_fraction must be in \(0, 1\), got 1\.0"),
     (10, 0.01, "give 0 validation samples")],
)
def test_train_val_split_errors(n_y, fraction, message):
    x, _ = digits(10)
    with pytest.raises(ValueError, match=f"train_val_split: .*{message}"):
        train_val_split(x, np.zeros(n_y), fraction)


@pytest.mark.parametrize("state, error, message", [
    (None, TypeError, r"expected a dict of arrays by name, as state_dict\(\) returns, got "
                      r"NoneType"),
    ({"rng_state": np.array("garbage")}, ValueError, r"the saved generator state is not the JSON"),
    ({"rng_state": np.array("[1, 2]")}, ValueError, r"saved state is for bit generator \[1, 2\]"),
    ({"rng_state": np.array('{"bit_generator": "PCG64", "state": 5}')}, ValueError,
     r"the saved PCG64 state is malformed"),
])
def test_a_bad_saved_state_is_named_and_changes_nothing(state, error, message):
    loader = DataLoader(np.zeros((4, 2, 2), np.float32), np.zeros(4, np.int64), 2,
                        rng=np.random.default_rng(0))
    before = loader.rng.bit_generator.state
    with pytest.raises(error, match=f"DataLoader.load_state_dict: {message}"):
        loader.load_state_dict(state)
    assert loader.rng.bit_generator.state == before


@pytest.mark.parametrize("mean, std, message", [
    (0.5, float("nan"), r"normalize: std must be finite, got nan"),
    (0.5, float("inf"), r"normalize: std must be finite, got inf"),
    (None, 0.5, r"normalize: mean must be finite, got None"),
    ("a", 0.5, r"normalize: mean must be a number or an array of numbers, got str 'a'"),
])
def test_normalize_refuses_statistics_that_would_give_nan_or_zeros(mean, std, message):
    with pytest.raises((TypeError, ValueError), match=message):
        normalize(np.zeros((2, 3), np.float32), mean, std)


@pytest.mark.parametrize("mean, std, message", [
    ([0.5, 0.4, 0.3], 0.2, r"normalize: mean must broadcast to x's shape \(4, 3, 2, 5\), got "
                           r"shape \(3,\); for one value per channel of \(N, C, H, W\) images "
                           r"use shape \(3, 1, 1\)"),
    (0.5, np.ones((1, 4, 3, 2, 5)), r"normalize: std must broadcast to x's shape \(4, 3, 2, 5\), "
                                    r"got shape \(1, 4, 3, 2, 5\)$"),
    ([0.5, 0.4], 0.2, r"normalize: mean must broadcast to x's shape \(4, 3, 2, 5\), got shape "
                      r"\(2,\)$"),
])
def test_normalize_refuses_statistics_of_the_wrong_shape(mean, std, message):
    with pytest.raises(ValueError, match=message):
        normalize(np.zeros((4, 3, 2, 5), np.float32), mean, std)
    per_channel = normalize(np.ones((4, 3, 2, 5), np.float32),
                            np.array([0.5, 0.4, 0.3])[:, None, None], 0.5)
    np.testing.assert_allclose(per_channel[0, :, 0, 0], [1.0, 1.2, 1.4], rtol=1e-6)
