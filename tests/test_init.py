"""convnp.init: the bounds of each rule, and its argument checks."""

import math

import numpy as np
import pytest

from convnp import init


@pytest.mark.parametrize("make, bound", [
    (lambda rng: init.kaiming_uniform((64, 3, 5, 4), 60, rng, a=math.sqrt(5)), 1 / math.sqrt(60)),
    (lambda rng: init.xavier_uniform((64, 3, 5, 4), 60, 1280, rng, gain=2.0),
     2.0 * math.sqrt(6 / 1340)),
])
def test_uniform_rules_fill_their_bound(make, bound):
    w = make(np.random.default_rng(0))
    assert w.dtype == np.float32 and np.abs(w).max() <= bound < 1.01 * np.abs(w).max()


@pytest.mark.parametrize("make, std", [
    (lambda rng: init.kaiming_normal((200, 50), 50, rng, dtype=np.float64), math.sqrt(2 / 50)),
    (lambda rng: init.xavier_normal((200, 50), 50, 200, rng, dtype=np.float64),
     math.sqrt(2 / 250)),
])
def test_normal_rules_have_their_std(make, std):
    assert make(np.random.default_rng(1)).std() == pytest.approx(std, rel=0.03)


def test_fans_of_a_conv_and_a_linear_weight():
    assert init.fans((6, 1, 5, 5)) == (25, 150) and init.fans([10, 84]) == (84, 10)


@pytest.mark.parametrize("call, error, message", [
    (lambda: init.kaiming_uniform((2, 3), 3, np.random), TypeError,
     r"kaiming_uniform: rng must be a np.random.Generator .* got module"),  # the global state
    (lambda: init.kaiming_normal((2, 3), 0, np.random.default_rng()), ValueError,
     r"kaiming_normal: fan_in must be > 0, got 0.0"),
    (lambda: init.xavier_uniform((2, 3), 3, math.inf, np.random.default_rng()), ValueError,
     r"xavier_uniform: fan_out must be a finite number, got inf"),
    (lambda: init.xavier_normal((2, 3), 3, 2, np.random.default_rng(), dtype=np.int32),
     TypeError, r"xavier_normal: dtype must be a floating dtype"),
    (lambda: init.kaiming_uniform((2, 0), 3, np.random.default_rng()), ValueError,
     r"kaiming_uniform: shape\[1\] must be >= 1"),
    (lambda: init.fans((3,)), ValueError, r"fans: shape must be \(out, in\)"),
])
def test_bad_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
