"""Misuse of the normalisation, adaptive-pooling, Dropout2d and block constructors (issue #11).

Wrong types raise TypeError and out-of-range values ValueError, each naming the class and
the argument.
"""

import numpy as np
import pytest

from convnp import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Concat,
    Dropout2d,
    GroupNorm,
    LayerNorm,
    Linear,
    ReLU,
    Residual,
    Sequential,
)


@pytest.mark.parametrize("make, error, message", [
    (lambda: BatchNorm2d(2.0), TypeError, "BatchNorm2d: num_features must be an int"),
    (lambda: BatchNorm1d(True), TypeError, "BatchNorm1d: num_features must be an int"),
    (lambda: BatchNorm2d(0), ValueError, "BatchNorm2d: num_features must be >= 1"),
    (lambda: BatchNorm2d(3, eps="1"), TypeError, "BatchNorm2d: eps must be a number"),
    (lambda: BatchNorm2d(3, eps=0), ValueError, "BatchNorm2d: eps must be > 0"),
    (lambda: BatchNorm2d(3, momentum=1.5), ValueError, r"BatchNorm2d: momentum must be in"),
    (lambda: BatchNorm2d(3, momentum="0.1"), TypeError, "BatchNorm2d: momentum must be a"),
    (lambda: BatchNorm2d(3, affine=1), TypeError, "BatchNorm2d: affine must be a bool"),
    (lambda: BatchNorm1d(3, track_running_stats=None), TypeError,
     "BatchNorm1d: track_running_stats must be a bool"),
    (lambda: BatchNorm2d(3, dtype=np.int32), TypeError, "BatchNorm2d: dtype must be a floating"),
    (lambda: LayerNorm(None), TypeError, "LayerNorm: normalized_shape must be an int or"),
    (lambda: LayerNorm((3, 2.0)), TypeError, "LayerNorm: normalized_shape must be an int or"),
    (lambda: LayerNorm((3, 0)), ValueError, "LayerNorm: normalized_shape must be positive"),
    (lambda: LayerNorm(4, elementwise_affine="yes"), TypeError,
     "LayerNorm: elementwise_affine must be a bool"),
    (lambda: LayerNorm(4, eps=-1.0), ValueError, "LayerNorm: eps must be > 0"),
    (lambda: GroupNorm(True, 4), TypeError, "GroupNorm: num_groups must be an int"),
    (lambda: GroupNorm(2, 4.0), TypeError, "GroupNorm: num_channels must be an int"),
    (lambda: GroupNorm(2, 3), ValueError, r"GroupNorm: num_channels \(3\) must be a positive "
                                          r"multiple of num_groups \(2\)"),
    (lambda: GroupNorm(2, 4, affine=0), TypeError, "GroupNorm: affine must be a bool"),
    (lambda: Dropout2d(None), TypeError, "Dropout2d: p must be a number"),
    (lambda: Dropout2d(1.5), ValueError, r"Dropout2d: p must be in \[0, 1\]"),
    (lambda: Dropout2d(0.5, rng=1), TypeError, "Dropout2d: rng must be a np.random.Generator"),
    (lambda: AdaptiveAvgPool1d(2.5), TypeError, "AdaptiveAvgPool1d: output_size entries must"),
    (lambda: AdaptiveAvgPool2d(0), ValueError, "AdaptiveAvgPool2d: output_size entries must"),
    (lambda: AdaptiveAvgPool2d("22"), TypeError, "AdaptiveAvgPool2d: output_size must be"),
    (lambda: AdaptiveAvgPool1d((2, 3)), TypeError, "AdaptiveAvgPool1d: output_size entries"),
    (lambda: Residual(3), TypeError, "Residual: body must be a Module"),
    (lambda: Residual(None), TypeError, "Residual: body must be a Module, got NoneType"),
    (lambda: Residual(ReLU), TypeError,
     r"Residual: body must be a Module, got the class ReLU; pass an instance, ReLU\(\)"),
    (lambda: Residual(ReLU(), 3), TypeError, r"Residual: shortcut must be a Module or None"),
    (lambda: Linear(2, 2).load_state_dict([("weight", np.zeros((2, 2)))]), TypeError,
     r"Linear.load_state_dict: expected a dict of arrays by name, .* got list"),
    (lambda: Linear(2, 2).load_state_dict(None), TypeError,
     r"Linear.load_state_dict: expected a dict .* got NoneType"),
    (lambda: Linear(2, 2).load_state_dict({}, strict="no"), TypeError,
     r"Linear.load_state_dict: strict must be a bool"),
    (lambda: AdaptiveAvgPool1d(1)(np.zeros((2, 3, 0), np.float32)), ValueError,
     r"AdaptiveAvgPool1d: every spatial axis needs at least one value .* \(2, 3, 0\)"),
    (lambda: AdaptiveAvgPool2d(1)(np.zeros((2, 3, 0, 4), np.float32)), ValueError,
     r"AdaptiveAvgPool2d: every spatial axis needs at least one value .* \(2, 3, 0, 4\)"),
    (lambda: Concat(), ValueError, "Concat: expected at least one branch"),
    (lambda: Concat(ReLU(), dim=1.5), TypeError, "Concat: dim must be an int"),
])
def test_constructor_arguments_are_checked(make, error, message):
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize("layer, shape", [(BatchNorm2d(3), (2, 3, 4, 5)),
                                          (GroupNorm(1, 3), (2, 3, 4, 5)),
                                          (LayerNorm(5), (2, 3, 4, 5)),
                                          (AdaptiveAvgPool2d(2), (2, 3, 4, 5))], ids=repr)
@pytest.mark.parametrize("dtype", [np.int64, bool, np.complex64])
def test_non_float_inputs_are_refused(layer, shape, dtype):
    with pytest.raises(TypeError, match=f"{type(layer).__name__}: input must be a floating"):
        layer(np.zeros(shape, dtype=dtype))


@pytest.mark.parametrize("call, error, message", [
    (lambda: Sequential(ReLU())["0"], TypeError, r"Sequential indices must be ints or slices, "
                                                 r"got str '0'"),
    (lambda: Sequential(ReLU())[3], IndexError, r"Sequential index 3 is out of range for 1"),
    (lambda: Concat(ReLU())[-2], IndexError, r"Concat index -2 is out of range for 1"),
    (lambda: Linear(2, 2).apply(3), TypeError, r"Linear.apply: fn must be a function"),
    (lambda: Linear(2, 2).register_buffer("weight", np.zeros(3)), ValueError,
     r"Linear.register_buffer: 'weight' is already a Parameter of this module"),
])
def test_container_and_module_api_misuse_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
