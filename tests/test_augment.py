"""Tests for convnp.data.augment and DataLoader's ``transform``: loop references, misuse."""

import numpy as np
import pytest

from convnp import Linear, Sequential
from convnp.checkpoint import load_checkpoint, save_checkpoint
from convnp.data import Augment, DataLoader, random_horizontal_flip, random_shift


def images(n: int = 6, c: int = 2, h: int = 5, w: int = 7, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, c, h, w)).astype(np.float32)


def shift_reference(x, max_shift, fill, offsets):
    """Pixel loops: out[n, c, h, w] = x[n, c, h + a - s, w + b - s], or fill outside x."""
    N, C, H, W = x.shape
    out = np.empty_like(x)
    for n, (a, b) in enumerate(zip(*offsets)):
        for c in range(C):
            for h in range(H):
                for w in range(W):
                    u, v = h + a - max_shift, w + b - max_shift
                    out[n, c, h, w] = x[n, c, u, v] if 0 <= u < H and 0 <= v < W else fill
    return out


@pytest.mark.parametrize("max_shift", [0, 1, 2, 3])
def test_random_shift_matches_pixel_loops_on_non_square_images(max_shift):
    x = images()
    out = random_shift(x, np.random.default_rng(4), max_shift, fill=-0.5)
    offsets = np.random.default_rng(4).integers(0, 2 * max_shift + 1, size=(2, len(x)))
    np.testing.assert_array_equal(out, shift_reference(x, max_shift, -0.5, offsets))
    assert out.dtype == x.dtype


def test_random_shift_keeps_the_input_and_moves_most_images():
    x = images(n=400, c=1, h=3, w=4)
    before = x.copy()
    out = random_shift(x, np.random.default_rng(0), 1)
    np.testing.assert_array_equal(x, before)
    centred = [np.array_equal(o, i) for o, i in zip(out, x)]
    assert 0 < sum(centred) < len(x)  # about 1 in 9 images is not moved


def test_random_horizontal_flip_mirrors_the_drawn_images_only():
    x = images(n=50)
    out = random_horizontal_flip(x, np.random.default_rng(1), p=0.5)
    flipped = np.random.default_rng(1).random(len(x)) < 0.5
    assert 0 < flipped.sum() < len(x)
    for n in range(len(x)):
        expected = x[n, :, :, ::-1] if flipped[n] else x[n]
        np.testing.assert_array_equal(out[n], expected)
    np.testing.assert_array_equal(random_horizontal_flip(x, np.random.default_rng(1), p=0.0), x)


def test_augment_without_flip_or_shift_returns_the_batch_itself():
    x = images()
    assert Augment(flip=False, max_shift=0)(x, np.random.default_rng(0)) is x


@pytest.mark.parametrize("flip, max_shift", [(True, 0), (False, 2), (True, 2)])
def test_augment_is_the_flip_then_the_shift(flip, max_shift):
    x = images(n=20)
    expected = x
    rng = np.random.default_rng(5)
    if flip:
        expected = random_horizontal_flip(expected, rng)
    if max_shift:
        expected = random_shift(expected, rng, max_shift, fill=-1.0)
    got = Augment(flip, max_shift, fill=-1.0)(x, np.random.default_rng(5))
    np.testing.assert_array_equal(got, expected)


def test_loader_transform_applies_per_batch_and_resumes_bit_exactly():
    x, y = images(n=10), np.arange(10)
    loader = DataLoader(x, y, batch_size=4, rng=np.random.default_rng(3),
                        transform=Augment(flip=True, max_shift=1))
    saved = loader.state_dict()
    first = [xb for xb, _ in loader]
    plain = [xb for xb, _ in DataLoader(x, y, batch_size=4, rng=np.random.default_rng(3))]
    assert any(not np.array_equal(a, b) for a, b in zip(first, plain))
    assert loader.batch(np.arange(2))[0].tolist() == x[:2].tolist()  # batch() never augments
    loader.load_state_dict(saved)
    for a, b in zip(first, [xb for xb, _ in loader]):
        np.testing.assert_array_equal(a, b)
    assert "transform=Augment(flip=True, max_shift=1, fill=0.0)" in repr(loader)


@pytest.mark.parametrize("call, error, message", [
    (lambda: random_shift(images(), None, 1), TypeError, "random_shift: rng must be"),
    (lambda: random_shift(images(), np.random.default_rng(), -1), ValueError, "max_shift"),
    (lambda: random_shift(images()[0], np.random.default_rng(), 1), ValueError,
     r"random_shift: expected a batch of shape \(N, C, H, W\), got \(2, 5, 7\)"),
    (lambda: random_horizontal_flip(images(), np.random.default_rng(), p=1.5), ValueError,
     "random_horizontal_flip: p"),
    (lambda: random_horizontal_flip(images(), 0), TypeError,
     "random_horizontal_flip: rng must be a np.random.Generator, got int"),
    (lambda: random_shift(images().astype(np.uint8), np.random.default_rng(), 1), TypeError,
     "random_shift: x must be a floating array"),
    (lambda: random_shift(images().tolist(), np.random.default_rng(), 1), TypeError,
     "random_shift: expected a numpy.ndarray x, got list"),
    (lambda: random_shift(images(), np.random.default_rng(), 5), ValueError,
     r"random_shift: max_shift must be smaller than the image, min\(H, W\) = 5 for x of "
     r"shape \(6, 2, 5, 7\), got 5"),
    (lambda: DataLoader(images(), np.arange(6), 2, transform=Augment), TypeError,
     r"DataLoader: transform must be an instance, got the class Augment"),
    (lambda: DataLoader(images(), np.arange(6), 2, transform=lambda xb: xb), TypeError,
     r"DataLoader: transform must be a function \(xb, rng\) -> xb"),
    (lambda: Augment(max_shift=1.5), TypeError, "Augment: max_shift"),
    (lambda: Augment(flip="yes"), TypeError, "Augment: flip"),
    (lambda: DataLoader(images(), np.arange(6), 2, transform="flip"), TypeError,
     "DataLoader: transform must be a function"),
])
def test_misuse_gets_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_checkpoint_resumes_the_augmented_batches(tmp_path):
    x, y = images(n=12), np.arange(12)

    def loader(seed):
        return DataLoader(x, y, 4, rng=np.random.default_rng(seed),
                          transform=Augment(flip=True, max_shift=1))

    model = Sequential(Linear(2, 2, rng=np.random.default_rng(0)))
    first = loader(7)
    list(first)  # one epoch, then save
    save_checkpoint(tmp_path / "ckpt.npz", model, loader=first)
    expected = [xb for xb, _ in first]
    resumed = loader(99)
    load_checkpoint(tmp_path / "ckpt.npz", model, loader=resumed)
    for a, b in zip(expected, [xb for xb, _ in resumed]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("transform, got", [
    (lambda xb, rng: xb[:, :, 1:], r"\(2, 2, 4, 7\) float32"),
    (lambda xb, rng: xb.astype(np.float64), r"\(2, 2, 5, 7\) float64"),
    (lambda xb, rng: None, "NoneType"),
])
def test_a_transform_that_changes_the_batch_is_refused(transform, got):
    loader = DataLoader(images(), np.arange(6), 2, transform=transform)
    with pytest.raises(ValueError, match=r"DataLoader: transform must return an array of the "
                                         r"batch's shape \(2, 2, 5, 7\) and dtype float32, "
                                         rf"got {got}"):
        next(iter(loader))
